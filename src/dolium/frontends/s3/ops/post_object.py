"""POST Object: a browser upload from an HTML form, authorized by a POST policy.

`POST /bucket` (or `POST /` on a virtual host) with a multipart/form-data
body. The form's fields carry what PutObject takes in headers; a signed
policy (SigV4: x-amz-algorithm, x-amz-credential, x-amz-date,
x-amz-signature; SigV2: AWSAccessKeyId, signature) replaces the request
signature, so these requests skip header authentication. A form without
signature fields is anonymous, and succeeds only where the bucket's policy
or ACL lets anyone write.

Field names are case-insensitive; the `file` part must come last, and
whatever follows it is ignored. The fields are held in memory (20 KiB at
most); the file streams into the object writer, its size checked against
the policy's content-length-range as it goes.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from types import MappingProxyType
from urllib.parse import quote, urlencode, urlsplit

from dolium.core.access.actions import Action
from dolium.core.access.decisions import ANONYMOUS
from dolium.core.store import Store
from dolium.frontends.s3.auth import post_policy, sigv2, sigv4
from dolium.frontends.s3.auth.authenticator import Authenticator, virtual_bucket
from dolium.frontends.s3.auth.facts import of_request
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.objects import version_headers
from dolium.frontends.s3.rules import objects as rules
from dolium.frontends.s3.wire import acl_xml, formdata, xml
from dolium.frontends.s3.wire.headers import META_PREFIX, write_options
from dolium.frontends.s3.wire.http import Response, S3Request, receive_body
from dolium.frontends.s3.wire.sse_headers import require_kms_tls
from dolium.frontends.s3.wire.sse_headers import response_headers as sse_response_headers
from dolium.model import ChangeAction, Principal

# The form data and boundaries before the file, as S3 bounds them.
MAX_PRE_DATA = 20 * 1024
FILENAME_VARIABLE = "${filename}"
# Fields that take the place of PutObject's headers.
_HEADER_FIELDS = frozenset(
    {
        "cache-control",
        "content-disposition",
        "content-encoding",
        "content-md5",
        "content-type",
        "expires",
        "x-amz-acl",
        "x-amz-object-lock-legal-hold",
        "x-amz-object-lock-mode",
        "x-amz-object-lock-retain-until-date",
        "x-amz-storage-class",
        "x-amz-website-redirect-location",
    }
)
_HEADER_PREFIXES = (META_PREFIX, "x-amz-checksum-", "x-amz-server-side-encryption")
_BROWSER_HEADERS = frozenset({"host", "origin", "referer", "user-agent"})
# Fields that authenticate the form: never expanded, never stored.
_AUTH_FIELDS = frozenset(
    {
        "policy",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "x-amz-signature",
        "awsaccesskeyid",
        "signature",
    }
)
_V4_FIELDS = ("X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Signature", "Policy")
_V2_FIELDS = ("AWSAccessKeyId", "Signature", "Policy")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_DATE = re.compile(r"\d{8}")
_MALFORMED_CREDENTIAL = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)
_UNKNOWN_KEY = "The AWS Access Key Id you provided does not exist in our records."


def is_browser_upload(request: S3Request) -> bool:
    """POST on a bucket with no sub-resource: an HTML form upload."""
    return (
        request.method == "POST"
        and bool(request.bucket)
        and not request.key
        and not (request.query)
    )


@dataclass
class Fields:
    """A form's fields before the file: lower-cased names, `${filename}` expanded."""

    names: list[str]  # as sent, in order
    raw: dict[str, bytes]  # lower-cased name -> value bytes (repeats joined by commas)

    @classmethod
    def of(cls, form: formdata.Form) -> Fields:
        names: list[str] = []
        raw: dict[str, bytes] = {}
        filename = form.file.filename if form.file is not None else None
        for name, sent in form.fields:
            lower = name.lower()
            value = sent
            if filename is not None and lower not in _AUTH_FIELDS:
                value = sent.replace(FILENAME_VARIABLE.encode(), _basename(filename).encode())
            names.append(name)
            raw[lower] = raw[lower] + b"," + value if lower in raw else value
        return cls(names, raw)

    def get(self, name: str) -> str | None:
        value = self.raw.get(name)
        return None if value is None else value.decode("utf-8", "replace")

    def text(self) -> dict[str, str]:
        return {name: value.decode("utf-8", "replace") for name, value in self.raw.items()}


def _basename(filename: str) -> str:
    # Browsers of old sent whole paths; S3 keeps what follows the last separator.
    return re.split(r"[/\\]", filename)[-1]


def _missing(name: str) -> S3Error:
    return S3Error(
        400,
        "InvalidArgument",
        f"Bucket POST must contain a field named '{name}'.  "
        "If it is specified, please check the order of the fields.",
        ArgumentName=name,
        ArgumentValue="",
    )


