"""Rules S3 sets on what a client writes that are not the object model's,
checked at the S3 edge: one module per family (objects, tagging, notifications,
CORS, lifecycle, website).

Each check raises the domain error the S3 error table turns into S3's code,
with S3's message. Another front end has its own rules, or none. Each check
runs where the core checked it before it moved here (just before a core call,
or in the `approve` hook a core service runs once the caller is allowed), so
a request that breaks several rules gets the same answer.
"""
