"""S3 blob store: one object per block in a bucket of any S3-compatible service.

    [blob]
    use = "s3"
    options = { endpoint = "https://s3.example.net", bucket = "dolium-blocks",
                prefix = "blocks/", access_key = "...", secret_key = "...",
                region = "us-east-1" }

Layout: block D is the object ``PREFIX + D[:2] + "/" + D`` (D in hex), or
``PREFIX + D`` with `fanout = false`. The two-hex-digit level spreads the
keys over 256 key ranges, which services that partition by key prefix serve
in parallel. Names are built only from the digest bytes the core hands
over; no client string ever reaches a key. Requests are path-style
(``ENDPOINT/BUCKET/KEY``), which every S3-compatible service answers.

Operations: `put` is a PUT with Content-MD5 and the body's SHA-256 signed,
so the service refuses bytes damaged on the way (and the attempt is
retried); storing a block again stores the same bytes, so a put is
idempotent. `get` is a GET (404 NoSuchKey: `BlockNotFound`), `has` a HEAD,
`delete` a DELETE (an absent object is no error), `list` pages through
ListObjectsV2 under the prefix, skipping keys that are not block names.
`statistics` counts the blocks and their bytes by listing, and reuses the
count for `usage_ttl` seconds, as metrics scrapes ask often.

It does not quarantine (protocols.blob.QuarantineStore): S3 has no atomic
move, so a block moved aside could take with it a sound copy a writer
stored between the read and the delete. A put always writes (no HEAD
first), so the next write of a corrupt block's content replaces it.

Connections, timeouts, retries and the errors a failing service turns into
are those of dolium.backends.s3_http: a service that is down, too slow or
refusing the credentials makes a request fail with `StorageUnavailable`
(503 to clients) once its attempts are spent, never hang.

The bucket must exist: `open` checks it (HEAD) and refuses to start with a
one-line `ConfigError` if the service says the bucket is missing or the
credentials are refused; a service that cannot be reached at that moment is
only logged, so a server starts while its store is briefly down.

This module must not import the core or the front ends and does not verify
digests (the core does). It never logs the secret key or a signature.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit
from xml.etree.ElementTree import Element

from defusedxml import ElementTree

from dolium import errors
from dolium.backends.s3_http import RetryPolicy, S3Connection

log = logging.getLogger(__name__)

_HEX = frozenset("0123456789abcdef")
# Bodies larger than this are hashed in a worker thread (hashlib releases the GIL).
_HASH_INLINE = 64 * 1024
# ListObjectsV2 gives at most 1000 keys a page.
MAX_LIST_PAGE = 1000


def _is_block_name(name: str) -> bool:
    return len(name) >= 2 and len(name) % 2 == 0 and all(c in _HEX for c in name)


def _local(tag: str) -> str:
    """An element's name without its XML namespace."""
    return tag.rpartition("}")[2]


def _hashes(data: bytes) -> tuple[str, str]:
    """(base64 MD5 for Content-MD5, hex SHA-256 for the signature) of `data`."""
    md5 = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
    return md5, hashlib.sha256(data).hexdigest()


