"""AWS Signature Version 4 for the S3 front end: parse a request, then verify it.

`parse_request_auth` reads the `Authorization` header or the presigned query
parameters and builds the canonical request; `verify` looks the access key
up, checks the signature and then the clock, and returns a `SigningInfo` for
the body decoders in `dolium.frontends.s3.auth.payload`. Errors are `S3Error`s
with the status, code, message and extra fields AWS S3 sends.

This module never reads a body, never decides permissions, never logs a
secret or a signature, and knows no HTTP framework. Paths, queries and
header values given as `str` are taken as the latin-1 decoding of the wire
bytes (what ASGI servers hand over); `bytes` are taken as they are.
"""

from __future__ import annotations

import calendar
import hashlib
import hmac
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import quote, unquote_to_bytes

from dolium.frontends.s3.errors import S3Error
from dolium.model import AccessKey, Principal
from dolium.protocols.keys import KeyStore

Headers = Sequence[tuple[str, str]]

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"
MAX_SKEW = 15 * 60  # seconds, both ways, as S3 allows
MAX_EXPIRES = 7 * 24 * 3600
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
PAYLOAD_MODES = frozenset(
    {UNSIGNED_PAYLOAD, STREAMING_SIGNED, STREAMING_SIGNED_TRAILER, STREAMING_UNSIGNED_TRAILER}
)
# The messages S3 sends, word for word.
_MESSAGES = {
    "payload": "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD, STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER, "
    "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD, STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER "
    "or a valid sha256 value.",
    "mismatch": "The request signature we calculated does not match the signature you provided. "
    "Check your key and signing method.",
    "v2": "The authorization mechanism you have provided is not supported. "
    "Please use AWS4-HMAC-SHA256.",
    "mixed": "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
    "Signature query string parameter or the Authorization header should be specified",
    "required": "Query-string authentication version 4 requires the X-Amz-Algorithm, "
    "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires "
    "parameters.",
    "components": "the authorization header requires three components: "
    "Credential, SignedHeaders, and Signature.",
    "credential": 'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/'
    'aws4_request".',
    "no_date": "AWS authentication requires a valid Date or x-amz-date header",
    "not_signed": "There were headers present in the request which were not signed",
    "token": "The provided token is malformed or otherwise invalid.",
    "skewed": "The difference between the request time and the current time is too large.",
    "unknown_key": "The AWS Access Key Id you provided does not exist in our records.",
}
PAYLOAD_HASH_MESSAGE = _MESSAGES["payload"]
MISMATCH_MESSAGE = _MESSAGES["mismatch"]
_HEADER_PARTS = ("Credential", "SignedHeaders", "Signature")
_PRESIGN_PARAMS = ("algorithm", "credential", "signature", "date", "signedheaders", "expires")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")


def fail(status: int, code: str, message: str, fields: Mapping[str, str]) -> S3Error:
    """An S3Error with extra fields whose names need not be Python identifiers."""
    error = S3Error(status, code, message)
    error.fields.update(fields)
    return error


def is_sha256_hex(value: str) -> bool:
    return _HEX64.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class AuthContext:
    """A parsed SigV4 request whose signature has not been checked yet."""

    presigned: bool
    access_key: str
    date: str  # yyyymmdd of the credential scope
    region: str
    amz_date: str  # yyyymmddTHHMMSSZ, as it is in the string to sign
    request_time: float  # amz_date as a POSIX time
    sent_date: str  # the date as the client sent it, for error bodies
    expires: int | None  # presigned only
    payload: str  # last line of the canonical request
    canonical_request: bytes
    signature: str = field(repr=False)
    service: str = SERVICE  # of the credential scope: "s3", or one of `services`

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/aws4_request"


@dataclass(frozen=True, slots=True)
class SigningInfo:
    """What the body decoders need once the request's signature is verified."""

    access_key: str
    scope: str
    amz_date: str
    payload: str  # a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING-* mode
    signing_key: bytes = field(repr=False)
    seed_signature: str = field(repr=False)


@lru_cache(maxsize=4096)
def signing_key(secret: str, date: str, region: str, service: str = SERVICE) -> bytes:
    """The derived key of one secret for one day and region (4 HMACs, so cached)."""
    key = hmac.digest(f"AWS4{secret}".encode(), date.encode(), "sha256")
    for part in (region, service, "aws4_request"):
        key = hmac.digest(key, part.encode(), "sha256")
    return key


