"""The audit log's Merkle tree against RFC 9162 / RFC 6962.

Two independent checks: the Certificate Transparency reference vectors
(published roots and proofs of an eight-leaf tree), and a second
implementation written here from the RFC's recursive definitions (MTH,
PATH, PROOF), with which every proof of every small tree is compared.
"""

from __future__ import annotations

import hashlib
import random

import pytest

from dolium.core.audit import merkle

# -- an independent reading of the RFC, recursion as written --------------------------


def _h(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def _mth(d: list[bytes]) -> bytes:
    """MTH over leaf *inputs* (RFC 9162 2.1.1), recursion as the RFC writes it."""
    n = len(d)
    if n == 0:
        return _h(b"")
    if n == 1:
        return _h(b"\x00" + d[0])
    k = 1
    while k * 2 < n:
        k *= 2
    return _h(b"\x01" + _mth(d[:k]) + _mth(d[k:]))


def _path(m: int, d: list[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return [*_path(m, d[:k]), _mth(d[k:])]
    return [*_path(m - k, d[k:]), _mth(d[:k])]


def _subproof(m: int, d: list[bytes], whole: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if whole else [_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return [*_subproof(m, d[:k], whole), _mth(d[k:])]
    return [*_subproof(m - k, d[k:], False), _mth(d[:k])]


def _root_from_path(m: int, n: int, leaf: bytes, path: list[bytes]) -> bytes:
    """The root a PATH leads to, by walking the RFC's recursion back up."""
    if n == 1:
        assert not path
        return leaf
    k = 1
    while k * 2 < n:
        k *= 2
    *inner, outer = path
    if m < k:
        return _h(b"\x01" + _root_from_path(m, k, leaf, inner) + outer)
    return _h(b"\x01" + outer + _root_from_path(m - k, n - k, leaf, inner))


# -- the Certificate Transparency reference vectors ------------------------------------

INPUTS = [
    bytes.fromhex(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (leaf index, tree size, proof)
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [  # (old size, new size, proof)
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
LEAVES = [merkle.leaf_hash(x) for x in INPUTS]


def _hex(proof: list[bytes]) -> list[str]:
    return [p.hex() for p in proof]


def test_roots_match_the_reference_for_every_size() -> None:
    for n in range(len(INPUTS) + 1):
        assert merkle.root_of(LEAVES[:n]).hex() == ROOTS[n]
        assert merkle.ranges(LEAVES)(0, n).hex() == ROOTS[n]
        assert _mth(INPUTS[:n]).hex() == ROOTS[n]  # the test's own reading agrees too


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_reference(index: int, size: int, proof: list[str]) -> None:
    made = merkle.inclusion_proof(index, size, merkle.ranges(LEAVES))
    assert _hex(made) == proof
    root = bytes.fromhex(ROOTS[size])
    assert merkle.verify_inclusion(index, size, LEAVES[index], made, root)


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_reference(old: int, new: int, proof: list[str]) -> None:
    made = merkle.consistency_proof(old, new, merkle.ranges(LEAVES))
    assert _hex(made) == proof
    old_root, new_root = bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
    assert merkle.verify_consistency(old, new, old_root, new_root, made)


def _records(n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed)
    return [rng.randbytes(rng.randint(0, 40)) for _ in range(n)]


def test_every_proof_of_every_small_tree_agrees_with_the_rfc_recursion() -> None:
    records = _records(40, 9162)
    leaves = [merkle.leaf_hash(r) for r in records]
    ranges = merkle.ranges(leaves)
    for n in range(1, len(records) + 1):
        root = _mth(records[:n])
        assert merkle.root_of(leaves[:n]) == root
        for m in range(n):
            path = merkle.inclusion_proof(m, n, ranges)
            assert path == _path(m, records[:n])
            assert _root_from_path(m, n, leaves[m], path) == root
            assert merkle.verify_inclusion(m, n, leaves[m], path, root)
        for m in range(n + 1):
            proof = merkle.consistency_proof(m, n, ranges)
            assert proof == ([] if m in (0, n) else _subproof(m, records[:n], True))
            assert merkle.verify_consistency(m, n, _mth(records[:m]), root, proof)


def test_frontier_appends_and_resumes_from_its_state() -> None:
    leaves = [merkle.leaf_hash(r) for r in _records(70, 6962)]
    frontier = merkle.Frontier()
    for i, leaf in enumerate(leaves):
        frontier.append(leaf)
        assert frontier.root() == merkle.ranges(leaves)(0, i + 1)
        resumed = merkle.Frontier(frontier.size, frontier.roots)
        assert resumed.root() == frontier.root()
    with pytest.raises(ValueError):
        merkle.Frontier(5, frontier.roots[:1])  # 5 leaves are two perfect subtrees


def _flip(value: bytes) -> bytes:
    return bytes([value[0] ^ 1]) + value[1:]


def test_a_tampered_leaf_proof_or_head_fails_inclusion() -> None:
    leaves = [merkle.leaf_hash(r) for r in _records(13, 1)]
    ranges = merkle.ranges(leaves)
    root = ranges(0, 13)
    for m in range(13):
        path = merkle.inclusion_proof(m, 13, ranges)
        assert merkle.verify_inclusion(m, 13, leaves[m], path, root)
        assert not merkle.verify_inclusion(m, 13, _flip(leaves[m]), path, root)
        assert not merkle.verify_inclusion(m, 13, leaves[m], path, _flip(root))
        assert not merkle.verify_inclusion((m + 1) % 13, 13, leaves[m], path, root)
        assert not merkle.verify_inclusion(m, 13, leaves[m], path[:-1], root)
        assert not merkle.verify_inclusion(m, 13, leaves[m], [*path, root], root)
        for i in range(len(path)):
            bad = [*path[:i], _flip(path[i]), *path[i + 1 :]]
            assert not merkle.verify_inclusion(m, 13, leaves[m], bad, root)
    assert not merkle.verify_inclusion(13, 13, leaves[0], [], root)


def test_a_rewritten_history_fails_consistency() -> None:
    records = _records(21, 2)
    leaves = [merkle.leaf_hash(r) for r in records]
    ranges = merkle.ranges(leaves)
    old_root, new_root = ranges(0, 9), ranges(0, 21)
    proof = merkle.consistency_proof(9, 21, ranges)
    assert merkle.verify_consistency(9, 21, old_root, new_root, proof)
    # A record before the old head changed: the new tree no longer extends it.
    edited = [*leaves[:4], merkle.leaf_hash(b"edited"), *leaves[5:]]
    forged = merkle.ranges(edited)
    assert not merkle.verify_consistency(
        9, 21, old_root, forged(0, 21), merkle.consistency_proof(9, 21, forged)
    )
    # Records reordered, a record removed.
    swapped = [*leaves[:2], leaves[3], leaves[2], *leaves[4:]]
    assert not merkle.verify_consistency(
        9,
        21,
        old_root,
        merkle.root_of(swapped),
        merkle.consistency_proof(9, 21, merkle.ranges(swapped)),
    )
    shorter = leaves[:6] + leaves[7:]
    assert not merkle.verify_consistency(
        9,
        20,
        old_root,
        merkle.root_of(shorter),
        merkle.consistency_proof(9, 20, merkle.ranges(shorter)),
    )
    for i in range(len(proof)):
        bad = [*proof[:i], _flip(proof[i]), *proof[i + 1 :]]
        assert not merkle.verify_consistency(9, 21, old_root, new_root, bad)
    assert not merkle.verify_consistency(9, 21, old_root, new_root, proof[:-1])
    assert not merkle.verify_consistency(9, 9, old_root, new_root, [])
    assert not merkle.verify_consistency(21, 9, new_root, old_root, proof)
