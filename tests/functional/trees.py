"""Directory trees and big files for the real-client tests, compared byte for byte."""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

MIB = 1024 * 1024


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(MIB):
            digest.update(chunk)
    return digest.hexdigest()


def make_tree(root: Path) -> dict[str, bytes]:
    """A small tree with nested directories, odd names and an empty file."""
    files = {
        "top.txt": b"top level\n",
        "a/one.bin": os.urandom(3000),
        "a/b/two with space.txt": b"two\n",
        "a/b/c/three+plus.dat": os.urandom(17),
        "a/ünï~(x).txt": b"unicode\n",
        "empty": b"",
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return files


def read_tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def remote_tree(s3: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    """The objects under `prefix`, by key without the prefix, read with boto3."""
    tree = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Contents", []):
            body = s3.get_object(Bucket=bucket, Key=entry["Key"])["Body"].read()
            tree[entry["Key"][len(prefix) :]] = body
    return tree


def run_tool(
    argv: Sequence[str], env: Mapping[str, str], *, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a client command line; with `check`, a failure shows its output."""
    result = subprocess.run(
        list(argv), capture_output=True, text=True, env=dict(env), timeout=120, check=False
    )
    if check:
        assert result.returncode == 0, (argv, result.stdout, result.stderr)
    return result
