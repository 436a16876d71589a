"""Presigned URLs and conditional requests, sent as plain HTTP by those who hold no grant.

A presigned URL is good for the one request it signs, by the one who signed
it, for as long as it says; any change to its method, path or query breaks
the signature. An outsider learns nothing from a refusal: conditional
headers, ranges and version ids get the same 403 AccessDenied whether the
key exists, never existed or was deleted.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any
from unittest import mock
from urllib.parse import quote

import botocore.auth
import httpx
import pytest
from botocore.auth import S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError
from conftest import (
    OTHER_KEY,
    OTHER_SECRET,
    ROOT_KEY,
    ROOT_SECRET,
    LiveServer,
    client,
    delete_everything,
    fresh_bucket,
)
from defusedxml import ElementTree
from signed import error_fields, signed

ROOT = Credentials(ROOT_KEY, ROOT_SECRET)
OTHER = Credentials(OTHER_KEY, OTHER_SECRET)
# Headers that would tell an outsider something about an object.
REVEALING = (
    "etag",
    "last-modified",
    "content-range",
    "accept-ranges",
    "x-amz-version-id",
    "x-amz-delete-marker",
    "x-amz-meta-color",
)


@pytest.fixture(scope="module")
def private(s3: Any) -> Iterator[dict[str, str]]:
    """The owner's private versioned bucket: k (two versions), k2, and gone (deleted)."""
    name = f"acp-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=name, Key="k", Body=b"old")
    put = s3.put_object(Bucket=name, Key="k", Body=b"secret", Metadata={"color": "blue"})
    s3.put_object(Bucket=name, Key="k2", Body=b"second")
    s3.put_object(Bucket=name, Key="gone", Body=b"x")
    s3.delete_object(Bucket=name, Key="gone")
    yield {"bucket": name, "version": put["VersionId"], "etag": put["ETag"]}
    delete_everything(s3, name)


@pytest.fixture(scope="module")
def spare(s3: Any) -> Iterator[str]:
    """A second bucket of the owner's, holding its own k."""
    with fresh_bucket(s3, "acp") as name:
        s3.put_object(Bucket=name, Key="k", Body=b"spare")
        yield name


@pytest.fixture(scope="module")
def theirs(other_s3: Any) -> Iterator[str]:
    with fresh_bucket(other_s3, "acp") as name:
        yield name


def body(s3: Any, bucket: str, key: str) -> bytes:
    return bytes(s3.get_object(Bucket=bucket, Key=key)["Body"].read())


# --------------------------------------------------------------------------- presigned URLs


def boto_url(
    server: LiveServer, bucket: str, key: str, method: str = "get_object", creds: Credentials = ROOT
) -> str:
    """A URL presigned by boto3, as an SDK user would make it."""
    presigner = client(server, creds.access_key, creds.secret_key, signature_version="s3v4")
    params = {"Bucket": bucket, "Key": key}
    return str(presigner.generate_presigned_url(method, Params=params, ExpiresIn=300))


def test_valid_presigned_url_works(server: LiveServer, private: dict[str, str]) -> None:
    response = httpx.get(boto_url(server, private["bucket"], "k"))
    assert response.status_code == 200, response.text
    assert response.content == b"secret"


def _flip_signature(url: str) -> str:
    return url[:-1] + ("0" if url[-1] != "0" else "1")


# Each turns a valid URL for GET of the private bucket's k (u, bucket b, spare
# bucket s) into another request: (method, url).
MISUSES: dict[str, Callable[[str, str, str], tuple[str, str]]] = {
    "other key": lambda u, b, s: ("GET", u.replace(f"/{b}/k?", f"/{b}/k2?")),
    "other bucket": lambda u, b, s: ("GET", u.replace(f"/{b}/k?", f"/{s}/k?")),
    "as PUT": lambda u, b, s: ("PUT", u),
    "as DELETE": lambda u, b, s: ("DELETE", u),
    "tampered signature": lambda u, b, s: ("GET", _flip_signature(u)),
    "longer expiry": lambda u, b, s: ("GET", u.replace("X-Amz-Expires=300", "X-Amz-Expires=900")),
    "other access key": lambda u, b, s: ("GET", u.replace(ROOT_KEY, OTHER_KEY)),
    "versionId added": lambda u, b, s: ("GET", u + "&versionId=null"),
    "response override added": lambda u, b, s: ("GET", u + "&response-content-type=text%2Fhtml"),
    "acl subresource added": lambda u, b, s: ("GET", u + "&acl="),
}


