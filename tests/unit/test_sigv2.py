"""SigV2 verification against the AWS documentation examples and real client signatures.

The worked examples of "Signing and authenticating REST requests" give a
request, its string to sign and its signature. The page now names the bucket
awsexamplebucket1, but its signatures were computed (and still verify) with
the bucket's earlier name, johnsmith, which is used here. Requests are also
signed by botocore's SigV2 signers, as boto3 sends them.
"""

from __future__ import annotations

import base64
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config

from dolium.frontends.s3.auth import sigv2, sigv4
from dolium.frontends.s3.auth.authenticator import virtual_bucket
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.wire.http import S3Request, parse_target
from dolium.model import AccessKey, Principal

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# The example credentials of the page's earlier edition.
OLD_AK = "0PN5J17HBGZHT7JJ3X82"
OLD_SK = "uV3F3YluFJax1cknvbcGwgjvx4QpvB+leU8dUj2o"
ENDPOINT = "http://s3.test:9000"


class MemoryKeys:
    def __init__(self, *keys: AccessKey) -> None:
        self.keys = {k.access_key: k for k in keys}

    async def lookup(self, access_key: str) -> tuple[AccessKey, Principal] | None:
        key = self.keys.get(access_key)
        if key is None:
            return None
        return key, Principal(key.tenant, key.user, key.access_key)


STORE = MemoryKeys(
    AccessKey(AK, SK, "acme", "alice"),
    AccessKey(OLD_AK, OLD_SK, "acme", "carol"),
    AccessKey("AKIAOFF", "x", "acme", "bob", active=False),
)


