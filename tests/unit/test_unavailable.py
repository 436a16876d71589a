"""A store that cannot take a write now (erasure coding below its write quorum)
is a 503 on both front ends, which clients retry, and not a 500."""

from __future__ import annotations

from dolium import errors
from dolium.frontends.s3.errors import to_s3_error
from dolium.frontends.swift.errors import html_body, to_swift_error


def test_s3_answers_service_unavailable() -> None:
    error = to_s3_error(errors.StorageUnavailable("2 of 6 stores took their share, 5 needed"))
    assert (error.status, error.code) == (503, "ServiceUnavailable")
    # What failed inside is the log's business, not the client's.
    assert "stores" not in error.message


def test_swift_answers_503() -> None:
    error = to_swift_error(errors.StorageUnavailable("below the write quorum"))
    assert error is not None and error.status == 503 and error.text == ""
    assert b"Service Unavailable" in html_body(503)
