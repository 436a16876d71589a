"""Who may do what: the core's actions, the authorizer and its evaluators.

`actions` names what a caller asks to do; `authorizer` combines evaluators
into one decision. The S3 evaluator (`s3_evaluator`, over `decisions`, `acl`
and `policy`) judges by S3 ACLs and bucket policies; `sharing` by Pithos
sharing documents.
"""
