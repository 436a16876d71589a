"""Tagging rules, the wire forms of a tag set, and the tagging services of the core."""

from __future__ import annotations

import pytest
from corekit import ALICE, BLOCK, BOB, Core, body, make_core, pattern

from dolium.core.objects.multipart import CompletedPart
from dolium.core.objects.write_options import CopyOptions, WriteOptions
from dolium.errors import (
    AccessDenied,
    InvalidTag,
    NoSuchKey,
    NoSuchTagSet,
    NoSuchVersion,
    TooManyTags,
)
from dolium.frontends.s3.errors import S3Error, to_s3_error
from dolium.frontends.s3.rules.objects import check_copy, check_write
from dolium.frontends.s3.rules.tagging import (
    BUCKET_TAG_LIMIT,
    OBJECT_TAG_LIMIT,
    tag_rules,
    utf16_length,
    validate_tags,
)
from dolium.frontends.s3.wire import xml
from dolium.frontends.s3.wire.headers import parse_tagging_header
from dolium.model import UNVERSIONED_ID, Versioning

BUCKET = "tagged"


# --------------------------------------------------------------------------- rules


def test_valid_set_keeps_order_and_values() -> None:
    tags = [("b", "2"), ("a", ""), ("Ünïcode κλειδί 鍵", "٣ + - = . _ : / @")]
    assert list(validate_tags(tags, OBJECT_TAG_LIMIT).items()) == tags


@pytest.mark.parametrize("key", ["", "k" * 129, "a,b", "semi;colon", "quote'", "tab\tkey", "a&b"])
def test_bad_keys(key: str) -> None:
    with pytest.raises(InvalidTag) as info:
        validate_tags([(key, "v")], OBJECT_TAG_LIMIT)
    assert to_s3_error(info.value).message == "The TagKey you have provided is invalid"


@pytest.mark.parametrize("value", ["v" * 257, "a,b", "<x>", "new\nline", "a*b"])
def test_bad_values(value: str) -> None:
    with pytest.raises(InvalidTag) as info:
        validate_tags([("k", value)], OBJECT_TAG_LIMIT)
    assert to_s3_error(info.value).message == "The TagValue you have provided is invalid"
    assert info.value.context == {"tag_key": "k", "tag_value": value}


def test_lengths_at_the_limits_are_valid() -> None:
    validate_tags([("k" * 128, "v" * 256)], OBJECT_TAG_LIMIT)


def test_lengths_count_utf16_code_units() -> None:
    # U+1F600 is outside the BMP: two UTF-16 code units, though one character.
    assert utf16_length("\U0001f600") == 2
    assert utf16_length("é") == 1
    # Letters outside the BMP are letters: allowed, but count double.
    gothic = "\U00010330"  # GOTHIC LETTER AHSA, category Lo
    validate_tags([(gothic * 64, "")], OBJECT_TAG_LIMIT)
    with pytest.raises(InvalidTag):
        validate_tags([(gothic * 64 + "x", "")], OBJECT_TAG_LIMIT)


def test_duplicate_keys() -> None:
    with pytest.raises(InvalidTag) as info:
        validate_tags([("k", "1"), ("k", "2")], OBJECT_TAG_LIMIT)
    assert to_s3_error(info.value).message == "Cannot provide multiple Tags with the same key"


@pytest.mark.parametrize("key", ["aws:x", "AWS:x", "Aws:"])
def test_reserved_prefix(key: str) -> None:
    with pytest.raises(InvalidTag) as info:
        validate_tags([(key, "v")], OBJECT_TAG_LIMIT)
    assert to_s3_error(info.value).message == "Your TagKey cannot be prefixed with aws:"


def test_aws_elsewhere_in_a_key_is_fine() -> None:
    validate_tags([("myaws:x", "aws:v"), ("aws", "")], OBJECT_TAG_LIMIT)