def sign(key: bytes, string_to_sign: str) -> str:
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def same_signature(expected: str, provided: str) -> bool:
    # S3 accepts the hex digits in either case.
    return hmac.compare_digest(expected.encode(), provided.lower().encode())


def wire(value: str | bytes) -> bytes:
    """The bytes a `str` stood for on the wire (latin-1, or UTF-8 past it)."""
    if isinstance(value, bytes):
        return value
    try:
        return value.encode("latin-1")
    except UnicodeEncodeError:
        return value.encode("utf-8")


def canonical_uri(raw_path: str | bytes) -> str:
    """S3's canonical URI: each segment decoded once and encoded by the AWS rules.

    S3 does not normalize `.` or `//`; decoding and encoding again makes a path
    the client encoded loosely (`!`, `%7E`, lower-case hex) sign as it meant.
    """
    path = wire(raw_path) or b"/"
    return "/".join(_encoded(unquote_to_bytes(segment)) for segment in path.split(b"/"))


_UNRESERVED = re.compile(rb"[A-Za-z0-9_.~-]*")


@lru_cache(maxsize=4096)
def _encoded(value: bytes) -> str:
    """AWS URI encoding: every byte but the unreserved ones as %XX. Query names,
    credentials and dates repeat from request to request: cached."""
    if _UNRESERVED.fullmatch(value):
        return value.decode("ascii")
    return quote(value, safe="")


def query_pairs(raw_query: str | bytes) -> list[tuple[bytes, bytes]]:
    """Decoded (name, value) pairs, in order; `+` is a space, as S3 reads it."""
    pairs = []
    for piece in wire(raw_query).split(b"&"):
        if piece:
            name, _, value = piece.replace(b"+", b" ").partition(b"=")
            # Most names and values hold no escape: no call for them.
            if b"%" in name:
                name = unquote_to_bytes(name)
            if b"%" in value:
                value = unquote_to_bytes(value)
            pairs.append((name, value))
    return pairs


def canonical_query(pairs: Sequence[tuple[bytes, bytes]], presigned: bool = False) -> str:
    encoded = sorted(
        (_encoded(name), _encoded(value))
        for name, value in pairs
        if not (presigned and name.lower() == b"x-amz-signature")
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    raw_path: str | bytes
    pairs: list[tuple[bytes, bytes]]
    headers: Headers


def _canonical_request(req: _Request, signed_headers: str, payload: str, presigned: bool) -> bytes:
    values: dict[str, list[bytes]] = {}
    for name, value in req.headers:
        values.setdefault(name.lower(), []).append(b" ".join(wire(value).split()))
    lines = [
        name.encode() + b":" + b",".join(values.get(name, []))
        for name in signed_headers.lower().split(";")
    ]
    uri, query = canonical_uri(req.raw_path), canonical_query(req.pairs, presigned)
    head = f"{req.method.upper()}\n{uri}\n{query}\n"
    return head.encode() + b"\n".join(lines) + f"\n\n{signed_headers}\n{payload}".encode()


def _string_to_sign(amz_date: str, scope: str, canonical_request: bytes) -> str:
    digest = hashlib.sha256(canonical_request).hexdigest()
    return f"{ALGORITHM}\n{amz_date}\n{scope}\n{digest}"


def header_value(headers: Headers, name: str) -> str | None:
    """The first value of the (lower-case) header `name`, None when absent."""
    return next((value for key, value in headers if key == name), None)


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(when))


# Requests signed in the same second, and every use of one presigned URL,
# carry the same date: strptime is a good part of checking a signature.
@lru_cache(maxsize=256)
def _parse_amz_date(value: str) -> float | None:
    if _AMZ_DATE.fullmatch(value) is None:  # strptime alone takes fewer digits
        return None
    try:
        return float(calendar.timegm(time.strptime(value, "%Y%m%dT%H%M%SZ")))
    except ValueError:
        return None


