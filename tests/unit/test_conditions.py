"""Range parsing and conditional requests, against S3's documented behaviour."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dolium import errors
from dolium.conditions import ConditionFailure, WriteCondition
from dolium.core.objects.conditions import (
    ByteRange,
    check_copy_source,
    check_preconditions,
    check_read,
    content_range,
    etag_matches,
    format_http_date,
    parse_http_date,
    parse_range,
    unsatisfied_content_range,
)
from dolium.frontends.s3.errors import to_s3_error

# --------------------------------------------------------------------------- ranges


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        # The usual examples on a 2,000-byte object.
        ("bytes=0-499", (0, 499)),
        ("bytes=-500", (1500, 1999)),
        ("bytes=500-", (500, 1999)),
        ("bytes=0-", (0, 1999)),
        ("bytes=1999-1999", (1999, 1999)),
        # The end is clamped; a long suffix is the whole object.
        ("bytes=0-5000", (0, 1999)),
        ("bytes=100-" + "9" * 5000, (100, 1999)),
        ("bytes=-5000", (0, 1999)),
        ("bytes=-" + "9" * 5000, (0, 1999)),
        # Tolerated spellings.
        ("Bytes=0-9", (0, 9)),
        (" bytes=0-9 ", (0, 9)),
        ("bytes=0000-0009", (0, 9)),
    ],
)
def test_satisfiable_ranges(header: str, expected: tuple[int, int]) -> None:
    byte_range = parse_range(header, 2000)
    assert byte_range == expected
    assert isinstance(byte_range, ByteRange)
    assert byte_range.length == expected[1] - expected[0] + 1


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "bytes=",
        "bytes=-",
        "bytes=5-2",  # last < first: invalid, ignored
        "bytes=0-1,5-6",  # several ranges: S3 serves the whole object
        "bytes=0-1, 5-6",
        "items=0-1",
        "bytes 0-1",
        "bytes=a-b",
        "bytes=0x10-",
        "bytes=1-2-3",
        "bytes=\u0660-\u0661",  # non-ASCII digits
        "bytes=+1-2",
    ],
)
def test_ignored_ranges(header: str | None) -> None:
    assert parse_range(header, 2000) is None


@pytest.mark.parametrize(
    ("header", "size"),
    [
        ("bytes=2000-", 2000),
        ("bytes=2000-2500", 2000),
        ("bytes=" + "9" * 5000 + "-", 2000),
        ("bytes=-0", 2000),
        ("bytes=0-", 0),
        ("bytes=0-0", 0),
        ("bytes=-1", 0),
    ],
)
def test_unsatisfiable_ranges(header: str, size: int) -> None:
    with pytest.raises(errors.InvalidRange) as info:
        parse_range(header, size)
    assert to_s3_error(info.value).message == "The requested range is not satisfiable"
    assert info.value.context == {"range_requested": header.strip(), "actual_object_size": size}


def test_content_range() -> None:
    assert content_range(ByteRange(0, 9), 100) == "bytes 0-9/100"
    assert unsatisfied_content_range(100) == "bytes */100"


@given(st.text(max_size=40), st.integers(min_value=0, max_value=10**12))
def test_range_parser_total(header: str, size: int) -> None:
    try:
        byte_range = parse_range(header, size)
    except errors.InvalidRange:
        return
    if byte_range is not None:
        assert 0 <= byte_range.start <= byte_range.end < size


@given(
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=0, max_value=10**6),
    st.integers(min_value=1, max_value=10**6),
)
def test_range_matches_slicing(first: int, last: int, size: int) -> None:
    data = range(size)
    header = f"bytes={first}-{last}"
    if last < first:
        assert parse_range(header, size) is None
    elif first >= size:
        with pytest.raises(errors.InvalidRange):
            parse_range(header, size)
    else:
        start, end = parse_range(header, size) or (-1, -1)
        assert data[start : end + 1] == data[first : last + 1]


@given(st.integers(min_value=1, max_value=10**6), st.integers(min_value=1, max_value=10**6))
def test_suffix_matches_slicing(suffix: int, size: int) -> None:
    data = range(size)
    start, end = parse_range(f"bytes=-{suffix}", size) or (-1, -1)
    assert data[start : end + 1] == data[-suffix:]


# --------------------------------------------------------------------------- dates

# The three forms of RFC 7231, all for 1994-11-06 08:49:37 UTC.
DATE = 784111777


@pytest.mark.parametrize(
    "value",
    [
        "Sun, 06 Nov 1994 08:49:37 GMT",
        "Sunday, 06-Nov-94 08:49:37 GMT",
        "Sun Nov  6 08:49:37 1994",
        "Sun, 06 Nov 1994 09:49:37 +0100",
    ],
)
def test_http_dates(value: str) -> None:
    assert parse_http_date(value) == DATE


@pytest.mark.parametrize("value", [None, "", "yesterday", "2022-07-20", "Sun, 99 Foo 1994"])
def test_unreadable_dates(value: str | None) -> None:
    assert parse_http_date(value) is None


@given(st.text(max_size=60))
def test_date_parser_total(value: str) -> None:
    result = parse_http_date(value)
    assert result is None or isinstance(result, int)


def test_format_http_date() -> None:
    assert format_http_date(DATE + 0.9) == "Sun, 06 Nov 1994 08:49:37 GMT"


# --------------------------------------------------------------------------- ETags

ETAG = "9b2cf535f27731c974343645a3985328"


@pytest.mark.parametrize(
    "header",
    [
        f'"{ETAG}"',
        ETAG,
        f'W/"{ETAG}"',
        "*",
        f'"other", "{ETAG}"',
        f'"other",{ETAG}',
        f' "{ETAG}" ',
    ],
)
def test_etag_matches(header: str) -> None:
    assert etag_matches(header, ETAG)
    assert etag_matches(header, f'"{ETAG}"')


@pytest.mark.parametrize("header", ['"other"', f'"{ETAG}x"', ",", '""', f'"{ETAG[:-1]}"'])
def test_etag_does_not_match(header: str) -> None:
    assert not etag_matches(header, ETAG)


# --------------------------------------------------------------------------- conditions

MODIFIED = DATE + 0.5  # Last-Modified is sent in whole seconds: DATE
BEFORE = format_http_date(DATE - 60)
SAME = format_http_date(DATE)
AFTER = format_http_date(DATE + 60)


def read(**headers: str) -> None:
    check_read(ETAG, MODIFIED, **headers)


def copy(**headers: str) -> None:
    check_copy_source(ETAG, MODIFIED, **headers)


def test_no_conditions() -> None:
    read()
    copy()
    read(if_match="", if_none_match="  ")


def test_if_match() -> None:
    read(if_match=f'"{ETAG}"')
    read(if_match="*")
    with pytest.raises(errors.PreconditionFailed) as info:
        read(if_match='"other"')
    assert to_s3_error(info.value).message == (
        "At least one of the pre-conditions you specified did not hold"
    )
    assert info.value.context == {"condition": "If-Match"}


def test_if_unmodified_since() -> None:
    read(if_unmodified_since=SAME)
    read(if_unmodified_since=AFTER)
    with pytest.raises(errors.PreconditionFailed) as info:
        read(if_unmodified_since=BEFORE)
    assert info.value.context == {"condition": "If-Unmodified-Since"}


def test_if_match_true_overrides_if_unmodified_since_false() -> None:
    # S3: If-Match true and If-Unmodified-Since false -> 200 OK.
    read(if_match=ETAG, if_unmodified_since=BEFORE)


def test_if_none_match() -> None:
    read(if_none_match='"other"')
    with pytest.raises(errors.NotModified) as info:
        read(if_none_match=f'"{ETAG}"')
    assert info.value.etag == ETAG
    assert info.value.modified == MODIFIED
    with pytest.raises(errors.NotModified):
        read(if_none_match="*")


def test_if_modified_since() -> None:
    read(if_modified_since=BEFORE)
    with pytest.raises(errors.NotModified):
        read(if_modified_since=SAME)  # same second: not modified
    with pytest.raises(errors.NotModified):
        read(if_modified_since=AFTER)


def test_if_none_match_false_with_if_modified_since_true() -> None:
    # S3: If-None-Match false and If-Modified-Since true -> 304.
    with pytest.raises(errors.NotModified):
        read(if_none_match=ETAG, if_modified_since=BEFORE)


def test_if_none_match_true_ignores_if_modified_since() -> None:
    # RFC 7232 section 3.3: If-Modified-Since is ignored when If-None-Match is present.
    read(if_none_match='"other"', if_modified_since=AFTER)


def test_412_wins_over_304() -> None:
    with pytest.raises(errors.PreconditionFailed):
        read(if_match='"other"', if_none_match=ETAG)
    with pytest.raises(errors.PreconditionFailed):
        read(if_unmodified_since=BEFORE, if_modified_since=AFTER)


def test_unreadable_dates_are_ignored() -> None:
    read(if_unmodified_since="not a date", if_modified_since="2022-07-20")


def test_copy_source_conditions() -> None:
    copy(if_match=ETAG)
    copy(if_none_match='"other"')
    copy(if_modified_since=BEFORE)
    copy(if_unmodified_since=AFTER)
    # Documented pairs: If-Match true + If-Unmodified-Since false copies ...
    copy(if_match=ETAG, if_unmodified_since=BEFORE)
    # ... If-None-Match false + If-Modified-Since true is 412.
    with pytest.raises(errors.PreconditionFailed) as info:
        copy(if_none_match=ETAG, if_modified_since=BEFORE)
    assert info.value.context == {"condition": "If-None-Match", "source": True}


@pytest.mark.parametrize(
    "headers",
    [
        {"if_match": '"other"'},
        {"if_none_match": ETAG},
        {"if_modified_since": AFTER},
        {"if_unmodified_since": BEFORE},
    ],
)
def test_copy_source_failures_are_412(headers: dict[str, str]) -> None:
    with pytest.raises(errors.PreconditionFailed):
        copy(**headers)


@given(
    st.one_of(st.none(), st.text(max_size=30)),
    st.one_of(st.none(), st.text(max_size=30)),
    st.one_of(st.none(), st.text(max_size=40)),
    st.one_of(st.none(), st.text(max_size=40)),
    st.booleans(),
)
def test_conditions_only_raise_condition_errors(
    if_match: str | None,
    if_none_match: str | None,
    if_modified_since: str | None,
    if_unmodified_since: str | None,
    copy_source: bool,
) -> None:
    try:
        check_preconditions(
            ETAG,
            MODIFIED,
            if_match=if_match,
            if_none_match=if_none_match,
            if_modified_since=if_modified_since,
            if_unmodified_since=if_unmodified_since,
            copy_source=copy_source,
        )
    except errors.PreconditionFailed:
        pass
    except errors.NotModified:
        assert not copy_source


# --------------------------------------------------------------------------- write conditions


@pytest.mark.parametrize(
    ("condition", "current", "expected"),
    [
        (WriteCondition(if_match="*"), False, ConditionFailure.MISSING),
        (WriteCondition(if_match='"a", "e"'), False, ConditionFailure.MISSING),
        (WriteCondition(if_match='"a", "e"'), True, None),
        (WriteCondition(if_match='"a", W/"b"'), True, ConditionFailure.FAILED),
        (WriteCondition(if_match="*"), True, None),
        (WriteCondition(if_none_match=True), True, ConditionFailure.FAILED),
        (WriteCondition(if_none_match=True), False, None),
        (WriteCondition(if_none_match='"a", e'), True, ConditionFailure.FAILED),
        (WriteCondition(if_none_match='"a"'), True, None),
        (WriteCondition(if_none_match='"e"'), False, None),
        (WriteCondition(size=5), True, None),
        (WriteCondition(size=4), True, ConditionFailure.FAILED),
        (WriteCondition(size=4, modified=1), False, None),
        (WriteCondition(modified=100), True, None),
        (WriteCondition(modified=101), True, None),  # 100.9996 lists as 101.000
        (WriteCondition(modified=99), True, ConditionFailure.FAILED),
    ],
)
def test_write_condition_failures(
    condition: WriteCondition, current: bool, expected: ConditionFailure | None
) -> None:
    assert condition.failure(current, "e", 5, 100.9996) is expected
