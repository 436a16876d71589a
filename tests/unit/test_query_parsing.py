"""The query parsers that run on every request equal the library's readings."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote_to_bytes

from hypothesis import given
from hypothesis import strategies as st

from dolium.frontends.s3.auth import sigv4
from dolium.frontends.s3.wire.http import parse_query

# Pieces a query is made of, awkward ones included: escapes (valid, broken,
# of invalid UTF-8), '+', '=', empty parameters, text past ASCII.
PIECES = st.sampled_from(
    ["a", "=", "&", "+", "%", "%2", "%2F", "%2f", "%zz", "%C3%A9", "%FF", "é", "x-id", "?", ";"]
)
QUERIES = st.lists(PIECES, max_size=24).map("".join)


@given(QUERIES)
def test_parse_query_is_parse_qsl(query: str) -> None:
    assert parse_query(query) == dict(parse_qsl(query, keep_blank_values=True))


def _pairs_decoding_all(raw: str) -> list[tuple[bytes, bytes]]:
    pairs = []
    for piece in sigv4.wire(raw).split(b"&"):
        if piece:
            name, _, value = piece.replace(b"+", b" ").partition(b"=")
            pairs.append((unquote_to_bytes(name), unquote_to_bytes(value)))
    return pairs


@given(QUERIES)
def test_query_pairs_decode_as_unquote_to_bytes(query: str) -> None:
    assert sigv4.query_pairs(query) == _pairs_decoding_all(query)


def test_presigned_query() -> None:
    query = (
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20260101%2Fus-east-1%2Fs3"
        "%2Faws4_request&X-Amz-SignedHeaders=host&x-id=GetObject&empty&a+b=c+d"
    )
    parsed = parse_query(query)
    assert parsed["X-Amz-Credential"] == "AKID/20260101/us-east-1/s3/aws4_request"
    assert parsed["empty"] == "" and parsed["a b"] == "c d"
    assert (b"X-Amz-Credential", b"AKID/20260101/us-east-1/s3/aws4_request") in sigv4.query_pairs(
        query
    )
