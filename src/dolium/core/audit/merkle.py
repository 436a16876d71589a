"""Merkle tree hashing and proofs of RFC 9162 (Certificate Transparency 2.0).

The audit log's records are the leaves of one append-only tree. A tree head
(size and root) commits to every record before it; an inclusion proof shows
that one record is in the tree of a head, a consistency proof that the tree
of a later head extends the tree of an earlier one (nothing before the
earlier size was changed, removed, inserted or reordered). The hashing is
RFC 9162's, section 2.1, with SHA-256, so that a verifier written from the
RFC, or an existing Certificate Transparency library, checks Dolium's
proofs:

- leaf = SHA-256(0x00 || record), node = SHA-256(0x01 || left || right);
- the root of n > 1 leaves splits them at k, the largest power of two
  smaller than n: MTH(D[0:n]) = node(MTH(D[0:k]), MTH(D[k:n]));
- the root of no leaves is SHA-256 of the empty string.

Proofs are built from the roots of ranges of leaves (`RangeRoot`), so that
a store can answer them from the subtree hashes it keeps; `ranges` gives one
over leaf hashes held in memory. The verifiers follow the RFC's algorithms
(2.1.3.2 and 2.1.4.2) and need nothing but the proof and the heads.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from functools import cache

EMPTY_ROOT = hashlib.sha256(b"").digest()
HASH_SIZE = 32

# The root of the leaves [lo, hi) of the tree.
RangeRoot = Callable[[int, int], bytes]


def leaf_hash(record: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + record).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def split(n: int) -> int:
    """The largest power of two smaller than n (n > 1): where RFC 9162 splits n leaves."""
    return 1 << ((n - 1).bit_length() - 1)


def root_of(leaves: Sequence[bytes]) -> bytes:
    """MTH of `leaves` (leaf hashes), by the RFC's definition, in one pass."""
    frontier = Frontier()
    for leaf in leaves:
        frontier.append(leaf)
    return frontier.root()


def perfect(lo: int, hi: int) -> tuple[int, int] | None:
    """The node (level, index) whose leaves are exactly [lo, hi), if there is one."""
    n = hi - lo
    if n <= 0 or n & (n - 1) or lo % n:
        return None
    level = n.bit_length() - 1
    return level, lo >> level


def nodes_of(lo: int, hi: int) -> list[tuple[int, int]]:
    """The stored nodes the root of [lo, hi) is made of, in RFC 9162's split."""
    if hi <= lo:
        return []
    node = perfect(lo, hi)
    if node is not None:
        return [node]
    k = split(hi - lo)
    return nodes_of(lo, lo + k) + nodes_of(lo + k, hi)


def root_from(lo: int, hi: int, nodes: Callable[[int, int], bytes]) -> bytes:
    """The root of [lo, hi) from stored perfect subtrees (`nodes(level, index)`)."""
    if hi <= lo:
        return EMPTY_ROOT
    node = perfect(lo, hi)
    if node is not None:
        return nodes(*node)
    k = split(hi - lo)
    return node_hash(root_from(lo, lo + k, nodes), root_from(lo + k, hi, nodes))


def ranges(leaves: Sequence[bytes]) -> RangeRoot:
    """A RangeRoot over leaf hashes in memory; the roots of ranges it computes are kept."""

    @cache
    def root(lo: int, hi: int) -> bytes:
        if hi - lo == 1:
            return leaves[lo]
        if hi == lo:
            return EMPTY_ROOT
        k = split(hi - lo)
        return node_hash(root(lo, lo + k), root(lo + k, hi))

    return root


def inclusion_proof(index: int, size: int, root: RangeRoot) -> list[bytes]:
    """PATH(index, D[0:size]) of RFC 9162 2.1.3.1: the audit path of one leaf."""
    if not 0 <= index < size:
        raise ValueError(f"leaf {index} is not in a tree of {size}")
    path: list[bytes] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split(hi - lo)
        if index < lo + k:
            path.append(root(lo + k, hi))
            hi = lo + k
        else:
            path.append(root(lo, lo + k))
            lo += k
    path.reverse()  # the RFC lists it from the leaf up
    return path


def consistency_proof(old: int, new: int, root: RangeRoot) -> list[bytes]:
    """PROOF(old, D[0:new]) of RFC 9162 2.1.4.1 (empty when old is 0 or new)."""
    if not 0 <= old <= new:
        raise ValueError(f"no consistency proof from {old} to {new}")
    if old in (0, new):
        return []
    path: list[bytes] = []
    lo, hi, m, whole = 0, new, old, True
    # SUBPROOF(m, D[lo:hi], whole), unrolled; nodes come out top-down.
    while m != hi - lo:
        k = split(hi - lo)
        if m <= k:
            path.append(root(lo + k, hi))
            hi = lo + k
        else:
            path.append(root(lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        path.append(root(lo, hi))
    path.reverse()
    return path


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows `leaf` at `index` in the tree of (`size`, `root`): RFC 9162 2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and r == root


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether `proof` shows that the tree (`new`, `new_root`) extends (`old`, `old_root`).

    RFC 9162 2.1.4.2.
    """
    if not 0 <= old <= new:
        return False
    if old == 0:
        return not proof  # every tree extends the empty one
    if old == new:
        return not proof and old_root == new_root
    path = list(proof)
    if old & (old - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    return sn == 0 and fr == old_root and sr == new_root


class Frontier:
    """The roots of the perfect subtrees a tree of `size` leaves splits into, left to right.

    Enough to append leaves and to compute the root, in O(log size) space:
    what a log keeps to seal new records without reading the old ones.
    """

    def __init__(self, size: int = 0, roots: Sequence[bytes] = ()) -> None:
        if len(roots) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves has {size.bit_count()} perfect subtrees")
        self.size = size
        self.roots = list(roots)

    def append(self, leaf: bytes) -> list[tuple[int, int, bytes]]:
        """Add a leaf; returns the perfect subtrees it completes, (level, index, hash),
        the leaf itself first: what a store keeps to answer proofs."""
        index, node, size = self.size, leaf, self.size
        made = [(0, index, leaf)]
        level = 0
        # Each subtree of the same height as the new node merges with it:
        # one per low bit of the old size that is set.
        while size & 1:
            node = node_hash(self.roots.pop(), node)
            size >>= 1
            level += 1
            made.append((level, index >> level, node))
        self.roots.append(node)
        self.size += 1
        return made

    def root(self) -> bytes:
        if not self.roots:
            return EMPTY_ROOT
        r = self.roots[-1]
        for left in reversed(self.roots[:-1]):
            r = node_hash(left, r)
        return r