class _Errors:
    """The code and message prefix of header errors, or of presigned-URL errors."""

    def __init__(self, presigned: bool) -> None:
        self.presigned = presigned
        self.code = (
            "AuthorizationQueryParametersError" if presigned else "AuthorizationHeaderMalformed"
        )
        self.prefix = "" if presigned else "The authorization header is malformed; "

    def malformed(self, detail: str, **fields: str) -> S3Error:
        return fail(400, self.code, self.prefix + detail, fields)

    def check_date(self, date: str, amz_date: str) -> None:
        if amz_date[:8] != date:
            raise self.malformed(
                f'Invalid credential date "{date}". '
                f'This date is not the same as X-Amz-Date: "{amz_date[:8]}".'
            )

    def credential(self, detail: str, **fields: str) -> S3Error:
        if self.presigned:
            detail = "Error parsing the X-Amz-Credential parameter; " + detail
        return self.malformed(detail, **fields)


def _not_signed(names: str) -> S3Error:
    return S3Error(403, "AccessDenied", _MESSAGES["not_signed"], HeadersNotSigned=names)


def _parse_credential(
    credential: str, errors: _Errors, services: tuple[str, ...] = (SERVICE,)
) -> tuple[str, str, str, str]:
    parts = credential.split("/")
    if len(parts) != 5 or not parts[0]:
        raise errors.credential(_MESSAGES["credential"])
    access_key, date, region, service, terminal = parts
    if re.fullmatch(r"\d{8}", date) is None:
        raise errors.credential(
            f'incorrect date format "{date}". '
            'This date in the credential must be in the format "yyyyMMdd".'
        )
    if service not in services:
        raise errors.credential(
            f'incorrect service "{service}". This endpoint belongs to "{services[0]}".'
        )
    if terminal != "aws4_request":
        raise errors.credential(
            f'incorrect terminal "{terminal}". This endpoint uses "aws4_request".'
        )
    return access_key, date, region, service


def _check_signed_headers(signed: str, headers: Headers, exempt: frozenset[str]) -> None:
    names = set(signed.lower().split(";"))
    if "host" not in names:
        raise _not_signed("host")
    # An unsigned x-amz-* header could change what a captured request does
    # (x-amz-copy-source, x-amz-acl, ...), so S3 refuses it.
    unsigned = sorted(
        {n for n, _ in headers if n.startswith("x-amz-") and n not in names and n not in exempt}
    )
    if unsigned:
        raise _not_signed(", ".join(unsigned))


def _header_date(headers: Headers) -> tuple[str, float, str]:
    no_date = S3Error(403, "AccessDenied", _MESSAGES["no_date"])
    sent = header_value(headers, "x-amz-date")
    if sent is not None:
        when = _parse_amz_date(sent.strip())
        if when is None:
            raise no_date
        return sent.strip(), when, sent
    sent = header_value(headers, "date")
    if sent is None:
        raise no_date
    try:
        # A date without a zone is GMT in HTTP; utctimetuple keeps it as it is.
        when = float(calendar.timegm(parsedate_to_datetime(sent).utctimetuple()))
    except (TypeError, ValueError, OverflowError) as exc:  # Overflow: past year 9999 in UTC
        raise no_date from exc
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(when)), when, sent


def parse_request_auth(
    method: str,
    raw_path: str | bytes,
    raw_query: str | bytes,
    headers: Headers,
    *,
    services: tuple[str, ...] = (SERVICE,),
    body_sha256: str | None = None,
) -> AuthContext | None:
    """The request's SigV4 credentials, or None for an anonymous request.

    `headers` are (lower-case name, value) pairs in wire order; `raw_path` and
    `raw_query` are percent-encoded, as received. Raises S3Error for requests
    S3 rejects before it looks at the key (malformed, unsupported, mixed).
    SigV2 requests belong to `sigv2.parse_request_auth`, which the caller asks
    first; one that reaches this parser is refused as unsupported.

    Other AWS APIs served here (IAM) sign for their own service (`services`)
    and send no x-amz-content-sha256: their caller, which has read the small
    body, gives its hash (`body_sha256`). Only signatures in the
    Authorization header are taken for them.
    """
    req = _Request(method, raw_path, query_pairs(raw_query), headers)
    params: dict[str, str] = {}
    for name, value in req.pairs:
        params.setdefault(name.decode("latin-1").lower(), value.decode("utf-8", "replace"))
    presign = any(f"x-amz-{p}" in params for p in _PRESIGN_PARAMS)
    authorization = (header_value(headers, "authorization") or "").strip()
    if authorization and presign:
        raise S3Error(400, "InvalidArgument", _MESSAGES["mixed"], ArgumentName="Authorization")
    if authorization:
        return _parse_header_auth(req, authorization, services, body_sha256)
    if presign and services != (SERVICE,):
        raise S3Error(400, "InvalidRequest", "sign this request in its Authorization header")
    if presign:
        return _parse_presigned(req, params)
    if "awsaccesskeyid" in params and "signature" in params:
        raise S3Error(400, "InvalidRequest", _MESSAGES["v2"])
    return None


