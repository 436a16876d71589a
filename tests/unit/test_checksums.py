"""Checksums: AWS vectors, validation, Content-MD5, multipart combination."""

from __future__ import annotations

import base64
import contextlib
import hashlib

import pytest
from awscrt import checksums as crt
from hypothesis import given, settings
from hypothesis import strategies as st

from dolium import errors
from dolium.core.content import checksums as c

CRC_FUNCS = {"CRC32": crt.crc32, "CRC32C": crt.crc32c, "CRC64NVME": crt.crc64nvme}
CRC_COMBINE = {
    "CRC32": crt.combine_crc32,
    "CRC32C": crt.combine_crc32c,
    "CRC64NVME": crt.combine_crc64nvme,
}


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def crc_b64(algorithm: str, data: bytes) -> str:
    size = c.DIGEST_SIZES[algorithm]
    return b64(CRC_FUNCS[algorithm](data, 0).to_bytes(size, "big"))


# --------------------------------------------------------------------------- vectors


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("CRC32", 0xCBF43926),  # CRC-32/ISO-HDLC check value
        ("CRC32C", 0xE3069283),  # CRC-32/ISCSI check value
        ("CRC64NVME", 0xAE8B14860A799888),  # CRC-64/NVME check value
    ],
)
def test_crc_check_values(algorithm: str, expected: int) -> None:
    summer = c.new_checksum(algorithm)
    summer.update(b"123456789")
    assert summer.digest() == expected.to_bytes(c.DIGEST_SIZES[algorithm], "big")


def test_aws_documented_values() -> None:
    # The values S3 and the SDKs print for "hello world".
    assert c.checksum_b64("CRC32", b"hello world") == "DUoRhQ=="
    assert c.checksum_b64("SHA256", b"") == "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="
    assert c.checksum_b64("SHA1", b"abc") == b64(hashlib.sha1(b"abc").digest())


def test_empty_crcs_are_zero() -> None:
    for algorithm in c.CRC_ALGORITHMS:
        assert c.new_checksum(algorithm).digest() == bytes(c.DIGEST_SIZES[algorithm])


@pytest.mark.parametrize("algorithm", c.ALGORITHMS)
def test_names_are_case_insensitive(algorithm: str) -> None:
    assert c.new_checksum(algorithm.lower()).algorithm == algorithm


def test_unknown_algorithm() -> None:
    with pytest.raises(errors.InvalidChecksum) as info:
        c.new_checksum("MD4")
    assert info.value.problem is errors.ChecksumProblem.UNKNOWN_ALGORITHM
    assert info.value.algorithm == "MD4"


@given(st.sampled_from(c.ALGORITHMS), st.lists(st.binary(max_size=300), max_size=6))
def test_incremental_equals_one_shot(algorithm: str, chunks: list[bytes]) -> None:
    summer = c.new_checksum(algorithm)
    for chunk in chunks:
        summer.update(memoryview(chunk))
    assert summer.digest_b64() == c.checksum_b64(algorithm, b"".join(chunks))
    assert len(summer.digest()) == c.DIGEST_SIZES[algorithm]


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("algorithm", "value"),
    [
        ("CRC32", "not base64!"),
        ("CRC32", "DUoRhQ"),  # padding missing
        ("CRC32", b64(b"12345")),  # 5 bytes
        ("crc32c", b64(b"123")),
        ("CRC64NVME", b64(b"1234")),
        ("SHA1", b64(b"x" * 32)),
        ("SHA256", b64(b"x" * 20)),
        ("SHA256", ""),
    ],
)
def test_invalid_checksum_value(algorithm: str, value: str) -> None:
    with pytest.raises(errors.InvalidChecksum) as info:
        c.decode_checksum(algorithm, value)
    assert info.value.problem is errors.ChecksumProblem.MALFORMED_VALUE
    assert info.value.algorithm == algorithm.upper()


def test_validate_checksum_canonical() -> None:
    assert c.validate_checksum("crc32", " DUoRhQ== ") == "DUoRhQ=="


def test_verify_mismatch() -> None:
    summer = c.new_checksum("CRC32")
    summer.update(b"hello world")
    summer.verify("DUoRhQ==")
    with pytest.raises(errors.ChecksumMismatch) as info:
        summer.verify(c.checksum_b64("CRC32", b"other"))
    assert info.value.context["algorithm"] == "CRC32"
    with pytest.raises(errors.InvalidRequest):
        summer.verify("junk")


# --------------------------------------------------------------------------- Content-MD5


def test_content_md5() -> None:
    digest = hashlib.md5(b"data").digest()
    c.check_content_md5(b64(digest), digest)
    with pytest.raises(errors.BadDigest) as info:
        c.check_content_md5(b64(hashlib.md5(b"other").digest()), digest)
    assert info.value.context["calculated_digest"] == b64(digest)


@pytest.mark.parametrize("value", ["", "zzz", "!!!!", b64(b"short"), b64(b"x" * 17)])
def test_content_md5_invalid(value: str) -> None:
    with pytest.raises(errors.InvalidDigest):
        c.decode_content_md5(value)
    with pytest.raises(errors.InvalidDigest):
        c.check_content_md5(value, hashlib.md5(b"").digest())


@given(st.text(max_size=40))
def test_content_md5_never_raises_other_errors(value: str) -> None:
    with contextlib.suppress(errors.InvalidDigest):
        assert len(c.decode_content_md5(value)) == 16


@given(st.sampled_from(c.ALGORITHMS), st.text(max_size=60))
def test_decode_checksum_never_raises_other_errors(algorithm: str, value: str) -> None:
    try:
        raw = c.decode_checksum(algorithm, value)
    except errors.InvalidRequest:
        return
    assert len(raw) == c.DIGEST_SIZES[algorithm]


