"""Helpers for the fault-injection tests: failures, leftovers, refused starts."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from support.live import DOLIUM, ROOT_KEY, ROOT_SECRET, client, free_port


def bucket_with(server: Any, bucket: str, key: str, data: bytes) -> Any:
    """A client of `server`, once it has made `bucket` and stored `data` at `key`."""
    s3 = client(server)
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=data)
    return s3


def failure(call: Any) -> tuple[int, str]:
    """(HTTP status, S3 code) of a boto3 call that must fail."""
    try:
        call()
    except ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]
    raise AssertionError("the call succeeded")


def temp_files(root: Path) -> list[Path]:
    """Temporary block files (".<hex>.<random>.tmp") left under `root`."""
    return [p for p in root.rglob(".*.tmp") if p.is_file()]


def serve_once(data: Path, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    """Run `dolium serve` on `data` and expect it to exit by itself (a refusal)."""
    env = dict(os.environ)
    env.update({"DOLIUM_ROOT_ACCESS_KEY": ROOT_KEY, "DOLIUM_ROOT_SECRET_KEY": ROOT_SECRET})
    command = [DOLIUM, "serve", "--data", str(data), "--listen", f"127.0.0.1:{free_port()}"]
    return subprocess.run(
        command, check=False, capture_output=True, text=True, env=env, timeout=timeout
    )
