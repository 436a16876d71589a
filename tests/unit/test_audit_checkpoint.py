"""Signed tree heads: C2SP checkpoints in signed notes, signed with Ed25519."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dolium.core.audit import merkle
from dolium.core.audit.checkpoint import (
    Checkpoint,
    InvalidCheckpoint,
    Signer,
    load_public_key,
    open_note,
)

ROOT = merkle.root_of([merkle.leaf_hash(b"a"), merkle.leaf_hash(b"b")])


def _signer(name: str = "dolium.example/audit") -> Signer:
    return Signer(name, Ed25519PrivateKey.generate())


def test_the_specification_example_parses() -> None:
    text = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n"
    head = Checkpoint.parse(text)
    assert (head.origin, head.size, head.time) == ("example.com/behind-the-sofa", 20852163, None)
    assert head.text() == text


def test_a_signed_note_has_the_signed_note_shape_and_opens_with_its_key() -> None:
    signer = _signer()
    head = Checkpoint("dolium.example/audit", 2, ROOT, time=1765100000)
    note = signer.sign(head)
    body, blank, line = note.partition("\n\n")
    assert blank and body + "\n" == head.text()
    assert body.splitlines() == [
        "dolium.example/audit",
        "2",
        base64.b64encode(ROOT).decode(),
        "time 1765100000",
    ]
    assert line.startswith("\u2014 dolium.example/audit ") and line.endswith("\n")
    blob = base64.b64decode(line.split(" ")[2])
    raw = signer.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    # The key id, computed here from the specification.
    assert blob[:4] == hashlib.sha256(b"dolium.example/audit\n\x01" + raw).digest()[:4]
    signer.public.verify(blob[4:], head.text().encode())
    assert open_note(note, signer.public, signer.name) == head
    pem = signer.public_key_pem()
    assert open_note(note, load_public_key(pem), signer.name) == head
    name, key_hex, key_b64 = signer.verifier_key().split("+", 2)
    assert (name, key_hex) == (signer.name, blob[:4].hex())
    assert base64.b64decode(key_b64) == b"\x01" + raw


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("\n2\n", "\n3\n"),  # the size
        ("time 1765100000", "time 1765100001"),  # the time
        ("dolium.example/audit\n2", "dolium.example/audi7\n2"),  # the origin
    ],
)
def test_an_edited_head_does_not_open(old: str, new: str) -> None:
    signer = _signer()
    note = signer.sign(Checkpoint("dolium.example/audit", 2, ROOT, time=1765100000))
    assert old in note
    with pytest.raises(InvalidCheckpoint):
        open_note(note.replace(old, new, 1), signer.public, signer.name)


def test_an_edited_root_does_not_open() -> None:
    signer = _signer()
    note = signer.sign(Checkpoint("dolium.example/audit", 2, ROOT))
    other = base64.b64encode(merkle.leaf_hash(b"x")).decode()
    with pytest.raises(InvalidCheckpoint):
        open_note(note.replace(base64.b64encode(ROOT).decode(), other), signer.public, signer.name)


def test_another_key_or_name_does_not_open_it_but_witness_lines_are_left_alone() -> None:
    signer, stranger = _signer(), _signer()
    note = signer.sign(Checkpoint("dolium.example/audit", 2, ROOT))
    with pytest.raises(InvalidCheckpoint, match="no signature"):
        open_note(note, stranger.public, stranger.name)
    with pytest.raises(InvalidCheckpoint, match="no signature"):
        open_note(note, signer.public, "someone.else")
    # A witness cosigns by adding its line: the log's own signature still opens it.
    witness = _signer("witness.example")
    head = Checkpoint("dolium.example/audit", 2, ROOT)
    cosigned = note + witness.sign(head).partition("\n\n")[2]
    assert open_note(cosigned, signer.public, signer.name) == head
    assert open_note(cosigned, witness.public, witness.name) == head


def test_a_forged_signature_under_the_right_key_id_is_refused() -> None:
    signer = _signer()
    note = signer.sign(Checkpoint("dolium.example/audit", 2, ROOT))
    body, _, line = note.partition("\n\n")
    blob = base64.b64decode(line.split(" ")[2])
    forged = blob[:4] + bytes([blob[4] ^ 1]) + blob[5:]
    bad = f"{body}\n\n\u2014 {signer.name} {base64.b64encode(forged).decode()}\n"
    with pytest.raises(InvalidCheckpoint, match="does not verify"):
        open_note(bad, signer.public, signer.name)


@pytest.mark.parametrize(
    "text",
    [
        "origin\n2\n",  # two lines
        "origin\n-1\nAAAA\n",  # a negative size
        "origin\n02\n" + base64.b64encode(ROOT).decode() + "\n",  # a leading zero
        "origin\n2\nnot base64!\n",
        "origin\n2\n" + base64.b64encode(ROOT[:31]).decode() + "\n",  # a short root
        "origin\n2\n" + base64.b64encode(ROOT).decode(),  # no final newline
    ],
)
def test_malformed_checkpoints_are_refused(text: str) -> None:
    with pytest.raises(InvalidCheckpoint):
        Checkpoint.parse(text)


def test_names_that_would_break_the_format_are_refused() -> None:
    for name in ("with space", "with+plus", "new\nline", ""):
        with pytest.raises(ValueError):
            Signer(name, Ed25519PrivateKey.generate())
    with pytest.raises(ValueError):
        Checkpoint("a b", 1, ROOT).text()
    with pytest.raises(InvalidCheckpoint):
        load_public_key("not a key")
