"""Static website hosting: a bucket's website configuration, kept in
`Bucket.configs["website"]`, and the rules of serving it.

Serving, as S3's website endpoint does it:

- every request is anonymous; a bucket policy or ACL makes content public;
- a redirect of all requests sends every request elsewhere, before any read;
- a routing rule without an error-code condition redirects before reading,
  one with an error-code condition after the read failed with that code;
  the first rule that matches wins;
- the root and any key ending in "/" read the index document under it; a
  missing key `x` whose `x/<index>` anybody may read redirects to `x/`;
- a missing key is 404 when the reader could know it is missing (GetObject
  granted by the bucket policy, or ListBucket granted), otherwise 403, so
  that a private bucket reveals nothing.

This module knows no HTTP and no XML: the front end parses the wire format
into a `WebsiteConfig`, checks it against its API's rules (the `approve` hook
of `Website.put`; for S3, `frontends/s3/rules/website.py`) and turns a
`Redirect` into a Location header.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from dolium.core.access.actions import Action, Decision, Resource, Setting
from dolium.core.context import Context
from dolium.errors import AccessDenied, NoSuchBucket, NoSuchKey
from dolium.model import Bucket, ObjectVersion, Principal

CONFIG = "website"
DEFAULT_REDIRECT_CODE = 301

# The front end's own checks of a configuration; raises to refuse.
Approve = Callable[["WebsiteConfig"], None]


@dataclass(frozen=True, slots=True)
class RedirectAll:
    host: str
    protocol: str | None = None


@dataclass(frozen=True, slots=True)
class Condition:
    key_prefix: str | None = None
    error_code: str | None = None  # as given: a status code once the front end checked it


@dataclass(frozen=True, slots=True)
class Redirect:
    host: str | None = None
    protocol: str | None = None
    replace_key_prefix: str | None = None
    replace_key: str | None = None
    code: str | None = None  # as given: a redirect status once the front end checked it


@dataclass(frozen=True, slots=True)
class RoutingRule:
    redirect: Redirect
    condition: Condition | None = None


@dataclass(frozen=True, slots=True)
class WebsiteConfig:
    index_suffix: str | None = None
    error_key: str | None = None
    redirect_all: RedirectAll | None = None
    rules: tuple[RoutingRule, ...] = ()
    # Whether routing rules were given, even none (for the front end's checks).
    has_rules: bool = False


@dataclass(frozen=True, slots=True)
class Target:
    """Where a redirect sends a request: None parts are the request's own."""

    key: str
    host: str | None
    protocol: str | None
    status: int


# --------------------------------------------------------------------------- storage


def to_json(config: WebsiteConfig) -> str:
    doc: dict[str, Any] = {}
    if config.redirect_all is not None:
        doc["redirect_all"] = {
            "host": config.redirect_all.host,
            "protocol": config.redirect_all.protocol,
        }
    if config.index_suffix is not None:
        doc["index"] = config.index_suffix
    if config.error_key is not None:
        doc["error"] = config.error_key
    if config.rules:
        doc["rules"] = [_rule_json(r) for r in config.rules]
    return json.dumps(doc, separators=(",", ":"))


def _rule_json(rule: RoutingRule) -> dict[str, Any]:
    r = rule.redirect
    out: dict[str, Any] = {
        "redirect": {
            "host": r.host,
            "protocol": r.protocol,
            "replace_key_prefix": r.replace_key_prefix,
            "replace_key": r.replace_key,
            "code": r.code,
        }
    }
    if rule.condition is not None:
        out["condition"] = {
            "key_prefix": rule.condition.key_prefix,
            "error_code": rule.condition.error_code,
        }
    return out


@lru_cache(maxsize=256)
def from_json(text: str) -> WebsiteConfig:
    """The configuration stored as `text` (cached: every request of a site reads it)."""
    doc = json.loads(text)
    redirect_all = doc.get("redirect_all")
    rules = tuple(
        RoutingRule(
            redirect=Redirect(**item["redirect"]),
            condition=Condition(**item["condition"]) if "condition" in item else None,
        )
        for item in doc.get("rules", ())
    )
    return WebsiteConfig(
        index_suffix=doc.get("index"),
        error_key=doc.get("error"),
        redirect_all=RedirectAll(**redirect_all) if redirect_all else None,
        rules=rules,
        has_rules=bool(rules),
    )


