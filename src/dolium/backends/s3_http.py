"""Signed requests to an S3-compatible service, retried, with failures in Dolium's terms.

The transport of the `s3` block store (dolium.backends.blob_s3). One
`httpx.AsyncClient` per store keeps its connections alive between requests
(up to `max_connections`, `max_keepalive` of them idle), with a connect
timeout and a read timeout (also used for writes and for waiting on a pooled
connection), so that a service that stops answering fails a request rather
than hanging it.

Every request this module sends is idempotent (blocks are named by their
content: a PUT stores the same bytes again, a DELETE of an absent object
succeeds), so each one is retried, up to `attempts` in all, after a
connection error, a timeout, a 5xx answer or 429 / SlowDown / RequestTimeout,
waiting an exponential back-off with full jitter between attempts (a random
wait up to base * 2^n, capped), so that many workers backing off at once do
not come back in step. Each attempt is signed afresh (SigV4), as its date
must be current.

Failures leave as `dolium.errors`: a service that still fails after the last
attempt, or refuses the request for good (credentials, a missing bucket), is
`StorageUnavailable`, which the front ends answer with 503; a full service
(507, QuotaExceeded) is `StorageFull`. Logs and errors name the endpoint
(without any password in it), the bucket, the method and the object key;
never a credential, a signature or a request header.

This module must not import the core or the front ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from urllib.parse import quote, urlsplit
from xml.etree.ElementTree import Element

import httpx
from defusedxml import ElementTree

from dolium import errors
from dolium.client.sigv4 import sign
from dolium.redact import redact_url

log = logging.getLogger(__name__)

# Answers that say "not now": worth another attempt after a pause.
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
RETRY_CODES = frozenset(
    {
        "SlowDown",
        "RequestTimeout",
        "InternalError",
        "ServiceUnavailable",
        # The body arrived other than it left (its MD5 or SHA-256 differs, or it
        # is short): damaged on the way, so sending it again may well succeed.
        "BadDigest",
        "XAmzContentSHA256Mismatch",
        "IncompleteBody",
    }
)
# Answers that say the service has no room for what we write.
FULL_CODES = frozenset({"QuotaExceeded", "InsufficientStorage"})
# Bytes of an error answer read for its code: S3 errors are small documents.
_ERROR_BODY_LIMIT = 64 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a request is tried again."""

    attempts: int = 4
    backoff: float = 0.2  # seconds: the cap of the first wait, doubled each time
    backoff_max: float = 5.0  # seconds: no wait is capped higher than this

    def delay(self, failures: int) -> float:
        """The wait after the `failures`-th failed attempt (1 = the first)."""
        cap = min(self.backoff_max, self.backoff * 2 ** (failures - 1))
        # Jitter spreads retries; it is no secret, so the stdlib generator does.
        return random.uniform(0.0, cap)


@dataclass(frozen=True)
class S3Answer:
    status: int
    headers: httpx.Headers
    body: bytes
    code: str = ""  # the <Code> of an S3 error document, when the answer is one


def error_code(body: bytes) -> tuple[str, str]:
    """(Code, Message) of an S3 error document; empty strings if it is none."""
    if not body.lstrip().startswith(b"<"):
        return "", ""
    try:
        root: Element = ElementTree.fromstring(body)
    except Exception:  # any unparsable answer is just not an error document
        return "", ""
    code = root.findtext("Code") or ""
    message = root.findtext("Message") or ""
    return code.strip(), message.strip()[:200]


