"""A write storm against a live server, recorded in a ledger, until it is killed.

Each client thread owns its own keys (`t<n>/...`), so the operations on one
key are sequential and the ledger knows exactly what was acknowledged last.
The threads also read each other's keys while they are being overwritten:
such a read may see any state the key could have had during the read, and
nothing else. Operations: PUT of 0 B to 8 MiB (mostly small, some over one
4 MiB block, some with runs of zero bytes that block hashing strips),
overwrites, PUTs of content another key already holds (deduplicated blocks),
multipart uploads of 2-3 parts, DeleteObject, DeleteObjects, reads and
listings of the thread's own keys.

Every choice comes from a random generator seeded per cycle and thread, so
a seed printed in a failure replays the same operations (not the same
timing). Errors once the server has been killed are expected: those
operations stay possible in the ledger. An error before the kill is a
failure of the run.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from ledger import Ledger, Op, State, Version, one_of

MIB = 1024 * 1024
BLOCK = 4 * MIB
PART = 5 * MIB  # the S3 minimum for every part but the last
EDGE_SIZES = (0, 1, 16 * 1024, 16 * 1024 + 1, BLOCK - 1, BLOCK, BLOCK + 1, 2 * BLOCK)

# Relative weights of the operations a thread picks from.
WEIGHTS = {
    "put": 42,
    "put_same": 5,
    "get_own": 14,
    "get_other": 10,
    "delete": 8,
    "delete_batch": 5,
    "multipart": 4,
    "list_own": 4,
}


def payload(seed: int, size: int) -> bytes:
    """Distinct bytes for a seed; some end in zeros, which blocks store stripped."""
    rng = random.Random(seed)
    if size and rng.random() < 0.03:
        return bytes(size)
    data = bytearray(rng.randbytes(size))
    if size and rng.random() < 0.08:
        zeros = rng.randint(1, min(size, BLOCK + 7))
        data[size - zeros :] = bytes(zeros)
    return bytes(data)


def pick_size(rng: random.Random) -> int:
    r = rng.random()
    if r < 0.05:
        return rng.choice(EDGE_SIZES)
    if r < 0.60:
        return rng.randint(0, 16 * 1024)
    if r < 0.87:
        return rng.randint(16 * 1024, MIB)
    if r < 0.95:
        return rng.randint(MIB, BLOCK)
    return rng.randint(BLOCK + 1, 2 * BLOCK)


def version_of(data: bytes) -> Version:
    return Version(hashlib.sha256(data).hexdigest(), hashlib.md5(data).hexdigest(), len(data))


def multipart_version(parts: list[bytes]) -> Version:
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    whole = b"".join(parts)
    etag = f"{hashlib.md5(md5s).hexdigest()}-{len(parts)}"
    return Version(hashlib.sha256(whole).hexdigest(), etag, len(whole))


def etag_of(response: dict[str, Any]) -> str:
    return str(response["ETag"]).strip('"')


def read_state(s3: Any, bucket: str, key: str) -> State:
    """The key's object as a GET returns it, whole, or None on NoSuchKey."""
    try:
        got = s3.get_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        if exc.response["Error"]["Code"] == "NoSuchKey":
            return None
        raise
    body = got["Body"].read()
    if len(body) != got["ContentLength"]:
        raise AssertionError(f"{bucket}/{key}: {len(body)} B for Content-Length {got}")
    return Version(hashlib.sha256(body).hexdigest(), etag_of(got), len(body))


@dataclass
class Killer:
    """Marks the moment of the kill before it happens, so errors can be judged."""

    killed_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def killed(self) -> bool:
        return self.killed_at is not None

    def mark(self) -> None:
        with self.lock:
            if self.killed_at is None:
                self.killed_at = time.monotonic()


@dataclass
class ThreadStats:
    ops: int = 0
    errors_after_kill: int = 0


