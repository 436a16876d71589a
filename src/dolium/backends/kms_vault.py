"""SSE-KMS keys in a HashiCorp Vault transit secrets engine, over its HTTP API.

    [kms]
    use = "vault"
    [kms.options]
    address = "https://vault.example:8200"
    token_file = "/run/secrets/vault-token"   # or token = "..."
    mount = "transit"                         # where the engine is enabled

Each Dolium key is one transit key, created `aes256-gcm96` with `derived =
true`: Vault derives a key per encryption context, so a wrapped data key
opens only under the key and the context it was wrapped with (the context is
sent prefixed, never empty, as derivation requires one). A wrapped data key
is Vault's ciphertext string (`vault:v<N>:...`) as bytes; the version in it
lets a rotated key open what older versions wrapped.

Names: a key created with alias `alias/NAME` is the transit key `NAME`
(its id is `NAME`); one created without is named by a fresh UUID. The
default key is `default_key` (answered as `alias/aws/s3`), made at first
use. Rotations are the key's `latest_version` minus one.

Vault transit keys have no enabled flag: `set_enabled` keeps the names of
disabled keys in `<data_dir>/vault-disabled-keys.json`, which only processes
sharing that directory see. Across hosts, deny a key's `encrypt/` and
`decrypt/` paths in the token's Vault policy: a 403 on either is answered
as a disabled key.

The token is sent in `X-Vault-Token` (and `X-Vault-Namespace` when one is
set); it is never logged. Vault's errors are translated here: 404 on a key
is KmsKeyNotFound, a ciphertext that does not open is StorageError, and an
unreachable or failing Vault is StorageError.
"""

from __future__ import annotations

import asyncio
import base64
import json
import ssl
import uuid
from pathlib import Path
from typing import Any

import httpx

from dolium.durable import locked, replace_json
from dolium.errors import (
    ConfigError,
    Conflict,
    InvalidArgument,
    KmsKeyDisabled,
    KmsKeyNotFound,
    StorageError,
)
from dolium.protocols.kms import KeyService, KmsKey

DEFAULT_ALIAS = "alias/aws/s3"
DISABLED_FILE = "vault-disabled-keys.json"
# Prefixed to every encryption context: derivation needs a non-empty one.
CONTEXT_PREFIX = b"dolium-sse-kms\0"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _is_uuid(name: str) -> bool:
    try:
        uuid.UUID(name)
    except ValueError:
        return False
    return True


