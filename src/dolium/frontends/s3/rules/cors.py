"""S3's rules on a CORS configuration (PutBucketCors), with S3's messages.

The core keeps the rules as given and matches requests against them; which
methods, wildcards, header names, ID lengths and how many rules a
configuration may hold are S3's to say.
"""

from __future__ import annotations

from collections.abc import Sequence

from dolium.core.buckets.cors import CorsRule
from dolium.errors import InvalidArgument, InvalidRequest, MalformedConfiguration

METHODS = ("GET", "PUT", "POST", "DELETE", "HEAD")
MAX_RULES = 100
MAX_ID_LENGTH = 255


def check_cors(rules: Sequence[CorsRule]) -> None:
    """Refuse a configuration S3 would refuse, with the domain error S3's answer maps from.

    S3 checks the document before it looks at the bucket: call it before the core's put.
    """
    if not rules or len(rules) > MAX_RULES:
        raise MalformedConfiguration(f"A CORS configuration holds 1 to {MAX_RULES} rules.")
    for rule in rules:
        _check_rule(rule)


def _check_rule(rule: CorsRule) -> None:
    if not rule.allowed_origins or not rule.allowed_methods:
        raise MalformedConfiguration("A CORS rule needs allowed origins and allowed methods.")
    for method in rule.allowed_methods:
        if method not in METHODS:
            raise InvalidRequest(
                "Found unsupported HTTP method in CORS config. Unsupported method is " + method
            )
    for origin in rule.allowed_origins:
        if origin.count("*") > 1:
            raise InvalidRequest(f'AllowedOrigin "{origin}" can not have more than one wildcard.')
    for header in rule.allowed_headers:
        if header.count("*") > 1:
            raise InvalidRequest(f'AllowedHeader "{header}" can not have more than one wildcard.')
    for header in rule.expose_headers:
        if "*" in header:
            raise InvalidRequest(
                f'ExposeHeader "{header}" contains wildcard. '
                "We currently do not support wildcard for ExposeHeader."
            )
        # Expose headers go out verbatim in response headers.
        if not header or not all("!" <= c <= "~" and c != "," for c in header):
            raise InvalidRequest(f'ExposeHeader "{header}" is not a valid header name.')
    if rule.id is not None and len(rule.id) > MAX_ID_LENGTH:
        raise InvalidArgument("ID length should not exceed allowed limit of 255")
    if rule.max_age_seconds is not None and rule.max_age_seconds < 0:
        raise MalformedConfiguration("A CORS rule's max age is a number of seconds, not negative.")
