"""Signed tree heads of the audit log, as C2SP checkpoints in signed notes.

A checkpoint is the text every transparency log tool reads (c2sp.org
tlog-checkpoint): the log's origin, the tree size, the base64 root, then
extension lines; Dolium adds one, `time <POSIX seconds>`, the moment the
head was signed. The text is signed as a C2SP signed note (the format of
Go's sumdb/note): after a blank line, one line per signature,

    — <key name> <base64(key id || Ed25519 signature of the text)>

where the key id is the first four bytes of SHA-256(name || 0x0A || 0x01
|| public key). So a checkpoint Dolium signs can be checked by tools
nobody here wrote, given the verifier key (`Signer.verifier_key`, in the
`name+keyid+base64` form those tools take) or the PEM public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ED25519 = b"\x01"  # the signed-note algorithm byte of Ed25519
DASH = "\u2014 "  # a signature line starts with an em dash and a space
HASH_SIZE = 32
# A name has no spaces or plus signs (they separate the fields of a
# verifier key) and no control characters.
_NAME = re.compile(r"[^\s+\x00-\x1f\x7f]+")
_TIME = re.compile(r"time (\d{1,15})")
MAX_NOTE = 64 * 1024  # no checkpoint is near this; a larger text is not one


class InvalidCheckpoint(ValueError):
    """A checkpoint that does not parse, or whose signature does not verify."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    time: int | None = None  # POSIX seconds it was signed at

    def text(self) -> str:
        """The note text: what is signed."""
        if not _NAME.fullmatch(self.origin):
            raise ValueError(f"origin {self.origin!r}: no spaces, plus signs or control characters")
        if self.size < 0 or len(self.root) != HASH_SIZE:
            raise ValueError("a tree head has a size of 0 or more and a 32-byte root")
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode()]
        if self.time is not None:
            lines.append(f"time {self.time}")
        return "\n".join(lines) + "\n"

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        lines = text.split("\n")
        if len(lines) < 4 or lines[-1] != "" or not all(lines[:-1]):
            raise InvalidCheckpoint("a checkpoint is at least three non-empty lines")
        origin, size_text, root_text, *extensions = lines[:-1]
        if not size_text.isdigit() or (size_text != "0" and size_text.startswith("0")):
            raise InvalidCheckpoint(f"tree size {size_text!r} is not a number")
        try:
            root = base64.b64decode(root_text, validate=True)
        except binascii.Error:
            root = b""
        if len(root) != HASH_SIZE:
            raise InvalidCheckpoint("the root is not the base64 of a 32-byte hash")
        time = None
        for line in extensions:
            found = _TIME.fullmatch(line)
            if found is not None and time is None:
                time = int(found.group(1))
        return cls(origin, int(size_text), root, time)


def key_id(name: str, public: Ed25519PublicKey) -> bytes:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(name.encode() + b"\n" + ED25519 + raw).digest()[:4]


class Signer:
    """Signs checkpoints with one Ed25519 key under one key name (the log's origin)."""

    def __init__(self, name: str, key: Ed25519PrivateKey) -> None:
        if not _NAME.fullmatch(name):
            raise ValueError(f"key name {name!r}: no spaces, plus signs or control characters")
        self.name = name
        self._key = key
        self.public = key.public_key()
        self.key_id = key_id(name, self.public)

    def sign(self, checkpoint: Checkpoint) -> str:
        """The signed note of `checkpoint`."""
        text = checkpoint.text()
        signature = self._key.sign(text.encode())
        payload = base64.b64encode(self.key_id + signature).decode()
        return f"{text}\n{DASH}{self.name} {payload}\n"

    def public_key_pem(self) -> str:
        return public_key_pem(self.public)

    def verifier_key(self) -> str:
        """`name+keyid+base64(0x01 || key)`: the verifier key Go's note package reads."""
        raw = self.public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return f"{self.name}+{self.key_id.hex()}+{base64.b64encode(ED25519 + raw).decode()}"


def log_signer(key: Ed25519PrivateKey) -> Signer:
    """The signer of the log whose key is `key`: its name (the log's origin) names the key,
    so it stays the same for as long as the key does."""
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return Signer(f"dolium-audit/{hashlib.sha256(raw).hexdigest()[:16]}", key)


def public_key_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def load_public_key(pem: str | bytes) -> Ed25519PublicKey:
    try:
        key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except ValueError as exc:
        raise InvalidCheckpoint(f"not a PEM public key: {exc}") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidCheckpoint("the public key is not an Ed25519 key")
    return key


def open_note(note: str, public: Ed25519PublicKey, name: str) -> Checkpoint:
    """The checkpoint of a signed note, once the signature of (`name`, `public`) verifies.

    Lines signed by other keys (witnesses) are left alone; the note is
    refused when no line is this key's, or when this key's line does not
    verify.
    """
    if len(note) > MAX_NOTE:
        raise InvalidCheckpoint("the note is too large to be a checkpoint")
    text, sep, signatures = note.rpartition("\n\n")
    if not sep:
        raise InvalidCheckpoint("the note has no signature lines")
    text += "\n"
    wanted = key_id(name, public)
    for line in signatures.split("\n"):
        if not line:
            continue
        if not line.startswith(DASH):
            raise InvalidCheckpoint(f"a signature line must start with an em dash: {line[:40]!r}")
        signer, _, payload = line[len(DASH) :].partition(" ")
        try:
            blob = base64.b64decode(payload, validate=True)
        except binascii.Error:
            raise InvalidCheckpoint("a signature line's payload is not base64") from None
        if signer != name or blob[:4] != wanted:
            continue
        try:
            public.verify(blob[4:], text.encode())
        except InvalidSignature:
            raise InvalidCheckpoint("the checkpoint's signature does not verify") from None
        return Checkpoint.parse(text)
    raise InvalidCheckpoint(f"the checkpoint carries no signature of {name!r} with this key")