def test_object_and_bucket_limits() -> None:
    ten = [(f"k{i}", "v") for i in range(10)]
    assert len(validate_tags(ten, OBJECT_TAG_LIMIT)) == 10
    with pytest.raises(TooManyTags) as info:
        validate_tags([*ten, ("k10", "v")], OBJECT_TAG_LIMIT)
    assert to_s3_error(info.value).message == "Object tags cannot be greater than 10"
    fifty = [(f"k{i}", "v") for i in range(50)]
    assert len(validate_tags(fifty, BUCKET_TAG_LIMIT)) == 50
    with pytest.raises(TooManyTags) as info:
        validate_tags([*fifty, ("k50", "v")], BUCKET_TAG_LIMIT)
    assert to_s3_error(info.value).message == "Bucket tag count cannot be greater than 50"


def test_a_bad_tag_is_reported_before_the_count() -> None:
    tags = [(f"k{i}", "v") for i in range(20)] + [("bad,key", "v")]
    with pytest.raises(InvalidTag):
        validate_tags(tags, OBJECT_TAG_LIMIT)


def test_wire_codes() -> None:
    assert (to_s3_error(InvalidTag("x")).status, to_s3_error(InvalidTag("x")).code) == (
        400,
        "InvalidTag",
    )
    assert to_s3_error(TooManyTags("x")).code == "InvalidTag"
    assert (to_s3_error(NoSuchTagSet("x")).status, to_s3_error(NoSuchTagSet("x")).code) == (
        404,
        "NoSuchTagSet",
    )


# --------------------------------------------------------------------------- XML


def test_parse_tagging_document() -> None:
    doc = (
        b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><TagSet>'
        b"<Tag><Key>a b</Key><Value>1</Value></Tag>"
        b"<Tag><Key>k&amp;</Key><Value/></Tag>"
        b"</TagSet></Tagging>"
    )
    assert xml.parse_tagging(doc) == [("a b", "1"), ("k&", "")]


def test_parse_empty_tag_set() -> None:
    assert xml.parse_tagging(b"<Tagging><TagSet/></Tagging>") == []


@pytest.mark.parametrize(
    "doc",
    [
        b"",
        b"<Tagging/>",
        b"<Other><TagSet/></Other>",
        b"<Tagging><TagSet/><TagSet/></Tagging>",
        b"<Tagging><TagSet><Tag><Key>k</Key></Tag></TagSet></Tagging>",
        b"<Tagging><TagSet><Tag><Value>v</Value></Tag></TagSet></Tagging>",
        b"<Tagging><TagSet><Tag><Key>k</Key><Key>j</Key><Value/></Tag></TagSet></Tagging>",
        b"<Tagging><TagSet><Other/></TagSet></Tagging>",
        b"<Tagging><TagSet>",
        b'<!DOCTYPE x [<!ENTITY e "x">]><Tagging><TagSet/></Tagging>',
    ],
)
def test_parse_malformed(doc: bytes) -> None:
    with pytest.raises(S3Error) as info:
        xml.parse_tagging(doc)
    assert info.value.code == "MalformedXML"


def test_parse_refuses_oversized_body() -> None:
    with pytest.raises(S3Error) as info:
        xml.parse_tagging(b" " * (xml.MAX_CONFIG_BODY + 1))
    assert info.value.code == "MaxMessageLengthExceeded"


def test_render_round_trip() -> None:
    from dolium.frontends.s3.ops.tagging import tagging_xml

    tags = [("a<b", "x&y"), ("k", "")]
    assert xml.parse_tagging(tagging_xml(tags)) == tags
    assert b'<Tagging xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' in tagging_xml(tags)


# --------------------------------------------------------------------------- x-amz-tagging


def test_header_form() -> None:
    assert parse_tagging_header("a=1&b=two%20words&c=x+y&flag") == {
        "a": "1",
        "b": "two words",
        "c": "x y",
        "flag": "",
    }
    assert parse_tagging_header("") == {}
    assert parse_tagging_header("k=a=b") == {"k": "a=b"}


