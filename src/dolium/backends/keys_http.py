"""Key store that asks an HTTP lookup service, the operator's own.

For an access key id the store sends

    GET {url}/{access key id, percent-encoded}
    Authorization: Bearer {token}          (when a token is configured)
    Accept: application/json

and the service answers

    200  a key record as JSON (fields of `keys_records`; `access_key`, if
         given, must be the id asked for):
         {"secret_key": "...", "tenant": "acme", "user": "alice", "admin": false}
    404  the key is unknown

Anything else (another status, a body that is not a record or is over
64 KiB, a refused connection, no answer within `timeout` seconds) raises
`KeyStoreUnavailable`, which the front ends answer with 503: a key the
service cannot vouch for is never accepted, and the failure is not cached.

Answers, found and unknown alike, are kept `cache_ttl` seconds (default 1;
0 = ask every time): a key the service revokes or deletes stops working
within that bound, and a client repeating a bad key costs the service one
request a `cache_ttl`. The cache holds at most `cache_size` keys. Lookups
of one key that miss the cache at the same time share one request.

The store never creates tenants or users and never logs a secret.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import quote, urlsplit

import httpx

from dolium.backends.keys_records import BadRecord, Found, parse_record
from dolium.errors import ConfigError, KeyStoreUnavailable

log = logging.getLogger(__name__)

# A key record is a few hundred bytes; a body past this is not one, and is
# not read to its end.
MAX_RECORD = 64 * 1024


class HttpKeyStore:
    def __init__(
        self,
        url: str,
        client: httpx.AsyncClient,
        cache_ttl: float = 1.0,
        cache_size: int = 10_000,
    ) -> None:
        self.url = url.rstrip("/")
        self.cache_ttl = cache_ttl
        self.cache_size = cache_size
        self._client = client
        # access key -> (when the answer expires, the answer)
        self._cache: dict[str, tuple[float, Found | None]] = {}
        self._asking: dict[str, asyncio.Future[Found | None]] = {}

    @classmethod
    async def open(
        cls,
        url: str,
        token: str = "",
        timeout: float = 2.0,  # noqa: ASYNC109  (a config option: httpx's per-request timeout)
        cache_ttl: float = 1.0,
        cache_size: int = 10_000,
    ) -> HttpKeyStore:
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise ConfigError(
                f"config keys.options.url: {url!r} is not an http(s) URL "
                "(e.g. https://keys.example.com/v1/keys)"
            )
        for name, value in (("timeout", timeout), ("cache_ttl", cache_ttl)):
            if not isinstance(value, int | float) or value < 0 or (name == "timeout" and not value):
                least = "more than 0" if name == "timeout" else "0 or more"
                raise ConfigError(f"config keys.options.{name}: {value!r} is not {least} seconds")
        if not isinstance(cache_size, int) or cache_size < 1:
            raise ConfigError(f"config keys.options.cache_size: {cache_size!r} is not 1 or more")
        if not isinstance(token, str):
            raise ConfigError("config keys.options.token: not a string")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        client = httpx.AsyncClient(
            headers=headers, timeout=float(timeout), follow_redirects=False, trust_env=False
        )
        return cls(url, client, float(cache_ttl), cache_size)

    async def lookup(self, access_key: str) -> Found | None:
        cached = self._cache.get(access_key)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        # Requests that miss the cache together share one question: a
        # burst with a new key, or a busy key as its answer expires, costs
        # the service one request, not one per request.
        asking = self._asking.get(access_key)
        if asking is None:
            asking = asyncio.ensure_future(self._ask_and_keep(access_key))
            self._asking[access_key] = asking
            asking.add_done_callback(lambda _: self._asking.pop(access_key, None))
        # Shielded: a client that hangs up does not cancel the others' answer.
        return await asyncio.shield(asking)

    async def _ask_and_keep(self, access_key: str) -> Found | None:
        now = time.monotonic()
        found = await self._ask(access_key)
        if self.cache_ttl > 0:
            if len(self._cache) >= self.cache_size:
                self._cache = {k: v for k, v in self._cache.items() if v[0] > now}
                if len(self._cache) >= self.cache_size:
                    self._cache.clear()
            self._cache[access_key] = (now + self.cache_ttl, found)
        return found

    async def close(self) -> None:
        for asking in list(self._asking.values()):
            asking.cancel()
        self._cache.clear()
        await self._client.aclose()

    async def _ask(self, access_key: str) -> Found | None:
        target = f"{self.url}/{quote(access_key, safe='')}"
        try:
            async with self._client.stream("GET", target) as response:
                if response.status_code == 404:
                    return None
                if response.status_code != 200:
                    raise self._unavailable(f"answered {response.status_code}")
                body = bytearray()
                async for chunk in response.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_RECORD:
                        raise self._unavailable(f"answered a body over {MAX_RECORD} bytes")
        except httpx.TimeoutException as exc:
            raise self._unavailable("no answer in time") from exc
        except httpx.HTTPError as exc:
            raise self._unavailable(f"request failed ({type(exc).__name__})") from exc
        try:
            (key, principal), active = parse_record(json.loads(body), access_key)
        except (ValueError, BadRecord) as exc:
            # json's and BadRecord's messages never quote the body (it holds a secret).
            raise self._unavailable(f"answered a body that is not a key record: {exc}") from None
        return (key, principal) if active else None

    def _unavailable(self, problem: str) -> KeyStoreUnavailable:
        log.error("key service %s: %s", self.url, problem)
        return KeyStoreUnavailable(f"key service {self.url}: {problem}")