@dataclass(frozen=True)
class Wire:
    """A request as the server receives it (lower-case header names, latin-1 values)."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    virtual: str | None = None

    def parse(self) -> sigv2.V2Context | None:
        return sigv2.parse_request_auth(
            self.method, self.path, self.query, list(self.headers), self.virtual
        )

    def context(self) -> sigv2.V2Context:
        ctx = self.parse()
        assert ctx is not None
        return ctx

    async def verify(self, now: float | None = None) -> tuple[AccessKey, Principal, Any]:
        ctx = self.context()
        when = ctx.request_time - (10 if ctx.presigned else 0) if now is None else now
        return await sigv2.verify(ctx, STORE, when)

    def set(self, name: str, value: str | None) -> Wire:
        kept = tuple((k, v) for k, v in self.headers if k != name)
        added = ((name, value),) if value is not None else ()
        return Wire(self.method, self.path, self.query, kept + added, self.virtual)


def request(
    method: str, target: str, *headers: tuple[str, str], virtual: str | None = None
) -> Wire:
    path, _, query = target.partition("?")
    return Wire(method, path, query, tuple((k.lower(), v) for k, v in headers), virtual)


def auth(signature: str, key: str = AK) -> tuple[str, str]:
    return ("authorization", f"AWS {key}:{signature}")


async def fails(coro: Any, status: int, code: str, message: str | None = None) -> S3Error:
    with pytest.raises(S3Error) as info:
        await coro
    error = info.value
    assert (error.status, error.code) == (status, code), error
    if message is not None:
        assert error.message == message
    return error


def parse_fails(w: Wire, status: int, code: str, message: str | None = None) -> S3Error:
    with pytest.raises(S3Error) as info:
        w.parse()
    error = info.value
    assert (error.status, error.code) == (status, code), error
    if message is not None:
        assert error.message == message
    return error


# --- the worked examples of the AWS documentation ---------------------------------------------

VHOST = "johnsmith.s3.amazonaws.com"
EXAMPLES = {
    "object GET": (
        request("GET", "/photos/puppy.jpg", ("host", VHOST),
                ("date", "Tue, 27 Mar 2007 19:36:42 +0000"),
                auth("bWq2s1WEIj+Ydj0vQ697zp+IXMU="), virtual="johnsmith"),
        b"GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg",
    ),
    "object PUT": (
        request("PUT", "/photos/puppy.jpg", ("content-type", "image/jpeg"),
                ("content-length", "94328"), ("host", VHOST),
                ("date", "Tue, 27 Mar 2007 21:15:45 +0000"),
                auth("MyyxeRY7whkBe+bq8fHCL/2kKUg="), virtual="johnsmith"),
        b"PUT\n\nimage/jpeg\nTue, 27 Mar 2007 21:15:45 +0000\n/johnsmith/photos/puppy.jpg",
    ),
    "list": (
        request("GET", "/?prefix=photos&max-keys=50&marker=puppy", ("user-agent", "Mozilla/5.0"),
                ("host", VHOST), ("date", "Tue, 27 Mar 2007 19:42:41 +0000"),
                auth("htDYFYduRNen8P9ZfE/s9SuKy0U="), virtual="johnsmith"),
        b"GET\n\n\nTue, 27 Mar 2007 19:42:41 +0000\n/johnsmith/",
    ),
    "fetch acl": (
        request("GET", "/?acl", ("host", VHOST), ("date", "Tue, 27 Mar 2007 19:44:46 +0000"),
                auth("c2WLPFtWHVgbEmeEG93a4cG37dM="), virtual="johnsmith"),
        b"GET\n\n\nTue, 27 Mar 2007 19:44:46 +0000\n/johnsmith/?acl",
    ),
    "upload to a CNAME bucket": (
        request("PUT", "/db-backup.dat.gz", ("user-agent", "curl/7.15.5"),
                ("host", "static.johnsmith.net:8080"),
                ("date", "Tue, 27 Mar 2007 21:06:08 +0000"), ("x-amz-acl", "public-read"),
                ("content-type", "application/x-download"),
                ("content-md5", "4gJE4saaMU4BqNR0kLY+lw=="),
                ("X-Amz-Meta-ReviewedBy", "joe@johnsmith.net"),
                ("X-Amz-Meta-ReviewedBy", "jane@johnsmith.net"),
                ("X-Amz-Meta-FileChecksum", "0x02661779"),
                ("X-Amz-Meta-ChecksumAlgorithm", "crc32"),
                ("content-disposition", "attachment; filename=database.dat"),
                ("content-encoding", "gzip"), ("content-length", "5913339"),
                auth("ilyl83RwaSoYIEdixDQcA4OnAnc="), virtual="static.johnsmith.net"),
        b"PUT\n4gJE4saaMU4BqNR0kLY+lw==\napplication/x-download\n"
        b"Tue, 27 Mar 2007 21:06:08 +0000\n"
        b"x-amz-acl:public-read\nx-amz-meta-checksumalgorithm:crc32\n"
        b"x-amz-meta-filechecksum:0x02661779\n"
        b"x-amz-meta-reviewedby:joe@johnsmith.net,jane@johnsmith.net\n"
        b"/static.johnsmith.net/db-backup.dat.gz",
    ),
    "list all my buckets": (
        request("GET", "/", ("host", "s3.amazonaws.com"),
                ("date", "Wed, 28 Mar 2007 01:29:59 +0000"),
                auth("qGdzdERIC03wnaRNKh6OqZehG9s=")),
        b"GET\n\n\nWed, 28 Mar 2007 01:29:59 +0000\n/",
    ),
    "unicode keys": (
        request("GET", "/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re", ("host", "s3.amazonaws.com"),
                ("date", "Wed, 28 Mar 2007 01:49:49 +0000"),
                auth("DNEZGsoieTZ92F3bUfSPQcbGmlM=")),
        # Taken literally: the encoding and the case of its hex digits are signed.
        b"GET\n\n\nWed, 28 Mar 2007 01:49:49 +0000\n/dictionary/fran%C3%A7ais/pr%c3%a9f%c3%a8re",
    ),
    "query string": (
        request("GET", f"/photos/puppy.jpg?AWSAccessKeyId={AK}&"
                "Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620",
                ("host", VHOST), virtual="johnsmith"),
        b"GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg",
    ),
    # The earlier edition: with x-amz-date, the Date slot is empty and Date is ignored.
    "delete with x-amz-date": (
        request("DELETE", "/johnsmith/photos/puppy.jpg", ("user-agent", "dotnet"),
                ("host", "s3.amazonaws.com"), ("date", "Tue, 27 Mar 2007 21:20:27 +0000"),
                ("x-amz-date", "Tue, 27 Mar 2007 21:20:26 +0000"),
                auth("k3nL7gH3+PadhTEVn5Ip83xlYzk=", OLD_AK)),
        b"DELETE\n\n\n\nx-amz-date:Tue, 27 Mar 2007 21:20:26 +0000\n/johnsmith/photos/puppy.jpg",
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", EXAMPLES)
async def test_documented_examples(name: str) -> None:
    w, expected = EXAMPLES[name]
    ctx = w.context()
    assert ctx.string_to_sign == expected
    key, principal, info = await w.verify()
    assert principal.tenant == "acme" and principal.access_key == key.access_key
    assert info.payload == sigv4.UNSIGNED_PAYLOAD


async def test_the_doc_example_is_refused_if_anything_changes() -> None:
    w, _ = EXAMPLES["upload to a CNAME bucket"]
    for changed in (
        w.set("content-type", "application/octet-stream"),
        w.set("content-md5", None),
        w.set("x-amz-acl", "private"),
        w.set("date", "Tue, 27 Mar 2007 21:06:09 +0000"),
        Wire(w.method, "/db-backup.dat", w.query, w.headers, w.virtual),
        Wire("POST", w.path, w.query, w.headers, w.virtual),
        Wire(w.method, w.path, w.query, w.headers, "static.johnsmith.org"),
    ):
        await fails(changed.verify(), 403, "SignatureDoesNotMatch")
    # Headers that are not signed may change.
    await w.set("content-encoding", "br").set("user-agent", "other").verify()


def test_signature_is_base64_hmac_sha1() -> None:
    assert sigv2.sign(SK, b"GET\n\n\n1175139620\n/johnsmith/photos/puppy.jpg") == (
        "NpgCjnDzrM+WFzoENXmpNDUsSn8="
    )
    assert len(base64.b64decode(sigv2.sign("k", b""))) == 20


# --- canonicalization ---------------------------------------------------------------------


def test_subresources_are_sorted_decoded_and_others_dropped() -> None:
    query = (
        "versionId=3%2F4&prefix=p&acl&uploadId=a%2Bb&max-keys=5"
        "&response-content-type=text%2Fplain%3B%20charset%3Dutf-8&partNumber=2&tagging="
    )
    assert sigv2.canonical_resource("/b/k", query) == (
        b"/b/k?acl&partNumber=2&response-content-type=text/plain; charset=utf-8"
        b"&tagging=&uploadId=a+b&versionId=3/4"
    )


@pytest.mark.parametrize(
    ("path", "query", "virtual", "resource"),
    [
        ("/", "", None, b"/"),
        ("", "", None, b"/"),
        ("/b", "uploads", None, b"/b/?uploads"),
        ("/", "delete", "b", b"/b/?delete"),
        ("/", "location", "b", b"/b/?location"),
        ("/a%20b/c+d", "x=1", "bkt", b"/bkt/a%20b/c+d"),
        ("/b/k", "versions&versioning&website&lifecycle", None,
         b"/b/k?lifecycle&versioning&versions&website"),
        ("/b/k", "AWSAccessKeyId=A&Expires=1&Signature=s", None, b"/b/k"),
    ],
)  # fmt: skip
def test_canonical_resource(path: str, query: str, virtual: str | None, resource: bytes) -> None:
    assert sigv2.canonical_resource(path, query, virtual) == resource


def test_amz_headers_are_lowered_sorted_joined_and_unfolded() -> None:
    headers = [
        ("X-Amz-Meta-B", "  two  "),
        ("x-amz-meta-a", "one"),
        ("X-AMZ-META-B", "three"),
        ("x-amz-meta-c", "first\r\n   second"),
        ("x-amz-meta-d", ""),
        ("content-type", "text/plain"),
        ("x-amzfoo", "not amz"),
    ]
    assert sigv2.canonical_amz_headers(headers) == (
        b"x-amz-meta-a:one\nx-amz-meta-b:two,three\nx-amz-meta-c:first second\nx-amz-meta-d:\n"
    )


def test_utf8_header_values_are_signed_as_sent() -> None:
    sent = "caf\u00e9".encode().decode("latin-1")  # what an ASGI server hands over
    to_sign = sigv2.string_to_sign("PUT", [("x-amz-meta-n", sent)], "d", "/b/k", "")
    assert to_sign == "PUT\n\n\nd\nx-amz-meta-n:caf\u00e9\n/b/k".encode()


# --- real client signatures -----------------------------------------------------------------


class Sent(Exception):
    def __init__(self, request: Any) -> None:
        super().__init__("captured")
        self.request = request


def boto_client(addressing: str = "path") -> Any:
    client = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        config=Config(
            signature_version="s3", s3={"addressing_style": addressing}, retries={"max_attempts": 1}
        ),
    )

    def stop(request: Any, **_: Any) -> None:
        raise Sent(request)

    client.meta.events.register("before-send", stop)
    return client


@pytest.fixture(params=["path", "virtual"])
def s3(request: pytest.FixtureRequest) -> Iterator[Any]:
    client = boto_client(request.param)
    yield client
    client.close()


def on_wire(url: str, headers: Any, method: str = "GET") -> Wire:
    parts = urllib.parse.urlsplit(url)
    pairs = [(k.lower(), v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in headers]
    host = parts.netloc
    virtual = host.partition(".")[0] if host.endswith(".s3.test:9000") else None
    return Wire(method, parts.path, parts.query, (("host", host), *pairs), virtual)


def capture(client: Any, operation: str, **params: Any) -> Wire:
    with pytest.raises(Sent) as sent:
        getattr(client, operation)(**params)
    r = sent.value.request
    return on_wire(r.url, r.headers.items(), r.method)


KEYS = ["plain", "a b+c", "\u00fc/\u4e2d", "100%", "!*'()", "a~b", "a=b&c", "a:b@c$d,e;f", "a//b"]


@pytest.mark.parametrize("key", KEYS)
async def test_boto3_object_operations(s3: Any, key: str) -> None:
    operations = [
        ("put_object", {"Body": b"x", "Metadata": {"Who": "me", "two": "a,b"}}),
        ("get_object", {"VersionId": "v/1", "ResponseContentType": "text/plain; x=y"}),
        ("head_object", {}),
        ("delete_object", {}),
        ("create_multipart_upload", {}),
        ("upload_part", {"UploadId": "u+1", "PartNumber": 2, "Body": b"p"}),
        ("list_parts", {"UploadId": "u+1"}),
        ("abort_multipart_upload", {"UploadId": "u+1"}),
        ("copy_object", {"CopySource": {"Bucket": "src", "Key": "k"}}),
    ]
    for operation, params in operations:
        w = capture(s3, operation, Bucket="bucket", Key=key, **params)
        _, principal, info = await w.verify()
        assert principal.user == "alice", operation
        assert info.payload in (sigv4.UNSIGNED_PAYLOAD,) or sigv4.is_sha256_hex(info.payload)


@pytest.mark.parametrize(
    ("operation", "params"),
    [
        ("list_buckets", {}),
        ("list_objects", {"Bucket": "bucket", "Prefix": "a b/", "Delimiter": "/"}),
        ("list_objects_v2", {"Bucket": "bucket", "StartAfter": "x"}),
        ("list_object_versions", {"Bucket": "bucket"}),
        ("list_multipart_uploads", {"Bucket": "bucket"}),
        ("get_bucket_location", {"Bucket": "bucket"}),
        ("get_bucket_versioning", {"Bucket": "bucket"}),
        ("delete_objects", {"Bucket": "bucket", "Delete": {"Objects": [{"Key": "a"}]}}),
        ("create_bucket", {"Bucket": "bucket"}),
        ("delete_bucket", {"Bucket": "bucket"}),
        ("get_bucket_acl", {"Bucket": "bucket"}),
        ("get_object_tagging", {"Bucket": "bucket", "Key": "k", "VersionId": "3"}),
    ],
)
async def test_boto3_bucket_operations(s3: Any, operation: str, params: dict[str, Any]) -> None:
    await capture(s3, operation, **params).verify()


async def test_boto3_presigned_urls(s3: Any) -> None:
    for operation, params in [
        ("get_object", {"Bucket": "bucket", "Key": "a b/\u00fc"}),
        ("get_object", {"Bucket": "bucket", "Key": "k", "ResponseContentDisposition": "a; b"}),
        ("put_object", {"Bucket": "bucket", "Key": "k"}),
        ("list_objects", {"Bucket": "bucket", "Prefix": "p"}),
    ]:
        url = s3.generate_presigned_url(operation, Params=params, ExpiresIn=300)
        assert "AWSAccessKeyId=" in url and "X-Amz-" not in url
        method = "PUT" if operation.startswith("put") else "GET"
        w = on_wire(url, [], method)
        ctx = w.context()
        assert ctx.presigned and ctx.access_key == AK
        _, principal, _ = await w.verify(now=time.time())
        assert principal.user == "alice"
        # Valid up to Expires, refused a second after.
        await w.verify(now=ctx.request_time)
        error = await fails(w.verify(now=ctx.request_time + 1), 403, "AccessDenied")
        assert error.message == "Request has expired"
        assert set(error.fields) == {"Expires", "ServerTime"}


# --- refusals --------------------------------------------------------------------------------

GET_EXAMPLE = EXAMPLES["object GET"][0]
QUERY_EXAMPLE = EXAMPLES["query string"][0]
T_GET = GET_EXAMPLE.context().request_time


async def test_unknown_and_inactive_keys() -> None:
    for key in ("AKIANOSUCHKEY", "AKIAOFF"):
        w = GET_EXAMPLE.set("authorization", f"AWS {key}:bWq2s1WEIj+Ydj0vQ697zp+IXMU=")
        error = await fails(w.verify(), 403, "InvalidAccessKeyId")
        assert error.fields == {"AWSAccessKeyId": key}


async def test_wrong_signature_shows_the_string_to_sign_and_no_secret() -> None:
    w = GET_EXAMPLE.set("authorization", f"AWS {AK}:bWq2s1WEIj+Ydj0vQ697zp+IXMu=")
    error = await fails(w.verify(), 403, "SignatureDoesNotMatch")
    expected = "GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/johnsmith/photos/puppy.jpg"
    assert error.fields["StringToSign"] == expected
    assert error.fields["StringToSignBytes"] == expected.encode().hex(" ")
    assert error.fields["AWSAccessKeyId"] == AK
    text = repr(error) + repr(error.fields)
    assert SK not in text and "bWq2s1WEIj" not in text
    assert "bWq2s1WEIj" not in repr(GET_EXAMPLE.context())


async def test_header_clock_skew() -> None:
    await GET_EXAMPLE.verify(now=T_GET + 15 * 60)
    await GET_EXAMPLE.verify(now=T_GET - 15 * 60)
    for now in (T_GET + 15 * 60 + 1, T_GET - 15 * 60 - 1):
        error = await fails(GET_EXAMPLE.verify(now=now), 403, "RequestTimeTooSkewed")
        assert error.fields["RequestTime"] == "Tue, 27 Mar 2007 19:36:42 +0000"
        assert error.fields["MaxAllowedSkewMilliseconds"] == "900000"
        assert error.fields["ServerTime"].endswith("Z")


async def test_signature_is_checked_before_the_clock() -> None:
    w = GET_EXAMPLE.set("authorization", f"AWS {AK}:AAAAAAAAAAAAAAAAAAAAAAAAAAA=")
    await fails(w.verify(now=T_GET + 3600), 403, "SignatureDoesNotMatch")


def test_date_is_required() -> None:
    message = "AWS authentication requires a valid Date or x-amz-date header"
    parse_fails(GET_EXAMPLE.set("date", None), 403, "AccessDenied", message)
    parse_fails(GET_EXAMPLE.set("date", "yesterday"), 403, "AccessDenied", message)
    parse_fails(GET_EXAMPLE.set("x-amz-date", "soon"), 403, "AccessDenied", message)


@pytest.mark.parametrize("value", ["AWS", "AWS ", f"AWS {AK}", f"AWS {AK}:", "AWS :sig"])
def test_malformed_authorization_header(value: str) -> None:
    error = parse_fails(
        GET_EXAMPLE.set("authorization", value),
        400,
        "InvalidArgument",
        "AWS authorization header is invalid.  Expected AwsAccessKeyId:signature",
    )
    assert error.fields == {"ArgumentName": "Authorization"}


def test_query_parameters_are_all_required() -> None:
    message = "Query-string authentication requires the Signature, Expires and AWSAccessKeyId "
    message += "parameters"
    for query in (
        f"AWSAccessKeyId={AK}&Signature=x",
        f"AWSAccessKeyId={AK}&Expires=1",
        "Signature=x&Expires=1",
        f"AWSAccessKeyId={AK}&Signature=&Expires=1",
    ):
        w = Wire("GET", "/b/k", query, (("host", "s3.test"),))
        parse_fails(w, 403, "AccessDenied", message)
    w = Wire("GET", "/b/k", f"AWSAccessKeyId={AK}&Signature=x&Expires=soon", ())
    parse_fails(w, 403, "AccessDenied", "Invalid date (should be seconds since epoch): soon")


async def test_query_signature_with_an_unencoded_plus() -> None:
    query = QUERY_EXAMPLE.query.replace("%2B", "+")
    w = Wire("GET", QUERY_EXAMPLE.path, query, QUERY_EXAMPLE.headers, "johnsmith")
    await w.verify()


async def test_query_auth_ignores_date_headers_but_signs_amz_headers() -> None:
    await QUERY_EXAMPLE.set("date", "Mon, 01 Jan 2001 00:00:00 GMT").verify()
    await fails(QUERY_EXAMPLE.set("x-amz-acl", "private").verify(), 403, "SignatureDoesNotMatch")


def test_mixed_mechanisms_are_refused() -> None:
    message = (
        "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
        "Signature query string parameter or the Authorization header should be specified"
    )
    header_and_query = Wire("GET", "/b/k", QUERY_EXAMPLE.query, GET_EXAMPLE.headers)
    parse_fails(header_and_query, 400, "InvalidArgument", message)
    v2_header_v4_query = Wire(
        "GET", "/b/k", "X-Amz-Algorithm=AWS4-HMAC-SHA256", GET_EXAMPLE.headers
    )
    parse_fails(v2_header_v4_query, 400, "InvalidArgument", message)
    v4_header = (("authorization", "AWS4-HMAC-SHA256 Credential=x"),)
    parse_fails(Wire("GET", "/b/k", QUERY_EXAMPLE.query, v4_header), 400, "InvalidArgument")
    both_queries = QUERY_EXAMPLE.query + "&X-Amz-Credential=x"
    parse_fails(Wire("GET", "/b/k", both_queries, ()), 400, "InvalidArgument", message)


def test_other_requests_are_not_sigv2() -> None:
    assert Wire("GET", "/b/k", "", (("host", "s3.test"),)).parse() is None
    v4 = (("authorization", "AWS4-HMAC-SHA256 Credential=a/b/c/s3/aws4_request"),)
    assert Wire("GET", "/b/k", "acl", v4).parse() is None
    assert Wire("GET", "/b/k", "X-Amz-Signature=abc&Expires=1", ()).parse() is None
    assert Wire("GET", "/b/k", "awsaccesskeyid=a&signature=b&expires=1", ()).parse() is None
    assert Wire("GET", "/b/k", "", (("authorization", "AWSX a:b"),)).parse() is None


def test_session_tokens_are_refused() -> None:
    token = GET_EXAMPLE.set("x-amz-security-token", "FwoGZXIvYXdzE")
    parse_fails(token, 400, "InvalidToken")
    query = Wire("GET", "/b/k", QUERY_EXAMPLE.query + "&x-amz-security-token=t", ())
    parse_fails(query, 400, "InvalidToken")


def test_payload_modes() -> None:
    digest = "a" * 64
    w = GET_EXAMPLE
    assert w.set("x-amz-content-sha256", digest).context().payload == digest
    assert w.set("x-amz-content-sha256", "UNSIGNED-PAYLOAD").context().payload == (
        sigv4.UNSIGNED_PAYLOAD
    )
    trailer = sigv4.STREAMING_UNSIGNED_TRAILER
    assert w.set("x-amz-content-sha256", trailer).context().payload == trailer
    for mode in (sigv4.STREAMING_SIGNED, sigv4.STREAMING_SIGNED_TRAILER):
        parse_fails(w.set("x-amz-content-sha256", mode), 400, "InvalidRequest")
    parse_fails(w.set("x-amz-content-sha256", "nonsense"), 400, "InvalidArgument")


async def test_signing_info_has_no_key_material() -> None:
    w = GET_EXAMPLE.set("x-amz-content-sha256", "b" * 64)
    ctx = w.context()
    signature = sigv2.sign(SK, ctx.string_to_sign)
    _, _, info = await w.set("authorization", f"AWS {AK}:{signature}").verify()
    assert info.access_key == AK and info.payload == "b" * 64
    assert info.signing_key == b"" and info.seed_signature == ""
    assert info.amz_date == "20070327T193642Z"


# --- virtual-hosted requests in the S3 front end ----------------------------------------------


async def _receive() -> dict[str, Any]:
    return {"type": "http.request"}


@pytest.mark.parametrize(
    ("host", "path", "expected"),
    [
        ("s3.test", "/b/k", None),
        ("s3.test", "/b", None),
        ("s3.test", "/", None),
        ("b.s3.test", "/k", "b"),
        ("b.s3.test", "/", "b"),
        ("b.s3.test", "/b/k", "b"),  # key "b/k" in bucket b
        ("b.s3.test", "/b", "b"),  # key "b" in bucket b
        ("b.s3.test", "/a%20b", "b"),
    ],
)
def test_virtual_bucket(host: str, path: str, expected: str | None) -> None:
    bucket, key = parse_target(host, urllib.parse.unquote(path), ["s3.test"])
    request = S3Request("GET", path, "", [("host", host)], bucket, key, {}, _receive)
    assert virtual_bucket(request) == expected