class S3BlobStore:
    """Blocks as objects in one bucket; see the module docstring for the rules."""

    def __init__(
        self,
        connection: S3Connection,
        *,
        prefix: str,
        fanout: bool,
        usage_ttl: float,
        list_page: int = MAX_LIST_PAGE,
    ) -> None:
        self._s3 = connection
        self.list_page = list_page
        self.prefix = prefix
        self.fanout = fanout
        self.usage_ttl = usage_ttl
        self._counts = {"puts": 0, "gets": 0, "deletes": 0, "bytes_written": 0}
        self._usage: asyncio.Task[dict[str, int]] | None = None
        self._usage_at = 0.0
        self._closed = False

    @classmethod
    async def open(
        cls,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        prefix: str = "",
        region: str = "us-east-1",
        fanout: bool = True,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        attempts: int = 4,
        backoff: float = 0.2,
        backoff_max: float = 5.0,
        max_connections: int = 32,
        usage_ttl: float = 300.0,
        list_page: int = MAX_LIST_PAGE,
    ) -> S3BlobStore:
        """Check the options and the bucket; raise ConfigError (one line) if unusable."""
        _check_options(endpoint, bucket, prefix, connect_timeout, read_timeout, attempts)
        if not 1 <= int(list_page) <= MAX_LIST_PAGE:
            raise errors.ConfigError(f"blob s3: list_page must be 1..{MAX_LIST_PAGE} (keys a page)")
        connection = S3Connection(
            endpoint.rstrip("/"),
            bucket,
            access_key=access_key,
            secret_key=secret_key,
            region=region,
            connect_timeout=float(connect_timeout),
            read_timeout=float(read_timeout),
            max_connections=int(max_connections),
            retry=RetryPolicy(int(attempts), float(backoff), float(backoff_max)),
        )
        store = cls(
            connection,
            prefix=prefix,
            fanout=bool(fanout),
            usage_ttl=float(usage_ttl),
            list_page=int(list_page),
        )
        try:
            await store._check_bucket()
        except BaseException:
            await store.close()
            raise
        return store

    async def _check_bucket(self) -> None:
        try:
            answer = await self._s3.request("HEAD", expected=(200, 403, 404, 301, 400))
        except errors.StorageError as exc:
            log.warning("%s; starting anyway, requests fail until it answers", exc.message)
            return
        problem = {
            404: "does not exist (create it, or fix the bucket option)",
            403: "refuses these credentials (check access_key and secret_key)",
            301: "is in another region (set the region option to the bucket's)",
            400: "refuses the request (check the region option)",
        }.get(answer.status)
        if problem:
            raise errors.ConfigError(f"blob s3: bucket {self._s3.shown} {problem}")

    # -- names ---------------------------------------------------------------
    def _key(self, digest: bytes) -> str:
        if not isinstance(digest, bytes) or not digest:
            raise ValueError("a block digest is a non-empty bytes value")
        hexname = digest.hex()
        return f"{self.prefix}{hexname[:2]}/{hexname}" if self.fanout else self.prefix + hexname

    def _digest_of(self, key: str) -> bytes | None:
        """The digest a listed key names, or None if it is no block of this store."""
        name = key[len(self.prefix) :]
        if self.fanout:
            shard, _, name = name.partition("/")
            if shard != name[:2]:
                return None
        return bytes.fromhex(name) if _is_block_name(name) else None

    # -- the protocol --------------------------------------------------------
    async def put(self, digest: bytes, data: bytes) -> None:
        key = self._key(digest)
        data = bytes(data)
        if len(data) > _HASH_INLINE:
            md5, sha256 = await asyncio.to_thread(_hashes, data)
        else:
            md5, sha256 = _hashes(data)
        headers = {"content-md5": md5, "content-type": "application/octet-stream"}
        await self._s3.request("PUT", key, body=data, headers=headers, payload_hash=sha256)
        self._counts["puts"] += 1
        self._counts["bytes_written"] += len(data)

    async def get(self, digest: bytes) -> bytes:
        key = self._key(digest)
        answer = await self._s3.request("GET", key, expected=(200, 404))
        if answer.status == 404:
            if answer.code not in ("NoSuchKey", ""):
                # NoSuchBucket and the like: the store is gone, not the block.
                raise errors.StorageUnavailable(
                    f"s3 blob store {self._s3.shown}: GET {key} answered 404 {answer.code}",
                    store=self._s3.shown,
                )
            raise errors.BlockNotFound(f"block {digest.hex()} is not stored", digest=digest.hex())
        self._counts["gets"] += 1
        return answer.body

    async def has(self, digest: bytes) -> bool:
        answer = await self._s3.request("HEAD", self._key(digest), expected=(200, 404))
        return answer.status == 200

    async def delete(self, digest: bytes) -> None:
        # S3 answers 204 whether or not the object was there; others may say 404.
        await self._s3.request("DELETE", self._key(digest), expected=(200, 204, 404))
        self._counts["deletes"] += 1

    async def list(self) -> AsyncIterator[bytes]:
        async for key, _ in self._walk():
            digest = self._digest_of(key)
            if digest is not None:
                yield digest

    async def _walk(self) -> AsyncIterator[tuple[str, int]]:
        """(key, size) of every object under the prefix, a page at a time."""
        token: str | None = None
        while True:
            query = [("list-type", "2"), ("max-keys", str(self.list_page))]
            if self.prefix:
                query.append(("prefix", self.prefix))
            if token:
                query.append(("continuation-token", token))
            encoded = "&".join(f"{n}={quote(v, safe='-_.~')}" for n, v in sorted(query))
            answer = await self._s3.request("GET", query=encoded, expected=(200,))
            root = self._parse_listing(answer.body)
            for item in root:
                if _local(item.tag) != "Contents":
                    continue
                fields = {_local(f.tag): (f.text or "") for f in item}
                size = fields.get("Size", "0")
                yield fields.get("Key", ""), int(size) if size.isdigit() else 0
            fields = {_local(f.tag): (f.text or "") for f in root}
            token = fields.get("NextContinuationToken")
            if fields.get("IsTruncated") != "true" or not token:
                return

    def _parse_listing(self, body: bytes) -> Element:
        try:
            root: Element = ElementTree.fromstring(body)
        except Exception as exc:  # defusedxml and expat raise several kinds
            raise errors.StorageUnavailable(
                f"s3 blob store {self._s3.shown}: a listing is not XML ({type(exc).__name__})",
                store=self._s3.shown,
            ) from exc
        return root

    def capabilities(self) -> frozenset[str]:
        return frozenset({"durable", "remote"})

    async def statistics(self) -> Mapping[str, int | float]:
        """Counters since open and a count of the blocks (at most `usage_ttl` seconds old)."""
        if self._usage is None or time.monotonic() - self._usage_at > self.usage_ttl:
            self._usage = asyncio.ensure_future(self._count())
            self._usage_at = time.monotonic()
        try:
            usage = await asyncio.shield(self._usage)
        except errors.StorageError:
            self._usage = None
            raise
        return {**self._counts, **self._s3.counts, **usage}

    async def _count(self) -> dict[str, int]:
        blocks = used = 0
        async for key, size in self._walk():
            if self._digest_of(key) is not None:
                blocks += 1
                used += size
        return {"blocks": blocks, "used_bytes": used}

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._usage is not None and not self._usage.done():
            self._usage.cancel()
            await asyncio.gather(self._usage, return_exceptions=True)
        await self._s3.close()


