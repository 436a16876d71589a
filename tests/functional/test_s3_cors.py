"""Bucket CORS over the wire: the configuration calls with boto3, the aws CLI and
raw HTTP, preflight OPTIONS requests, and the CORS headers of actual requests."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import AwsCli, LiveServer, needs_aws
from signed import content_md5, error_fields, signed

NOT_ALLOWED = (
    "CORSResponse: This CORS request is not allowed. This is usually because the evalution "
    "of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers"
    " are not whitelisted by the resource's CORS spec."
)
VARY = "Origin, Access-Control-Request-Headers, Access-Control-Request-Method"
CORS_HEADERS = (
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
    "access-control-allow-credentials",
    "access-control-expose-headers",
    "access-control-max-age",
    "vary",
)

RULES: list[dict[str, Any]] = [
    {
        "ID": "app",
        "AllowedOrigins": ["https://app.example.com", "http://*.example.org"],
        "AllowedMethods": ["GET", "PUT", "HEAD"],
        "AllowedHeaders": ["Content-Type", "x-amz-*"],
        "ExposeHeaders": ["ETag", "x-amz-request-id"],
        "MaxAgeSeconds": 3000,
    },
    {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]},
]


def code_of(exc: pytest.ExceptionInfo[ClientError]) -> tuple[int, str, str]:
    error = exc.value.response["Error"]
    status = exc.value.response["ResponseMetadata"]["HTTPStatusCode"]
    return status, error["Code"], error.get("Message", "")


def cors_of(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers[name] for name in CORS_HEADERS if name in response.headers}


@pytest.fixture
def configured(s3: Any, bucket: str) -> str:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    return bucket


# --------------------------------------------------------------------------- configuration


def test_get_without_configuration_is_404(s3: Any, bucket: str) -> None:
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_cors(Bucket=bucket)
    assert code_of(exc) == (404, "NoSuchCORSConfiguration", "The CORS configuration does not exist")
    assert exc.value.response["Error"]["BucketName"] == bucket


def test_put_get_delete(s3: Any, bucket: str) -> None:
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": RULES})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == RULES

    replacement = [{"AllowedOrigins": [""], "AllowedMethods": ["DELETE", "POST"]}]
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": replacement})
    assert s3.get_bucket_cors(Bucket=bucket)["CORSRules"] == replacement

    deleted = s3.delete_bucket_cors(Bucket=bucket)
    assert deleted["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_cors(Bucket=bucket)
    assert code_of(exc)[1] == "NoSuchCORSConfiguration"
    # Deleting again is not an error.
    assert s3.delete_bucket_cors(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_get_answers_s3_xml(server: LiveServer, configured: str) -> None:
    response = signed("GET", f"{server.endpoint}/{configured}?cors")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/xml"
    body = response.text
    assert '<CORSConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' in body
    assert (
        "<CORSRule><AllowedHeader>Content-Type</AllowedHeader><AllowedHeader>x-amz-*"
        "</AllowedHeader><AllowedMethod>GET</AllowedMethod>"
    ) in body
    assert "<ID>app</ID><MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>" in body


@pytest.mark.parametrize(
    ("rule", "code", "message"),
    [
        (
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET", "PATCH"]},
            "InvalidRequest",
            "Found unsupported HTTP method in CORS config. Unsupported method is PATCH",
        ),
        (
            {"AllowedOrigins": ["*example*.com"], "AllowedMethods": ["GET"]},
            "InvalidRequest",
            'AllowedOrigin "*example*.com" can not have more than one wildcard.',
        ),
        (
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-*-*"]},
            "InvalidRequest",
            'AllowedHeader "x-*-*" can not have more than one wildcard.',
        ),
        (
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "ExposeHeaders": ["*"]},
            "InvalidRequest",
            'ExposeHeader "*" contains wildcard. '
            "We currently do not support wildcard for ExposeHeader.",
        ),
    ],
)
def test_invalid_rules_are_refused(
    s3: Any, bucket: str, rule: dict[str, Any], code: str, message: str
) -> None:
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": [rule]})
    assert code_of(exc) == (400, code, message)
    with pytest.raises(ClientError):
        s3.get_bucket_cors(Bucket=bucket)


def test_more_than_100_rules_is_malformed(s3: Any, bucket: str) -> None:
    rules = [{"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}] * 101
    with pytest.raises(ClientError) as exc:
        s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert code_of(exc)[:2] == (400, "MalformedXML")
    rules.pop()
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration={"CORSRules": rules})
    assert len(s3.get_bucket_cors(Bucket=bucket)["CORSRules"]) == 100


@pytest.mark.parametrize(
    "body",
    [
        b"<CORSConfiguration><CORSRule>",
        b"<CORSConfiguration/>",
        b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>"
        b"</CORSConfiguration>",
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET"
        b"</AllowedMethod><MaxAgeSeconds>soon</MaxAgeSeconds></CORSRule></CORSConfiguration>",
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>GET"
        b"</AllowedMethod><Color>red</Color></CORSRule></CORSConfiguration>",
        b"<Other/>",
    ],
)
def test_malformed_xml(server: LiveServer, bucket: str, body: bytes) -> None:
    response = signed(
        "PUT", f"{server.endpoint}/{bucket}?cors", body, {"Content-MD5": content_md5(body)}
    )
    error_fields(response, 400, "MalformedXML")


def test_integrity_header_is_required_and_checked(server: LiveServer, bucket: str) -> None:
    url = f"{server.endpoint}/{bucket}?cors"
    body = (
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
        b"<AllowedMethod>GET</AllowedMethod></CORSRule></CORSConfiguration>"
    )
    fields = error_fields(signed("PUT", url, body), 400, "InvalidRequest")
    assert fields["Message"] == (
        "Missing required header for this request: Content-MD5 OR x-amz-checksum-*"
    )
    wrong = content_md5(b"something else")
    error_fields(signed("PUT", url, body, {"Content-MD5": wrong}), 400, "BadDigest")
    error_fields(signed("PUT", url, body, {"Content-MD5": "nope"}), 400, "InvalidDigest")
    bad_crc = {"x-amz-checksum-crc32": "AAAAAA=="}
    error_fields(signed("PUT", url, body, bad_crc), 400, "BadDigest")
    assert signed("GET", url).status_code == 404  # nothing was stored
    assert signed("PUT", url, body, {"Content-MD5": content_md5(body)}).status_code == 200
    assert signed("GET", url).status_code == 200


def test_other_tenants_and_missing_buckets(s3: Any, other_s3: Any, configured: str) -> None:
    for call in (
        lambda: other_s3.get_bucket_cors(Bucket=configured),
        lambda: other_s3.delete_bucket_cors(Bucket=configured),
        lambda: other_s3.put_bucket_cors(
            Bucket=configured, CORSConfiguration={"CORSRules": RULES[1:]}
        ),
    ):
        with pytest.raises(ClientError) as exc:
            call()
        assert code_of(exc)[:2] == (403, "AccessDenied")
    assert s3.get_bucket_cors(Bucket=configured)["CORSRules"] == RULES
    with pytest.raises(ClientError) as exc:
        s3.get_bucket_cors(Bucket="no-such-bucket-for-cors")
    assert code_of(exc)[:2] == (404, "NoSuchBucket")


# --------------------------------------------------------------------------- preflight


def options(server: LiveServer, path: str, **headers: str) -> httpx.Response:
    names = {k.replace("_", "-"): v for k, v in headers.items()}
    return httpx.options(f"{server.endpoint}{path}", headers=names)


def test_preflight_needs_an_origin(server: LiveServer, configured: str) -> None:
    fields = error_fields(options(server, f"/{configured}/k"), 400, "BadRequest")
    assert fields["Message"] == "Insufficient information. Origin request header needed."
    response = options(server, f"/{configured}/k", Origin="https://app.example.com")
    error_fields(response, 400, "BadRequest")


def test_preflight_without_bucket_or_configuration(server: LiveServer, bucket: str) -> None:
    ask = {"Origin": "https://app.example.com", "Access-Control-Request-Method": "GET"}
    fields = error_fields(options(server, "/no-such-bucket-cors/k", **ask), 403, "AccessForbidden")
    assert fields["Message"] == "CORSResponse: Bucket not found"
    fields = error_fields(options(server, f"/{bucket}/k", **ask), 403, "AccessForbidden")
    assert fields["Message"] == "CORSResponse: CORS is not enabled for this bucket."
    assert (fields["Method"], fields["ResourceType"]) == ("GET", "BUCKET")


def test_preflight_allowed(server: LiveServer, configured: str) -> None:
    response = options(
        server,
        f"/{configured}/some/key.txt",
        Origin="https://app.example.com",
        Access_Control_Request_Method="PUT",
        Access_Control_Request_Headers="Content-Type, X-Amz-Date,x-amz-meta-a",
    )
    assert response.status_code == 200
    assert response.content == b""
    assert cors_of(response) == {
        "access-control-allow-origin": "https://app.example.com",
        "access-control-allow-methods": "GET, PUT, HEAD",
        "access-control-allow-headers": "content-type, x-amz-date, x-amz-meta-a",
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "ETag, x-amz-request-id",
        "access-control-max-age": "3000",
        "vary": VARY,
    }
    # On the bucket too, and through the origin wildcard.
    response = options(
        server,
        f"/{configured}",
        Origin="http://x.example.org",
        Access_Control_Request_Method="HEAD",
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "http://x.example.org"


def test_preflight_matched_by_star_rule(server: LiveServer, configured: str) -> None:
    response = options(
        server,
        f"/{configured}/k",
        Origin="http://elsewhere.test",
        Access_Control_Request_Method="GET",
    )
    assert response.status_code == 200
    assert cors_of(response) == {
        "access-control-allow-origin": "*",
        "access-control-allow-methods": "GET",
        "vary": VARY,
    }


@pytest.mark.parametrize(
    ("origin", "method", "request_headers"),
    [
        ("http://elsewhere.test", "PUT", ""),  # only the first rule allows PUT
        ("https://app.example.com/", "PUT", ""),  # an origin has no trailing slash
        ("https://app.example.com", "DELETE", ""),
        ("https://app.example.com", "PUT", "content-type, authorization"),
        ("http://elsewhere.test", "GET", "content-type"),  # the star rule allows no header
    ],
)
def test_preflight_refused(
    server: LiveServer, configured: str, origin: str, method: str, request_headers: str
) -> None:
    headers = {"Origin": origin, "Access-Control-Request-Method": method}
    if request_headers:
        headers["Access-Control-Request-Headers"] = request_headers
    response = httpx.options(f"{server.endpoint}/{configured}/k", headers=headers)
    fields = error_fields(response, 403, "AccessForbidden")
    assert fields["Message"] == NOT_ALLOWED
    assert (fields["Method"], fields["ResourceType"]) == (method, "OBJECT")
    assert cors_of(response) == {}


# --------------------------------------------------------------------------- actual requests


def test_actual_requests_get_cors_headers(s3: Any, configured: str) -> None:
    s3.put_object(Bucket=configured, Key="k", Body=b"hello")
    origin = {"Origin": "https://app.example.com"}
    url = s3.generate_presigned_url("get_object", Params={"Bucket": configured, "Key": "k"})
    response = httpx.get(url, headers=origin)
    assert response.status_code == 200 and response.content == b"hello"
    assert cors_of(response) == {
        "access-control-allow-origin": "https://app.example.com",
        "access-control-allow-methods": "GET, PUT, HEAD",
        "access-control-allow-credentials": "true",
        "access-control-expose-headers": "ETag, x-amz-request-id",
        "access-control-max-age": "3000",
        "vary": VARY,
    }

    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": configured, "Key": "up"})
    response = httpx.put(put_url, content=b"from a browser", headers=origin)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert s3.get_object(Bucket=configured, Key="up")["Body"].read() == b"from a browser"

    head_url = s3.generate_presigned_url("head_object", Params={"Bucket": configured, "Key": "k"})
    head = httpx.head(head_url, headers={"Origin": "http://app.example.org"})
    assert head.status_code == 200
    assert head.headers["access-control-allow-origin"] == "http://app.example.org"
    # Only the star rule allows another origin, and only for GET.
    assert cors_of(httpx.head(head_url, headers={"Origin": "http://other.test"})) == {}
    anyone = httpx.get(url, headers={"Origin": "http://other.test"})
    assert anyone.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in anyone.headers


def test_error_responses_carry_cors_headers(s3: Any, server: LiveServer, configured: str) -> None:
    origin = {"Origin": "https://app.example.com"}
    missing = s3.generate_presigned_url(
        "get_object", Params={"Bucket": configured, "Key": "missing"}
    )
    response = httpx.get(missing, headers=origin)
    error_fields(response, 404, "NoSuchKey")
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"
    assert response.headers["vary"] == VARY

    # Unsigned: refused, and the browser may still read why.
    response = httpx.put(f"{server.endpoint}/{configured}/k", content=b"x", headers=origin)
    error_fields(response, 403, "AccessDenied")
    assert response.headers["access-control-allow-origin"] == "https://app.example.com"


def test_no_cors_headers_unless_a_rule_matches(s3: Any, configured: str) -> None:
    s3.put_object(Bucket=configured, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": configured, "Key": "k"})
    assert cors_of(httpx.get(url)) == {}  # no Origin: not a cross-origin request
    # DELETE is allowed by no rule: served, without CORS headers.
    delete_url = s3.generate_presigned_url(
        "delete_object", Params={"Bucket": configured, "Key": "k"}
    )
    response = httpx.delete(delete_url, headers={"Origin": "https://app.example.com"})
    assert response.status_code == 204
    assert cors_of(response) == {}
    # As on S3, Access-Control-Request-Method stands for the method when sent.
    response = httpx.get(
        url, headers={"Origin": "http://other.test", "Access-Control-Request-Method": "PUT"}
    )
    assert cors_of(response) == {}


def test_bucket_without_configuration_sends_no_cors_headers(s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    plain = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    response = httpx.get(plain, headers={"Origin": "https://app.example.com"})
    assert response.status_code == 200
    assert cors_of(response) == {}


# --------------------------------------------------------------------------- aws CLI


@pytest.mark.client
@needs_aws
def test_aws_cli_cors(aws: AwsCli, bucket: str) -> None:
    def s3api(*args: str, check: bool = True) -> Any:
        return aws("s3api", *args, "--bucket", bucket, check=check)

    missing = s3api("get-bucket-cors", check=False)
    assert missing.returncode != 0 and "NoSuchCORSConfiguration" in missing.stderr
    config = {"CORSRules": RULES}
    s3api("put-bucket-cors", "--cors-configuration", json.dumps(config))
    assert json.loads(s3api("get-bucket-cors").stdout) == config
    s3api("delete-bucket-cors")
    assert s3api("get-bucket-cors", check=False).returncode != 0
