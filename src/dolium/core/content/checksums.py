"""Object checksums: CRC32, CRC32C, CRC64NVME, SHA1 and SHA256 of object data,
Content-MD5, and the checksums of multipart objects.

Pure and synchronous: a caller hashing a large buffer runs these functions in
a worker thread (hashlib releases the GIL on big inputs).

Every value is the base64 of the big-endian digest, as clients send it.
Algorithm names are the upper-case ones above; input is accepted in any case.
A request naming an unusable algorithm, type or value gets `InvalidChecksum`,
which says what was wrong: each front end words it for its own wire.

Multipart objects get one of two checksum types:

- COMPOSITE (CRC32, CRC32C, SHA1, SHA256): the checksum of the concatenated
  raw part checksums, followed by "-N" (N = number of parts);
- FULL_OBJECT (CRC32, CRC32C, CRC64NVME): the CRC of the whole object,
  combined here from the part CRCs and part sizes without rereading data.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from awscrt import checksums as _crt

from dolium import errors

CRC32 = "CRC32"
CRC32C = "CRC32C"
CRC64NVME = "CRC64NVME"
SHA1 = "SHA1"
SHA256 = "SHA256"

ALGORITHMS: tuple[str, ...] = (CRC32, CRC32C, CRC64NVME, SHA1, SHA256)
CRC_ALGORITHMS = frozenset({CRC32, CRC32C, CRC64NVME})

COMPOSITE = "COMPOSITE"
FULL_OBJECT = "FULL_OBJECT"
CHECKSUM_TYPES: tuple[str, ...] = (COMPOSITE, FULL_OBJECT)
_ALLOWED_TYPES: dict[str, frozenset[str]] = {
    CRC32: frozenset({COMPOSITE, FULL_OBJECT}),
    CRC32C: frozenset({COMPOSITE, FULL_OBJECT}),
    CRC64NVME: frozenset({FULL_OBJECT}),
    SHA1: frozenset({COMPOSITE}),
    SHA256: frozenset({COMPOSITE}),
}

DIGEST_SIZES: dict[str, int] = {CRC32: 4, CRC32C: 4, CRC64NVME: 8, SHA1: 20, SHA256: 32}

Buffer = bytes | bytearray | memoryview


# --------------------------------------------------------------------------- names


def normalize_algorithm(name: str) -> str:
    """The upper-case name of a checksum algorithm; InvalidChecksum if unknown."""
    upper = name.strip().upper()
    if upper not in DIGEST_SIZES:
        raise errors.InvalidChecksum(
            f"Unknown checksum algorithm {name!r}; known: {', '.join(ALGORITHMS)}.",
            errors.ChecksumProblem.UNKNOWN_ALGORITHM,
            algorithm=name,
        )
    return upper


def unknown_checksum_type(checksum_type: str) -> errors.InvalidChecksum:
    return errors.InvalidChecksum(
        f"Unknown checksum type {checksum_type!r}; known: {', '.join(CHECKSUM_TYPES)}.",
        errors.ChecksumProblem.UNKNOWN_TYPE,
        checksum_type=checksum_type,
    )


def resolve_checksum_type(algorithm: str | None, checksum_type: str | None) -> str:
    """The checksum type of a multipart upload, given what its creation asked.

    Without an algorithm there is no checksum type (""). With one, the type
    defaults to FULL_OBJECT for CRC64NVME and COMPOSITE for the others, and a
    combination that cannot be computed is an InvalidChecksum.
    """
    ctype = (checksum_type or "").strip().upper()
    if not algorithm:
        if ctype:
            raise errors.InvalidChecksum(
                "A checksum type needs a checksum algorithm.",
                errors.ChecksumProblem.TYPE_WITHOUT_ALGORITHM,
                checksum_type=ctype,
            )
        return ""
    alg = normalize_algorithm(algorithm)
    if not ctype:
        return FULL_OBJECT if alg == CRC64NVME else COMPOSITE
    if ctype not in CHECKSUM_TYPES:
        raise unknown_checksum_type(ctype)
    if ctype not in _ALLOWED_TYPES[alg]:
        raise errors.InvalidChecksum(
            f"{alg} checksums cannot be combined as {ctype}.",
            errors.ChecksumProblem.TYPE_NOT_FOR_ALGORITHM,
            algorithm=alg,
            checksum_type=ctype,
        )
    return ctype


# --------------------------------------------------------------------------- hashing


class Checksummer:
    """Incremental checksum of one algorithm: `update()` with chunks, then read it."""

    __slots__ = ("_crc", "_crc_fn", "_hash", "algorithm")

    def __init__(self, algorithm: str) -> None:
        self.algorithm = normalize_algorithm(algorithm)
        self._crc = 0
        self._crc_fn: Callable[[Buffer, int], int] | None = None
        self._hash: Any = None
        if self.algorithm in CRC_ALGORITHMS:
            self._crc_fn = _CRC_SPECS[self.algorithm].compute
        else:
            self._hash = hashlib.new(self.algorithm.lower())

    def update(self, data: Buffer) -> None:
        if self._crc_fn is not None:
            self._crc = self._crc_fn(data, self._crc)
        else:
            self._hash.update(data)

    def digest(self) -> bytes:
        """The raw big-endian digest."""
        if self._crc_fn is not None:
            return self._crc.to_bytes(DIGEST_SIZES[self.algorithm], "big")
        digest: bytes = self._hash.digest()
        return digest

    def digest_b64(self) -> str:
        """The digest as clients send it (base64)."""
        return base64.b64encode(self.digest()).decode("ascii")

    def verify(self, expected_b64: str) -> None:
        """ChecksumMismatch unless the client's value equals what was computed."""
        verify_checksum(self.algorithm, expected_b64, self.digest_b64())


