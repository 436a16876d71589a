"""Webhook reporter: POST each event message to one URL, at least once.

`publish` writes the event to an outbox directory (one file per event:
written to a temporary name, fsynced, renamed, and the directory fsynced)
and returns; a background task POSTs the files in the order they were
written and removes each one after a 2xx answer. A failed attempt (a
network error, a timeout, any other status) is retried after a delay that
doubles from `backoff` up to `max_backoff`; an event still undelivered
`expire` seconds after it was published is dropped with an error in the log
(0 keeps it forever). Delivery is in order: an event waits until the ones
before it are delivered or dropped.

Files left by a stopped or crashed process are delivered when the reporter
opens again. Processes sharing one outbox (server workers) each dispatch
it: a process delivers a file while it holds an flock on it, and one that
finds a file locked waits for it to be delivered before going on to the
next, so each file is sent once and in order. (A process killed after a
receiver accepted a file but before removing it leaves it to be sent
again: every request carries the event's id in `x-dolium-event-id` for
receivers that drop duplicates.)

With a `secret`, every request carries `x-dolium-signature: sha256=<hex>`,
the HMAC-SHA256 of the request body under the secret: a receiver computes
the same over the bytes it got and compares the two in constant time
(`hmac.compare_digest`), so a message that does not come from a server
holding the secret, or that was altered on the way, is told apart.

This module must not import the core or the front ends: it delivers
finished messages and knows nothing of buckets or configurations.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from dolium.durable import fsync_dir
from dolium.errors import ConfigError, StorageError
from dolium.protocols.events import FAILED, PUBLISHED, Message
from dolium.redact import redact_url, scrub

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

BUSY = -1  # Outbox.claim: another process holds the file
CLAIM_POLL = 0.05  # seconds between looks at a file another process is delivering
SIGNATURE = "x-dolium-signature"


def signature(secret: str, body: bytes) -> str:
    """The value of the signature header for `body` under `secret`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Pending:
    """An event in the outbox, as the dispatcher reads it back."""

    name: str  # file name in the outbox
    id: str
    event: str
    time: float
    message: str