class VaultKeyService:
    """Transit keys under `mount` at `address`, reached with `token`."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        mount: str,
        default_key: str,
        disabled_path: Path,
    ) -> None:
        self.client = client
        self.mount = mount.strip("/")
        self.default_key = default_key
        self.disabled_path = disabled_path
        self._known: set[str] = set()  # keys seen to exist (Dolium never deletes one)

    @classmethod
    async def open(
        cls,
        data_dir: Path | str,
        address: str = "",
        token: str = "",
        token_file: str = "",
        mount: str = "transit",
        namespace: str = "",
        default_key: str = "dolium-default",
        timeout_seconds: float = 10.0,
        ca_file: str = "",
    ) -> VaultKeyService:
        if not address:
            raise ConfigError("kms.options.address: the Vault address is required")
        if token_file:
            try:
                text = await asyncio.to_thread(Path(token_file).read_text, encoding="utf-8")
                token = text.strip()
            except OSError as exc:
                raise ConfigError(f"kms.options.token_file: {token_file} unreadable") from exc
        if not token:
            raise ConfigError("kms.options: a Vault token is required (token or token_file)")
        headers = {"X-Vault-Token": token}
        if namespace:
            headers["X-Vault-Namespace"] = namespace
        verify: ssl.SSLContext | bool = True
        if ca_file:
            try:
                verify = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"kms.options.ca_file: {ca_file} unreadable") from exc
        client = httpx.AsyncClient(
            base_url=address.rstrip("/"), headers=headers, timeout=timeout_seconds, verify=verify
        )
        return cls(client, mount, default_key, Path(data_dir) / DISABLED_FILE)

    # -- protocol ---------------------------------------------------------------------

    async def find(self, ref: str | None) -> KmsKey:
        name = self._name(ref)
        try:
            return await self._describe(name)
        except KmsKeyNotFound:
            if name != self.default_key:
                raise
        await self._call("POST", f"keys/{name}", _CREATE)  # the default, at first use
        return await self._describe(name)

    async def encrypt(self, key_id: str, data_key: bytes, context: bytes) -> bytes:
        await self._usable(key_id)
        body = {"plaintext": _b64(data_key), "context": _b64(CONTEXT_PREFIX + context)}
        data = await self._call("POST", f"encrypt/{key_id}", body, key=key_id)
        ciphertext = data.get("ciphertext")
        if not isinstance(ciphertext, str):
            raise StorageError(f"Vault encrypt with key {key_id}: no ciphertext in the answer")
        return ciphertext.encode()

    async def decrypt(self, key_id: str, wrapped: bytes, context: bytes) -> bytes:
        await self._usable(key_id)
        try:
            ciphertext = wrapped.decode("ascii")
        except UnicodeDecodeError as exc:
            raise StorageError(f"a data key is not a Vault ciphertext of key {key_id}") from exc
        body = {"ciphertext": ciphertext, "context": _b64(CONTEXT_PREFIX + context)}
        data = await self._call("POST", f"decrypt/{key_id}", body, key=key_id)
        try:
            return base64.b64decode(str(data["plaintext"]), validate=True)
        except (KeyError, ValueError) as exc:
            raise StorageError(f"Vault decrypt with key {key_id}: no plaintext") from exc

    async def create(self, alias: str | None = None) -> KmsKey:
        if alias is None:
            name = str(uuid.uuid4())
        else:
            name = alias.removeprefix("alias/")
            if alias.startswith("alias/aws/") or name == self.default_key:
                raise Conflict(f"alias {alias}: the prefix alias/aws/ is reserved")
            if not name or "/" in name or _is_uuid(name):
                raise InvalidArgument(f"alias {alias}: a name without '/' and not a UUID")
            try:
                await self._describe(name)
            except KmsKeyNotFound:
                pass
            else:
                raise Conflict(f"alias alias/{name} is taken")
        await self._call("POST", f"keys/{name}", _CREATE)
        return await self._describe(name)

    async def keys(self) -> list[KmsKey]:
        try:
            data = await self._call("LIST", "keys")
        except KmsKeyNotFound:  # Vault answers an empty list with 404
            return []
        names = data.get("keys") or []
        found = [await self._describe(str(name)) for name in names]
        return sorted(found, key=lambda k: (k.created, k.id))

    async def rotate(self, ref: str) -> KmsKey:
        name = self._name(ref)
        await self._describe(name)
        await self._call("POST", f"keys/{name}/rotate", key=name)
        return await self._describe(name)

    async def set_enabled(self, ref: str, enabled: bool) -> KmsKey:
        name = self._name(ref)
        await self._describe(name)
        await asyncio.to_thread(self._mark, name, enabled)
        return await self._describe(name)

    async def close(self) -> None:
        await self.client.aclose()

    # -- Vault --------------------------------------------------------------------------

    def _name(self, ref: str | None) -> str:
        if ref is None or ref == DEFAULT_ALIAS:
            return self.default_key
        return ref.removeprefix("alias/")

    async def _describe(self, name: str) -> KmsKey:
        data = await self._call("GET", f"keys/{name}")
        self._known.add(name)
        versions = data.get("keys") or {}
        created = min(
            (float(v) for v in versions.values() if isinstance(v, int | float)), default=0
        )
        default = name == self.default_key
        return KmsKey(
            id=name,
            alias=DEFAULT_ALIAS if default else (None if _is_uuid(name) else f"alias/{name}"),
            created=created,
            enabled=name not in await asyncio.to_thread(self._disabled),
            rotations=max(int(data.get("latest_version", 1)) - 1, 0),
            default=default,
        )

    async def _usable(self, name: str) -> None:
        if name not in self._known:
            await self._describe(name)  # encrypt would create a missing key
        if name in await asyncio.to_thread(self._disabled):
            raise KmsKeyDisabled(f"key {name} is disabled")

    def _mark(self, name: str, enabled: bool) -> None:
        with locked(self.disabled_path):
            disabled = self._disabled()
            if enabled:
                disabled.discard(name)
            else:
                disabled.add(name)
            replace_json(self.disabled_path, {"disabled": sorted(disabled)})

    def _disabled(self) -> set[str]:
        try:
            doc = json.loads(self.disabled_path.read_text(encoding="utf-8"))
            return {str(n) for n in doc["disabled"]}
        except FileNotFoundError:
            return set()
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"kms: {self.disabled_path} unreadable ({exc})") from exc

    async def _call(
        self, method: str, path: str, body: dict[str, Any] | None = None, key: str = ""
    ) -> dict[str, Any]:
        """`data` of Vault's answer to `method /v1/<mount>/<path>`; its errors translated."""
        url = f"/v1/{self.mount}/{path}"
        try:
            response = await self.client.request(method, url, json=body)
        except httpx.HTTPError as exc:
            raise StorageError(f"Vault unreachable: {type(exc).__name__}") from exc
        if response.status_code == 204:
            return {}
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        errors = "; ".join(str(e) for e in answer.get("errors") or [])
        status = response.status_code
        if status == 404:
            raise KmsKeyNotFound(f"Vault has no transit key for {path!r}")
        if status == 403 and key:
            raise KmsKeyDisabled(f"Vault denies key {key}: {errors or 'permission denied'}")
        if status == 400 and path.startswith("decrypt/"):
            raise StorageError(f"a data key does not unwrap with key {key}: {errors}")
        if status >= 300:
            raise StorageError(f"Vault {method} {url}: {status} {errors}")
        data = answer.get("data") or {}
        return data if isinstance(data, dict) else {}


# Dolium's keys: AES-256-GCM, with a key derived per encryption context.
_CREATE = {"type": "aes256-gcm96", "derived": True}


def _conforms(keys: VaultKeyService) -> KeyService:  # mypy fails if it drifts
    return keys
