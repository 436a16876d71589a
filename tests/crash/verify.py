"""After a restart: hold the server's answers against the ledger.

Every key the ledger knows is read back whole and must hold its last
acknowledged state or that of an operation in flight at the kill (never a
partial object, never bytes from elsewhere, never anything older); the
listing must show exactly the keys that exist, with the same ETag and size;
pending multipart uploads must still be listable and abortable. What was
found then becomes the ledger's acknowledged state for the next cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from ledger import Ledger, State, one_of
from storm import read_state


@dataclass
class Verified:
    keys: int = 0
    present: int = 0
    took_in_flight: int = 0  # keys that show the state of an unacknowledged op
    aborted_uploads: int = 0
    problems: list[str] = field(default_factory=list)


def verify(s3: Any, ledger: Ledger, bucket: str) -> Verified:
    out = Verified()
    found: dict[str, State] = {}
    for b, key in ledger.keys(bucket):
        try:
            observed = read_state(s3, b, key)
        except (BotoCoreError, ClientError, AssertionError) as exc:
            # A block lost or torn under an acknowledged object shows up here.
            allowed = one_of(ledger.allowed(b, key))
            out.problems.append(f"{b}/{key}: cannot be read back ({exc}); expected {allowed}")
            continue
        found[key] = observed
        out.keys += 1
        out.present += observed is not None
        problem = ledger.problem(b, key, observed)
        if problem is not None:
            out.problems.append(problem)
        elif observed != ledger.acked(b, key):
            out.took_in_flight += 1

    listed: dict[str, tuple[str, int]] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            listed[o["Key"]] = (o["ETag"].strip('"'), o["Size"])
    expected = {k: (v.etag, v.size) for k, v in found.items() if v is not None}
    unreadable = {k for _, k in ledger.keys(bucket)} - set(found)
    for key in sorted((set(listed) | set(expected)) - unreadable):
        if listed.get(key) != expected.get(key):
            out.problems.append(
                f"{bucket}/{key}: listed as {listed.get(key)}, read back as {expected.get(key)}"
            )

    for upload in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
        out.aborted_uploads += 1

    if not out.problems:
        for key, observed in found.items():
            ledger.settle(bucket, key, observed)
    return out
