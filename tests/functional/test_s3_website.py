"""Static website hosting over HTTP: the ?website API with boto3 and the aws CLI,
and the website endpoint (`<bucket>.<website domain>` in Host) with raw requests."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from botocore.exceptions import ClientError
from conftest import LiveServer, aws_cli, client, fresh_bucket, needs_aws, own_server

DOMAIN = "s3-website.localhost"
INDEX = {"IndexDocument": {"Suffix": "index.html"}}
# A prefix rename, for the routing rules below.
DOCS_RULE = {
    "Condition": {"KeyPrefixEquals": "docs/"},
    "Redirect": {"ReplaceKeyPrefixWith": "documents/"},
}

web = own_server("website", {"DOLIUM_WEBSITE_DOMAINS": DOMAIN})


@pytest.fixture(scope="module")
def s3(web: LiveServer) -> Any:
    return client(web)


@pytest.fixture
def site(s3: Any) -> Iterator[str]:
    with fresh_bucket(s3, "site") as name:
        yield name
        with contextlib.suppress(ClientError):
            s3.delete_bucket_policy(Bucket=name)


def visit(
    web: LiveServer, bucket: str, path: str, method: str = "GET", **headers: str
) -> httpx.Response:
    """A request to `bucket`'s website, as a browser sends it (no redirects followed)."""
    headers = {k.replace("_", "-"): v for k, v in headers.items()}
    headers["host"] = f"{bucket}.{DOMAIN}"
    return httpx.request(method, web.endpoint + path, headers=headers, follow_redirects=False)


def put_html(s3: Any, bucket: str, key: str, text: str, **extra: Any) -> None:
    s3.put_object(Bucket=bucket, Key=key, Body=text.encode(), ContentType="text/html", **extra)


def lost_rule(**redirect: str) -> dict[str, Any]:
    """A routing rule that sends a 404 to example.com over https, as `redirect` says."""
    return {
        "Condition": {"HttpErrorCodeReturnedEquals": "404"},
        "Redirect": {"HostName": "example.com", "Protocol": "https", **redirect},
    }


