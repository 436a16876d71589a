"""Exports of the audit log, and their verification offline with only the public key.

An export is JSON Lines, one object per line, in this order:

- `{"type": "header", "format": "dolium-audit-export/1", "origin": ...,
  "first": i, "end": j}`: the log it comes from and the records it holds,
  [i, j);
- `{"type": "record", "index": i, "record": {...}, "proof": [hex, ...]}` for
  each record in index order: the record as stored (its leaf is the
  canonical JSON of `record`, `canonical`), and its inclusion proof in the
  tree of the export's checkpoint;
- `{"type": "consistency", "from": m, "root": hex, "proof": [hex, ...]}`:
  proofs that the tree of the checkpoint extends the trees of earlier heads
  the log signed, so that a checkpoint saved long ago can be checked
  against a later export;
- `{"type": "checkpoint", "note": "..."}`: the signed tree head, last.

`verify` checks the checkpoint's signature, then every record's proof
against it, then that the records are exactly [first, end); with a saved
checkpoint, that the export's tree extends it. Any record modified,
removed, inserted or reordered, a log truncated behind a saved checkpoint,
or an export cut short fails, with one line saying what and where. The
result says which records of how many were proven: an export of the whole
log (0 to the head's size) proves that nothing is missing; one of an
interval proves each record it holds, and the header's bounds are the
exporter's word, not the log's.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from dolium.core.audit import merkle
from dolium.core.audit.checkpoint import Checkpoint, InvalidCheckpoint, Signer, open_note

FORMAT = "dolium-audit-export/1"


class Tampered(ValueError):
    """An export that does not verify; the message says why in one line."""


def canonical(record: Mapping[str, Any]) -> bytes:
    """The bytes a record's leaf hashes: JSON, sorted keys, no spaces, UTF-8."""
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def header_line(origin: str, first: int, end: int) -> str:
    return _line({"type": "header", "format": FORMAT, "origin": origin, "first": first, "end": end})


def record_line(index: int, record: Mapping[str, Any], proof: Sequence[bytes]) -> str:
    return _line({"type": "record", "index": index, "record": record, "proof": _hex(proof)})


def consistency_line(old: int, root: bytes, proof: Sequence[bytes]) -> str:
    return _line({"type": "consistency", "from": old, "root": root.hex(), "proof": _hex(proof)})


def checkpoint_line(note: str) -> str:
    return _line({"type": "checkpoint", "note": note})


def write(
    origin: str,
    records: Sequence[Mapping[str, Any]],
    signer: Signer,
    *,
    first: int = 0,
    count: int | None = None,
    earlier: Iterable[int] = (),
    time: int | None = None,
) -> Iterator[str]:
    """The lines of an export of records [first, first + count) of the log `records`,
    held in memory (the audit log's own exports read its store: core.audit.log).

    The checkpoint covers the whole log; `earlier`: sizes of heads signed
    before, to prove consistency with.
    """
    leaves = [merkle.leaf_hash(canonical(r)) for r in records]
    size = len(leaves)
    count = size - first if count is None else count
    roots = merkle.ranges(leaves)
    yield header_line(origin, first, first + count)
    for index in range(first, first + count):
        yield record_line(index, records[index], merkle.inclusion_proof(index, size, roots))
    for old in earlier:
        yield consistency_line(old, roots(0, old), merkle.consistency_proof(old, size, roots))
    yield checkpoint_line(signer.sign(Checkpoint(origin, size, roots(0, size), time)))


@dataclass(frozen=True)
class Verified:
    head: Checkpoint
    first: int
    end: int  # records [first, end) of the head's tree were proven

    @property
    def whole(self) -> bool:
        return self.first == 0 and self.end == self.head.size


