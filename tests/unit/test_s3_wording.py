"""S3's wording of domain errors: the core raises them in its own terms, and the
S3 error table gives each the code and the exact message S3 answers with."""

from __future__ import annotations

import base64
from collections.abc import Callable

import pytest

from dolium import errors
from dolium.core.content import checksums as c
from dolium.frontends.s3.errors import to_s3_error


def s3_error_of(call: Callable[[], object]) -> tuple[int, str, str]:
    """(status, code, message) S3 answers when `call` raises a domain error."""
    with pytest.raises(errors.DoliumError) as info:
        call()
    error = to_s3_error(info.value)
    return error.status, error.code, error.message


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --------------------------------------------------------------------------- checksums


def test_unknown_checksum_algorithm() -> None:
    assert s3_error_of(lambda: c.new_checksum("MD4")) == (
        400,
        "InvalidRequest",
        "Checksum algorithm provided is unsupported. Please try again with any of the valid"
        " types: [CRC32, CRC32C, CRC64NVME, SHA1, SHA256]",
    )


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
def test_invalid_checksum_value_names_its_header(algorithm: str, value: str) -> None:
    header = f"x-amz-checksum-{algorithm.lower()}"
    assert s3_error_of(lambda: c.decode_checksum(algorithm, value)) == (
        400,
        "InvalidRequest",
        f"Value for {header} header is invalid.",
    )


@pytest.mark.parametrize(
    ("algorithm", "requested", "message"),
    [
        (
            None,
            "COMPOSITE",
            "The x-amz-checksum-type header can only be used with the"
            " x-amz-checksum-algorithm header.",
        ),
        ("CRC32", "PARTIAL", "Value for x-amz-checksum-type header is invalid."),
        (
            "CRC64NVME",
            "composite",
            "The COMPOSITE checksum type cannot be used with the CRC64NVME checksum algorithm.",
        ),
        (
            "sha1",
            "FULL_OBJECT",
            "The FULL_OBJECT checksum type cannot be used with the SHA1 checksum algorithm.",
        ),
    ],
)
def test_checksum_type_problems(algorithm: str | None, requested: str, message: str) -> None:
    assert s3_error_of(lambda: c.resolve_checksum_type(algorithm, requested)) == (
        400,
        "InvalidRequest",
        message,
    )


def test_unknown_checksum_type_of_a_stored_upload() -> None:
    assert s3_error_of(lambda: c.combine_parts("CRC32", "", [])) == (
        400,
        "InvalidRequest",
        "Value for x-amz-checksum-type header is invalid.",
    )