def new_checksum(algorithm: str) -> Checksummer:
    return Checksummer(algorithm)


def checksum_b64(algorithm: str, data: Buffer) -> str:
    """One-shot checksum of `data`, base64."""
    summer = Checksummer(algorithm)
    summer.update(data)
    return summer.digest_b64()


def decode_checksum(algorithm: str, value: str) -> bytes:
    """The raw digest in a client-supplied checksum value.

    Bad base64 or the wrong length for the algorithm is an InvalidChecksum
    (MALFORMED_VALUE).
    """
    alg = normalize_algorithm(algorithm)
    raw = _b64decode(value)
    if raw is None or len(raw) != DIGEST_SIZES[alg]:
        raise errors.InvalidChecksum(
            f"The {alg} checksum value is not the base64 of a {DIGEST_SIZES[alg]}-byte digest.",
            errors.ChecksumProblem.MALFORMED_VALUE,
            algorithm=alg,
        )
    return raw


def validate_checksum(algorithm: str, value: str) -> str:
    """A client-supplied checksum value, checked and re-encoded canonically."""
    return base64.b64encode(decode_checksum(algorithm, value)).decode("ascii")


def verify_checksum(algorithm: str, expected_b64: str, actual_b64: str) -> None:
    """ChecksumMismatch when the declared value differs from the data's."""
    alg = normalize_algorithm(algorithm)
    if decode_checksum(alg, expected_b64) != base64.b64decode(actual_b64):
        raise errors.ChecksumMismatch(
            f"The data's {alg} checksum differs from the one declared.",
            algorithm=alg,
            expected=expected_b64,
            calculated=actual_b64,
        )


def _b64decode(value: str) -> bytes | None:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


# --------------------------------------------------------------------------- Content-MD5
#
# The MD5 of the data a client declares, base64 (RFC 1864's Content-MD5).


def decode_content_md5(value: str) -> bytes:
    """The 16-byte digest in a declared MD5; InvalidDigest if it is not one."""
    raw = _b64decode(value)
    if raw is None or len(raw) != 16:
        raise errors.InvalidDigest(
            "The declared MD5 is not the base64 of a 16-byte digest.", content_md5=value
        )
    return raw


def check_content_md5(value: str, md5_digest: bytes) -> None:
    """Check a declared MD5 against the MD5 of the data received.

    InvalidDigest when the value is not a base64 MD5, BadDigest on mismatch.
    """
    if decode_content_md5(value) != md5_digest:
        raise errors.BadDigest(
            "The data's MD5 differs from the one declared.",
            expected_digest=value.strip(),
            calculated_digest=base64.b64encode(md5_digest).decode("ascii"),
        )


# --------------------------------------------------------------------------- multipart


