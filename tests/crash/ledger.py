"""The client's ledger: what the server acknowledged, and what may have happened.

A write enters the ledger as acknowledged only after its 2xx, with the
sha256, ETag and size of the bytes sent and the time of the ack; a delete
likewise. An operation that was begun and not acknowledged (in flight when
the server died, or failed without a clear answer) stays *possible*: after
a restart the key must hold its last acknowledged state or the state of one
of those operations, whole, and nothing else.

Every operation gets a sequence number from one counter, so a reader that
runs beside writers can tell which states were reachable while it read.
Thread-safe: the storm's threads share one ledger.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

Key = tuple[str, str]  # (bucket, key)


@dataclass(frozen=True)
class Version:
    """An object's content as a client sees it."""

    sha256: str
    etag: str  # without quotes
    size: int

    def __str__(self) -> str:
        return f"{self.size} B sha256={self.sha256[:16]} etag={self.etag}"


State = Version | None  # None: no object under the key


def show(state: State) -> str:
    return "absent" if state is None else str(state)


@dataclass
class Op:
    """One write or delete of one key, begun by a client."""

    seq: int
    bucket: str
    key: str
    kind: str  # put, copy-of, multipart, delete, delete-batch
    state: State  # what the key holds if the operation takes effect
    started: float
    acked_at: float | None = None
    error: str | None = None


@dataclass
class KeyRecord:
    acked: State = None
    acked_at: float | None = None
    acked_op: str = "never written"
    possible: list[Op] = field(default_factory=list)  # begun, not acknowledged
    log: list[Op] = field(default_factory=list)  # every op on the key, in seq order


@dataclass
class ReadWindow:
    """What a reader may see: states reachable at its start, and later ops."""

    bucket: str
    key: str
    seq: int
    states: list[State]


class Ledger:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = itertools.count(1)
        self._keys: dict[Key, KeyRecord] = {}
        self.acked_writes = 0
        self.acked_deletes = 0
        self.unexpected: list[str] = []  # errors no kill explains; each fails the run

    # -- recording ------------------------------------------------------------
    def begin(self, bucket: str, key: str, kind: str, state: State) -> Op:
        """Call before the request leaves: from then on its state is possible."""
        with self._lock:
            op = Op(next(self._seq), bucket, key, kind, state, time.time())
            record = self._keys.setdefault((bucket, key), KeyRecord())
            record.possible.append(op)
            record.log.append(op)
            return op

    def ack(self, op: Op, etag: str | None = None) -> None:
        """Call only after the 2xx. `etag` is the one the server answered."""
        with self._lock:
            op.acked_at = time.time()
            record = self._keys[(op.bucket, op.key)]
            if op.state is not None and etag is not None and etag != op.state.etag:
                self.unexpected.append(
                    f"{op.kind} {op.bucket}/{op.key}: server answered ETag {etag}, "
                    f"expected {op.state.etag}"
                )
            record.acked, record.acked_at = op.state, op.acked_at
            record.acked_op = f"{op.kind} #{op.seq}"
            if op in record.possible:
                record.possible.remove(op)
            if op.state is None:
                self.acked_deletes += 1
            else:
                self.acked_writes += 1

    def fail(self, op: Op, error: str, *, expected: bool) -> None:
        """The op got no 2xx: it stays possible. `expected`: the server was killed."""
        with self._lock:
            op.error = error
            if not expected:
                self.unexpected.append(f"{op.kind} {op.bucket}/{op.key} #{op.seq}: {error}")

    def note_unexpected(self, message: str) -> None:
        with self._lock:
            self.unexpected.append(message)

    # -- reading ----------------------------------------------------------------
    def keys(self, bucket: str | None = None) -> list[Key]:
        with self._lock:
            return sorted(k for k in self._keys if bucket is None or k[0] == bucket)

    def acked(self, bucket: str, key: str) -> State:
        with self._lock:
            record = self._keys.get((bucket, key))
            return None if record is None else record.acked

    def allowed(self, bucket: str, key: str) -> list[State]:
        """The last acknowledged state first, then those of unacknowledged ops."""
        with self._lock:
            return self._allowed((bucket, key))

    def _allowed(self, k: Key) -> list[State]:
        record = self._keys.get(k)
        if record is None:
            return [None]
        return [record.acked, *(op.state for op in record.possible)]

    def open_read(self, bucket: str, key: str) -> ReadWindow:
        with self._lock:
            record = self._keys.get((bucket, key))
            seq = record.log[-1].seq if record and record.log else 0
            return ReadWindow(bucket, key, seq, self._allowed((bucket, key)))

    def close_read(self, window: ReadWindow) -> list[State]:
        """Every state the key may have shown to a read over the window."""
        with self._lock:
            record = self._keys.get((window.bucket, window.key))
            later = [op.state for op in record.log if op.seq > window.seq] if record else []
            return [*window.states, *later]

    def problem(self, bucket: str, key: str, observed: State) -> str | None:
        """None if `observed` is allowed after a crash, else what is wrong."""
        with self._lock:
            record = self._keys.get((bucket, key), KeyRecord())
            if observed in self._allowed((bucket, key)):
                return None
            possible = "; ".join(f"{op.kind} #{op.seq}: {show(op.state)}" for op in record.possible)
            return (
                f"{bucket}/{key}: found {show(observed)}; last acknowledged "
                f"{show(record.acked)} ({record.acked_op}); in flight: {possible or 'nothing'}"
            )

    def settle(self, bucket: str, key: str, observed: State) -> None:
        """After a verified restart, what was found is the state to build on."""
        with self._lock:
            record = self._keys.setdefault((bucket, key), KeyRecord())
            if record.possible or record.acked != observed:
                record.acked_op = "found after restart"
            record.acked = observed
            record.possible.clear()

    def snapshot(self) -> dict[Key, tuple[State, list[State]]]:
        """Acknowledged and possible states of every key, copied."""
        with self._lock:
            return {k: (r.acked, [op.state for op in r.possible]) for k, r in self._keys.items()}

    def in_flight(self) -> int:
        with self._lock:
            return sum(len(r.possible) for r in self._keys.values())

    def present(self, bucket: str, prefix: str = "") -> dict[str, Version]:
        """Keys whose last acknowledged state is an object."""
        with self._lock:
            return {
                k: r.acked
                for (b, k), r in self._keys.items()
                if b == bucket and k.startswith(prefix) and r.acked is not None
            }


def one_of(states: Iterable[State]) -> str:
    return " | ".join(show(s) for s in states)
