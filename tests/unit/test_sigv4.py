"""SigV4 verification against real client signatures and the AWS documentation examples.

Requests are signed by botocore (the signer of boto3 and the aws CLI) with a
frozen clock, or copied from the worked examples of the S3 API reference,
then parsed and verified as the server receives them.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from urllib.parse import quote, urlsplit

import boto3
import botocore.auth
import botocore.crt.auth
import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from dolium.frontends.s3.auth import sigv4
from dolium.frontends.s3.errors import S3Error
from dolium.model import AccessKey, Principal

AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
CREDENTIALS = Credentials(AK, SK)
FIXED = dt.datetime(2024, 2, 29, 12, 34, 56)  # naive UTC, as botocore uses it
NOW = float(calendar.timegm(FIXED.timetuple()))
T2013 = float(calendar.timegm((2013, 5, 24, 0, 0, 0)))  # the time of the AWS examples
EMPTY = sigv4.EMPTY_SHA256
ENDPOINT = "http://s3.test:9000"
KEYS = ["a b", "a+b", "ü/中", "100%", "!*'()", "a~b", "a=b&c", "a:b@c$d,e;f", "a//b", "a?b#c"]


class MemoryKeys:
    def __init__(self, *keys: AccessKey) -> None:
        self.keys = {k.access_key: k for k in keys}

    async def lookup(self, access_key: str) -> tuple[AccessKey, Principal] | None:
        key = self.keys.get(access_key)
        if key is None:
            return None
        return key, Principal(key.tenant, key.user, key.access_key)


STORE = MemoryKeys(
    AccessKey(AK, SK, "acme", "alice"), AccessKey("AKIAOFF", "x", "acme", "bob", active=False)
)


@dataclass(frozen=True)
class Wire:
    """A request as the server receives it."""

    method: str
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]

    def parse(self) -> sigv4.AuthContext | None:
        return sigv4.parse_request_auth(self.method, self.path, self.query, list(self.headers))

    async def verify(
        self, now: float = NOW, region: str | None = "us-east-1"
    ) -> tuple[AccessKey, Principal, sigv4.SigningInfo]:
        ctx = self.parse()
        assert ctx is not None
        return await sigv4.verify(ctx, STORE, region, now)

    def set(self, name: str, value: str | None) -> Wire:
        kept = tuple((k, v) for k, v in self.headers if k != name)
        return replace(self, headers=kept + (((name, value),) if value is not None else ()))

    def edit_auth(self, old: str, new: str) -> Wire:
        auth = dict(self.headers)["authorization"]
        return self.set("authorization", auth.replace(old, new, 1))


def wire(method: str, url: str, headers: Iterable[tuple[str, str | bytes]] = ()) -> Wire:
    """The request as an ASGI server hands it over: header bytes read as latin-1."""
    parts = urlsplit(url)
    pairs = [(k.lower(), v.decode("latin-1") if isinstance(v, bytes) else v) for k, v in headers]
    if "host" not in dict(pairs):
        pairs.insert(0, ("host", parts.netloc))
    return Wire(method, parts.path, parts.query, tuple(pairs))


def fixed_datetime(remove_tzinfo: bool = True) -> dt.datetime:
    return FIXED if remove_tzinfo else FIXED.replace(tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    # botocore signs in Python, or with the AWS C library (awscrt) when it is installed.
    monkeypatch.setattr(botocore.auth, "get_current_datetime", fixed_datetime)
    monkeypatch.setattr(botocore.crt.auth, "get_current_datetime", fixed_datetime)


def signed(
    method: str, url: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
) -> Wire:
    request = AWSRequest(method=method, url=url, data=body)
    for name, value in headers:
        request.headers[name] = value  # a second assignment adds a second header
    S3SigV4Auth(CREDENTIALS, "s3", "us-east-1").add_auth(request)
    return wire(method, request.url, request.headers.items())


def presigned(
    method: str, url: str, headers: Iterable[tuple[str, str]] = (), expires: int = 3600
) -> Wire:
    request = AWSRequest(method=method, url=url)
    headers = list(headers)
    for name, value in headers:
        request.headers[name] = value
    S3SigV4QueryAuth(CREDENTIALS, "s3", "us-east-1", expires=expires).add_auth(request)
    return wire(method, request.url, headers)


class Sent(Exception):
    def __init__(self, request: object) -> None:
        super().__init__("captured")
        self.request = request


@pytest.fixture(params=["crt", "python"])
def s3(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """A boto3 client whose requests are captured instead of sent, with either signer."""
    if request.param == "python":
        monkeypatch.setitem(botocore.auth.AUTH_TYPE_MAPS, "s3v4", S3SigV4Auth)
        monkeypatch.setitem(botocore.auth.AUTH_TYPE_MAPS, "s3v4-query", S3SigV4QueryAuth)
    else:
        assert botocore.auth.AUTH_TYPE_MAPS["s3v4"].__module__ == "botocore.crt.auth"
    client = boto3.client(
        "s3",
        endpoint_url=ENDPOINT,
        region_name="us-east-1",
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        # Without signature_version, boto3 presigns with SigV2 in the regions that had it.
        config=Config(
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            retries={"max_attempts": 1},
        ),
    )

    def stop(request: object, **_: object) -> None:
        raise Sent(request)

    client.meta.events.register("before-send", stop)
    yield client
    client.close()


def capture(client: object, operation: str, **params: object) -> Wire:
    with pytest.raises(Sent) as sent:
        getattr(client, operation)(**params)
    request = sent.value.request
    return wire(request.method, request.url, request.headers.items())  # type: ignore[attr-defined]


async def fails(coro: object, status: int, code: str, message: str | None = None) -> S3Error:
    with pytest.raises(S3Error) as info:
        await coro  # type: ignore[misc]
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


# --- the worked examples of the S3 API reference (known signatures) --------------------------

EXAMPLE_HOST = "examplebucket.s3.amazonaws.com"


def example(method: str, target: str, signed_headers: str, signature: str, *headers: str) -> Wire:
    auth = (
        f"AWS4-HMAC-SHA256 Credential={AK}/20130524/us-east-1/s3/aws4_request,"
        f"SignedHeaders={signed_headers},Signature={signature}"
    )
    pairs = [("host", EXAMPLE_HOST), ("x-amz-date", "20130524T000000Z")]
    pairs += [("x-amz-content-sha256", EMPTY)] * ("x-amz-content-sha256" not in "".join(headers))
    pairs += [tuple(h.split(": ", 1)) for h in headers]  # type: ignore[misc]
    path, _, query = target.partition("?")
    return Wire(method, path, query, (*pairs, ("authorization", auth)))


AWS_EXAMPLES = {
    "GET Object": example(
        "GET", "/test.txt", "host;range;x-amz-content-sha256;x-amz-date",
        "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41", "range: bytes=0-9",
    ),
    "PUT Object": example(
        "PUT", "/test%24file.text", "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
        "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
        "date: Fri, 24 May 2013 00:00:00 GMT", "x-amz-storage-class: REDUCED_REDUNDANCY",
        "x-amz-content-sha256: 44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072",
    ),
    "GET Bucket Lifecycle": example(
        "GET", "/?lifecycle", "host;x-amz-content-sha256;x-amz-date",
        "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
    ),
    "GET Bucket (List Objects)": example(
        "GET", "/?max-keys=2&prefix=J", "host;x-amz-content-sha256;x-amz-date",
        "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
    ),
    "presigned GET Object": Wire("GET", "/test.txt", (
        f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={AK}%2F20130524%2Fus-east-1%2Fs3%2F"
        "aws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
    ), (("host", EXAMPLE_HOST),)),
}  # fmt: skip


@pytest.mark.parametrize("name", AWS_EXAMPLES)
async def test_aws_documentation_examples(name: str) -> None:
    key, principal, info = await AWS_EXAMPLES[name].verify(now=T2013)
    assert (key.access_key, principal.tenant, principal.user) == (AK, "acme", "alice")
    assert info.scope == "20130524/us-east-1/s3/aws4_request"
    assert info.amz_date == "20130524T000000Z"
    assert info.signing_key == sigv4.signing_key(SK, "20130524", "us-east-1")


async def test_signing_info_carries_what_the_body_decoder_needs() -> None:
    _, _, info = await AWS_EXAMPLES["PUT Object"].verify(now=T2013)
    assert info.payload == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072"
    assert info.seed_signature == "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd"
    _, _, info = await AWS_EXAMPLES["presigned GET Object"].verify(now=T2013)
    assert info.payload == sigv4.UNSIGNED_PAYLOAD
    # Secrets and signatures stay out of reprs, which end up in logs.
    assert info.seed_signature not in repr(info)
    assert info.signing_key.hex() not in repr(info) and str(info.signing_key) not in repr(info)


def test_anonymous_requests_have_no_auth_context() -> None:
    assert wire("GET", f"{ENDPOINT}/b/k?versionId=3").parse() is None
    assert wire("GET", f"{ENDPOINT}/b/k", [("authorization", "")]).parse() is None


# --- canonical forms, as S3 computes them -------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("/test-bucket/a%20b/a+b", "/test-bucket/a%20b/a%2Bb"),
        ("/test-bucket/%c3%bc/%E4%B8%AD", "/test-bucket/%C3%BC/%E4%B8%AD"),
        ("/test-bucket/!*'()~=&:@$,;", "/test-bucket/%21%2A%27%28%29~%3D%26%3A%40%24%2C%3B"),
        ("/test-bucket/%21%2A%27%28%29%7E%3D%26%3A", "/test-bucket/%21%2A%27%28%29~%3D%26%3A"),
        ("/test-bucket/100%25/100%", "/test-bucket/100%25/100%25"),
        ("/test-bucket//a//b/", "/test-bucket//a//b/"),
        ("/b/a%2Fb", "/b/a%2Fb"),  # an encoded slash stays one
        ("/b/x/../y/./z", "/b/x/../y/./z"),  # S3 does not normalize
        ("", "/"),
    ],
)
def test_canonical_uri(raw: str, canonical: str) -> None:
    assert sigv4.canonical_uri(raw) == canonical
    assert sigv4.canonical_uri(raw.encode()) == canonical


def test_canonical_uri_of_raw_utf8_bytes() -> None:
    # A client that sends UTF-8 unencoded; the ASGI layer hands it over as latin-1 text.
    raw = "/b/ü".encode()
    assert sigv4.canonical_uri(raw) == sigv4.canonical_uri(raw.decode("latin-1")) == "/b/%C3%BC"


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("b=2&a=1", "a=1&b=2"),
        ("a=2&a=1&a=&A=3", "A=3&a=&a=1&a=2"),
        ("acl&b=", "acl=&b="),
        ("a=b+c&d=e%2Bf&g=%20", "a=b%20c&d=e%2Bf&g=%20"),
        # Sorted by name, then value: not as text, where "-" and "." sort below "=".
        ("k=1&k-x=2&k.y=3&k0=4", "k=1&k-x=2&k.y=3&k0=4"),
        ("k=%c3%bc~!*'()&l=a=b&m=a:b/c", "k=%C3%BC~%21%2A%27%28%29&l=a%3Db&m=a%3Ab%2Fc"),
        ("&&x=1&", "x=1"),
        ("", ""),
    ],
)
def test_canonical_query(raw: str, canonical: str) -> None:
    assert sigv4.canonical_query(sigv4.query_pairs(raw)) == canonical


# --- header authentication, signed by botocore ---------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
async def test_boto3_put_get_head_delete_of_special_keys(s3: object, key: str) -> None:
    requests = [
        capture(s3, "put_object", Bucket="bucket", Key=key, Body=b"data", Metadata={"k": "v w"}),
        capture(s3, "get_object", Bucket="bucket", Key=key, Range="bytes=0-1", VersionId="v+1/="),
        capture(s3, "head_object", Bucket="bucket", Key=key),
        capture(s3, "delete_object", Bucket="bucket", Key=key),
        capture(
            s3, "copy_object", Bucket="bucket", Key=key, CopySource={"Bucket": "b", "Key": key}
        ),
    ]
    for request in requests:
        _, principal, info = await request.verify()
        assert principal.user == "alice"
        assert info.payload == dict(request.headers)["x-amz-content-sha256"]
        assert info.amz_date == "20240229T123456Z"


async def test_boto3_listing_with_special_query_values(s3: object) -> None:
    request = capture(
        s3, "list_objects_v2", Bucket="bucket", Prefix="a b+c/ü~%", Delimiter="/",
        StartAfter="x=y&z", MaxKeys=7, EncodingType="url",
    )  # fmt: skip
    assert "prefix=a%20b%2Bc%2F%C3%BC~%25" in request.query
    await request.verify()


async def test_boto3_post_with_a_body(s3: object) -> None:
    request = capture(
        s3, "delete_objects", Bucket="bucket", Delete={"Objects": [{"Key": k} for k in KEYS]}
    )
    assert request.method == "POST" and request.query.startswith("delete")
    _, _, info = await request.verify()
    assert sigv4.is_sha256_hex(info.payload)


async def test_botocore_query_with_repeated_and_empty_parameters() -> None:
    url = f"{ENDPOINT}/bucket/k?tagging&a=2&a=1&empty=&sp=%20x%2By&tilde=~&pct=%25&u=%C3%BC"
    await signed("GET", url).verify()


async def test_header_values_are_trimmed_collapsed_and_joined() -> None:
    headers = [
        ("X-Amz-Meta-S", "  a   b \t c  "),
        ("X-Amz-Meta-R", "1"),
        ("X-Amz-Meta-R", " 2  3 "),
        ("Content-Type", "text/plain;  charset=utf-8"),
    ]
    request = signed("PUT", f"{ENDPOINT}/bucket/k", headers, body=b"x")
    assert [v for k, v in request.headers if k == "x-amz-meta-r"] == ["1", " 2  3 "]
    await request.verify()
    reordered = request.set("x-amz-meta-r", "1,2 3")  # the same canonical value
    await reordered.verify()
    changed = request.set("x-amz-meta-r", "2 3,1")
    await fails(changed.verify(), 403, "SignatureDoesNotMatch")


async def test_date_header_instead_of_x_amz_date() -> None:
    request = AWSRequest(method="GET", url=f"{ENDPOINT}/bucket/k")
    request.headers["Date"] = "placeholder"  # botocore then signs with Date, not X-Amz-Date
    S3SigV4Auth(CREDENTIALS, "s3", "us-east-1").add_auth(request)
    w = wire("GET", request.url, request.headers.items())
    assert "x-amz-date" not in dict(w.headers)
    _, _, info = await w.verify()
    assert info.amz_date == "20240229T123456Z"


async def test_signature_hex_digits_in_upper_case() -> None:
    request = signed("GET", f"{ENDPOINT}/bucket/k")
    signature = dict(request.headers)["authorization"][-64:]
    await request.edit_auth(signature, signature.upper()).verify()


async def test_region_none_accepts_the_region_of_the_client() -> None:
    request = AWSRequest(method="GET", url=f"{ENDPOINT}/bucket/k")
    S3SigV4Auth(CREDENTIALS, "s3", "eu-west-3").add_auth(request)
    w = wire("GET", request.url, request.headers.items())
    _, _, info = await w.verify(region=None)
    assert info.scope == "20240229/eu-west-3/s3/aws4_request"
    error = await fails(w.verify(region="us-east-1"), 400, "AuthorizationHeaderMalformed")
    assert error.message == (
        "The authorization header is malformed; the region 'eu-west-3' is wrong; "
        "expecting 'us-east-1'"
    )
    assert error.fields == {"Region": "us-east-1"}


MALFORMED = "The authorization header is malformed; "
COMPONENTS = (
    MALFORMED + "the authorization header requires three components: "
    "Credential, SignedHeaders, and Signature."
)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("Credential=", "Credentials=", COMPONENTS),
        ("SignedHeaders=", "Signed=", COMPONENTS),
        ("Signature=", "Sig=", COMPONENTS),
        ("/us-east-1/", "/", MALFORMED + 'the Credential is mal-formed; expecting '
         '"<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'),
        ("/20240229/", "/2024022/", MALFORMED + 'incorrect date format "2024022". '
         'This date in the credential must be in the format "yyyyMMdd".'),
        ("/s3/", "/ec2/", MALFORMED + 'incorrect service "ec2". This endpoint belongs to "s3".'),
        ("aws4_request", "aws4_reques", MALFORMED + 'incorrect terminal "aws4_reques". '
         'This endpoint uses "aws4_request".'),
        ("/20240229/", "/20240228/", MALFORMED + 'Invalid credential date "20240228". '
         'This date is not the same as X-Amz-Date: "20240229".'),
    ],
)  # fmt: skip
def test_malformed_authorization_header(old: str, new: str, message: str) -> None:
    request = signed("GET", f"{ENDPOINT}/bucket/k").edit_auth(old, new)
    parse_fails(request, 400, "AuthorizationHeaderMalformed", message)


V2 = "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."


def test_unsupported_mechanisms() -> None:
    base = signed("GET", f"{ENDPOINT}/bucket/k")
    parse_fails(
        base.set("authorization", f"AWS {AK}:frJIUN8DYpKDtOLCwo//yllqDzg="),
        400,
        "InvalidRequest",
        V2,
    )
    parse_fails(
        base.edit_auth("AWS4-HMAC-SHA256", "AWS4-ECDSA-P256-SHA256"), 400, "InvalidRequest", V2
    )
    v2_query = wire("GET", f"{ENDPOINT}/b/k?AWSAccessKeyId={AK}&Expires=1&Signature=abc%3D")
    parse_fails(v2_query, 400, "InvalidRequest", V2)
    error = parse_fails(base.set("authorization", "Bearer token"), 400, "InvalidArgument")
    assert error.message == "Unsupported Authorization Type"
    assert error.fields == {"ArgumentName": "Authorization"}  # the credentials are not echoed
    mixed = replace(base, query="X-Amz-Algorithm=AWS4-HMAC-SHA256")
    error = parse_fails(mixed, 400, "InvalidArgument")
    assert error.message.startswith("Only one auth mechanism allowed;")
    token = base.set("x-amz-security-token", "FwoGZXIvYXdzE")
    parse_fails(token, 400, "InvalidToken", "The provided token is malformed or otherwise invalid.")


def test_payload_hash_header_is_required_and_checked() -> None:
    base = signed("GET", f"{ENDPOINT}/bucket/k")
    parse_fails(
        base.set("x-amz-content-sha256", None), 400, "InvalidRequest",
        "Missing required header for this request: x-amz-content-sha256",
    )  # fmt: skip
    error = parse_fails(base.set("x-amz-content-sha256", EMPTY[1:]), 400, "InvalidArgument")
    assert error.message == sigv4.PAYLOAD_HASH_MESSAGE
    assert error.fields == {"ArgumentName": "x-amz-content-sha256", "ArgumentValue": EMPTY[1:]}


@pytest.mark.parametrize("mode", sorted(sigv4.PAYLOAD_MODES))
async def test_payload_modes(mode: str) -> None:
    # The generic signer keeps the x-amz-content-sha256 it is given; the S3 one sets its own.
    aws_request = AWSRequest(method="PUT", url=f"{ENDPOINT}/bucket/k")
    aws_request.headers["X-Amz-Content-SHA256"] = mode
    SigV4Auth(CREDENTIALS, "s3", "us-east-1").add_auth(aws_request)
    request = wire("PUT", aws_request.url, aws_request.headers.items())
    _, _, info = await request.verify()
    assert info.payload == mode


def test_request_date_is_required() -> None:
    no_date = "AWS authentication requires a valid Date or x-amz-date header"
    base = signed("GET", f"{ENDPOINT}/bucket/k")
    parse_fails(base.set("x-amz-date", None), 403, "AccessDenied", no_date)
    parse_fails(base.set("x-amz-date", "2024-02-29T12:34:56Z"), 403, "AccessDenied", no_date)
    parse_fails(base.set("x-amz-date", "20241399T999999Z"), 403, "AccessDenied", no_date)
    bad_date = base.set("x-amz-date", None).set("date", "yesterday")
    parse_fails(bad_date, 403, "AccessDenied", no_date)


def test_every_x_amz_header_and_host_must_be_signed() -> None:
    base = signed("GET", f"{ENDPOINT}/bucket/k")
    error = parse_fails(
        base.set("x-amz-meta-color", "red").set("x-amz-acl", "public-read"), 403, "AccessDenied"
    )
    assert error.message == "There were headers present in the request which were not signed"
    assert error.fields == {"HeadersNotSigned": "x-amz-acl, x-amz-meta-color"}
    error = parse_fails(
        base.edit_auth("SignedHeaders=host;", "SignedHeaders="), 403, "AccessDenied"
    )
    assert error.fields == {"HeadersNotSigned": "host"}
    # Headers outside x-amz-* may go unsigned (proxies add them).
    proxied = base.set("user-agent", "curl").set("x-forwarded-for", "10.0.0.1")
    assert proxied.parse() is not None


async def test_unknown_or_inactive_access_key() -> None:
    base = signed("GET", f"{ENDPOINT}/bucket/k")
    for key in ("AKIAUNKNOWN", "AKIAOFF"):
        error = await fails(
            base.edit_auth(AK, key).verify(), 403, "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )  # fmt: skip
        assert error.fields == {"AWSAccessKeyId": key}


async def test_signature_mismatch_reports_what_the_server_signed() -> None:
    request = AWSRequest(method="GET", url=f"{ENDPOINT}/bucket/?prefix=a%20b")
    S3SigV4Auth(Credentials(AK, "another secret"), "s3", "us-east-1").add_auth(request)
    w = wire("GET", request.url, request.headers.items())
    error = await fails(w.verify(), 403, "SignatureDoesNotMatch", sigv4.MISMATCH_MESSAGE)
    canonical = (
        f"GET\n/bucket/\nprefix=a%20b\nhost:s3.test:9000\nx-amz-content-sha256:{EMPTY}\n"
        f"x-amz-date:20240229T123456Z\n\nhost;x-amz-content-sha256;x-amz-date\n{EMPTY}"
    )
    assert error.fields["CanonicalRequest"] == canonical
    assert error.fields["StringToSign"].startswith(
        "AWS4-HMAC-SHA256\n20240229T123456Z\n20240229/us-east-1/s3/aws4_request\n"
    )
    assert error.fields["CanonicalRequestBytes"] == canonical.encode().hex(" ")
    assert error.fields["AWSAccessKeyId"] == AK
    signature = dict(w.headers)["authorization"][-64:]
    assert all(signature not in value for value in error.fields.values())


@pytest.mark.parametrize(
    "tamper",
    [
        lambda w: replace(w, method="PUT"),
        lambda w: replace(w, path=w.path + "x"),
        lambda w: replace(w, query="prefix=b"),
        lambda w: w.set("x-amz-meta-a", "2"),
        lambda w: w.set("x-amz-meta-a", None),  # signed, then dropped
        lambda w: w.set("x-amz-date", "20240229T123457Z"),
        lambda w: w.set("x-amz-content-sha256", sigv4.UNSIGNED_PAYLOAD),
    ],
)
async def test_any_change_breaks_the_signature(tamper: object) -> None:
    request = signed("GET", f"{ENDPOINT}/bucket/k?prefix=a", [("x-amz-meta-a", "1")])
    await request.verify()
    await fails(tamper(request).verify(), 403, "SignatureDoesNotMatch")  # type: ignore[operator]


@pytest.mark.parametrize("offset", [-900, 900])
async def test_clock_skew_within_15_minutes(offset: int) -> None:
    await signed("GET", f"{ENDPOINT}/bucket/k").verify(now=NOW + offset)


@pytest.mark.parametrize("offset", [-901, 901])
async def test_clock_skew_beyond_15_minutes(offset: int) -> None:
    request = signed("GET", f"{ENDPOINT}/bucket/k")
    skewed = "The difference between the request time and the current time is too large."
    error = await fails(request.verify(now=NOW + offset), 403, "RequestTimeTooSkewed", skewed)
    server = dt.datetime.fromtimestamp(NOW + offset, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert error.fields == {
        "RequestTime": "20240229T123456Z",
        "ServerTime": server,
        "MaxAllowedSkewMilliseconds": "900000",
    }
    # S3 checks the key and the signature before the clock.
    await fails(
        request.edit_auth(AK, "AKIAUNKNOWN").verify(now=NOW + offset), 403, "InvalidAccessKeyId"
    )
    bad = request.set("x-amz-meta-x", None).edit_auth("Signature=", "Signature=0")
    await fails(bad.verify(now=NOW + offset), 403, "SignatureDoesNotMatch")


# --- presigned URLs ------------------------------------------------------------------------------


@pytest.mark.parametrize("key", KEYS)
async def test_boto3_presigned_get_and_put(s3: object, key: str) -> None:
    url = s3.generate_presigned_url(  # type: ignore[attr-defined]
        "get_object",
        Params={
            "Bucket": "bucket",
            "Key": key,
            "ResponseContentDisposition": 'attachment; filename="a b.txt"',
        },
        ExpiresIn=600,
    )
    _, _, info = await wire("GET", url).verify()
    assert info.payload == sigv4.UNSIGNED_PAYLOAD
    url = s3.generate_presigned_url(  # type: ignore[attr-defined]
        "put_object", Params={"Bucket": "bucket", "Key": key}, ExpiresIn=600
    )
    await wire("PUT", url).verify()
    # curl and browsers send headers of their own; only x-amz-* ones must be signed.
    await wire(
        "PUT", url, [("content-type", "image/png"), ("x-amz-content-sha256", EMPTY)]
    ).verify()


async def test_presigned_with_signed_headers() -> None:
    url = f"{ENDPOINT}/bucket/k?x-id=PutObject"
    request = presigned("PUT", url, [("x-amz-meta-color", "red"), ("Content-Type", "text/plain")])
    assert "X-Amz-SignedHeaders=content-type%3Bhost%3Bx-amz-meta-color" in request.query
    await request.verify()
    await fails(request.set("x-amz-meta-color", "blue").verify(), 403, "SignatureDoesNotMatch")
    await fails(request.set("x-amz-meta-color", None).verify(), 403, "SignatureDoesNotMatch")
    error = parse_fails(request.set("x-amz-meta-size", "1"), 403, "AccessDenied")
    assert error.fields == {"HeadersNotSigned": "x-amz-meta-size"}


async def test_presigned_query_changes_break_the_signature() -> None:
    request = presigned("GET", f"{ENDPOINT}/bucket/k?versionId=1")
    await request.verify()
    for query in (
        request.query.replace("versionId=1", "versionId=2"),
        request.query + "&response-content-type=text%2Fhtml",
        request.query.replace("X-Amz-", "x-amz-"),  # names as signed are part of the signature
    ):
        await fails(replace(request, query=query).verify(), 403, "SignatureDoesNotMatch")


async def test_presigned_parameter_names_in_any_case() -> None:
    scope = f"{AK}/20240229/us-east-1/s3/aws4_request"
    params = [
        ("x-amz-algorithm", "AWS4-HMAC-SHA256"), ("X-AMZ-CREDENTIAL", scope),
        ("x-amz-date", "20240229T123456Z"), ("x-amz-expires", "60"),
        ("X-Amz-Signedheaders", "host"),
    ]  # fmt: skip
    query = "&".join(f"{k}={quote(v, safe='')}" for k, v in sorted(params))
    canonical = f"GET\n/bucket/k\n{query}\nhost:s3.test:9000\n\nhost\nUNSIGNED-PAYLOAD"
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    to_sign = f"AWS4-HMAC-SHA256\n20240229T123456Z\n20240229/us-east-1/s3/aws4_request\n{digest}"
    signature = sigv4.sign(sigv4.signing_key(SK, "20240229", "us-east-1"), to_sign)
    await wire("GET", f"{ENDPOINT}/bucket/k?{query}&x-amz-SIGNATURE={signature}").verify()


REQUIRED = (
    "Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, "
    "X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
)


def with_param(w: Wire, name: str, value: str | None) -> Wire:
    pairs = [p for p in w.query.split("&") if p.partition("=")[0] != name]
    if value is not None:
        pairs.append(f"{name}={quote(value, safe='')}")
    return replace(w, query="&".join(pairs))


@pytest.mark.parametrize(
    "name", ["Algorithm", "Credential", "Signature", "Date", "SignedHeaders", "Expires"]
)
def test_presigned_parameters_are_required(name: str) -> None:
    request = with_param(presigned("GET", f"{ENDPOINT}/bucket/k"), f"X-Amz-{name}", None)
    parse_fails(request, 400, "AuthorizationQueryParametersError", REQUIRED)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA1", 'X-Amz-Algorithm only supports "AWS4-HMAC-SHA256"'),
        ("X-Amz-Date", "2024-02-29T12:34:56Z", "X-Amz-Date must be in the ISO8601 Long Format "
         "\"yyyyMMdd'T'HHmmss'Z'\""),
        ("X-Amz-Expires", "604801", "X-Amz-Expires must be less than a week (in seconds); that is, "
         "the given X-Amz-Expires must be less than 604800 seconds"),
        ("X-Amz-Expires", "-1", "X-Amz-Expires must be non-negative"),
        ("X-Amz-Expires", "1h", "X-Amz-Expires should be a number"),
        ("X-Amz-Credential", f"{AK}/20240229/us-east-1/ec2/aws4_request",
         "Error parsing the X-Amz-Credential parameter; incorrect service \"ec2\". "
         "This endpoint belongs to \"s3\"."),
        ("X-Amz-Credential", f"{AK}/20240228/us-east-1/s3/aws4_request",
         'Invalid credential date "20240228". '
         'This date is not the same as X-Amz-Date: "20240229".'),
    ],
)  # fmt: skip
def test_presigned_parameter_errors(name: str, value: str, message: str) -> None:
    request = with_param(presigned("GET", f"{ENDPOINT}/bucket/k"), name, value)
    parse_fails(request, 400, "AuthorizationQueryParametersError", message)


async def test_presigned_security_token_and_region() -> None:
    request = presigned("GET", f"{ENDPOINT}/bucket/k")
    parse_fails(with_param(request, "X-Amz-Security-Token", "t"), 400, "InvalidToken")
    error = await fails(
        request.verify(region="eu-west-1"), 400, "AuthorizationQueryParametersError"
    )
    assert error.message == (
        "Error parsing the X-Amz-Credential parameter; the region 'us-east-1' is wrong; "
        "expecting 'eu-west-1'"
    )
    assert error.fields == {"Region": "eu-west-1"}
    two_parts = with_param(request, "X-Amz-Credential", f"{AK}/20240229")
    error = parse_fails(two_parts, 400, "AuthorizationQueryParametersError")
    assert error.message.startswith("Error parsing the X-Amz-Credential parameter; the Credential")
    unknown = with_param(
        request, "X-Amz-Credential", "AKIAUNKNOWN/20240229/us-east-1/s3/aws4_request"
    )
    await fails(unknown.verify(), 403, "InvalidAccessKeyId")


@pytest.mark.parametrize(
    ("expires", "offset", "outcome"),
    [
        (60, 60, None),  # at the end of the last second
        (60, 60.001, "Request has expired"),
        (604800, 604800, None),
        (604800, 604801, "Request has expired"),
        (0, 0, "Request has expired"),  # never valid
        (60, -900, None),  # X-Amz-Date up to 15 minutes ahead of the server
        (60, -901, "Request is not yet valid"),
    ],
)
async def test_presigned_validity_window(expires: int, offset: float, outcome: str | None) -> None:
    request = presigned("GET", f"{ENDPOINT}/bucket/k", expires=expires)
    if outcome is None:
        await request.verify(now=NOW + offset)
        return
    error = await fails(request.verify(now=NOW + offset), 403, "AccessDenied", outcome)
    if outcome == "Request has expired":
        assert error.fields["X-Amz-Expires"] == str(expires)
    # The key and the signature come first.
    bad = with_param(request, "X-Amz-Signature", "0" * 64)
    await fails(bad.verify(now=NOW + offset), 403, "SignatureDoesNotMatch")


def test_signing_keys_are_cached() -> None:
    sigv4.signing_key.cache_clear()
    for _ in range(3):
        sigv4.signing_key(SK, "20240229", "us-east-1")
    assert sigv4.signing_key.cache_info().hits == 2
