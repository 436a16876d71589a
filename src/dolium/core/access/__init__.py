"""Who may do what: ACLs, bucket policies and the decisions made from them."""