def _check_payload(payload: str, allowed: frozenset[str], name: str) -> None:
    if payload not in allowed and not is_sha256_hex(payload):
        raise bad_payload_hash(payload, name)


def bad_payload_hash(value: str, name: str = "x-amz-content-sha256") -> S3Error:
    """A payload hash that is neither a SHA-256 nor a mode S3 knows."""
    fields = {"ArgumentName": name, "ArgumentValue": value}
    return fail(400, "InvalidArgument", PAYLOAD_HASH_MESSAGE, fields)


def needs_sigv4(mode: str) -> S3Error:
    """A streaming mode whose chunk signatures chain from a SigV4 seed signature."""
    return S3Error(400, "InvalidRequest", f"{mode} needs an AWS4-HMAC-SHA256 signature")


def mismatch(access_key: str, string_to_sign: str, *canonical: str) -> S3Error:
    """SignatureDoesNotMatch, with the string to sign (and canonical request) S3 used."""
    fields = {"AWSAccessKeyId": access_key, "StringToSign": string_to_sign}
    fields["StringToSignBytes"] = string_to_sign.encode().hex(" ")
    if canonical:
        fields["CanonicalRequest"], fields["CanonicalRequestBytes"] = canonical
    return fail(403, "SignatureDoesNotMatch", MISMATCH_MESSAGE, fields)


def _invalid_token() -> S3Error:
    # Dolium issues no session credentials, so every token is unknown.
    return S3Error(400, "InvalidToken", _MESSAGES["token"])


def _parse_header_auth(
    req: _Request,
    authorization: str,
    services: tuple[str, ...] = (SERVICE,),
    body_sha256: str | None = None,
) -> AuthContext:
    scheme, _, rest = authorization.partition(" ")
    if scheme != ALGORITHM:
        if scheme == "AWS" or scheme.startswith("AWS4-"):
            raise S3Error(400, "InvalidRequest", _MESSAGES["v2"])
        message = "Unsupported Authorization Type"
        raise S3Error(400, "InvalidArgument", message, ArgumentName="Authorization")
    errors = _Errors(presigned=False)
    parts: dict[str, str] = {}
    for part in rest.split(","):
        name, sep, value = part.strip().partition("=")
        if sep:
            parts.setdefault(name.strip(), value.strip())
    credential, signed, signature = (parts.get(n) for n in _HEADER_PARTS)
    if not credential or not signed or not signature:
        raise errors.malformed(_MESSAGES["components"])
    if header_value(req.headers, "x-amz-security-token") is not None:
        raise _invalid_token()
    access_key, date, region, service = _parse_credential(credential, errors, services)
    payload = header_value(req.headers, "x-amz-content-sha256") or body_sha256
    if payload is None:
        message = "Missing required header for this request: x-amz-content-sha256"
        raise S3Error(400, "InvalidRequest", message)
    _check_payload(payload, PAYLOAD_MODES, "x-amz-content-sha256")
    amz_date, when, sent = _header_date(req.headers)
    errors.check_date(date, amz_date)
    _check_signed_headers(signed, req.headers, frozenset())
    canonical = _canonical_request(req, signed, payload, presigned=False)
    return AuthContext(
        False, access_key, date, region, amz_date, when, sent, None, payload, canonical,
        signature, service,
    )  # fmt: skip


