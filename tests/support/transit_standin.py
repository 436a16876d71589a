"""A stand-in for HashiCorp Vault's transit secrets engine, for testing the `vault` key service.

Vault itself cannot be installed on the machine these tests run on (no
package registry it can reach carries it), so this small HTTP server plays
its part. It is written from Vault's transit API documentation and answers
only what the key service uses, the way that documentation says Vault does:

- `X-Vault-Token` must be the server's token, else 403 `{"errors": ["permission denied"]}`;
- `POST /v1/transit/keys/:name` (`type`, `derived`) creates a key (204; an
  existing key is left as it is);
- `GET /v1/transit/keys/:name` reads it: `keys` (version -> creation time),
  `latest_version`, `derived`, ...; 404 `{"errors": []}` when missing;
- `LIST /v1/transit/keys` lists key names (404 when there are none);
- `POST /v1/transit/keys/:name/rotate` adds a version;
- `POST /v1/transit/encrypt/:name` (`plaintext`, `context`, base64) answers
  `ciphertext` `vault:v<N>:<base64>` and `key_version`; a missing key is
  created (the "upsert" a token with the `create` capability gets);
- `POST /v1/transit/decrypt/:name` (`ciphertext`, `context`) answers
  `plaintext`; a ciphertext that does not open is 400 with an error message.

Derived keys need a context; the key of a context is HKDF-SHA256 of the
version's key with the context as info. Its ciphertexts are not Vault's
bytes, which no client reads: only their `vault:v<N>:` form matters.
Passing the contract suite here shows the key service speaks the documented
API; it does not show that a real Vault agrees.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_CIPHERTEXT = re.compile(r"vault:v(\d+):(.+)")


@dataclass
class TransitKey:
    derived: bool
    versions: list[tuple[bytes, int]] = field(default_factory=list)  # (material, created)

    def rotate(self) -> None:
        self.versions.append((secrets.token_bytes(32), int(time.time())))

    def cipher(self, version: int, context: bytes) -> AESGCM:
        material = self.versions[version - 1][0]
        if self.derived:
            material = HKDF(hashes.SHA256(), 32, salt=None, info=context).derive(material)
        return AESGCM(material)


class TransitState:
    def __init__(self, token: str) -> None:
        self.token = token
        self.keys: dict[str, TransitKey] = {}
        self.lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_LIST(self) -> None:
        self._serve("LIST")

    def _answer(self, status: int, doc: dict[str, Any] | None = None) -> None:
        body = json.dumps(doc).encode() if doc is not None else b""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _serve(self, method: str) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self.headers.get("X-Vault-Token") != state.token:
            self._answer(403, {"errors": ["permission denied"]})
            return
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            self._answer(400, {"errors": ["failed to parse JSON input"]})
            return
        parts = self.path.split("?")[0].strip("/").split("/")
        if parts[:2] != ["v1", "transit"]:
            self._answer(404, {"errors": ["no handler for route"]})
            return
        with state.lock:
            status, doc = _route(state, method, parts[2:], body)
        self._answer(status, doc)


class _Server(ThreadingHTTPServer):
    state: TransitState


def _route(
    state: TransitState, method: str, path: list[str], body: dict[str, Any]
) -> tuple[int, dict[str, Any] | None]:
    if path == ["keys"] and method == "LIST":
        if not state.keys:
            return 404, {"errors": []}
        return 200, {"data": {"keys": sorted(state.keys)}}
    if len(path) == 2 and path[0] == "keys":
        name = path[1]
        if method == "POST":
            if name not in state.keys:
                key = TransitKey(derived=bool(body.get("derived")))
                key.rotate()
                state.keys[name] = key
            return 204, None
        if method == "GET":
            found = state.keys.get(name)
            if found is None:
                return 404, {"errors": []}
            return 200, {"data": _describe(name, found)}
    if len(path) == 3 and path[0] == "keys" and path[2] == "rotate" and method == "POST":
        found = state.keys.get(path[1])
        if found is None:
            return 400, {"errors": ["key not found"]}
        found.rotate()
        return 204, None
    if len(path) == 2 and path[0] == "encrypt" and method == "POST":
        return _encrypt(state, path[1], body)
    if len(path) == 2 and path[0] == "decrypt" and method == "POST":
        return _decrypt(state, path[1], body)
    return 405, {"errors": ["unsupported operation"]}


def _describe(name: str, key: TransitKey) -> dict[str, Any]:
    return {
        "name": name,
        "type": "aes256-gcm96",
        "derived": key.derived,
        "keys": {str(i + 1): created for i, (_, created) in enumerate(key.versions)},
        "latest_version": len(key.versions),
        "min_decryption_version": 1,
        "min_encryption_version": 0,
        "supports_encryption": True,
        "supports_decryption": True,
        "supports_derivation": True,
    }


def _context(key: TransitKey, body: dict[str, Any]) -> bytes | None:
    context = base64.b64decode(body.get("context") or "")
    return None if key.derived and not context else context


def _encrypt(
    state: TransitState, name: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any] | None]:
    key = state.keys.get(name)
    if key is None:  # upsert, as for a token with the create capability
        key = state.keys[name] = TransitKey(derived=bool(body.get("context")))
        key.rotate()
    try:
        plaintext = base64.b64decode(body["plaintext"], validate=True)
    except (KeyError, binascii.Error):
        return 400, {"errors": ["failed to base64-decode plaintext"]}
    context = _context(key, body)
    if context is None:
        return 400, {"errors": ["missing 'context' for key derivation"]}
    version = len(key.versions)
    nonce = secrets.token_bytes(12)
    sealed = key.cipher(version, context).encrypt(nonce, plaintext, None)
    ciphertext = f"vault:v{version}:" + base64.b64encode(nonce + sealed).decode()
    return 200, {"data": {"ciphertext": ciphertext, "key_version": version}}


def _decrypt(
    state: TransitState, name: str, body: dict[str, Any]
) -> tuple[int, dict[str, Any] | None]:
    key = state.keys.get(name)
    if key is None:
        return 400, {"errors": ["encryption key not found"]}
    match = _CIPHERTEXT.fullmatch(str(body.get("ciphertext", "")))
    if match is None:
        return 400, {"errors": ["invalid ciphertext: no prefix"]}
    version = int(match[1])
    if not 1 <= version <= len(key.versions):
        return 400, {"errors": ["invalid key version"]}
    context = _context(key, body)
    if context is None:
        return 400, {"errors": ["missing 'context' for key derivation"]}
    try:
        blob = base64.b64decode(match[2], validate=True)
        plaintext = key.cipher(version, context).decrypt(blob[:12], blob[12:], None)
    except (binascii.Error, InvalidTag, ValueError):
        return 400, {"errors": ["cipher: message authentication failed"]}
    return 200, {"data": {"plaintext": base64.b64encode(plaintext).decode()}}


@contextmanager
def transit_standin(token: str = "standin-token") -> Iterator[str]:
    """A stand-in transit server on a free local port while the block runs; yields its address."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = TransitState(token)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