def make_public(s3: Any, bucket: str, *, list_too: bool = True) -> None:
    """Let anybody read `bucket` (and list it, so that missing keys are 404)."""
    statements: list[dict[str, Any]] = [
        {
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/*",
        },
        {
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{bucket}/private/*",
        },
    ]
    if list_too:
        statements.append(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:ListBucket",
                "Resource": f"arn:aws:s3:::{bucket}",
            }
        )
    policy = {"Version": "2012-10-17", "Statement": statements}
    try:
        s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "NotImplemented":
            raise
        pytest.xfail("PutBucketPolicy is not routed yet: a public website needs a bucket policy")


@pytest.fixture
def public_site(s3: Any, site: str) -> str:
    make_public(s3, site)
    for key, text in [
        ("index.html", "home"),
        ("about/index.html", "about"),
        ("404.html", "not here"),
        ("private/index.html", "secret"),
    ]:
        put_html(s3, site, key, text)
    s3.put_bucket_website(
        Bucket=site,
        WebsiteConfiguration={**INDEX, "ErrorDocument": {"Key": "404.html"}},
    )
    return site


# --------------------------------------------------------------------------- the API


def test_put_get_delete_website(s3: Any, site: str) -> None:
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_website(Bucket=site)
    assert caught.value.response["Error"]["Code"] == "NoSuchWebsiteConfiguration"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    rules = [DOCS_RULE, lost_rule(HttpRedirectCode="302", ReplaceKeyWith="lost.html")]
    config = {**INDEX, "ErrorDocument": {"Key": "error.html"}, "RoutingRules": rules}
    s3.put_bucket_website(Bucket=site, WebsiteConfiguration=config)
    got = s3.get_bucket_website(Bucket=site)
    assert got["IndexDocument"] == {"Suffix": "index.html"}
    assert got["ErrorDocument"] == {"Key": "error.html"}
    assert got["RoutingRules"] == rules
    assert "RedirectAllRequestsTo" not in got
    # A new configuration replaces the old one whole.
    everything = {"RedirectAllRequestsTo": {"HostName": "example.org", "Protocol": "https"}}
    s3.put_bucket_website(Bucket=site, WebsiteConfiguration=everything)
    got = s3.get_bucket_website(Bucket=site)
    assert got["RedirectAllRequestsTo"] == everything["RedirectAllRequestsTo"]
    assert "IndexDocument" not in got
    for _ in range(2):
        s3.delete_bucket_website(Bucket=site)
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_website(Bucket=site)
    assert caught.value.response["Error"]["Code"] == "NoSuchWebsiteConfiguration"
    with pytest.raises(ClientError) as caught:
        s3.get_bucket_website(Bucket=f"nothing-{uuid.uuid4().hex[:8]}")
    assert caught.value.response["Error"]["Code"] == "NoSuchBucket"


@pytest.mark.parametrize(
    ("config", "code", "message"),
    [
        (
            {"ErrorDocument": {"Key": "e.html"}},
            "InvalidArgument",
            "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
        ),
        (
            {"IndexDocument": {"Suffix": "a/index.html"}},
            "InvalidArgument",
            "The IndexDocument Suffix is not well formed",
        ),
        (
            {**INDEX, "RedirectAllRequestsTo": {"HostName": "example.org"}},
            "InvalidArgument",
            "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
        ),
        (
            {"RedirectAllRequestsTo": {"HostName": "example.org", "Protocol": "ftp"}},
            "InvalidRequest",
            "Invalid protocol, protocol can be http or https. "
            "If not defined the protocol will be selected automatically.",
        ),
        (
            {
                **INDEX,
                "RoutingRules": [
                    {
                        "Condition": {"HttpErrorCodeReturnedEquals": "302"},
                        "Redirect": {"HostName": "example.com"},
                    }
                ],
            },
            "InvalidRequest",
            "The provided HTTP error code (302) is not valid. Valid codes are 4XX or 5XX.",
        ),
        (
            {
                **INDEX,
                "RoutingRules": [
                    {"Redirect": {"ReplaceKeyWith": "a", "ReplaceKeyPrefixWith": "b/"}}
                ],
            },
            "InvalidRequest",
            "You can only define ReplaceKeyPrefix or ReplaceKey but not both.",
        ),
    ],
)
def test_put_refuses_as_s3_does(
    s3: Any, site: str, config: dict[str, Any], code: str, message: str
) -> None:
    with pytest.raises(ClientError) as caught:
        s3.put_bucket_website(Bucket=site, WebsiteConfiguration=config)
    error = caught.value.response["Error"]
    assert (error["Code"], error["Message"]) == (code, message)
    with pytest.raises(ClientError):
        s3.get_bucket_website(Bucket=site)  # nothing was stored


def test_only_the_owner_configures(web: LiveServer, s3: Any, site: str) -> None:
    web.admin("tenant", "create", "stranger")
    key, secret = "DKSTRANGERKEY0000001", "stranger-secret-for-tests-0000000000000"
    web.admin("user", "create", "stranger:eve", "--access-key", key, "--secret-key", secret)
    stranger = client(web, key, secret)
    with pytest.raises(ClientError) as caught:
        stranger.put_bucket_website(Bucket=site, WebsiteConfiguration=INDEX)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    s3.put_bucket_website(Bucket=site, WebsiteConfiguration=INDEX)
    with pytest.raises(ClientError) as caught:
        stranger.get_bucket_website(Bucket=site)
    assert caught.value.response["Error"]["Code"] == "AccessDenied"


@pytest.mark.client
@needs_aws
def test_aws_cli_website(web: LiveServer, site: str, tmp_path: Path) -> None:
    aws = aws_cli(web.endpoint, tmp_path)
    website = ["s3", "website", f"s3://{site}"]
    options = ["--index-document", "home.html", "--error-document", "oops.html"]
    aws(*website, *options)
    result = aws("s3api", "get-bucket-website", "--bucket", site)
    got = json.loads(result.stdout)
    assert got["IndexDocument"] == {"Suffix": "home.html"}
    assert got["ErrorDocument"] == {"Key": "oops.html"}
    aws("s3api", "delete-bucket-website", "--bucket", site)
    missing = aws("s3api", "get-bucket-website", "--bucket", site, check=False)
    assert missing.returncode != 0
    assert "NoSuchWebsiteConfiguration" in missing.stderr


# --------------------------------------------------------------------------- the endpoint


def test_index_documents(web: LiveServer, public_site: str) -> None:
    for path in ("/", "", "/index.html"):
        answer = visit(web, public_site, path or "/")
        assert (answer.status_code, answer.text) == (200, "home")
        assert answer.headers["content-type"] == "text/html"
    assert visit(web, public_site, "/about/").text == "about"
    # A folder without its slash is sent to it.
    answer = visit(web, public_site, "/about")
    assert (answer.status_code, answer.headers["location"]) == (302, "/about/")
    # Query strings are the page's business, not S3's.
    assert visit(web, public_site, "/?website&v=2").text == "home"
    # Not a folder whose index anybody may read: no redirect.
    assert visit(web, public_site, "/private").status_code == 404


def test_error_document_keeps_the_status(web: LiveServer, public_site: str) -> None:
    answer = visit(web, public_site, "/missing.html")
    assert (answer.status_code, answer.text) == (404, "not here")
    assert answer.headers["x-amz-error-code"] == "NoSuchKey"
    answer = visit(web, public_site, "/private/")
    assert (answer.status_code, answer.text) == (403, "not here")
    assert answer.headers["x-amz-error-code"] == "AccessDenied"
    head = visit(web, public_site, "/missing.html", "HEAD")
    assert (head.status_code, head.content) == (404, b"")


def test_html_error_page_without_error_document(web: LiveServer, s3: Any, public_site: str) -> None:
    s3.put_bucket_website(Bucket=public_site, WebsiteConfiguration=INDEX)
    answer = visit(web, public_site, "/missing.html")
    assert answer.status_code == 404
    assert answer.headers["content-type"] == "text/html; charset=utf-8"
    page = answer.text
    assert page.startswith("<html>\n<head><title>404 Not Found</title></head>")
    assert "<li>Code: NoSuchKey</li>" in page
    assert "<li>Key: missing.html</li>" in page
    assert "Custom Error Document" not in page
    # An error document that is itself missing is reported on the page.
    s3.put_bucket_website(
        Bucket=public_site, WebsiteConfiguration={**INDEX, "ErrorDocument": {"Key": "gone.html"}}
    )
    page = visit(web, public_site, "/missing.html").text
    assert "<h3>An Error Occurred While Attempting to Retrieve a Custom Error Document</h3>" in page
    assert "<li>Key: gone.html</li>" in page


def test_missing_key_is_404_when_the_policy_grants_reads(
    web: LiveServer, s3: Any, site: str
) -> None:
    make_public(s3, site, list_too=False)
    put_html(s3, site, "index.html", "home")
    s3.put_bucket_website(Bucket=site, WebsiteConfiguration=INDEX)
    assert visit(web, site, "/").text == "home"
    # GetObject granted by the policy: S3's website still says 404 for a missing key.
    assert visit(web, site, "/missing.html").status_code == 404


def test_reads_are_s3_reads(web: LiveServer, public_site: str) -> None:
    ranged = visit(web, public_site, "/", range="bytes=1-2")
    assert (ranged.status_code, ranged.text) == (206, "om")
    assert ranged.headers["content-range"] == "bytes 1-2/4"
    head = visit(web, public_site, "/", "HEAD")
    assert head.status_code == 200
    assert head.headers["content-length"] == "4"
    etag = head.headers["etag"]
    unchanged = visit(web, public_site, "/", if_none_match=etag)
    assert unchanged.status_code == 304
    assert unchanged.headers["etag"] == etag
    failed = visit(web, public_site, "/", if_match='"0000"')
    assert failed.status_code == 412


def test_website_redirect_location(web: LiveServer, s3: Any, public_site: str) -> None:
    put_html(s3, public_site, "old.html", "", WebsiteRedirectLocation="/about/")
    answer = visit(web, public_site, "/old.html")
    assert (answer.status_code, answer.headers["location"]) == (301, "/about/")
    put_html(s3, public_site, "away.html", "", WebsiteRedirectLocation="https://example.com/x")
    assert visit(web, public_site, "/away.html").headers["location"] == "https://example.com/x"


@pytest.mark.parametrize("location", ["about.html", "ftp://example.com/", "/" + "x" * 2048])
def test_website_redirect_location_is_checked(s3: Any, site: str, location: str) -> None:
    for call in (
        lambda: s3.put_object(Bucket=site, Key="r", Body=b"", WebsiteRedirectLocation=location),
        lambda: s3.create_multipart_upload(Bucket=site, Key="r", WebsiteRedirectLocation=location),
    ):
        with pytest.raises(ClientError) as info:
            call()
        error = info.value.response
        assert (error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"]) == (
            400,
            "InvalidRedirectLocation",
        )
    with pytest.raises(ClientError):
        s3.head_object(Bucket=site, Key="r")


def test_redirect_all_requests(web: LiveServer, s3: Any, site: str) -> None:
    # No public access needed: nothing is read.
    s3.put_bucket_website(
        Bucket=site,
        WebsiteConfiguration={
            "RedirectAllRequestsTo": {"HostName": "example.org", "Protocol": "https"}
        },
    )
    answer = visit(web, site, "/a/b.html?c=d")
    assert (answer.status_code, answer.headers["location"]) == (
        301,
        "https://example.org/a/b.html?c=d",
    )
    s3.put_bucket_website(
        Bucket=site, WebsiteConfiguration={"RedirectAllRequestsTo": {"HostName": "example.net"}}
    )
    assert visit(web, site, "/").headers["location"] == "http://example.net/"


def test_routing_rules(web: LiveServer, s3: Any, public_site: str) -> None:
    rules = [DOCS_RULE, lost_rule(HttpRedirectCode="307", ReplaceKeyPrefixWith="lost/")]
    s3.put_bucket_website(Bucket=public_site, WebsiteConfiguration={**INDEX, "RoutingRules": rules})
    answer = visit(web, public_site, "/docs/a%20b.html")
    assert answer.status_code == 301
    assert answer.headers["location"] == f"http://{public_site}.{DOMAIN}/documents/a%20b.html"
    answer = visit(web, public_site, "/gone.html")
    assert (answer.status_code, answer.headers["location"]) == (
        307,
        "https://example.com/lost/gone.html",
    )
    assert visit(web, public_site, "/").text == "home"  # found: no redirect
    # A 403 is not a 404.
    assert visit(web, public_site, "/private/").status_code == 403


def test_error_code_rule_on_a_private_bucket(web: LiveServer, s3: Any, site: str) -> None:
    rule = {
        "Condition": {"HttpErrorCodeReturnedEquals": "403"},
        "Redirect": {"HostName": "login.example.com", "ReplaceKeyWith": "signin"},
    }
    s3.put_bucket_website(Bucket=site, WebsiteConfiguration={**INDEX, "RoutingRules": [rule]})
    answer = visit(web, site, "/anything")
    assert (answer.status_code, answer.headers["location"]) == (
        301,
        "http://login.example.com/signin",
    )


def test_private_bucket_is_forbidden(web: LiveServer, s3: Any, site: str) -> None:
    put_html(s3, site, "index.html", "home")
    s3.put_bucket_website(Bucket=site, WebsiteConfiguration=INDEX)
    for path in ("/", "/missing.html"):
        answer = visit(web, site, path)
        assert answer.status_code == 403
        assert answer.headers["content-type"] == "text/html; charset=utf-8"
        assert answer.headers["x-amz-error-code"] == "AccessDenied"
        assert "<title>403 Forbidden</title>" in answer.text
    # Credentials do not matter on a website: every request is anonymous.
    signed = visit(web, site, "/", authorization="AWS4-HMAC-SHA256 Credential=x")
    assert signed.status_code == 403


def test_only_reads(web: LiveServer, public_site: str) -> None:
    for method in ("POST", "PUT", "DELETE"):
        answer = visit(web, public_site, "/index.html", method)
        assert answer.status_code == 405, method
        assert answer.headers["x-amz-error-code"] == "MethodNotAllowed"
        assert "<li>Method: " + method + "</li>" in answer.text
    assert visit(web, public_site, "/").text == "home"  # nothing was changed


def test_buckets_that_are_not_websites(web: LiveServer, site: str) -> None:
    answer = visit(web, site, "/")
    assert (answer.status_code, answer.headers["x-amz-error-code"]) == (
        404,
        "NoSuchWebsiteConfiguration",
    )
    assert f"<li>BucketName: {site}</li>" in answer.text
    nothing = f"nothing-{uuid.uuid4().hex[:8]}"
    answer = visit(web, nothing, "/")
    assert (answer.status_code, answer.headers["x-amz-error-code"]) == (404, "NoSuchBucket")
    assert f"<li>BucketName: {nothing}</li>" in answer.text


def test_s3_api_is_unchanged_beside_websites(s3: Any, public_site: str) -> None:
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=public_site)["Contents"]]
    assert "index.html" in keys
    assert s3.get_object(Bucket=public_site, Key="index.html")["Body"].read() == b"home"


def test_cors_applies_on_websites(web: LiveServer, s3: Any, public_site: str) -> None:
    rule = {"AllowedOrigins": ["https://app.example"], "AllowedMethods": ["GET"]}
    s3.put_bucket_cors(Bucket=public_site, CORSConfiguration={"CORSRules": [rule]})
    answer = visit(web, public_site, "/", origin="https://app.example")
    assert answer.headers["access-control-allow-origin"] == "https://app.example"
    preflight = visit(
        web,
        public_site,
        "/",
        "OPTIONS",
        origin="https://app.example",
        access_control_request_method="GET",
    )
    assert preflight.status_code == 200
    refused = visit(
        web,
        public_site,
        "/",
        "OPTIONS",
        origin="https://evil.example",
        access_control_request_method="GET",
    )
    assert refused.status_code == 403