def test_header_decodes_utf8() -> None:
    assert parse_tagging_header("%C3%BC=%E9%8D%B5") == {"ü": "鍵"}
    # Raw UTF-8 bytes arrive as latin-1 text; they are read back as UTF-8.
    raw = "ü=v".encode().decode("latin-1")
    assert parse_tagging_header(raw) == {"ü": "v"}


@pytest.mark.parametrize("value", ["=v", "k=1&k=2", "%FF=v", "k=%C3"])
def test_header_refused(value: str) -> None:
    with pytest.raises(S3Error) as info:
        parse_tagging_header(value)
    assert (info.value.code, info.value.status) == ("InvalidArgument", 400)
    assert "x-amz-tagging" in info.value.message


# --------------------------------------------------------------------------- services


@pytest.fixture
async def core() -> Core:
    c = make_core()
    await c.store.buckets.create(ALICE, BUCKET)
    return c


async def _put(core: Core, key: str, tags: dict[str, str] | None = None) -> str:
    version = await core.store.objects.put(
        ALICE, BUCKET, key, body(b"data"), WriteOptions(tags=tags or {})
    )
    return version.version_id


async def test_object_tags_replace_and_delete(core: Core) -> None:
    tagging = core.store.tagging
    await _put(core, "k", {"a": "1"})
    assert dict((await tagging.get_object(ALICE, BUCKET, "k")).tags) == {"a": "1"}
    before = await core.store.objects.head(ALICE, BUCKET, "k")
    found = await tagging.put_object(ALICE, BUCKET, "k", [("b", "2"), ("c", "3")])
    assert found.version_id is None  # never versioned: no id to report
    after = await core.store.objects.head(ALICE, BUCKET, "k")
    assert dict(after.tags) == {"b": "2", "c": "3"}
    # Tags are an attribute: the version, its data and its ETag stay.
    assert (after.version_id, after.etag, after.modified) == (
        before.version_id,
        before.etag,
        before.modified,
    )
    await tagging.delete_object(ALICE, BUCKET, "k")
    assert dict((await tagging.get_object(ALICE, BUCKET, "k")).tags) == {}
    await tagging.delete_object(ALICE, BUCKET, "k")  # nothing to delete: still fine


async def test_object_tags_are_checked_where_s3_checks_them(core: Core) -> None:
    await _put(core, "k")
    eleven = [(f"k{i}", "") for i in range(11)]
    approve = tag_rules(eleven, OBJECT_TAG_LIMIT)
    with pytest.raises(TooManyTags):
        await core.store.tagging.put_object(ALICE, BUCKET, "k", eleven, approve=approve)
    # Once the version is found: a missing key is NoSuchKey, whatever the tags.
    with pytest.raises(NoSuchKey):
        await core.store.tagging.put_object(ALICE, BUCKET, "gone", eleven, approve=approve)
    with pytest.raises(InvalidTag):
        check_write("j", {}, {"aws:x": "1"})
    # The core keeps a set that maps each key once.
    with pytest.raises(InvalidTag):
        await core.store.tagging.put_object(ALICE, BUCKET, "k", [("a", "1"), ("a", "2")])


async def test_versions_are_tagged_one_by_one(core: Core) -> None:
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    old = await _put(core, "k", {"v": "old"})
    new = await _put(core, "k", {"v": "new"})
    tagging = core.store.tagging
    await tagging.put_object(ALICE, BUCKET, "k", [("v", "OLD")], old)
    assert dict((await tagging.get_object(ALICE, BUCKET, "k", old)).tags) == {"v": "OLD"}
    latest = await tagging.get_object(ALICE, BUCKET, "k")
    assert (latest.version_id, dict(latest.tags)) == (new, {"v": "new"})
    with pytest.raises(NoSuchVersion):
        await tagging.get_object(ALICE, BUCKET, "k", "a" * 24)