class Storm:
    def __init__(
        self,
        make_client: Callable[[], Any],
        ledger: Ledger,
        bucket: str,
        *,
        seed: int,
        threads: int = 4,
        keys_per_thread: int = 12,
    ) -> None:
        self.make_client = make_client
        self.ledger = ledger
        self.bucket = bucket
        self.seed = seed
        self.threads = threads
        self.keys_per_thread = keys_per_thread
        self.killer = Killer()
        self.stats = [ThreadStats() for _ in range(threads)]
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        # Clients are made here, one by one: boto3 does not make them thread-safely.
        clients = [self.make_client() for _ in range(self.threads)]
        for n in range(self.threads):
            worker = threading.Thread(
                target=self._run, args=(n, clients[n]), name=f"storm-{n}", daemon=True
            )
            worker.start()
            self._workers.append(worker)

    def join(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        for worker in self._workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        alive = [w.name for w in self._workers if w.is_alive()]
        if alive:
            raise AssertionError(f"storm threads did not stop after the kill: {alive}")

    @property
    def ops(self) -> int:
        return sum(s.ops for s in self.stats)

    # -- one thread -----------------------------------------------------------
    def _key(self, thread: int, n: int) -> str:
        return f"t{thread}/obj-{n:02d}"

    def _run(self, thread: int, s3: Any) -> None:
        rng = random.Random(self.seed * 100 + thread)
        names = list(WEIGHTS)
        weights = list(WEIGHTS.values())
        sent: list[tuple[int, int]] = []  # payloads this thread sent: (seed, size)
        while not self.killer.killed:
            what = rng.choices(names, weights)[0]
            try:
                getattr(self, f"_{what}")(s3, rng, thread, sent)
            except _Stop:
                return
            except Exception:  # a bug here must fail the run, not end a thread quietly
                self.ledger.note_unexpected(f"storm thread {thread}: {traceback.format_exc()}")
                return
            self.stats[thread].ops += 1

    def _guard(self, op: Op | None, call: Callable[[], Any]) -> Any:
        """Run one request; on error record it against `op` and stop the thread."""
        try:
            return call()
        except (BotoCoreError, ClientError, OSError, AssertionError) as exc:
            expected = self.killer.killed
            error = f"{type(exc).__name__}: {exc}"
            if op is not None:
                self.ledger.fail(op, error, expected=expected)
            elif not expected:
                self.ledger.note_unexpected(error)
            raise _Stop from exc

    def _new_payload(self, rng: random.Random, sent: list[tuple[int, int]]) -> bytes:
        spec = (rng.randrange(2**62), pick_size(rng))
        sent.append(spec)
        return payload(*spec)

    def _put(self, s3: Any, rng: random.Random, thread: int, sent: list[tuple[int, int]]) -> None:
        self._put_data(s3, thread, rng, self._new_payload(rng, sent), "put")

    def _put_same(
        self, s3: Any, rng: random.Random, thread: int, sent: list[tuple[int, int]]
    ) -> None:
        if not sent:
            return
        self._put_data(s3, thread, rng, payload(*rng.choice(sent)), "put-same-bytes")

    def _put_data(self, s3: Any, thread: int, rng: random.Random, data: bytes, kind: str) -> None:
        key = self._key(thread, rng.randrange(self.keys_per_thread))
        op = self.ledger.begin(self.bucket, key, kind, version_of(data))
        resp = self._guard(op, lambda: s3.put_object(Bucket=self.bucket, Key=key, Body=data))
        self.ledger.ack(op, etag_of(resp))

    def _multipart(
        self, s3: Any, rng: random.Random, thread: int, sent: list[tuple[int, int]]
    ) -> None:
        key = self._key(thread, rng.randrange(self.keys_per_thread))
        sizes = [PART + rng.randint(0, MIB // 2) for _ in range(rng.randint(1, 2))]
        sizes.append(rng.randint(1, 2 * MIB))
        parts = [payload(rng.randrange(2**62), size) for size in sizes]
        b = self.bucket
        upload = self._guard(None, lambda: s3.create_multipart_upload(Bucket=b, Key=key))
        upload_id = upload["UploadId"]
        done = []
        for number, part in enumerate(parts, 1):
            resp = self._guard(
                None,
                lambda n=number, p=part: s3.upload_part(
                    Bucket=b, Key=key, UploadId=upload_id, PartNumber=n, Body=p
                ),
            )
            done.append({"PartNumber": number, "ETag": resp["ETag"]})
        op = self.ledger.begin(b, key, "multipart", multipart_version(parts))
        resp = self._guard(
            op,
            lambda: s3.complete_multipart_upload(
                Bucket=b, Key=key, UploadId=upload_id, MultipartUpload={"Parts": done}
            ),
        )
        self.ledger.ack(op, etag_of(resp))

    def _delete(
        self, s3: Any, rng: random.Random, thread: int, sent: list[tuple[int, int]]
    ) -> None:
        key = self._key(thread, rng.randrange(self.keys_per_thread))
        op = self.ledger.begin(self.bucket, key, "delete", None)
        self._guard(op, lambda: s3.delete_object(Bucket=self.bucket, Key=key))
        self.ledger.ack(op)

    def _delete_batch(
        self, s3: Any, rng: random.Random, thread: int, sent: list[tuple[int, int]]
    ) -> None:
        count = rng.randint(2, 5)
        keys = [self._key(thread, n) for n in rng.sample(range(self.keys_per_thread), count)]
        ops = [self.ledger.begin(self.bucket, k, "delete-batch", None) for k in keys]
        request = {"Objects": [{"Key": k} for k in keys], "Quiet": False}
        try:
            resp = s3.delete_objects(Bucket=self.bucket, Delete=request)
        except (BotoCoreError, ClientError, OSError) as exc:
            for op in ops:
                self.ledger.fail(op, f"{type(exc).__name__}: {exc}", expected=self.killer.killed)
            raise _Stop from exc
        deleted = {d["Key"] for d in resp.get("Deleted", [])}
        for op in ops:
            if op.key in deleted:
                self.ledger.ack(op)
            else:
                self.ledger.fail(op, f"not in Deleted: {resp.get('Errors')}", expected=False)

    def _get_own(
        self, s3: Any, rng: random.Random, thread: int, sent: list[tuple[int, int]]
    ) -> None:
        self._read(s3, self._key(thread, rng.randrange(self.keys_per_thread)))

    def _get_other(
        self, s3: Any, rng: random.Random, thread: int, sent: list[tuple[int, int]]
    ) -> None:
        if self.threads < 2:
            return
        other = rng.choice([n for n in range(self.threads) if n != thread])
        self._read(s3, self._key(other, rng.randrange(self.keys_per_thread)))

    def _read(self, s3: Any, key: str) -> None:
        window = self.ledger.open_read(self.bucket, key)
        observed = self._guard(None, lambda: read_state(s3, self.bucket, key))
        allowed = self.ledger.close_read(window)
        if observed not in allowed:
            self.ledger.note_unexpected(
                f"read {self.bucket}/{key} got {observed}, not one of: {one_of(allowed)}"
            )

    def _list_own(
        self, s3: Any, rng: random.Random, thread: int, sent: list[tuple[int, int]]
    ) -> None:
        prefix = f"t{thread}/"
        resp = self._guard(None, lambda: s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix))
        listed = {o["Key"]: (o["ETag"].strip('"'), o["Size"]) for o in resp.get("Contents", [])}
        expected = {
            k: (v.etag, v.size) for k, v in self.ledger.present(self.bucket, prefix).items()
        }
        if listed != expected:
            self.ledger.note_unexpected(
                f"listing {prefix} during the storm: got {sorted(listed.items())}, "
                f"acknowledged {sorted(expected.items())}"
            )


class _Stop(Exception):
    """The thread's server is gone (or failed): stop issuing operations."""
