"""AWS Signature Version 2 for the S3 front end: the legacy HMAC-SHA1 scheme.

Old clients (boto3 with `signature_version="s3"`, the v1 aws CLI's presign,
s3cmd with `signature_v2`) sign with it, in the `Authorization: AWS id:sig`
header or in presigned URLs with `AWSAccessKeyId`, `Expires` and `Signature`.
`parse_request_auth` recognizes such a request and builds its string to sign;
`verify` checks the key, the signature and then the clock, and returns the same
`SigningInfo` a SigV4 request gets. SigV2 signs no body, so the payload is
UNSIGNED-PAYLOAD unless the client sent (and so signed) x-amz-content-sha256.

Like `sigv4`, this module never reads a body, never decides permissions, never
logs a secret or a signature, and knows no HTTP framework. Paths, queries and
header values given as `str` are the latin-1 decoding of the wire bytes.
"""

from __future__ import annotations

import base64
import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from urllib.parse import unquote_to_bytes

from dolium.frontends.s3.auth.sigv4 import (
    STREAMING_UNSIGNED_TRAILER,
    UNSIGNED_PAYLOAD,
    Headers,
    SigningInfo,
    bad_payload_hash,
    fail,
    header_value,
    is_sha256_hex,
    mismatch,
    needs_sigv4,
    wire,
)
from dolium.frontends.s3.errors import S3Error
from dolium.model import AccessKey, Principal
from dolium.protocols.keys import KeyStore

SCHEME = "AWS"
MAX_SKEW = 15 * 60  # seconds, both ways, as S3 allows

# The query parameters that are part of the resource, and so signed. The AWS
# list, with those the SDKs (botocore, s3cmd, minio) sign too: a parameter in
# one list and not the other would break every request that carries it.
SUBRESOURCES = frozenset(
    {
        "accelerate",
        "acl",
        "analytics",
        "cors",
        "defaultObjectAcl",
        "delete",
        "encryption",
        "intelligent-tiering",
        "inventory",
        "legal-hold",
        "lifecycle",
        "location",
        "logging",
        "metrics",
        "notification",
        "object-lock",
        "ownershipControls",
        "partNumber",
        "policy",
        "publicAccessBlock",
        "replication",
        "requestPayment",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "response-content-language",
        "response-content-type",
        "response-expires",
        "restore",
        "retention",
        "select",
        "select-type",
        "storageClass",
        "tagging",
        "torrent",
        "uploadId",
        "uploads",
        "versionId",
        "versioning",
        "versions",
        "website",
    }
)
# Query parameters of a presigned SigV2 URL (case matters, as on S3).
_QUERY_PARAMS = ("AWSAccessKeyId", "Signature", "Expires")
# Whether a raw query names either SigV2 parameter, as `_raw_pairs` would
# cut it: most requests are not SigV2 and need not be parsed to say so.
_V2_QUERY = re.compile(rb"(?:^|&)(?:AWSAccessKeyId|Signature)(?:[=&]|$)")
_V4_QUERY_PARAMS = frozenset(
    f"x-amz-{p}" for p in ("algorithm", "credential", "signature", "date", "signedheaders")
)
_FOLD = re.compile(rb"\s*\r?\n\s*")
_EXPIRES = re.compile(r"\d{1,18}")

# The messages S3 sends, word for word.
_MESSAGES = {
    "header": "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
    "query": "Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
    "parameters",
    "mixed": "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
    "Signature query string parameter or the Authorization header should be specified",
    "no_date": "AWS authentication requires a valid Date or x-amz-date header",
    "token": "The provided token is malformed or otherwise invalid.",
    "skewed": "The difference between the request time and the current time is too large.",
    "unknown_key": "The AWS Access Key Id you provided does not exist in our records.",
    "expired": "Request has expired",
}


@dataclass(frozen=True, slots=True)
class V2Context:
    """A parsed SigV2 request whose signature has not been checked yet."""

    presigned: bool
    access_key: str
    string_to_sign: bytes
    request_time: float  # Date or x-amz-date; Expires for a presigned URL
    sent_date: str  # the date or Expires as the client sent it, for error bodies
    payload: str  # UNSIGNED-PAYLOAD, a hex SHA-256 or STREAMING-UNSIGNED-PAYLOAD-TRAILER
    signature: str = field(repr=False)
    literal: bytes | None = None  # the string to sign with `/bucket` as sent, if it differs


def sign(secret: str, string_to_sign: bytes) -> str:
    """Base64 of the HMAC-SHA1 of the string to sign, keyed with the secret."""
    digest = hmac.digest(secret.encode(), string_to_sign, hashlib.sha1)
    return base64.b64encode(digest).decode("ascii")


def _raw_pairs(raw_query: str | bytes) -> list[tuple[bytes, bytes | None]]:
    """(name, raw value or None when there is no `=`) pairs, still percent-encoded."""
    pairs: list[tuple[bytes, bytes | None]] = []
    for piece in wire(raw_query).split(b"&"):
        if piece:
            name, sep, value = piece.partition(b"=")
            pairs.append((name, value if sep else None))
    return pairs