def _parse_presigned(req: _Request, params: dict[str, str]) -> AuthContext:
    errors = _Errors(presigned=True)
    if not all(params.get(f"x-amz-{p}") for p in _PRESIGN_PARAMS):
        raise errors.malformed(_MESSAGES["required"])
    if "x-amz-security-token" in params:
        raise _invalid_token()
    if params["x-amz-algorithm"] != ALGORITHM:
        raise errors.malformed('X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"')
    access_key, date, region, _ = _parse_credential(params["x-amz-credential"], errors)
    amz_date = params["x-amz-date"]
    when = _parse_amz_date(amz_date)
    if when is None:
        raise errors.malformed(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\""
        )
    errors.check_date(date, amz_date)
    expires = _parse_expires(params["x-amz-expires"], errors)
    # A presigned URL covers the body only if its query says so.
    payload = params.get("x-amz-content-sha256", UNSIGNED_PAYLOAD)
    _check_payload(payload, frozenset({UNSIGNED_PAYLOAD}), "X-Amz-Content-Sha256")
    signed = params["x-amz-signedheaders"]
    # Clients send x-amz-content-sha256 unsigned along with presigned URLs; S3 allows it.
    _check_signed_headers(signed, req.headers, frozenset({"x-amz-content-sha256"}))
    canonical = _canonical_request(req, signed, payload, presigned=True)
    return AuthContext(
        True, access_key, date, region, amz_date, when, amz_date, expires, payload, canonical,
        params["x-amz-signature"],
    )  # fmt: skip


def _parse_expires(value: str, errors: _Errors) -> int:
    if re.fullmatch(r"-?\d{1,18}", value) is None:
        raise errors.malformed("X-Amz-Expires should be a number")
    expires = int(value)
    if expires < 0:
        raise errors.malformed("X-Amz-Expires must be non-negative")
    if expires > MAX_EXPIRES:
        raise errors.malformed(
            "X-Amz-Expires must be less than a week (in seconds); that is, "
            f"the given X-Amz-Expires must be less than {MAX_EXPIRES} seconds"
        )
    return expires


async def verify(
    ctx: AuthContext, keystore: KeyStore, region: str | None, now: float
) -> tuple[AccessKey, Principal, SigningInfo]:
    """Check the signature, then the clock, as S3 does (key and signature first).

    `region` is the server's region, or None to accept the one the client signs
    for. `now` is the server's clock as a POSIX time.
    """
    if region is not None and ctx.region != region:
        detail = f"the region '{ctx.region}' is wrong; expecting '{region}'"
        raise _Errors(ctx.presigned).credential(detail, Region=region)
    found = await keystore.lookup(ctx.access_key)
    if found is None or not found[0].active:
        fields = {"AWSAccessKeyId": ctx.access_key}
        raise fail(403, "InvalidAccessKeyId", _MESSAGES["unknown_key"], fields)
    key, principal = found
    derived = signing_key(key.secret_key, ctx.date, ctx.region, ctx.service)
    string_to_sign = _string_to_sign(ctx.amz_date, ctx.scope, ctx.canonical_request)
    expected = sign(derived, string_to_sign)
    if not same_signature(expected, ctx.signature):
        # The strings S3 signed help a client find its bug; the signatures stay out.
        canonical = ctx.canonical_request
        raise mismatch(
            ctx.access_key, string_to_sign, canonical.decode("latin-1"), canonical.hex(" ")
        )
    _check_clock(ctx, now)
    info = SigningInfo(ctx.access_key, ctx.scope, ctx.amz_date, ctx.payload, derived, expected)
    return key, principal, info


def _check_clock(ctx: AuthContext, now: float) -> None:
    if not ctx.presigned:
        if abs(now - ctx.request_time) > MAX_SKEW:
            fields = {"RequestTime": ctx.sent_date, "ServerTime": _iso(now)}
            fields["MaxAllowedSkewMilliseconds"] = str(MAX_SKEW * 1000)
            raise fail(403, "RequestTimeTooSkewed", _MESSAGES["skewed"], fields)
        return
    if ctx.request_time - now > MAX_SKEW:
        fields = {"X-Amz-Date": ctx.amz_date, "ServerTime": _iso(now)}
        raise fail(403, "AccessDenied", "Request is not yet valid", fields)
    expires = ctx.expires or 0
    # X-Amz-Expires=0 makes a URL that is never valid, as on S3.
    if expires == 0 or now > ctx.request_time + expires:
        fields = {"X-Amz-Expires": str(expires), "Expires": _iso(ctx.request_time + expires)}
        fields["ServerTime"] = _iso(now)
        raise fail(403, "AccessDenied", "Request has expired", fields)