class S3Connection:
    """Requests to one bucket of an S3-compatible service, path-style."""

    def __init__(
        self,
        endpoint: str,
        bucket: str,
        *,
        access_key: str,
        secret_key: str,
        region: str,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int,
        retry: RetryPolicy,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        parts = urlsplit(endpoint)
        self._base = f"{parts.scheme}://{parts.netloc}"
        self._host = parts.netloc
        self.bucket = bucket
        self.shown = f"{redact_url(self._base)}/{bucket}"  # for logs and errors
        self._access_key = access_key
        self._secret_key = secret_key
        self._region = region
        self.retry = retry
        self.counts = {"retries": 0, "failures": 0}
        timeout = httpx.Timeout(
            connect=connect_timeout, read=read_timeout, write=read_timeout, pool=read_timeout
        )
        limits = httpx.Limits(
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=30.0,
        )
        self._client = httpx.AsyncClient(
            timeout=timeout, limits=limits, transport=transport, follow_redirects=False
        )

    def __repr__(self) -> str:  # never the credentials
        return f"S3Connection({self.shown})"

    def _url(self, key: str, query: str) -> str:
        path = quote(f"/{self.bucket}/{key}" if key else f"/{self.bucket}", safe="/-_.~")
        return f"{self._base}{path}{'?' + query if query else ''}"

    async def request(
        self,
        method: str,
        key: str = "",
        *,
        query: str = "",
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
        payload_hash: str | None = None,
        expected: Collection[int] = (200, 204),
    ) -> S3Answer:
        """Send until an answer with an `expected` status comes; raise StorageError otherwise."""
        url = self._url(key, query)
        what = f"{method} {key or '/'}" + (" (listing)" if query else "")
        failures = 0
        while True:
            cause: httpx.HTTPError | None = None
            try:
                answer = await self._send(method, url, body, headers or {}, payload_hash)
            except httpx.TimeoutException as exc:
                cause, reason = exc, f"timed out ({type(exc).__name__})"
            except httpx.RequestError as exc:  # connection refused or reset, bad answer ...
                cause, reason = exc, f"connection failed ({type(exc).__name__}: {exc})"
            else:
                if answer.status in expected:
                    return answer
                reason = f"answered {answer.status} {answer.code}".rstrip()
                if not self._retryable(answer):
                    self.counts["failures"] += 1
                    raise self._refused(what, answer)
            failures += 1
            if failures >= self.retry.attempts:
                self.counts["failures"] += 1
                raise errors.StorageUnavailable(
                    f"s3 blob store {self.shown}: {what} {reason}, "
                    f"{failures} attempt(s) in all; is the service up and reachable?",
                    store=self.shown,
                ) from cause
            wait = self.retry.delay(failures)
            self.counts["retries"] += 1
            log.warning(
                "s3 blob store %s: %s %s; attempt %d of %d in %.2fs",
                self.shown,
                what,
                reason,
                failures + 1,
                self.retry.attempts,
                wait,
            )
            await asyncio.sleep(wait)

    async def _send(
        self,
        method: str,
        url: str,
        body: bytes,
        headers: Mapping[str, str],
        payload_hash: str | None,
    ) -> S3Answer:
        signed = sign(
            method,
            url,
            headers,
            body,
            access_key=self._access_key,
            secret_key=self._secret_key,
            region=self._region,
            payload_hash=payload_hash,
        )
        # The Host signed is the endpoint's as written (with its port), so it is
        # sent as written too, not as httpx would normalise it.
        request = self._client.build_request(
            method, url, content=body, headers={**signed, "host": self._host}
        )
        response = await self._client.send(request, stream=True)
        try:
            if response.status_code < 300 or method == "HEAD":
                content = await response.aread()
                return S3Answer(response.status_code, response.headers, content)
            content = await self._read_limited(response)
        finally:
            await response.aclose()
        code, _ = error_code(content)
        return S3Answer(response.status_code, response.headers, content, code)

    @staticmethod
    async def _read_limited(response: httpx.Response) -> bytes:
        parts: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            parts.append(chunk)
            size += len(chunk)
            if size >= _ERROR_BODY_LIMIT:
                break
        return b"".join(parts)[:_ERROR_BODY_LIMIT]

    @staticmethod
    def _retryable(answer: S3Answer) -> bool:
        return answer.status in RETRY_STATUSES or answer.code in RETRY_CODES

    def _refused(self, what: str, answer: S3Answer) -> errors.StorageError:
        code, message = error_code(answer.body)
        said = f"{answer.status} {code}".rstrip() + (f" ({message})" if message else "")
        if answer.status == 507 or code in FULL_CODES:
            return errors.StorageFull(
                f"s3 blob store {self.shown}: {what} answered {said}; free space there",
                store=self.shown,
            )
        hint = {
            "NoSuchBucket": "create the bucket or fix the `bucket` option",
            "AccessDenied": "check access_key, secret_key and the key's permissions",
            "InvalidAccessKeyId": "check the access_key option",
            "SignatureDoesNotMatch": "check the secret_key and region options",
        }.get(code, "check the store's options and the service")
        return errors.StorageUnavailable(
            f"s3 blob store {self.shown}: {what} answered {said}; {hint}", store=self.shown
        )

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await self._client.aclose()
