"""GET /info, and the path split between Swift and S3."""

from __future__ import annotations

from typing import Any

import httpx
from conftest import LiveServer


def test_info_reports_swift_constraints(server: LiveServer) -> None:
    answer = httpx.get(f"{server.endpoint}/info")
    assert answer.status_code == 200
    swift = answer.json()["swift"]
    assert swift["max_file_size"] == 5 * 1024**3
    assert swift["max_meta_count"] == 90
    assert swift["max_meta_overall_size"] == 4096
    assert swift["max_meta_name_length"] == 128
    assert swift["max_meta_value_length"] == 256
    assert swift["container_listing_limit"] == 10000
    assert swift["account_listing_limit"] == 10000
    assert swift["max_object_name_length"] == 1024
    assert swift["max_container_name_length"] == 256
    assert {"name": "standard", "default": True} in swift["policies"]
    # What is not listed is not supported: no container sync, ...
    assert "container_sync" not in answer.json()
    assert httpx.post(f"{server.endpoint}/info").status_code == 405


def test_paths_outside_swifts_stay_s3s(server: LiveServer, s3: Any) -> None:
    # Buckets whose names start like Swift's paths are still S3's.
    for name in ("info-bucket", "auth-bucket", "v1bucket"):
        s3.create_bucket(Bucket=name)
        s3.put_object(Bucket=name, Key="k", Body=b"s3")
        assert s3.get_object(Bucket=name, Key="k")["Body"].read() == b"s3"
        s3.delete_object(Bucket=name, Key="k")
        s3.delete_bucket(Bucket=name)
    # An unsigned S3 request elsewhere gets S3's XML error, not Swift's.
    answer = httpx.get(f"{server.endpoint}/nosuchbucket-xyz")
    assert answer.text.startswith("<?xml")