async def test_null_version_reports_its_id_once_versioned(core: Core) -> None:
    await _put(core, "k")
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    found = await core.store.tagging.get_object(ALICE, BUCKET, "k")
    assert found.version_id == UNVERSIONED_ID


async def test_delete_marker_has_no_tags(core: Core) -> None:
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    await _put(core, "k", {"a": "1"})
    marker = await core.store.objects.delete(ALICE, BUCKET, "k")
    tagging = core.store.tagging
    for version_id in (None, marker.version_id):
        with pytest.raises(NoSuchKey) as info:
            await tagging.put_object(ALICE, BUCKET, "k", [("b", "2")], version_id)
        assert info.value.context["delete_marker"] is True


async def test_tags_need_the_owner(core: Core) -> None:
    await _put(core, "k")
    with pytest.raises(AccessDenied):
        await core.store.tagging.get_object(BOB, BUCKET, "k")
    with pytest.raises(AccessDenied):
        await core.store.tagging.put_bucket(BOB, BUCKET, [("a", "1")])


async def test_bucket_tags(core: Core) -> None:
    tagging = core.store.tagging
    with pytest.raises(NoSuchTagSet):
        await tagging.get_bucket(ALICE, BUCKET)
    tags = [(f"k{i}", f"v{i}") for i in range(50, 0, -1)]
    await tagging.put_bucket(ALICE, BUCKET, tags)
    assert await tagging.get_bucket(ALICE, BUCKET) == tags
    await tagging.put_bucket(ALICE, BUCKET, [("ü", "鍵")])
    assert await tagging.get_bucket(ALICE, BUCKET) == [("ü", "鍵")]
    await tagging.delete_bucket(ALICE, BUCKET)
    with pytest.raises(NoSuchTagSet):
        await tagging.get_bucket(ALICE, BUCKET)
    await tagging.put_bucket(ALICE, BUCKET, [("a", "1")])
    await tagging.put_bucket(ALICE, BUCKET, [])  # an empty set leaves none
    with pytest.raises(NoSuchTagSet):
        await tagging.get_bucket(ALICE, BUCKET)
    fifty_one = [(f"k{i}", "") for i in range(51)]
    with pytest.raises(TooManyTags):
        await tagging.put_bucket(
            ALICE, BUCKET, fifty_one, approve=tag_rules(fifty_one, BUCKET_TAG_LIMIT)
        )


async def test_copy_keeps_or_replaces_tags(core: Core) -> None:
    await _put(core, "src", {"a": "1"})
    objects = core.store.objects
    kept, _ = await objects.copy(ALICE, (BUCKET, "src", None), BUCKET, "kept", CopyOptions())
    assert dict(kept.tags) == {"a": "1"}
    replaced, _ = await objects.copy(
        ALICE, (BUCKET, "src", None), BUCKET, "replaced", CopyOptions(tags={"b": "2"})
    )
    assert dict(replaced.tags) == {"b": "2"}
    cleared, _ = await objects.copy(
        ALICE, (BUCKET, "src", None), BUCKET, "cleared", CopyOptions(tags={})
    )
    assert dict(cleared.tags) == {}
    with pytest.raises(InvalidTag):
        check_copy("bad", {"": "x"})
    check_copy("kept", None)


async def test_multipart_tags_reach_the_object(core: Core) -> None:
    multipart = core.store.multipart
    upload = await multipart.create(ALICE, BUCKET, "big", WriteOptions(tags={"m": "p"}))
    assert dict(upload.tags) == {"m": "p"}
    part = await multipart.put_part(
        ALICE, BUCKET, "big", upload.upload_id, 1, body(pattern(BLOCK)), WriteOptions()
    )
    version = await multipart.complete(
        ALICE, BUCKET, "big", upload.upload_id, [CompletedPart(1, part.etag, {})]
    )
    assert dict(version.tags) == {"m": "p"}
    with pytest.raises(TooManyTags):
        check_write("big", {}, {f"k{i}": "" for i in range(11)})
