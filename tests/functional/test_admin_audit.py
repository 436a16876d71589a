"""The audit log through the admin API: signed heads, records, and proofs that a
verifier checks with nothing but the public key."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
from admin_support import admin_call
from conftest import (
    DOLIUM,
    OTHER_KEY,
    OTHER_SECRET,
    ROOT_KEY,
    ROOT_SECRET,
    LiveServer,
    client,
    own_server,
)

from dolium.core.audit import export, merkle
from dolium.core.audit.checkpoint import load_public_key, open_note

audited = own_server("audited", {"DOLIUM_AUDIT_CHECKPOINT_INTERVAL": "0"})


def sealed_record(server: LiveServer, key: str) -> dict[str, Any]:
    """The PutObject record of `key`, once the sealing job has taken it."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        found = admin_call(server, "GET", f"/audit/records?term={key}").json()
        if found:
            record: dict[str, Any] = found[0]
            return record
        time.sleep(0.2)
    raise AssertionError(f"{key} was never sealed")


def signed_head(server: LiveServer, public: Any) -> Any:
    note = admin_call(server, "GET", "/audit/checkpoint")
    assert note.status_code == 200 and note.headers["content-type"].startswith("text/plain")
    origin = note.text.split("\n", 1)[0]
    return open_note(note.text, public, origin)


def test_a_record_is_proven_in_a_signed_head(audited: LiveServer) -> None:
    s3 = client(audited)
    bucket = f"aud-{uuid.uuid4().hex[:8]}"
    key = f"proof-{uuid.uuid4().hex}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=b"audited")
    found = sealed_record(audited, key)
    assert found["record"]["action"] == "object.put"
    assert found["record"]["resource"] == f"{bucket}/{key}"

    public = load_public_key(admin_call(audited, "GET", "/audit/public-key").text)
    head = signed_head(audited, public)
    assert head.size > found["index"]
    proof = admin_call(audited, "GET", f"/audit/proof/{found['index']}?size={head.size}").json()
    assert proof["root"] == head.root.hex()
    leaf = merkle.leaf_hash(export.canonical(proof["record"]["record"]))
    hashes = [bytes.fromhex(h) for h in proof["proof"]]
    assert merkle.verify_inclusion(found["index"], head.size, leaf, hashes, head.root)
    # A record altered in transit does not verify.
    forged = dict(proof["record"]["record"], resource=f"{bucket}/other")
    bad_leaf = merkle.leaf_hash(export.canonical(forged))
    assert not merkle.verify_inclusion(found["index"], head.size, bad_leaf, hashes, head.root)

    # The log only grows: a later head extends this one.
    later_key = f"later-{uuid.uuid4().hex}"
    s3.put_object(Bucket=bucket, Key=later_key, Body=b"later")
    sealed_record(audited, later_key)
    later = signed_head(audited, public)
    answer = admin_call(audited, "GET", f"/audit/consistency?old={head.size}&new={later.size}")
    consistency = answer.json()
    assert consistency["root"] == later.root.hex()
    steps = [bytes.fromhex(h) for h in consistency["proof"]]
    assert merkle.verify_consistency(head.size, later.size, head.root, later.root, steps)


def test_audit_queries_are_checked(audited: LiveServer) -> None:
    size = admin_call(audited, "GET", "/audit/records?limit=1").status_code
    assert size == 200
    too_far = admin_call(audited, "GET", "/audit/proof/0?size=999999999")
    assert too_far.status_code == 404
    missing = admin_call(audited, "GET", "/audit/proof/999999999")
    assert missing.status_code == 404
    refused = admin_call(audited, "GET", "/audit/checkpoint", key=OTHER_KEY, secret=OTHER_SECRET)
    assert refused.status_code in (403,)  # the other tenant is not known here, or not an admin
    assert httpx.get(f"{audited.endpoint}/admin/audit/records").status_code == 401


off = own_server("audit-off", {"DOLIUM_AUDIT": "off"})


def test_without_an_audit_log_the_routes_say_so(off: LiveServer) -> None:
    response = admin_call(off, "GET", "/audit/checkpoint")
    assert (response.status_code, response.json()["error"]) == (404, "AuditOff")


def audit_cli(server: LiveServer, *args: str) -> str:
    """`dolium audit ARGS --endpoint` as the server's administrator."""
    result = subprocess.run(
        [
            DOLIUM,
            "audit",
            *args,
            "--endpoint",
            server.endpoint,
            "--access-key",
            ROOT_KEY,
            "--secret-key",
            ROOT_SECRET,
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_the_cli_reads_a_remote_audit_log(audited: LiveServer, tmp_path: Path) -> None:
    s3 = client(audited)
    bucket = f"aud-{uuid.uuid4().hex[:8]}"
    key = f"cli-{uuid.uuid4().hex}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    index = sealed_record(audited, key)["index"]
    pem = audit_cli(audited, "public-key")
    public = load_public_key(pem)
    note = audit_cli(audited, "checkpoint")
    head = open_note(note, public, note.split("\n", 1)[0])
    assert head.size > index
    found = json.loads(audit_cli(audited, "search", key, "--json"))
    assert [r["index"] for r in found] == [index]
    table = audit_cli(audited, "search", key)
    assert f"{bucket}/{key}" in table and "object.put" in table
    # An export fetched from the server verifies offline with the public key alone.
    exported, key_file = tmp_path / "audit.jsonl", tmp_path / "audit.pub"
    key_file.write_text(pem)
    audit_cli(audited, "export", "--out", str(exported))
    verified = subprocess.run(
        [DOLIUM, "audit", "verify", str(exported), "--public-key", str(key_file)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert verified.returncode == 0, verified.stdout + verified.stderr
    # One record changed in the file: refused.
    lines = exported.read_text().splitlines(keepends=True)
    changed = [line.replace(key, key + "x") if key in line else line for line in lines]
    exported.write_text("".join(changed))
    refused = subprocess.run(
        [DOLIUM, "audit", "verify", str(exported), "--public-key", str(key_file)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert refused.returncode != 0
