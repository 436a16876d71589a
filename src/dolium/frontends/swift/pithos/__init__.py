"""Synnefo Pithos' extensions on the Swift front end, by feature: sharing, groups,
listings, public links."""
