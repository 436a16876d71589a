"""The local key service for SSE-KMS: named keys in a keyring file (JSON, mode 0600).

    {"keys": [{"id": "<uuid>", "alias": "alias/NAME" | null, "created": 1700000000.0,
               "enabled": true, "default": false,
               "material": ["<32 bytes, base64>", ...]}, ...]}

The last material of a key wraps new data keys; older material stays to
unwrap what it wrapped, so rotation rewrites nothing. A wrapped key is the
index of its material (4 bytes) || nonce (12) || AES-256-GCM ciphertext and
tag, with the key id, the index and the caller's encryption context as
associated data: it opens only under the key, material and context it was
wrapped with.

The default key (alias `alias/aws/s3`, as S3's managed key is named) is
made at first use. Every change lands under an exclusive lock on a side
file, by rename after fsync, so processes sharing the data directory never
see half a file; each reads the file again when its identity changed.
Nothing here logs or prints key material.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import json
import secrets
import time
import uuid
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from dolium.durable import locked, replace_json
from dolium.errors import ConfigError, Conflict, KmsKeyDisabled, KmsKeyNotFound, StorageError
from dolium.protocols.kms import KeyService, KmsKey

KEY_SIZE = 32
NONCE_SIZE = 12
DEFAULT_ALIAS = "alias/aws/s3"
FILE_NAME = "kms-keys.json"


def _aad(key_id: str, index: int, context: bytes) -> bytes:
    return b"\0".join((key_id.encode(), str(index).encode(), context))


def _alias(name: str) -> str:
    return name if name.startswith("alias/") else f"alias/{name}"


class LocalKeyService:
    """Keys in `<data_dir>/kms-keys.json` (or `path`)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self._doc: dict[str, Any] = {"keys": []}
        self._stamp: tuple[int, int, int] | None = None

    @classmethod
    async def open(cls, data_dir: Path | str, path: str | None = None) -> LocalKeyService:
        return cls(Path(path) if path else Path(data_dir) / FILE_NAME)

    # -- protocol ---------------------------------------------------------------------

    async def find(self, ref: str | None) -> KmsKey:
        return _describe(await asyncio.to_thread(self._entry, ref))

    async def encrypt(self, key_id: str, data_key: bytes, context: bytes) -> bytes:
        entry = await asyncio.to_thread(self._entry, key_id)
        if not entry["enabled"]:
            raise KmsKeyDisabled(f"key {key_id} is disabled")
        index = len(entry["material"]) - 1
        material = _material(self.path, entry, index)
        nonce = secrets.token_bytes(NONCE_SIZE)
        sealed = AESGCM(material).encrypt(nonce, data_key, _aad(entry["id"], index, context))
        return index.to_bytes(4, "big") + nonce + sealed

    async def decrypt(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        entry = await asyncio.to_thread(self._entry, key_id)
        if not entry["enabled"]:
            raise KmsKeyDisabled(f"key {key_id} is disabled")
        index = int.from_bytes(wrapped[:4], "big")
        if index >= len(entry["material"]):
            raise StorageError(f"key {key_id} has no material {index}")
        material = _material(self.path, entry, index)
        body = wrapped[4:]
        try:
            return AESGCM(material).decrypt(
                body[:NONCE_SIZE], body[NONCE_SIZE:], _aad(entry["id"], index, context)
            )
        except (InvalidTag, ValueError) as exc:
            raise StorageError(f"a data key does not unwrap with key {key_id}") from exc

    async def create(self, alias: str | None = None) -> KmsKey:
        return await asyncio.to_thread(self._create, alias, False)

    async def keys(self) -> list[KmsKey]:
        await asyncio.to_thread(self._load)
        return [_describe(e) for e in self._doc["keys"]]

    async def rotate(self, ref: str) -> KmsKey:
        def change(entry: dict[str, Any]) -> None:
            entry["material"].append(_new_material())

        return await asyncio.to_thread(self._change, ref, change)

    async def set_enabled(self, ref: str, enabled: bool) -> KmsKey:
        def change(entry: dict[str, Any]) -> None:
            entry["enabled"] = enabled

        return await asyncio.to_thread(self._change, ref, change)

    async def close(self) -> None:
        self._doc = {"keys": []}
        self._stamp = None

    # -- lookups ----------------------------------------------------------------------

    def _lookup(self, ref: str | None) -> dict[str, Any] | None:
        entry: dict[str, Any]
        for entry in self._doc["keys"]:
            if ref is None and entry.get("default"):
                return entry
            if ref is not None and ref in (entry["id"], entry.get("alias")):
                return entry
        return None

    def _entry(self, ref: str | None) -> dict[str, Any]:
        if self._stamp is None or self._stamp != self._file_stamp():
            self._load()
        entry = self._lookup(ref)
        if entry is None and ref is not None:
            self._load()  # made by another process since the last read
            entry = self._lookup(ref)
        if entry is None and ref in (None, DEFAULT_ALIAS):
            self._create(DEFAULT_ALIAS, True)
            entry = self._lookup(None)
        if entry is None:
            raise KmsKeyNotFound(f"key {ref!r} does not exist")
        return entry

    # -- the file ---------------------------------------------------------------------

    def _file_stamp(self) -> tuple[int, int, int] | None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            return None
        return st.st_ino, st.st_mtime_ns, st.st_size

    def _load(self) -> None:
        stamp = self._file_stamp()
        if stamp is None:
            self._doc, self._stamp = {"keys": []}, None
            return
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            for entry in doc["keys"]:
                str(entry["id"])
                if not entry["material"]:
                    raise ValueError(f"key {entry['id']} has no material")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"kms keyring {self.path}: unreadable ({exc})") from exc
        self._doc, self._stamp = doc, stamp

    def _create(self, alias: str | None, default: bool) -> KmsKey:
        with self._locked():
            self._load()
            made = self._lookup(None)
            if default and made is not None:  # another process made it first
                return _describe(made)
            name = _alias(alias) if alias else None
            if name is not None and self._lookup(name) is not None:
                raise Conflict(f"alias {name} is taken")
            if name is not None and name.startswith("alias/aws/") and not default:
                raise Conflict(f"alias {name}: the prefix alias/aws/ is reserved")
            entry = {
                "id": str(uuid.uuid4()),
                "alias": name,
                "created": time.time(),
                "enabled": True,
                "default": default,
                "material": [_new_material()],
            }
            self._write({"keys": [*self._doc["keys"], entry]})
            self._load()
            return _describe(entry)

    def _change(self, ref: str, change: Any) -> KmsKey:
        with self._locked():
            self._load()
            entry = self._lookup(ref)
            if entry is None:
                raise KmsKeyNotFound(f"key {ref!r} does not exist")
            change(entry)
            self._write(self._doc)
            self._load()
            return _describe(entry)

    def _locked(self) -> contextlib.AbstractContextManager[None]:
        return locked(self.path)

    def _write(self, doc: dict[str, Any]) -> None:
        replace_json(self.path, doc)


def _new_material() -> str:
    return base64.b64encode(secrets.token_bytes(KEY_SIZE)).decode()


def _material(path: Path, entry: dict[str, Any], index: int) -> bytes:
    try:
        material = base64.b64decode(entry["material"][index], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ConfigError(f"kms keyring {path}: key {entry['id']} is not base64") from exc
    if len(material) != KEY_SIZE:
        raise ConfigError(f"kms keyring {path}: key {entry['id']} is not {KEY_SIZE} bytes")
    return material


def _describe(entry: dict[str, Any]) -> KmsKey:
    return KmsKey(
        id=entry["id"],
        alias=entry.get("alias"),
        created=float(entry["created"]),
        enabled=bool(entry["enabled"]),
        rotations=len(entry["material"]) - 1,
        default=bool(entry.get("default")),
    )


def _conforms(keys: LocalKeyService) -> KeyService:  # mypy fails if it drifts
    return keys