def _bad_argument(message: str, name: str, value: str, **extra: str) -> S3Error:
    fields = {"ArgumentName": name, "ArgumentValue": value, **extra}
    return sigv4.fail(400, "InvalidArgument", message, fields)


def _require(fields: Fields, names: tuple[str, ...]) -> dict[str, str]:
    values: dict[str, str] = {}
    for name in names:
        value = fields.get(name.lower())
        if not value:
            raise _missing(name)
        values[name.lower()] = value
    return values


async def _verify_v4(fields: Fields, auth: Authenticator) -> tuple[Principal, str]:
    values = _require(fields, _V4_FIELDS)
    algorithm, credential = values["x-amz-algorithm"], values["x-amz-credential"]
    if algorithm != sigv4.ALGORITHM:
        message = 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'
        raise _bad_argument(message, "X-Amz-Algorithm", algorithm)
    access_key, date, region = _credential(credential, auth.region)
    amz_date = values["x-amz-date"]
    if _AMZ_DATE.fullmatch(amz_date) is None:
        # S3's message, spelling included.
        message = "X-Amz-Date must be formated via ISO8601 Long format"
        raise _bad_argument(message, "X-Amz-Date", amz_date)
    found = await auth.keys.lookup(access_key)
    if found is None or not found[0].active:
        raise _unknown_key(access_key)
    key, principal = found
    policy = values["policy"]
    expected = sigv4.sign(sigv4.signing_key(key.secret_key, date, region), policy)
    if not sigv4.same_signature(expected, values["x-amz-signature"]):
        raise sigv4.mismatch(access_key, policy)
    return principal, sigv4.ALGORITHM


def _credential(credential: str, server_region: str | None) -> tuple[str, str, str]:
    def bad(message: str, **extra: str) -> S3Error:
        return _bad_argument(message, "X-Amz-Credential", credential, **extra)

    parts = credential.split("/")
    if len(parts) != 5:
        raise bad(_MALFORMED_CREDENTIAL)
    access_key, date, region, service, terminal = parts
    if not access_key:
        raise bad("a non-empty Access Key (AKID) must be provided in the credential.")
    if _DATE.fullmatch(date) is None:
        raise bad(
            f'incorrect date format "{date}". '
            'This date in the credential must be in the format "yyyyMMdd".'
        )
    if service != sigv4.SERVICE:
        raise bad(f'incorrect service "{service}". This endpoint belongs to "s3".')
    if terminal != "aws4_request":
        raise bad(f'incorrect terminal "{terminal}". This endpoint uses "aws4_request".')
    if server_region is not None and region != server_region:
        raise bad(
            f"the region '{region}' is wrong; expecting '{server_region}'", Region=server_region
        )
    return access_key, date, region


async def _verify_v2(fields: Fields, auth: Authenticator) -> tuple[Principal, str]:
    values = _require(fields, _V2_FIELDS)
    access_key, policy = values["awsaccesskeyid"], values["policy"]
    found = await auth.keys.lookup(access_key)
    if found is None or not found[0].active:
        raise _unknown_key(access_key)
    key, principal = found
    expected = sigv2.sign(key.secret_key, policy.encode("utf-8"))
    if not sigv2.same_signature(expected, values["signature"]):
        raise sigv4.mismatch(access_key, policy)
    return principal, "AWS"


def _unknown_key(access_key: str) -> S3Error:
    return S3Error(403, "InvalidAccessKeyId", _UNKNOWN_KEY, AWSAccessKeyId=access_key)


async def authenticate(
    request: S3Request, fields: Fields, auth: Authenticator, now: float
) -> tuple[Principal, post_policy.PostPolicy | None]:
    """The form's principal, and its policy once checked; anonymous without signature."""
    if fields.get("x-amz-security-token") is not None:
        # Dolium issues no session credentials, so every token is unknown.
        raise S3Error(400, "InvalidToken", "The provided token is malformed or otherwise invalid.")
    if any(name.lower() in fields.raw for name in _V4_FIELDS[:4]):
        principal, version = await _verify_v4(fields, auth)
        exempt = post_policy.EXEMPT_V4
    elif any(name.lower() in fields.raw for name in _V2_FIELDS[:2]):
        principal, version = await _verify_v2(fields, auth)
        exempt = post_policy.EXEMPT_V2
    else:
        return of_request(request, ANONYMOUS), None
    policy = post_policy.decode(fields.get("policy") or "")
    values = fields.text()
    values["bucket"] = request.bucket  # the bucket the form is posted to
    post_policy.check(policy, values, fields.names, exempt, now)
    principal = of_request(request, principal)
    facts = dict(principal.facts)
    facts.update({"s3:authtype": "POST", "s3:signatureversion": version})
    return replace(principal, facts=MappingProxyType(facts)), policy


