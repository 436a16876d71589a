"""encoding-type=url in every listing: each element that carries a key, or
part of one, comes URL-encoded (and only those)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

import pytest
from defusedxml import ElementTree
from signed import signed

NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
PREFIX = "p q/"
DELIMITER = "|"
KEYS = ["p q/a b|c d", "p q/a b|e", "p q/z&y", "p q/\u00e9t\u00e9", "p q/m+n"]


def enc(text: str) -> str:
    return quote(text, safe="/")


def listing(server: Any, bucket: str, **query: str) -> Any:
    url = f"{server.endpoint}/{bucket}?{urlencode(query, quote_via=quote)}"
    response = signed("GET", url)
    assert response.status_code == 200, response.text
    return ElementTree.fromstring(response.content)


def texts(root: Any, path: str) -> list[str]:
    return [e.text or "" for e in root.findall(_qualify(path))]


def _qualify(path: str) -> str:
    return "/".join(NS + part for part in path.split("/"))


def text(root: Any, path: str) -> str | None:
    found = root.find(_qualify(path))
    return None if found is None else (found.text or "")


@pytest.fixture
def filled(s3: Any, bucket: str) -> str:
    for key in KEYS:
        s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    return bucket


@pytest.mark.parametrize("v2", [False, True])
def test_list_objects_encodes_every_key_element(server: Any, filled: str, v2: bool) -> None:
    start = "p q/a"
    query = {"encoding-type": "url", "prefix": PREFIX, "delimiter": DELIMITER, "max-keys": "2"}
    query.update({"list-type": "2", "start-after": start} if v2 else {"marker": start})
    root = listing(server, filled, **query)
    assert text(root, "EncodingType") == "url"
    assert text(root, "Prefix") == enc(PREFIX)
    assert text(root, "Delimiter") == enc(DELIMITER)
    assert text(root, "StartAfter" if v2 else "Marker") == enc(start)
    assert texts(root, "CommonPrefixes/Prefix") == [enc("p q/a b|")]
    assert texts(root, "Contents/Key") == [enc("p q/m+n")]
    if not v2:
        assert text(root, "NextMarker") == enc("p q/m+n")
    # The rest of the listing, from where the page said.
    if v2:
        token = text(root, "NextContinuationToken") or ""
        rest = listing(server, filled, **{**query, "continuation-token": token, "max-keys": "10"})
    else:
        rest = listing(server, filled, **{**query, "marker": "p q/m+n", "max-keys": "10"})
    assert texts(rest, "Contents/Key") == [enc("p q/z&y"), enc("p q/\u00e9t\u00e9")]


def test_list_objects_without_encoding_leaves_keys_alone(server: Any, filled: str) -> None:
    root = listing(server, filled, prefix=PREFIX, delimiter=DELIMITER)
    assert text(root, "EncodingType") is None
    assert text(root, "Prefix") == PREFIX
    assert texts(root, "CommonPrefixes/Prefix") == ["p q/a b|"]


def test_list_object_versions_encodes_every_key_element(
    server: Any, s3: Any, versioned: str
) -> None:
    for key in KEYS:
        s3.put_object(Bucket=versioned, Key=key, Body=b"x")
    s3.delete_object(Bucket=versioned, Key="p q/z&y")
    query = {
        "versions": "",
        "encoding-type": "url",
        "prefix": PREFIX,
        "delimiter": DELIMITER,
        "key-marker": "p q/a",
        "max-keys": "2",
    }
    root = listing(server, versioned, **query)
    assert text(root, "EncodingType") == "url"
    assert text(root, "Prefix") == enc(PREFIX)
    assert text(root, "Delimiter") == enc(DELIMITER)
    assert text(root, "KeyMarker") == enc("p q/a")
    assert texts(root, "CommonPrefixes/Prefix") == [enc("p q/a b|")]
    assert texts(root, "Version/Key") == [enc("p q/m+n")]
    assert text(root, "NextKeyMarker") == enc("p q/m+n")
    rest = listing(server, versioned, **{**query, "key-marker": "p q/m+n", "max-keys": "10"})
    assert texts(rest, "DeleteMarker/Key") == [enc("p q/z&y")]
    assert texts(rest, "Version/Key") == [enc(k) for k in ("p q/z&y", "p q/\u00e9t\u00e9")]


def test_list_multipart_uploads_encodes_every_key_element(
    server: Any, s3: Any, bucket: str
) -> None:
    for key in KEYS:
        s3.create_multipart_upload(Bucket=bucket, Key=key)
    query = {
        "uploads": "",
        "encoding-type": "url",
        "prefix": PREFIX,
        "delimiter": DELIMITER,
        "key-marker": "p q/a",
        "max-uploads": "2",
    }
    root = listing(server, bucket, **query)
    assert text(root, "EncodingType") == "url"
    assert text(root, "Prefix") == enc(PREFIX)
    assert text(root, "Delimiter") == enc(DELIMITER)
    assert text(root, "KeyMarker") == enc("p q/a")
    assert texts(root, "CommonPrefixes/Prefix") == [enc("p q/a b|")]
    assert texts(root, "Upload/Key") == [enc("p q/m+n")]
    assert text(root, "IsTruncated") == "true"
    assert text(root, "NextKeyMarker") == enc("p q/m+n")
    upload_id = text(root, "NextUploadIdMarker") or ""
    rest = listing(
        server,
        bucket,
        **{**query, "key-marker": "p q/m+n", "upload-id-marker": upload_id, "max-uploads": "10"},
    )
    assert texts(rest, "Upload/Key") == [enc("p q/z&y"), enc("p q/\u00e9t\u00e9")]
    assert text(rest, "IsTruncated") == "false"


def test_list_multipart_uploads_delimiter_with_boto3(s3: Any, bucket: str) -> None:
    for key in ["a/1", "a/2", "b", "c/d/e"]:
        s3.create_multipart_upload(Bucket=bucket, Key=key)
    page = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in page["Uploads"]] == ["b"]
    assert [p["Prefix"] for p in page["CommonPrefixes"]] == ["a/", "c/"]
    first = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/", MaxUploads=1)
    assert first["IsTruncated"] and first["NextKeyMarker"] == "a/"
    second = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/", MaxUploads=1, KeyMarker="a/")
    assert [u["Key"] for u in second["Uploads"]] == ["b"]
    assert "CommonPrefixes" not in second


def test_list_multipart_uploads_pages_through_uploads_of_one_key(s3: Any, bucket: str) -> None:
    made = {s3.create_multipart_upload(Bucket=bucket, Key="same")["UploadId"] for _ in range(5)}
    s3.create_multipart_upload(Bucket=bucket, Key="dir/x")
    seen: list[str] = []
    prefixes: list[str] = []
    query: dict[str, str] = {}
    while True:
        page = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/", MaxUploads=2, **query)
        seen += [u["UploadId"] for u in page.get("Uploads", [])]
        prefixes += [p["Prefix"] for p in page.get("CommonPrefixes", [])]
        if not page["IsTruncated"]:
            break
        query = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}
    assert prefixes == ["dir/"]
    assert sorted(seen) == sorted(made) and len(seen) == 5
