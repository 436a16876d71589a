"""The audit log's signing key: an Ed25519 key in a file of the data directory.

Made at first use, written to a temporary file that only its owner can
read, fsynced and renamed into place, so that a crash leaves either no key
or a whole one, and two processes starting at once end up with the same
key (the loser of the rename race reads the winner's).
"""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dolium.durable import fsync_dir
from dolium.errors import ConfigError

FILE_NAME = "audit-key.pem"


def path_in(data_dir: Path) -> Path:
    """Where a data directory keeps its audit log's key."""
    return data_dir / FILE_NAME


def load_or_create(path: Path) -> Ed25519PrivateKey:
    try:
        return _load(path)
    except FileNotFoundError:
        pass
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        # link() fails if the key appeared meanwhile: then the other one is kept.
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
        fsync_dir(path.parent)
    finally:
        os.unlink(tmp)
    return _load(path)


def _load(path: Path) -> Ed25519PrivateKey:
    data = path.read_bytes()
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except ValueError as exc:
        raise ConfigError(f"audit key {path}: not a PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"audit key {path}: not an Ed25519 key")
    return key