async def _sized(
    chunks: AsyncIterator[bytes], low: int, high: int, estimate: int | None
) -> AsyncIterator[bytes]:
    """The file, refused as soon as it outgrows `high`, or at its end if under `low`."""
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > high:
            # The request's length tells the whole file's size when no field follows it.
            raise post_policy.too_large(max(size, estimate or 0), high)
        yield chunk
    if size < low:
        raise post_policy.too_small(size, low)


def _estimate(request: S3Request, file: formdata.FilePart, boundary: bytes) -> int | None:
    length = request.header("content-length")
    if length is None or not length.isdigit():
        return None
    return int(length) - file.offset - len(b"\r\n--" + boundary + b"--\r\n")


def _object_request(request: S3Request, fields: Fields) -> S3Request:
    """The request as PutObject would have seen it: the fields as its headers.

    The browser's own headers that policy conditions test (Referer, ...)
    are kept; its Content-Type is the form's, never the object's.
    """
    headers = [(name, value) for name, value in request.headers if name in _BROWSER_HEADERS]
    for name, value in fields.raw.items():
        header = "x-amz-acl" if name == "acl" else name
        if header in _HEADER_FIELDS or header.startswith(_HEADER_PREFIXES):
            # Header values are the latin-1 text of the wire bytes.
            headers.append((header, value.decode("latin-1")))
    return replace(request, headers=headers, query={})


def _location(request: S3Request, key: str) -> str:
    scheme = "https" if request.secure else "http"
    host = request.header("host", "") or ""
    path = quote(key, safe="")  # S3 encodes the key's slashes too
    if virtual_bucket(request) is None:
        path = f"{request.bucket}/{path}"
    return f"{scheme}://{host}/{path}"


def _redirect_target(value: str | None) -> str | None:
    """A redirect S3 can follow: absolute http(s) and no control characters."""
    if not value or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return None
    try:
        parts = urlsplit(value)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return value


async def post_object(
    store: Store, request: S3Request, auth: Authenticator, *, kms_tls: bool = True
) -> Response:
    """A browser form upload; `kms_tls`: refuse aws:kms fields over plain HTTP, as S3 does."""
    boundary = formdata.boundary_of(request.header("content-type", "") or "")
    # Who posts is in the form, so only the bucket can be checked before it.
    await store.buckets.exists(request.bucket)
    form = await formdata.read_form(receive_body(request.receive_message), boundary, MAX_PRE_DATA)
    fields = Fields.of(form)
    key = fields.get("key")
    if not key:
        raise _missing("key")
    if form.file is None:
        raise _bad_argument("POST requires exactly one file upload per request.", "file", "0")
    acl = fields.get("acl")
    if acl is not None:
        acl_xml.requested_acl({"x-amz-acl": acl})  # refuses a canned ACL S3 does not know
    as_put = _object_request(request, fields)
    require_kms_tls(as_put, kms_tls)
    principal, policy = await authenticate(as_put, fields, auth, time.time())
    request.principal = as_put.principal = principal
    await store.buckets.get(principal, request.bucket, Action.WRITE, key=key)
    opts = write_options(as_put, None)
    tagging = fields.raw.get("tagging")
    if tagging is not None:
        opts = replace(opts, tags=dict(xml.parse_tagging(tagging)))
    low, high = 0, post_policy.MAX_OBJECT_SIZE
    bounds = policy.size_range() if policy is not None else None
    if bounds is not None:
        low, high = bounds[0], min(bounds[1], high)
    body = _sized(form.file.chunks, low, high, _estimate(request, form.file, boundary))
    rules.check_write(key, opts.meta, opts.tags)
    version = await store.objects.put(
        principal, request.bucket, key, body, opts, action=ChangeAction.OBJECT_POST
    )
    headers = version_headers(version) + sse_response_headers(version.sse)
    for algorithm, value in version.checksums.items():
        headers.append((f"x-amz-checksum-{algorithm.lower()}", value))
    return _answer(request, fields, key, version.etag, headers)


def _answer(
    request: S3Request,
    fields: Fields,
    key: str,
    etag: str,
    extra: list[tuple[str, str]],
) -> Response:
    quoted = f'"{etag}"'
    location = _location(request, key)
    headers = [("etag", quoted), *extra]
    redirect = _redirect_target(fields.get("success_action_redirect") or fields.get("redirect"))
    if redirect is not None:
        query = urlencode([("bucket", request.bucket), ("key", key), ("etag", quoted)])
        target = redirect + ("&" if "?" in redirect else "?") + query
        # A header carries the URL's UTF-8 bytes, as latin-1 text.
        return Response(303, [("location", target.encode().decode("latin-1")), *headers])
    headers.append(("location", location))
    status = fields.get("success_action_status")
    if status == "201":
        body = xml.render(
            "PostResponse",
            [("Location", location), ("Bucket", request.bucket), ("Key", key), ("ETag", quoted)],
            xmlns=None,
        )
        return Response(201, [("content-type", "application/xml"), *headers], body)
    return Response(200 if status == "200" else 204, headers)
