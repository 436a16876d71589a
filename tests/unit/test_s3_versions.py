"""Version ids across the S3 edge: the core's unversioned slot is S3's "null"."""

from __future__ import annotations

from dolium.frontends.s3.wire import versions
from dolium.model import UNVERSIONED_ID

OTHER = "abcdefghijklmnopqrstuvwx"


def test_the_unversioned_slot_is_null_on_the_wire() -> None:
    assert versions.to_s3(UNVERSIONED_ID) == "null"
    assert versions.from_s3("null") == UNVERSIONED_ID


def test_other_ids_cross_unchanged_both_ways() -> None:
    assert versions.to_s3(OTHER) == OTHER
    assert versions.from_s3(OTHER) == OTHER
    for wire in ("null", OTHER):
        assert versions.to_s3(versions.from_s3(wire)) == wire