@pytest.mark.parametrize("misuse", MISUSES)
def test_presigned_url_misused(
    misuse: str, server: LiveServer, s3: Any, private: dict[str, str], spare: str
) -> None:
    bucket = private["bucket"]
    url = boto_url(server, bucket, "k")
    method, changed = MISUSES[misuse](url, bucket, spare)
    assert (method, changed) != ("GET", url)
    response = httpx.request(method, changed, content=b"overwritten" if method == "PUT" else None)
    error_fields(response, 403, "SignatureDoesNotMatch")
    assert body(s3, bucket, "k") == b"secret"
    assert body(s3, spare, "k") == b"spare"


def test_presigned_url_without_its_signature(server: LiveServer, private: dict[str, str]) -> None:
    url = boto_url(server, private["bucket"], "k").split("&X-Amz-Signature=")[0]
    error_fields(httpx.get(url), 400, "AuthorizationQueryParametersError")


def test_presigned_url_expired(server: LiveServer, private: dict[str, str]) -> None:
    # botocore's own signer, not the CRT one boto3 may pick: its clock can be set.
    request = AWSRequest(method="GET", url=f"{server.endpoint}/{private['bucket']}/k")
    an_hour_ago = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=1)
    with mock.patch.object(botocore.auth, "get_current_datetime", return_value=an_hour_ago):
        S3SigV4QueryAuth(ROOT, "s3", "us-east-1", expires=300).add_auth(request)
    fields = error_fields(httpx.get(str(request.url)), 403, "AccessDenied")
    assert fields["Message"] == "Request has expired"


@pytest.mark.parametrize(
    ("method", "key"),
    [
        ("get_object", "k"),
        ("get_object", "absent"),
        ("head_object", "k"),
        ("put_object", "new"),
        ("delete_object", "k"),
    ],
)
def test_presigned_by_the_other_tenant(
    method: str, key: str, server: LiveServer, s3: Any, private: dict[str, str]
) -> None:
    """A good signature by someone without the right is refused as they would be."""
    bucket = private["bucket"]
    url = boto_url(server, bucket, key, method, creds=OTHER)
    verb = method.split("_", maxsplit=1)[0].upper()
    response = httpx.request(verb, url, content=b"theirs" if verb == "PUT" else None)
    if verb == "HEAD":
        assert (response.status_code, response.content) == (403, b"")
    else:
        error_fields(response, 403, "AccessDenied")
    assert body(s3, bucket, "k") == b"secret"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="new")


# --------------------------------------------------------------------------- probing for keys


def http_date(when: datetime) -> str:
    return format_datetime(when, usegmt=True)


def random_version() -> str:
    """A version id of the server's shape that names no version."""
    alphabet = "abcdefghijklmnopqrstuvwxyz234567"
    return "".join(secrets.choice(alphabet) for _ in range(24))


def placeholders(private: dict[str, str]) -> dict[str, str]:
    """What the {names} in PROBES and COPY_CONDITIONS stand for."""
    now = datetime.now(UTC)
    return {
        "etag": private["etag"],
        "version": private["version"],
        "random": random_version(),
        "future": http_date(now + timedelta(days=1)),
        "past": http_date(now - timedelta(days=3650)),
    }