class Outbox:
    """A directory of events waiting for delivery, oldest first by file name.

    Blocking file calls: the reporter runs them in a worker thread.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        fresh = not root.is_dir()
        root.mkdir(parents=True, exist_ok=True)
        if fresh:
            fsync_dir(root.parent)

    def add(self, event: Message) -> str:
        # Nanoseconds first so names sort by time; the random part keeps two
        # processes (or two events in one nanosecond) apart.
        name = f"{time.time_ns():020d}-{secrets.token_hex(4)}.json"
        data = json.dumps(
            {"id": event.id, "event": event.name, "time": event.time, "message": event.message},
            separators=(",", ":"),
            ensure_ascii=False,
        ).encode()
        tmp = self.root / f".{name}.tmp"
        try:
            with tmp.open("wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            tmp.rename(self.root / name)
            fsync_dir(self.root)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StorageError(f"event outbox {self.root}: cannot write: {exc}") from exc
        return name

    def pending(self) -> list[str]:
        return sorted(
            entry.name
            for entry in os.scandir(self.root)
            if entry.name.endswith(".json") and not entry.name.startswith(".")
        )

    def read(self, name: str) -> Pending | None:
        """The event in file `name`; None if it is gone (another process delivered it)."""
        try:
            item = json.loads((self.root / name).read_bytes())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            # A file this module wrote is whole (renamed after fsync): an
            # unreadable one is damage, set aside rather than retried forever.
            log.error("event outbox %s: %s is unreadable (%s); set aside", self.root, name, exc)
            with contextlib.suppress(OSError):
                (self.root / name).rename(self.root / f".{name}.bad")
            return None
        return Pending(name, item["id"], item["event"], float(item["time"]), item["message"])

    def remove(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.root / name).unlink()

    def claim(self, name: str) -> int | None:
        """A descriptor of file `name` holding its delivery lock; None if it
        is gone; BUSY while another process delivers it. Closing the
        descriptor releases the lock."""
        try:
            fd = os.open(self.root / name, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return BUSY
        # Delivered and removed by another process between opening and locking?
        if not (self.root / name).exists():
            os.close(fd)
            return None
        return fd


class WebhookReporter:
    def __init__(
        self,
        url: str,
        outbox: Path,
        *,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        backoff: float = 1.0,
        max_backoff: float = 300.0,
        expire: float = 86400.0,
        secret: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.shown = redact_url(url)  # in the log: without a password the URL may hold
        self.outbox = Outbox(outbox)
        self.headers = {
            "content-type": "application/json",
            "user-agent": "dolium",
            **(headers or {}),
        }
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.expire = expire
        self.secret = secret
        self.published = 0  # delivered: answered 2xx
        self.failed = 0  # attempts that failed
        self.dropped = 0  # expired undelivered
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._sleep = sleep
        self._clock = clock
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def open(
        cls,
        url: str,
        outbox: str,
        timeout: float = 10.0,  # noqa: ASYNC109  (a config option: httpx's per-request timeout)
        headers: dict[str, str] | None = None,
        backoff: float = 1.0,
        max_backoff: float = 300.0,
        expire: float = 86400.0,
        secret: str | None = None,
    ) -> WebhookReporter:
        """Open the outbox and start delivering what it holds."""
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            shown = redact_url(url) if isinstance(url, str) else url
            raise ConfigError(f"webhook url {shown!r} is not an http:// or https:// URL")
        # Options come straight from TOML: check their types before using them.
        seconds = {"timeout": timeout, "backoff": backoff, "max_backoff": max_backoff}
        for option, value in {**seconds, "expire": expire}.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"webhook {option}: {value!r} is not a number of seconds")
        if headers is not None and not (
            isinstance(headers, dict)
            and all(isinstance(k, str) and isinstance(v, str) for k, v in headers.items())
        ):
            raise ConfigError(f"webhook headers: {headers!r} is not a table of strings")
        if secret is not None and (not isinstance(secret, str) or not secret):
            raise ConfigError("webhook secret: not a non-empty string")
        if timeout <= 0 or backoff <= 0 or max_backoff < backoff or expire < 0:
            raise ConfigError(
                "webhook: timeout and backoff must be positive, max_backoff at least backoff, "
                "expire 0 (never) or more"
            )
        try:
            reporter = cls(
                url,
                Path(outbox),
                timeout=timeout,
                headers=headers,
                backoff=backoff,
                max_backoff=max_backoff,
                expire=expire,
                secret=secret,
            )
        except OSError as exc:
            raise ConfigError(f"webhook outbox {outbox}: cannot create it: {exc}") from exc
        reporter.start()
        return reporter

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run())

    async def publish(self, event: Message) -> None:
        await asyncio.to_thread(self.outbox.add, event)
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._client.aclose()

    def statistics(self) -> dict[str, int]:
        return {PUBLISHED: self.published, FAILED: self.failed, "dropped": self.dropped}

    async def drain(self) -> None:
        """Deliver (or drop) everything in the outbox now; for tests and tools."""
        for name in await asyncio.to_thread(self.outbox.pending):
            await self._deliver(name)

    # -- dispatching ---------------------------------------------------------------

    async def _run(self) -> None:
        while True:
            # Cleared before listing: an event published after the listing
            # sets it again, so the wait below never misses one.
            self._wake.clear()
            try:
                await self.drain()
            except Exception:
                log.exception("webhook %s: dispatcher failed; retrying", self.shown)
                await self._sleep(self.max_backoff)
                continue
            await self._wake.wait()

    async def _deliver(self, name: str) -> None:
        # Polled: the lock is held by another process, which no asyncio.Event reaches.
        while (claim := await asyncio.to_thread(self.outbox.claim, name)) == BUSY:  # noqa: ASYNC110
            await asyncio.sleep(CLAIM_POLL)  # another process is delivering it
        if claim is None:
            return
        try:
            await self._deliver_claimed(name)
        finally:
            os.close(claim)

    async def _deliver_claimed(self, name: str) -> None:
        pending = await asyncio.to_thread(self.outbox.read, name)
        if pending is None:
            return
        attempt = 0
        while not await self._post(pending, attempt):
            if self.expire and self._clock() - pending.time > self.expire:
                log.error(
                    "webhook %s: event %s (%s) undelivered for %.0f s; dropped",
                    self.shown,
                    pending.id,
                    pending.event,
                    self.expire,
                )
                self.dropped += 1
                break
            await self._sleep(min(self.max_backoff, self.backoff * 2**attempt))
            attempt += 1
        await asyncio.to_thread(self.outbox.remove, name)

    async def _post(self, pending: Pending, attempt: int) -> bool:
        headers = {**self.headers, "x-dolium-event-id": pending.id}
        body = pending.message.encode()
        if self.secret is not None:
            headers[SIGNATURE] = signature(self.secret, body)
        try:
            response = await self._client.post(self.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            self.failed += 1
            log.warning(
                "webhook %s: event %s, attempt %d: %s",
                self.shown,
                pending.id,
                attempt + 1,
                scrub(str(exc), self.url),
            )
            return False
        if 200 <= response.status_code < 300:
            self.published += 1
            return True
        self.failed += 1
        log.warning(
            "webhook %s: event %s, attempt %d: HTTP %d",
            self.shown,
            pending.id,
            attempt + 1,
            response.status_code,
        )
        return False


if TYPE_CHECKING:
    from dolium.protocols.events import CountingReporter

    def _conforms(r: WebhookReporter) -> CountingReporter:  # mypy fails if it drifts
        return r