def composite_checksum(algorithm: str, part_checksums: Sequence[str]) -> str:
    """COMPOSITE checksum of a multipart object: checksum of the raw part checksums + "-N"."""
    alg = normalize_algorithm(algorithm)
    if COMPOSITE not in _ALLOWED_TYPES[alg]:
        raise errors.InvalidRequest(f"The COMPOSITE checksum type cannot be used with {alg}.")
    summer = Checksummer(alg)
    for value in part_checksums:
        summer.update(decode_checksum(alg, value))
    return f"{summer.digest_b64()}-{len(part_checksums)}"


def full_object_crc(algorithm: str, parts: Sequence[tuple[str, int]]) -> str:
    """FULL_OBJECT CRC of a multipart object from (part CRC base64, part size) pairs."""
    alg = normalize_algorithm(algorithm)
    if alg not in CRC_ALGORITHMS:
        raise errors.InvalidRequest(f"The FULL_OBJECT checksum type cannot be used with {alg}.")
    crc = 0  # the CRC of no data
    for value, size in parts:
        part = int.from_bytes(decode_checksum(alg, value), "big")
        crc = crc_combine(alg, crc, part, size)
    return base64.b64encode(crc.to_bytes(DIGEST_SIZES[alg], "big")).decode("ascii")


def combine_parts(algorithm: str, checksum_type: str, parts: Sequence[tuple[str, int]]) -> str:
    """The object checksum of a completed multipart upload.

    `parts` are (part checksum base64, part size) in part order.
    """
    if checksum_type == FULL_OBJECT:
        return full_object_crc(algorithm, parts)
    if checksum_type == COMPOSITE:
        return composite_checksum(algorithm, [value for value, _ in parts])
    raise unknown_checksum_type(checksum_type)


# --------------------------------------------------------------------------- CRC combination
#
# The three CRCs are reflected, with all-ones initial value and final XOR, so
# zlib's crc32_combine() carries over with only the polynomial and width
# changed: CRC(A || B) = CRC(A) * x^(8 * len(B)) mod P  XOR  CRC(B), in the
# reflected representation where the top bit stands for x^0.


@dataclass(frozen=True, slots=True)
class _CrcSpec:
    width: int
    poly: int  # reflected polynomial
    compute: Callable[[Buffer, int], int]


_CRC_SPECS: dict[str, _CrcSpec] = {
    CRC32: _CrcSpec(32, 0xEDB88320, _crt.crc32),
    CRC32C: _CrcSpec(32, 0x82F63B78, _crt.crc32c),
    CRC64NVME: _CrcSpec(64, 0x9A6C9329AC4BC9B5, _crt.crc64nvme),
}


def _multmodp(spec: _CrcSpec, a: int, b: int) -> int:
    """a * b mod P, both in reflected representation."""
    if a == 0:
        return 0
    m = 1 << (spec.width - 1)
    poly = spec.poly
    p = 0
    while True:
        if a & m:
            p ^= b
            if not a & (m - 1):
                return p
        m >>= 1
        b = (b >> 1) ^ poly if b & 1 else b >> 1


@functools.cache
def _x2n_table(algorithm: str) -> tuple[int, ...]:
    """x^(2^k) mod P for k = 0..127 (enough for any length that fits 64 bits, times 8)."""
    spec = _CRC_SPECS[algorithm]
    p = 1 << (spec.width - 2)  # x^1
    table = [p]
    for _ in range(127):
        p = _multmodp(spec, p, p)
        table.append(p)
    return tuple(table)


@functools.lru_cache(maxsize=4096)
def _shift_operator(algorithm: str, length: int) -> int:
    """x^(8 * length) mod P: appending `length` zero bytes. Cached: parts share sizes."""
    spec = _CRC_SPECS[algorithm]
    table = _x2n_table(algorithm)
    p = 1 << (spec.width - 1)  # x^0
    n, k = length, 3  # 8 * length = length * 2^3
    while n:
        if n & 1:
            p = _multmodp(spec, table[k], p)
        n >>= 1
        k += 1
    return p


def crc_combine(algorithm: str, crc1: int, crc2: int, len2: int) -> int:
    """CRC(A || B) from CRC(A), CRC(B) and len(B), for CRC32, CRC32C or CRC64NVME."""
    alg = normalize_algorithm(algorithm)
    if alg not in _CRC_SPECS:
        raise errors.InvalidRequest(f"{alg} is not a CRC algorithm.")
    if len2 < 0:
        raise ValueError("len2 must be >= 0")
    if len2 == 0:
        return crc1 ^ crc2
    return _multmodp(_CRC_SPECS[alg], _shift_operator(alg, len2), crc1) ^ crc2