def canonical_amz_headers(headers: Headers) -> bytes:
    """`name:value\\n` for each x-amz-* header: lower-cased, sorted, repeats comma-joined."""
    values: dict[bytes, list[bytes]] = {}
    for name, value in headers:
        lower = name.lower()
        if lower.startswith("x-amz-"):
            unfolded = _FOLD.sub(b" ", wire(value)).strip()
            values.setdefault(lower.encode("latin-1"), []).append(unfolded)
    return b"".join(name + b":" + b",".join(values[name]) + b"\n" for name in sorted(values))


def canonical_resource(
    raw_path: str | bytes,
    raw_query: str | bytes,
    virtual_bucket: str | None = None,
    literal: bool = False,
) -> bytes:
    """The path as sent (after `/bucket` for a virtual-hosted request), then sub-resources.

    A bucket is `/bucket/`, as a virtual-hosted request gives it and as the
    SDKs sign a path-style `/bucket`; `literal` keeps such a path as it was sent.
    Sub-resources are sorted by name; their values are signed decoded, and one
    sent without `=` is signed without it, as the SDKs do.
    """
    path = wire(raw_path) or b"/"
    if virtual_bucket:
        path = b"/" + virtual_bucket.encode() + path
    if not literal and path.count(b"/") == 1 and path != b"/":
        path += b"/"
    signed = []
    for name, value in _raw_pairs(raw_query):
        if name.decode("latin-1") in SUBRESOURCES:
            signed.append(name if value is None else name + b"=" + unquote_to_bytes(value))
    # A stable sort by name only keeps repeated names in the order they came.
    signed.sort(key=lambda item: item.partition(b"=")[0])
    return path + (b"?" + b"&".join(signed) if signed else b"")


def string_to_sign(
    method: str,
    headers: Headers,
    date: str,
    raw_path: str | bytes,
    raw_query: str | bytes,
    virtual_bucket: str | None = None,
    literal: bool = False,
) -> bytes:
    """Method, Content-MD5, Content-Type, the date (or Expires), x-amz-* headers, resource."""
    md5 = (header_value(headers, "content-md5") or "").strip()
    content_type = (header_value(headers, "content-type") or "").strip()
    head = b"\n".join(wire(part) for part in (method.upper(), md5, content_type, date))
    resource = canonical_resource(raw_path, raw_query, virtual_bucket, literal)
    return head + b"\n" + canonical_amz_headers(headers) + resource


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


def _http_date(value: str) -> float | None:
    try:
        # A date without a zone is GMT in HTTP; utctimetuple keeps it as it is.
        return float(calendar.timegm(parsedate_to_datetime(value).utctimetuple()))
    except (TypeError, ValueError, IndexError):
        return None


def _mixed() -> S3Error:
    return S3Error(400, "InvalidArgument", _MESSAGES["mixed"], ArgumentName="Authorization")


def _payload(headers: Headers) -> str:
    """The body's mode: SigV2 signs no body, but a declared SHA-256 is still checked."""
    declared = header_value(headers, "x-amz-content-sha256")
    if declared is None or declared == UNSIGNED_PAYLOAD:
        return UNSIGNED_PAYLOAD
    if declared == STREAMING_UNSIGNED_TRAILER or is_sha256_hex(declared):
        return declared
    if declared.startswith("STREAMING-"):
        raise needs_sigv4(declared)
    raise bad_payload_hash(declared)


def parse_request_auth(
    method: str,
    raw_path: str | bytes,
    raw_query: str | bytes,
    headers: Headers,
    virtual_bucket: str | None = None,
) -> V2Context | None:
    """The request's SigV2 credentials, or None if it is not signed with SigV2.

    `headers` are (lower-case name, value) pairs in wire order; `raw_path` and
    `raw_query` are percent-encoded, as received. `virtual_bucket` is the bucket
    named by the Host header of a virtual-hosted-style request. Raises S3Error
    for SigV2 requests S3 rejects before it looks at the key.
    """
    authorization = (header_value(headers, "authorization") or "").strip()
    scheme, _, credentials = authorization.partition(" ")
    if scheme != SCHEME and not _V2_QUERY.search(wire(raw_query)):
        return None
    params: dict[str, str] = {}
    v4_query = False
    for name, value in _raw_pairs(raw_query):
        text = name.decode("latin-1")
        v4_query = v4_query or unquote_to_bytes(name).decode("latin-1").lower() in _V4_QUERY_PARAMS
        if text in _QUERY_PARAMS and text not in params:
            params[text] = unquote_to_bytes(value or b"").decode("utf-8", "replace")
    v2_query = "AWSAccessKeyId" in params or "Signature" in params
    if scheme == SCHEME:
        if v2_query or v4_query:
            raise _mixed()
        return _parse_header(method, raw_path, raw_query, headers, credentials, virtual_bucket)
    if not v2_query:
        return None
    if authorization or v4_query:
        raise _mixed()
    return _parse_query(method, raw_path, raw_query, headers, params, virtual_bucket)


def _check_token(headers: Headers, params: Sequence[str] = ()) -> None:
    # Dolium issues no session credentials, so every token is unknown.
    if (
        header_value(headers, "x-amz-security-token") is not None
        or "x-amz-security-token" in params
    ):
        raise S3Error(400, "InvalidToken", _MESSAGES["token"])


