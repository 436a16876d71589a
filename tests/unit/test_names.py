"""Bucket names, object keys and user metadata against S3's rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dolium import errors
from dolium.core import names
from dolium.frontends.s3.rules import objects as rules


# Examples from the AWS "General purpose bucket naming rules" page, plus edges.
@pytest.mark.parametrize(
    "name",
    [
        "docexamplebucket1",
        "log-delivery-march-2020",
        "my-hosted-content",
        "docexamplewebsite.com",
        "www.docexamplewebsite.com",
        "my.example.s3.bucket",
        "abc",
        "a" * 63,
        "1-2",
        "192.168.5.4a",  # not formatted as an IP address
        "xn-abc",
        "sthree",
        "my-s3alias-bucket",
        "a.b-c.d",
    ],
)
def test_valid_bucket_names(name: str) -> None:
    names.validate_bucket_name(name)
    assert names.is_valid_bucket_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "doc_example_bucket",  # underscore
        "DocExampleBucket",  # uppercase
        "doc-example-bucket-",  # ends with a hyphen
        "-docexamplebucket",
        ".docexamplebucket",
        "docexamplebucket.",
        "example..com",
        "example.-com",
        "example-.com",
        "192.168.5.4",
        "1.2.3.4",
        "xn--abc",
        "sthree-bucket",
        "sthree-configurator",
        "amzn-s3-demo-bucket",
        "mybucket-s3alias",
        "mybucket--ol-s3",
        "mybucket.mrap",
        "mybucket--x-s3",
        "mybucket--table-s3",
        "ab",
        "",
        "a" * 64,
        "abc\n",
        "ab c",
        "bücket",
        "abc\u0661",  # a non-ASCII digit
    ],
)
def test_invalid_bucket_names(name: str) -> None:
    with pytest.raises(errors.InvalidBucketName) as info:
        names.validate_bucket_name(name)
    assert info.value.message == "The specified bucket is not valid."
    assert info.value.context["bucket_name"] == name
    assert not names.is_valid_bucket_name(name)


@given(st.from_regex(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", fullmatch=True))
def test_generated_names_follow_the_rules(name: str) -> None:
    problem = names.bucket_name_problem(name)
    if problem is None:
        assert 3 <= len(name) <= 63 and ".." not in name
        assert ".-" not in name and "-." not in name
    else:
        assert (
            ".." in name
            or ".-" in name
            or "-." in name
            or name.startswith(("xn--", "sthree-", "amzn-s3-demo-"))
            or name.endswith(("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"))
            or name.replace(".", "").isdigit()
        )


@given(st.text(max_size=80))
def test_bucket_validation_only_raises_invalid_bucket_name(name: str) -> None:
    try:
        names.validate_bucket_name(name)
    except errors.InvalidBucketName:
        return
    assert name == name.lower() and 3 <= len(name) <= 63 and name.isascii()


# --------------------------------------------------------------------------- keys


def test_key_limits() -> None:
    names.validate_key("k")
    names.validate_key("a" * 1024)
    names.validate_key("é" * 512)  # 1024 bytes of UTF-8
    names.validate_key(" leading/and trailing ")
    with pytest.raises(errors.KeyTooLong) as info:
        names.validate_key("a" * 1025)
    assert info.value.message == "Your key is too long"
    assert info.value.context == {"size": 1025, "max_size_allowed": 1024}
    with pytest.raises(errors.KeyTooLong):
        names.validate_key("é" * 513)  # 513 characters, 1026 bytes


def test_empty_and_invalid_keys() -> None:
    with pytest.raises(errors.InvalidArgument):
        names.validate_key("")
    with pytest.raises(errors.InvalidArgument):
        names.validate_key("bad\udcffkey")


# --------------------------------------------------------------------------- metadata


def test_metadata_size_counts_names_and_values() -> None:
    assert rules.metadata_size({}) == 0
    assert rules.metadata_size({"color": "blue"}) == 9
    assert rules.metadata_size({"x-amz-meta-color": "blue"}) == 9
    assert rules.metadata_size({"X-Amz-Meta-color": "blue"}) == 9
    assert rules.metadata_size({"nom": "café"}) == 3 + 5


def test_metadata_limit() -> None:
    rules.validate_metadata({"k": "v" * 2047})
    with pytest.raises(errors.MetadataTooLarge) as info:
        rules.validate_metadata({"k": "v" * 2048})
    assert info.value.context == {"size": 2049, "max_size_allowed": 2048}
    with pytest.raises(errors.MetadataTooLarge):
        rules.validate_metadata({f"key{i}": "x" * 100 for i in range(20)})