# Probe -> (query, headers), each sent for a key that exists, one never
# written and one deleted.
PROBES: dict[str, tuple[str, dict[str, str]]] = {
    "plain": ("", {}),
    "If-Match right": ("", {"If-Match": "{etag}"}),
    "If-Match wrong": ("", {"If-Match": '"0123"'}),
    "If-None-Match right": ("", {"If-None-Match": "{etag}"}),
    "If-None-Match star": ("", {"If-None-Match": "*"}),
    "If-Modified-Since future": ("", {"If-Modified-Since": "{future}"}),
    "If-Modified-Since past": ("", {"If-Modified-Since": "{past}"}),
    "If-Unmodified-Since past": ("", {"If-Unmodified-Since": "{past}"}),
    "Range inside": ("", {"Range": "bytes=0-0"}),
    "Range beyond": ("", {"Range": "bytes=1000-2000"}),
    "versionId existing": ("versionId={version}", {}),
    "versionId random": ("versionId={random}", {}),
    "versionId null": ("versionId=null", {}),
    "part number": ("partNumber=1", {}),
}


def send(
    who: str, method: str, url: str, headers: dict[str, str], content: bytes = b""
) -> httpx.Response:
    if who == "anon":
        return httpx.request(method, url, headers=headers, content=content)
    credentials = {"other": OTHER, "owner": ROOT}[who]
    return signed(method, url, content, headers, credentials=credentials)


def answer(response: httpx.Response) -> tuple[int, str, list[str]]:
    """What a response tells: status, error code (from the body, if any), revealing headers."""
    code = ""
    if response.status_code >= 400 and response.content:
        code = ElementTree.fromstring(response.content).findtext("Code") or ""
    revealed = sorted(h for h in REVEALING if h in response.headers)
    return response.status_code, code, revealed


def probe(
    who: str, method: str, probe_name: str, server: LiveServer, private: dict[str, str], key: str
) -> tuple[int, str, list[str]]:
    query, headers = PROBES[probe_name]
    values = placeholders(private)
    url = f"{server.endpoint}/{private['bucket']}/{quote(key)}"
    if query:
        url += "?" + query.format(**values)
    response = send(who, method, url, {k: v.format(**values) for k, v in headers.items()})
    if method == "HEAD":
        assert response.content == b""
    return answer(response)


KEYS = ("k", "absent", "gone")


@pytest.mark.parametrize("probe_name", PROBES)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("who", ["other", "anon"])
def test_outsider_learns_nothing_from_a_probe(
    who: str, method: str, probe_name: str, server: LiveServer, private: dict[str, str]
) -> None:
    refused: tuple[int, str, list[str]] = (403, "AccessDenied" if method == "GET" else "", [])
    answers = {key: probe(who, method, probe_name, server, private, key) for key in KEYS}
    assert answers == dict.fromkeys(KEYS, refused)


def test_the_probes_do_tell_the_owner(server: LiveServer, private: dict[str, str]) -> None:
    """The owner's answers differ by key: what the refusals above hold back."""
    for name in ("If-None-Match right", "If-Unmodified-Since past", "Range beyond", "plain"):
        statuses = {key: probe("owner", "GET", name, server, private, key)[0] for key in KEYS}
        assert statuses["k"] != statuses["absent"], (name, statuses)


@pytest.mark.parametrize("condition", ["If-None-Match", "If-Match"])
@pytest.mark.parametrize("who", ["other", "anon"])
def test_conditional_put_learns_nothing(
    who: str, condition: str, server: LiveServer, s3: Any, private: dict[str, str]
) -> None:
    value = "*" if condition == "If-None-Match" else private["etag"]
    answers = {}
    for key in KEYS:
        url = f"{server.endpoint}/{private['bucket']}/{key}"
        answers[key] = answer(send(who, "PUT", url, {condition: value}, b"written"))
    assert answers == dict.fromkeys(KEYS, (403, "AccessDenied", []))
    assert body(s3, private["bucket"], "k") == b"secret"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=private["bucket"], Key="absent")


