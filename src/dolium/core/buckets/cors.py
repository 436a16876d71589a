"""Bucket CORS rules: storage in the bucket's configs, and matching.

Rules are kept as JSON in `Bucket.configs["cors"]`. Matching follows S3: the
first rule whose AllowedOrigin, AllowedMethod and (for a preflight) every
requested header match decides; none matching means no CORS headers at all.

Pattern matching (origins and allowed headers) ignores case and allows one
`*`, which matches any run of characters, the empty one included; a pattern
is anchored at both ends. Origins are compared without regard to case
because scheme and host are case-insensitive and browsers send them in
lower case. Methods are compared exactly, as HTTP methods are
case-sensitive.

This module knows no HTTP and no XML: the front end parses the wire format
into `CorsRule`s, checks them against its API's rules (for S3,
`frontends/s3/rules/cors.py`) and renders the answer headers. Matching needs
no check of its own: a rule with no origin or method matches nothing, and a
pattern's second `*` is a plain character.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from dolium.core.access.actions import Action, Setting
from dolium.core.context import Context
from dolium.errors import NoSuchBucket
from dolium.model import Bucket, Principal

CONFIG = "cors"


@dataclass(frozen=True, slots=True)
class CorsRule:
    allowed_origins: tuple[str, ...]
    allowed_methods: tuple[str, ...]
    allowed_headers: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age_seconds: int | None = None
    id: str | None = None

    def allow_origin(self, origin: str) -> str | None:
        """The Access-Control-Allow-Origin value for `origin`, None if no origin matches.

        "*" when the first pattern that matches is the bare wildcard (the
        rule allows everyone, so no credentials are implied); otherwise the
        origin as the client sent it.
        """
        for pattern in self.allowed_origins:
            if wildcard_match(pattern, origin):
                return "*" if pattern == "*" else origin
        return None

    def allows_header(self, name: str) -> bool:
        return any(wildcard_match(pattern, name) for pattern in self.allowed_headers)


def wildcard_match(pattern: str, value: str) -> bool:
    """Case-insensitive match of `value` against a pattern with at most one `*`."""
    pattern, value = pattern.lower(), value.lower()
    head, star, tail = pattern.partition("*")
    if not star:
        return pattern == value
    return len(value) >= len(head) + len(tail) and value.startswith(head) and value.endswith(tail)


def match(
    rules: Iterable[CorsRule], origin: str, method: str, request_headers: Iterable[str] = ()
) -> CorsRule | None:
    """The first rule allowing `origin`, `method` and every one of `request_headers`."""
    wanted = [h for h in request_headers if h]
    for rule in rules:
        if method not in rule.allowed_methods or rule.allow_origin(origin) is None:
            continue
        if all(rule.allows_header(h) for h in wanted):
            return rule
    return None


def split_header_list(value: str | None) -> list[str]:
    """The names in an Access-Control-Request-Headers value, lower-cased, in order."""
    if not value:
        return []
    return [name.strip().lower() for name in value.split(",") if name.strip()]


# --------------------------------------------------------------------------- storage


def to_json(rules: Sequence[CorsRule]) -> str:
    return json.dumps(
        [
            {
                "id": r.id,
                "allowed_origins": list(r.allowed_origins),
                "allowed_methods": list(r.allowed_methods),
                "allowed_headers": list(r.allowed_headers),
                "expose_headers": list(r.expose_headers),
                "max_age_seconds": r.max_age_seconds,
            }
            for r in rules
        ],
        separators=(",", ":"),
    )


@lru_cache(maxsize=256)
def from_json(text: str) -> tuple[CorsRule, ...]:
    """The rules stored as `text` (cached: every CORS request of a bucket parses the same text)."""
    return tuple(
        CorsRule(
            allowed_origins=tuple(item["allowed_origins"]),
            allowed_methods=tuple(item["allowed_methods"]),
            allowed_headers=tuple(item.get("allowed_headers", ())),
            expose_headers=tuple(item.get("expose_headers", ())),
            max_age_seconds=item.get("max_age_seconds"),
            id=item.get("id"),
        )
        for item in json.loads(text)
    )


def bucket_rules(bucket: Bucket) -> tuple[CorsRule, ...] | None:
    """The bucket's CORS rules, None when it has no CORS configuration."""
    text = bucket.configs.get(CONFIG)
    return from_json(text) if text is not None else None


class Cors:
    """GetBucketCors, PutBucketCors, DeleteBucketCors, and the public rule lookup."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def get(self, principal: Principal, bucket: str) -> tuple[CorsRule, ...] | None:
        return bucket_rules(
            await self.ctx.bucket(principal, bucket, Action.READ_SETTING, setting=Setting.CORS)
        )

    async def put(self, principal: Principal, bucket: str, rules: Sequence[CorsRule]) -> None:
        await self.ctx.bucket(principal, bucket, Action.WRITE_SETTING, setting=Setting.CORS)
        await self.ctx.meta.set_bucket_config(bucket, CONFIG, to_json(rules), actor=principal.actor)

    async def delete(self, principal: Principal, bucket: str) -> None:
        await self.ctx.bucket(principal, bucket, Action.DELETE_SETTING, setting=Setting.CORS)
        await self.ctx.meta.set_bucket_config(bucket, CONFIG, None, actor=principal.actor)

    async def lookup(self, bucket: str) -> tuple[CorsRule, ...] | None:
        """The rules that answer cross-origin requests to `bucket`, for anyone.

        CORS evaluation comes before (and without) authentication: a browser
        sends no credentials with a preflight. Raises NoSuchBucket.
        """
        found = await self.ctx.meta.get_bucket(bucket)
        if found is None:
            raise NoSuchBucket(f"no bucket {bucket!r}", bucket=bucket)
        return bucket_rules(found)