def _parse_header(
    method: str,
    raw_path: str | bytes,
    raw_query: str | bytes,
    headers: Headers,
    credentials: str,
    virtual_bucket: str | None,
) -> V2Context:
    access_key, colon, signature = credentials.strip().rpartition(":")
    if not colon or not access_key or not signature:
        # The header's value holds the signature: it is not echoed back.
        raise S3Error(400, "InvalidArgument", _MESSAGES["header"], ArgumentName="Authorization")
    _check_token(headers)
    payload = _payload(headers)
    no_date = S3Error(403, "AccessDenied", _MESSAGES["no_date"])
    amz_date = header_value(headers, "x-amz-date")
    sent = amz_date if amz_date is not None else header_value(headers, "date")
    if sent is None:
        raise no_date
    when = _http_date(sent)
    # A date before the epoch is no valid date to S3 (AccessDenied), not a
    # skewed one: only dates it can read as times are compared with its clock.
    if when is None or when < 0:
        raise no_date
    # With x-amz-date (itself signed among the x-amz-* headers) the Date slot is empty.
    date = "" if amz_date is not None else sent.strip()
    to_sign, literal = _strings(method, headers, date, raw_path, raw_query, virtual_bucket)
    return V2Context(False, access_key, to_sign, when, sent, payload, signature.strip(), literal)


def _parse_query(
    method: str,
    raw_path: str | bytes,
    raw_query: str | bytes,
    headers: Headers,
    params: dict[str, str],
    virtual_bucket: str | None,
) -> V2Context:
    if not all(params.get(name) for name in _QUERY_PARAMS):
        raise S3Error(403, "AccessDenied", _MESSAGES["query"])
    query_names = [
        unquote_to_bytes(name).decode("latin-1").lower() for name, _ in _raw_pairs(raw_query)
    ]
    _check_token(headers, query_names)
    expires = params["Expires"]
    if _EXPIRES.fullmatch(expires) is None:
        message = f"Invalid date (should be seconds since epoch): {expires}"
        raise S3Error(403, "AccessDenied", message)
    payload = _payload(headers)
    to_sign, literal = _strings(method, headers, expires, raw_path, raw_query, virtual_bucket)
    # An unencoded `+` in a URL reads as a space; base64 has `+` and never a space.
    signature = params["Signature"].replace(" ", "+")
    return V2Context(
        True, params["AWSAccessKeyId"], to_sign, float(expires), expires, payload, signature,
        literal,
    )  # fmt: skip


def _strings(
    method: str,
    headers: Headers,
    date: str,
    raw_path: str | bytes,
    raw_query: str | bytes,
    virtual_bucket: str | None,
) -> tuple[bytes, bytes | None]:
    """The string to sign, and the one with `/bucket` as sent if that differs."""
    parts = (method, headers, date, raw_path, raw_query, virtual_bucket)
    canonical, literal = string_to_sign(*parts), string_to_sign(*parts, literal=True)
    return canonical, (literal if literal != canonical else None)


def same_signature(expected: str, provided: str) -> bool:
    return hmac.compare_digest(expected.encode(), provided.encode("utf-8", "replace"))


async def verify(
    ctx: V2Context, keystore: KeyStore, now: float
) -> tuple[AccessKey, Principal, SigningInfo]:
    """Check the key, then the signature, then the clock, as S3 does."""
    found = await keystore.lookup(ctx.access_key)
    if found is None or not found[0].active:
        fields = {"AWSAccessKeyId": ctx.access_key}
        raise fail(403, "InvalidAccessKeyId", _MESSAGES["unknown_key"], fields)
    key, principal = found
    candidates = [ctx.string_to_sign] + ([ctx.literal] if ctx.literal is not None else [])
    # Every candidate is compared, so the time taken does not tell which one matched.
    matches = [same_signature(sign(key.secret_key, c), ctx.signature) for c in candidates]
    if not any(matches):
        # The string S3 signed helps a client find its bug; the signatures stay out.
        raise mismatch(ctx.access_key, ctx.string_to_sign.decode("utf-8", "replace"))
    _check_clock(ctx, now)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(ctx.request_time))
    # No signing key and no seed: a SigV2 request has no chunk signatures to check.
    info = SigningInfo(ctx.access_key, "", stamp, ctx.payload, b"", "")
    return key, principal, info


def _check_clock(ctx: V2Context, now: float) -> None:
    if ctx.presigned:
        # Expires is the last second the URL is valid in, with no limit on how far.
        if now > ctx.request_time:
            fields = {"Expires": _iso(ctx.request_time), "ServerTime": _iso(now)}
            raise fail(403, "AccessDenied", _MESSAGES["expired"], fields)
        return
    if abs(now - ctx.request_time) > MAX_SKEW:
        fields = {"RequestTime": ctx.sent_date, "ServerTime": _iso(now)}
        fields["MaxAllowedSkewMilliseconds"] = str(MAX_SKEW * 1000)
        raise fail(403, "RequestTimeTooSkewed", _MESSAGES["skewed"], fields)
