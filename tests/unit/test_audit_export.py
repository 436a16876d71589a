"""Audit log exports: every way of editing one is caught offline, with the public key only."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dolium.core.audit import export
from dolium.core.audit.checkpoint import Checkpoint, Signer

ORIGIN = "dolium.example/audit"


def _records(n: int) -> list[dict[str, object]]:
    return [
        {"seq": i, "action": "s3:PutObject", "resource": f"photos/{i}.jpg", "actor": "alice"}
        for i in range(n)
    ]


@pytest.fixture
def signer() -> Signer:
    return Signer(ORIGIN, Ed25519PrivateKey.generate())


def _export(signer: Signer, n: int = 10, **kw: object) -> list[str]:
    return list(export.write(ORIGIN, _records(n), signer, **kw))  # type: ignore[arg-type]


def _verify(lines: list[str], signer: Signer, saved: str | None = None) -> export.Verified:
    return export.verify(lines, signer.public, saved)


def _edit(lines: list[str], index: int, **changes: object) -> list[str]:
    item = json.loads(lines[index])
    item.update(changes)
    return [*lines[:index], json.dumps(item) + "\n", *lines[index + 1 :]]


def test_a_whole_export_verifies(signer: Signer) -> None:
    result = _verify(_export(signer), signer)
    assert result.whole and result.head.size == 10 and result.end == 10


def test_a_modified_record_fails(signer: Signer) -> None:
    lines = _export(signer)
    record = json.loads(lines[4])["record"] | {"actor": "mallory"}
    with pytest.raises(export.Tampered, match="record 3 is not the one"):
        _verify(_edit(lines, 4, record=record), signer)


def test_a_removed_record_fails(signer: Signer) -> None:
    lines = _export(signer)
    with pytest.raises(export.Tampered, match="record 5 is missing"):
        _verify(lines[:6] + lines[7:], signer)
    # The last one too: the export no longer holds what its header says.
    with pytest.raises(export.Tampered, match="records 9 to 9 are missing"):
        _verify(lines[:10] + lines[11:], signer)


def test_an_inserted_record_fails(signer: Signer) -> None:
    lines = _export(signer)
    forged = json.loads(lines[3]) | {"record": {"seq": 99, "action": "s3:DeleteObject"}}
    with pytest.raises(export.Tampered, match="not the one"):
        _verify([*lines[:4], json.dumps(forged) + "\n", *lines[4:]], signer)
    with pytest.raises(export.Tampered, match="repeated or out of order"):
        _verify([*lines[:4], lines[3], *lines[4:]], signer)  # a real record, twice


def test_reordered_records_fail(signer: Signer) -> None:
    lines = _export(signer)
    swapped = [*lines[:3], lines[4], lines[3], *lines[5:]]
    with pytest.raises(export.Tampered, match="record 2 is missing"):
        _verify(swapped, signer)
    # Contents swapped, positions kept.
    a, b = json.loads(lines[3])["record"], json.loads(lines[4])["record"]
    with pytest.raises(export.Tampered, match="not the one"):
        _verify(_edit(_edit(lines, 3, record=b), 4, record=a), signer)


def test_a_checkpoint_cut_off_forged_or_of_another_key_fails(signer: Signer) -> None:
    lines = _export(signer)
    with pytest.raises(export.Tampered, match="cut short"):
        _verify(lines[:-1], signer)
    other = Signer(ORIGIN, Ed25519PrivateKey.generate())
    with pytest.raises(export.Tampered, match="checkpoint"):
        _verify(lines[:-1] + _export(other)[-1:], signer)
    # A head re-signed by someone else over a rewritten log.
    with pytest.raises(export.Tampered, match="checkpoint"):
        _verify(_export(other), signer)


def test_a_log_truncated_or_rewritten_behind_a_saved_checkpoint_fails(signer: Signer) -> None:
    records = _records(12)
    saved = list(export.write(ORIGIN, records[:7], signer))[-1]
    note = json.loads(saved)["note"]
    later = list(export.write(ORIGIN, records, signer, earlier=[7]))
    assert _verify(later, signer, note).head.size == 12
    # The log was cut back to 5 records after the saved head of 7.
    shorter = list(export.write(ORIGIN, records[:5], signer))
    with pytest.raises(export.Tampered, match="truncated"):
        _verify(shorter, signer, note)
    # Record 2 rewritten, and the log grown and re-signed by its own key since.
    rewritten = [*records[:2], {"seq": 2, "action": "nothing to see"}, *records[3:]]
    with pytest.raises(export.Tampered, match="rewritten"):
        _verify(list(export.write(ORIGIN, rewritten, signer, earlier=[7])), signer, note)
    same_size = list(export.write(ORIGIN, rewritten[:7], signer))
    with pytest.raises(export.Tampered, match="rewritten"):
        _verify(same_size, signer, note)
    with pytest.raises(export.Tampered, match="no consistency proof"):
        _verify(list(export.write(ORIGIN, records, signer)), signer, note)


def test_an_interval_proves_its_records_and_says_it_is_one(signer: Signer) -> None:
    lines = _export(signer, 20, first=5, count=6)
    result = _verify(lines, signer)
    assert (result.first, result.end, result.whole) == (5, 11, False)
    with pytest.raises(export.Tampered, match="record 7 is missing"):
        _verify(lines[:3] + lines[4:], signer)


def test_the_cli_verifies_and_gives_one_line_when_it_does_not(
    signer: Signer, tmp_path: Path
) -> None:
    good = tmp_path / "audit.jsonl"
    good.write_text("".join(_export(signer)))
    key = tmp_path / "audit.pub"
    key.write_text(signer.public_key_pem())
    dolium = [sys.executable, "-m", "dolium", "audit", "verify"]

    def run(path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*dolium, str(path), "--public-key", str(key), *extra],
            capture_output=True,
            text=True,
            check=False,
        )

    ok = run(good)
    assert ok.returncode == 0, ok.stderr
    assert "verified: dolium.example/audit, 10 records, every record" in ok.stdout
    lines = good.read_text().splitlines(keepends=True)
    bad = tmp_path / "edited.jsonl"
    bad.write_text("".join(lines[:6] + lines[7:]))
    failed = run(bad)
    assert failed.returncode == 1
    assert failed.stderr.count("\n") == 1 and "record 5 is missing" in failed.stderr
    saved = tmp_path / "head.note"
    saved.write_text(signer.sign(Checkpoint(ORIGIN, 11, b"\0" * 32)))
    behind = run(good, "--checkpoint", str(saved))
    assert behind.returncode == 1 and "truncated" in behind.stderr