def verify(
    lines: Iterable[str],
    public: Ed25519PublicKey,
    saved: str | None = None,
) -> Verified:
    """Check an export (see the module); `saved`: a signed note kept from before."""
    items = [_parse(n, line) for n, line in enumerate(lines, 1) if line.strip()]
    if not items or items[0].get("type") != "header" or items[0].get("format") != FORMAT:
        raise Tampered(f"not a {FORMAT} export (no header line)")
    header, *body = items
    origin = _field(header, "origin", str)
    first, end = _field(header, "first", int), _field(header, "end", int)
    if not body or body[-1].get("type") != "checkpoint":
        raise Tampered("the export has no checkpoint at its end: it was cut short")
    try:
        head = open_note(_field(body[-1], "note", str), public, origin)
    except InvalidCheckpoint as exc:
        raise Tampered(f"checkpoint: {exc}") from None
    if head.origin != origin:
        raise Tampered(f"the checkpoint is of log {head.origin!r}, not {origin!r}")
    records = [item for item in body[:-1] if item.get("type") == "record"]
    expected = first
    for item in records:
        index = _field(item, "index", int)
        record = _field(item, "record", dict)
        proof = _hashes(item, "proof")
        leaf = merkle.leaf_hash(canonical(record))
        if not merkle.verify_inclusion(index, head.size, leaf, proof, head.root):
            raise Tampered(f"record {index} is not the one the log holds at {index}")
        if index != expected:
            what = "missing" if index > expected else "repeated or out of order"
            raise Tampered(f"record {expected} is {what} (found record {index} in its place)")
        expected += 1
    if expected < end:
        raise Tampered(f"records {expected} to {end - 1} are missing from the export")
    if expected > end or end > head.size:
        raise Tampered(f"the export holds records past its end ({end})")
    if saved is not None:
        _check_saved(saved, public, origin, head, body[:-1])
    return Verified(head, first, end)


def _check_saved(
    saved: str, public: Ed25519PublicKey, origin: str, head: Checkpoint, body: list[Any]
) -> None:
    try:
        old = open_note(saved, public, origin)
    except InvalidCheckpoint as exc:
        raise Tampered(f"saved checkpoint: {exc}") from None
    if old.size > head.size:
        raise Tampered(
            f"the log was truncated: it has {head.size} records, a checkpoint saved "
            f"before had {old.size}"
        )
    if old.size == head.size:
        if old.root != head.root:
            raise Tampered(f"the log was rewritten: the root of its {old.size} records changed")
        return
    for item in body:
        if item.get("type") == "consistency" and item.get("from") == old.size:
            proof = _hashes(item, "proof")
            if merkle.verify_consistency(old.size, head.size, old.root, head.root, proof):
                return
            raise Tampered(
                f"the log was rewritten: its first {old.size} records are not those of "
                "the saved checkpoint"
            )
    raise Tampered(f"the export holds no consistency proof from size {old.size}")


def _line(item: dict[str, Any]) -> str:
    return json.dumps(item, ensure_ascii=False, sort_keys=True) + "\n"


def _hex(hashes: Sequence[bytes]) -> list[str]:
    return [h.hex() for h in hashes]


def _parse(number: int, line: str) -> Any:
    try:
        item = json.loads(line)
    except json.JSONDecodeError:
        raise Tampered(f"line {number} is not JSON") from None
    if not isinstance(item, dict):
        raise Tampered(f"line {number} is not a JSON object")
    return item


def _field(item: Mapping[str, Any], name: str, kind: type) -> Any:
    value = item.get(name)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Tampered(f"a {item.get('type', '?')} line has no valid {name!r}")
    return value


def _hashes(item: Mapping[str, Any], name: str) -> list[bytes]:
    values = _field(item, name, list)
    try:
        hashes = [bytes.fromhex(v) for v in values]
    except (TypeError, ValueError):
        raise Tampered(f"a {item.get('type')} line's {name!r} holds something not hex") from None
    if any(len(h) != merkle.HASH_SIZE for h in hashes):
        raise Tampered(f"a {item.get('type')} line's {name!r} holds something not a hash")
    return hashes