def _check_options(
    endpoint: str,
    bucket: str,
    prefix: str,
    connect_timeout: float,
    read_timeout: float,
    attempts: int,
) -> None:
    parts = urlsplit(endpoint) if isinstance(endpoint, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise errors.ConfigError(
            "blob s3: endpoint must be an http:// or https:// URL (e.g. https://s3.example.net)"
        )
    if parts.path.strip("/") or parts.query:
        raise errors.ConfigError(
            "blob s3: endpoint is the service's URL without a path; "
            "name the bucket in the bucket option"
        )
    if not isinstance(bucket, str) or not bucket or "/" in bucket:
        raise errors.ConfigError("blob s3: bucket must be a bucket name (no '/')")
    if not isinstance(prefix, str) or prefix.startswith("/"):
        raise errors.ConfigError("blob s3: prefix must be a string not starting with '/'")
    if not (float(connect_timeout) > 0 and float(read_timeout) > 0):
        raise errors.ConfigError("blob s3: connect_timeout and read_timeout are seconds, > 0")
    if int(attempts) < 1:
        raise errors.ConfigError("blob s3: attempts must be 1 or more (1 = no retry)")


if TYPE_CHECKING:
    from dolium.protocols.blob import BlobStore

    def _conforms(s: S3BlobStore) -> BlobStore:  # mypy fails if the class drifts
        return s
