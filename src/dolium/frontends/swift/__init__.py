"""The OpenStack Swift API (v1): auth v1.0, accounts, containers, objects, /info.

Same shape as the S3 front end: `app` routes, `auth` and `tokens`
authenticate, `wire/` reads and writes Swift's headers and listings, `ops/`
holds the handlers by family, and `errors` is the one table from domain
errors to Swift statuses. It never imports another front end or a back end.
"""