# --------------------------------------------------------------------------- checksum types


@pytest.mark.parametrize(
    ("algorithm", "requested", "expected"),
    [
        (None, None, ""),
        ("CRC32", None, "COMPOSITE"),
        ("crc32c", "full_object", "FULL_OBJECT"),
        ("CRC64NVME", None, "FULL_OBJECT"),
        ("CRC64NVME", "FULL_OBJECT", "FULL_OBJECT"),
        ("SHA1", "COMPOSITE", "COMPOSITE"),
        ("SHA256", None, "COMPOSITE"),
    ],
)
def test_resolve_checksum_type(algorithm: str | None, requested: str | None, expected: str) -> None:
    assert c.resolve_checksum_type(algorithm, requested) == expected


@pytest.mark.parametrize(
    ("algorithm", "requested"),
    [
        ("CRC64NVME", "COMPOSITE"),
        ("SHA1", "FULL_OBJECT"),
        ("SHA256", "FULL_OBJECT"),
        ("CRC32", "PARTIAL"),
        (None, "COMPOSITE"),
        ("MD5", None),
    ],
)
def test_resolve_checksum_type_rejects(algorithm: str | None, requested: str | None) -> None:
    with pytest.raises(errors.InvalidChecksum):
        c.resolve_checksum_type(algorithm, requested)


# --------------------------------------------------------------------------- multipart


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "SHA1", "SHA256"])
def test_composite_checksum(algorithm: str) -> None:
    parts = [b"a" * 10, b"b" * 7, b""]
    values = [c.checksum_b64(algorithm, p) for p in parts]
    raw = b"".join(base64.b64decode(v) for v in values)
    expected = c.checksum_b64(algorithm, raw) + "-3"
    assert c.composite_checksum(algorithm, values) == expected
    assert (
        c.combine_parts(
            algorithm, "COMPOSITE", [(v, len(p)) for v, p in zip(values, parts, strict=True)]
        )
        == expected
    )


def test_composite_not_for_crc64nvme() -> None:
    with pytest.raises(errors.InvalidRequest):
        c.composite_checksum("CRC64NVME", [c.checksum_b64("CRC64NVME", b"x")])


@pytest.mark.parametrize("algorithm", ["SHA1", "SHA256"])
def test_full_object_not_for_sha(algorithm: str) -> None:
    with pytest.raises(errors.InvalidRequest):
        c.full_object_crc(algorithm, [(c.checksum_b64(algorithm, b"x"), 1)])


def test_combine_parts_bad_type() -> None:
    with pytest.raises(errors.InvalidRequest):
        c.combine_parts("CRC32", "", [])


@pytest.mark.parametrize("algorithm", sorted(c.CRC_ALGORITHMS))
def test_full_object_crc_of_no_parts_is_crc_of_nothing(algorithm: str) -> None:
    assert c.full_object_crc(algorithm, []) == c.checksum_b64(algorithm, b"")


@pytest.mark.parametrize("algorithm", sorted(c.CRC_ALGORITHMS))
def test_full_object_crc_large_parts(algorithm: str) -> None:
    # 5 MiB parts, as a real multipart upload has them.
    part = bytes(range(256)) * (5 * 1024 * 4)
    tail = b"tail"
    values = [(crc_b64(algorithm, part), len(part))] * 3 + [(crc_b64(algorithm, tail), len(tail))]
    expected = crc_b64(algorithm, part * 3 + tail)
    assert c.full_object_crc(algorithm, values) == expected
    assert c.combine_parts(algorithm, "FULL_OBJECT", values) == expected


@settings(max_examples=200)
@given(
    st.sampled_from(sorted(c.CRC_ALGORITHMS)),
    st.binary(max_size=2000),
    st.binary(max_size=2000),
)
def test_crc_combine_is_crc_of_concatenation(algorithm: str, a: bytes, b: bytes) -> None:
    fn = CRC_FUNCS[algorithm]
    combined = c.crc_combine(algorithm, fn(a, 0), fn(b, 0), len(b))
    assert combined == fn(a + b, 0)
    assert combined == CRC_COMBINE[algorithm](fn(a, 0), fn(b, 0), len(b))


@given(
    st.sampled_from(sorted(c.CRC_ALGORITHMS)),
    st.integers(min_value=0, max_value=(1 << 64) - 1),
    st.integers(min_value=0, max_value=(1 << 64) - 1),
    st.integers(min_value=1, max_value=1 << 50),  # awscrt ignores crc2 when length is 0
)
def test_crc_combine_matches_awscrt_for_large_lengths(
    algorithm: str, crc1: int, crc2: int, length: int
) -> None:
    mask = (1 << (8 * c.DIGEST_SIZES[algorithm])) - 1
    crc1, crc2 = crc1 & mask, crc2 & mask
    assert c.crc_combine(algorithm, crc1, crc2, length) == CRC_COMBINE[algorithm](
        crc1, crc2, length
    )


@given(
    st.sampled_from(sorted(c.CRC_ALGORITHMS)),
    st.lists(st.binary(max_size=500), min_size=1, max_size=8),
)
def test_full_object_crc_is_crc_of_whole(algorithm: str, parts: list[bytes]) -> None:
    values = [(c.checksum_b64(algorithm, p), len(p)) for p in parts]
    assert c.full_object_crc(algorithm, values) == c.checksum_b64(algorithm, b"".join(parts))


def test_crc_combine_rejects_non_crc() -> None:
    with pytest.raises(errors.InvalidRequest):
        c.crc_combine("SHA256", 0, 0, 1)
    with pytest.raises(ValueError, match="len2"):
        c.crc_combine("CRC32", 0, 0, -1)
