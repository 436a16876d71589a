"""The request facts bucket-policy conditions test (aws:*, s3:* condition keys)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from dataclasses import replace
from types import MappingProxyType

from dolium.core.access.policy_conditions import multi_value
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.wire.headers import parse_tagging_header
from dolium.frontends.s3.wire.http import S3Request
from dolium.model import Principal

# Request headers a policy can test as s3:<header name>.
_HEADER_KEYS = (
    "x-amz-acl",
    "x-amz-server-side-encryption",
    "x-amz-server-side-encryption-aws-kms-key-id",
    "x-amz-content-sha256",
    "x-amz-storage-class",
    "x-amz-copy-source",
    "x-amz-metadata-directive",
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
)
# Object lock request headers, tested under AWS's names for them.
_LOCK_KEYS = {
    "x-amz-object-lock-mode": "s3:object-lock-mode",
    "x-amz-object-lock-retain-until-date": "s3:object-lock-retain-until-date",
    "x-amz-object-lock-legal-hold": "s3:object-lock-legal-hold",
}
# Listing parameters a policy can test as s3:<name>.
_QUERY_KEYS = ("prefix", "delimiter", "max-keys")


class _Facts(Mapping[str, str]):
    """The facts, gathered on first use: most requests meet no policy."""

    __slots__ = ("_facts", "_principal", "_request")

    def __init__(self, request: S3Request, principal: Principal) -> None:
        self._request = request
        self._principal = principal
        self._facts: Mapping[str, str] | None = None

    def _all(self) -> Mapping[str, str]:
        if self._facts is None:
            self._facts = _gather(self._request, self._principal)
        return self._facts

    def __getitem__(self, key: str) -> str:
        if self._facts is None and key in _SIGNATURE_KEYS:
            # What a write asks of every request (may it use SSE-KMS?), without the rest.
            return _signature_facts(self._request)[key]
        return self._all()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


def request_facts(request: S3Request, principal: Principal) -> Mapping[str, str]:
    """The condition keys of `request` by `principal`, read from it when first asked."""
    return _Facts(request, principal)


def of_request(request: S3Request, principal: Principal) -> Principal:
    """`principal` as making `request`: its condition keys, address and request id."""
    return principal.making(request_facts(request, principal), request.client, request.request_id)


def tag_facts(tags: Mapping[str, str]) -> dict[str, str]:
    """s3:RequestObjectTag/<key> and s3:RequestObjectTagKeys of the tags a request sets."""
    facts = {f"s3:requestobjecttag/{key.lower()}": value for key, value in tags.items()}
    if tags:
        facts["s3:requestobjecttagkeys"] = multi_value(tags)
    return facts


def with_request_tags(principal: Principal, tags: Mapping[str, str]) -> Principal:
    """`principal` with the facts of the tags a request's body sets (PutObjectTagging)."""
    return replace(principal, facts=MappingProxyType({**principal.facts, **tag_facts(tags)}))


def _gather(request: S3Request, principal: Principal) -> Mapping[str, str]:
    now = time.time()
    facts = {
        "aws:sourceip": request.client,
        "aws:securetransport": "true" if request.secure else "false",
        "aws:currenttime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "aws:epochtime": str(int(now)),
        "aws:principaltype": "Anonymous" if principal.anonymous else "User",
        # Not a condition key: event messages quote it (responseElements).
        "x-amz-request-id": request.request_id,
    }
    if not principal.anonymous:
        facts["aws:username"] = principal.user
        facts["aws:userid"] = principal.access_key
    for name in ("referer", "user-agent"):
        value = request.header(name)
        if value is not None:
            facts["aws:" + name.replace("-", "")] = value
    for name in _HEADER_KEYS:
        value = request.header(name)
        if value is not None:
            facts["s3:" + name] = value
    for name, key in _LOCK_KEYS.items():
        value = request.header(name)
        if value is not None:
            facts[key] = value
    for name in _QUERY_KEYS:
        if name in request.query:
            facts["s3:" + name] = request.query[name]
    if "versionId" in request.query:
        facts["s3:versionid"] = request.query["versionId"]
    tagging = request.header("x-amz-tagging")
    if tagging is not None:
        # A malformed header is the operation's to refuse, in its own words.
        with contextlib.suppress(S3Error):
            facts.update(tag_facts(parse_tagging_header(tagging)))
    facts.update(_signature_facts(request))
    return MappingProxyType(facts)


_SIGNATURE_KEYS = frozenset({"s3:signatureversion", "s3:authtype"})


def _signature_facts(request: S3Request) -> dict[str, str]:
    """s3:signatureversion and s3:authtype of a signed request; none for an unsigned one."""
    if request.signing is None:
        return {}
    query_auth = "X-Amz-Signature" in request.query or "Signature" in request.query
    v2 = "AWSAccessKeyId" in request.query or (
        request.header("authorization", "") or ""
    ).startswith("AWS ")
    return {
        "s3:signatureversion": "AWS" if v2 else "AWS4-HMAC-SHA256",
        "s3:authtype": "REST-QUERY-STRING" if query_auth else "REST-HEADER",
    }