COPY_CONDITIONS: dict[str, dict[str, str]] = {
    "if-match right": {"x-amz-copy-source-if-match": "{etag}"},
    "if-match wrong": {"x-amz-copy-source-if-match": '"0123"'},
    "if-none-match right": {"x-amz-copy-source-if-none-match": "{etag}"},
    "if-modified-since future": {"x-amz-copy-source-if-modified-since": "{future}"},
    "if-unmodified-since past": {"x-amz-copy-source-if-unmodified-since": "{past}"},
}


@pytest.mark.parametrize("condition", COPY_CONDITIONS)
def test_conditional_copy_of_the_owners_object_learns_nothing(
    condition: str, server: LiveServer, other_s3: Any, private: dict[str, str], theirs: str
) -> None:
    """The other tenant copies into its own bucket from the owner's, on a condition."""
    values = placeholders(private)
    headers = {k: v.format(**values) for k, v in COPY_CONDITIONS[condition].items()}
    sources = {
        "existing": f"/{private['bucket']}/k",
        "missing": f"/{private['bucket']}/absent",
        "deleted": f"/{private['bucket']}/gone",
        "existing version": f"/{private['bucket']}/k?versionId={private['version']}",
        "random version": f"/{private['bucket']}/k?versionId={random_version()}",
    }
    answers = {}
    for name, source in sources.items():
        url = f"{server.endpoint}/{theirs}/copy"
        response = send("other", "PUT", url, {**headers, "x-amz-copy-source": source})
        answers[name] = answer(response)
    assert answers == dict.fromkeys(sources, (403, "AccessDenied", []))
    assert other_s3.list_objects_v2(Bucket=theirs)["KeyCount"] == 0


@pytest.mark.parametrize(
    ("method", "subresource"),
    [("GET", ""), ("GET", "acl"), ("GET", "tagging"), ("DELETE", ""), ("DELETE", "tagging")],
)
def test_version_ids_are_not_confirmed_to_outsiders(
    method: str, subresource: str, server: LiveServer, s3: Any, private: dict[str, str]
) -> None:
    base = f"{server.endpoint}/{private['bucket']}/k?"
    extra = f"{subresource}&" if subresource else ""
    answers = {
        name: answer(send("other", method, f"{base}{extra}versionId={version}", {}))
        for name, version in (("existing", private["version"]), ("random", random_version()))
    }
    assert answers == {name: (403, "AccessDenied", []) for name in answers}
    versions = s3.list_object_versions(Bucket=private["bucket"], Prefix="k")["Versions"]
    assert private["version"] in {v["VersionId"] for v in versions}


@pytest.mark.parametrize("who", ["other", "anon"])
def test_upload_ids_are_not_confirmed_to_outsiders(
    who: str, server: LiveServer, s3: Any, private: dict[str, str]
) -> None:
    bucket = private["bucket"]
    upload = s3.create_multipart_upload(Bucket=bucket, Key="mp")["UploadId"]
    try:
        s3.upload_part(Bucket=bucket, Key="mp", UploadId=upload, PartNumber=1, Body=b"part")
        complete = b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber></Part>"
        complete += b"</CompleteMultipartUpload>"
        calls = {
            "ListParts": ("GET", "", b""),
            "UploadPart": ("PUT", "&partNumber=1", b"other"),
            "Complete": ("POST", "", complete),
            "Abort": ("DELETE", "", b""),
        }
        ids = {"real": upload, "random": secrets.token_urlsafe(32)}
        for name, (method, extra, content) in calls.items():
            answers = {}
            for which, upload_id in ids.items():
                url = f"{server.endpoint}/{bucket}/mp?uploadId={upload_id}{extra}"
                answers[which] = answer(send(who, method, url, {}, content))
            assert answers == dict.fromkeys(ids, (403, "AccessDenied", [])), name
        parts = s3.list_parts(Bucket=bucket, Key="mp", UploadId=upload)["Parts"]
        assert [(p["PartNumber"], p["Size"]) for p in parts] == [(1, 4)]
    finally:
        s3.abort_multipart_upload(Bucket=bucket, Key="mp", UploadId=upload)