def bucket_website(bucket: Bucket) -> WebsiteConfig | None:
    """The bucket's website configuration, None when it is not a website."""
    text = bucket.configs.get(CONFIG)
    return from_json(text) if text is not None else None


# --------------------------------------------------------------------------- routing


def status_code(text: str) -> int | None:
    """The HTTP status `text` names, None when it is not up to three digits.

    A condition or a redirect whose code names none never matches, or
    redirects with the default code.
    """
    text = text.strip()
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 3 else None


def index_key(key: str, suffix: str) -> str:
    """The key a request for `key` reads: the index document under a folder."""
    return key + suffix if key == "" or key.endswith("/") else key


def _condition_matches(condition: Condition | None, key: str, status: int | None) -> bool:
    if condition is None:
        return status is None
    if condition.key_prefix is not None and not key.startswith(condition.key_prefix):
        return False
    if condition.error_code is None:
        return status is None
    return status is not None and status_code(condition.error_code) == status


def match(rules: tuple[RoutingRule, ...], key: str, status: int | None = None) -> Target | None:
    """Where the first rule matching `key` sends the request, if one does.

    `status` None asks before reading (rules without an error-code condition);
    a status asks after the read failed with it (rules naming that code).
    """
    for rule in rules:
        if _condition_matches(rule.condition, key, status):
            return redirect_target(rule, key)
    return None


def redirect_target(rule: RoutingRule, key: str) -> Target:
    r = rule.redirect
    if r.replace_key is not None:
        new_key = r.replace_key
    elif r.replace_key_prefix is not None:
        prefix = rule.condition.key_prefix if rule.condition is not None else None
        new_key = r.replace_key_prefix + key[len(prefix or "") :]
    else:
        new_key = key
    status = status_code(r.code) if r.code is not None else None
    return Target(new_key, r.host, r.protocol, status or DEFAULT_REDIRECT_CODE)


# --------------------------------------------------------------------------- service


class Website:
    """GetBucketWebsite, PutBucketWebsite, DeleteBucketWebsite, and anonymous reads."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def get(self, principal: Principal, bucket: str) -> WebsiteConfig | None:
        found = await self.ctx.bucket(
            principal, bucket, Action.READ_SETTING, setting=Setting.WEBSITE
        )
        return bucket_website(found)

    async def put(
        self,
        principal: Principal,
        bucket: str,
        config: WebsiteConfig,
        *,
        approve: Approve | None = None,
    ) -> None:
        """Replace the configuration; `approve` is the front end's check of it,
        run once the caller is allowed."""
        await self.ctx.bucket(principal, bucket, Action.WRITE_SETTING, setting=Setting.WEBSITE)
        if approve is not None:
            approve(config)
        await self.ctx.meta.set_bucket_config(
            bucket, CONFIG, to_json(config), actor=principal.actor
        )

    async def delete(self, principal: Principal, bucket: str) -> None:
        await self.ctx.bucket(principal, bucket, Action.DELETE_SETTING, setting=Setting.WEBSITE)
        await self.ctx.meta.set_bucket_config(bucket, CONFIG, None, actor=principal.actor)

    async def site(self, name: str) -> tuple[Bucket, WebsiteConfig | None]:
        """The bucket behind a website host, and its configuration (for anyone)."""
        bucket = await self.ctx.meta.get_bucket(name)
        if bucket is None:
            raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
        return bucket, bucket_website(bucket)

    async def read(self, principal: Principal, bucket: Bucket, key: str) -> ObjectVersion:
        """The latest version of `key` if `principal` may read it.

        NoSuchKey when it is missing and the reader may know so; AccessDenied
        otherwise (see the module docstring).
        """
        decision = await self.ctx.authorizer.decide(principal, Action.READ, Resource(bucket, key))
        if decision is Decision.DENY:
            raise AccessDenied(f"reading {key!r} is denied")
        allowed = decision is Decision.ALLOW
        version = await self.ctx.meta.get_version(bucket.name, key, None) if key else None
        if version is None or version.delete_marker:
            if allowed or await self.ctx.may(principal, bucket, Action.LIST):
                raise NoSuchKey(f"no object {key!r}", key=key)
            # `missing` is for the caller's folder check, never for the wire.
            raise AccessDenied(f"may not read {key!r}, nor learn whether it exists", missing=True)
        if not allowed and not await self.ctx.version_allows(
            principal, bucket, Action.READ, version
        ):
            raise AccessDenied(f"may not read {key!r}")
        return version
