"""S3's wording of domain errors: the core raises them in its own terms, and the
S3 error table gives each the code and the exact message S3 answers with."""

from __future__ import annotations

import ast
import base64
import hashlib
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from corekit import ALICE, BOB, body, make_core

import dolium
from dolium import errors
from dolium.conditions import WriteCondition
from dolium.core.buckets.cors import CorsRule
from dolium.core.buckets.settings import ObjectOwnership
from dolium.core.buckets.website import WebsiteConfig
from dolium.core.content import checksums as c
from dolium.core.objects.object_lock import DefaultRetention
from dolium.core.objects.write_options import WriteOptions
from dolium.frontends.s3.errors import S3_PROBLEMS, to_s3_error
from dolium.frontends.s3.ops.object_lock import argument_error
from dolium.frontends.s3.rules.cors import check_cors
from dolium.frontends.s3.rules.lifecycle import check_lifecycle
from dolium.frontends.s3.rules.website import check_website
from dolium.model import Lock, LockMode


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


# --------------------------------------------------------------------------- object lock


async def test_a_locked_write_without_content_md5_or_checksum() -> None:
    core = make_core()
    await core.store.buckets.create(ALICE, "locked", object_lock=True)
    bare = WriteOptions(lock=Lock(legal_hold=True))
    with pytest.raises(errors.DoliumError) as info:
        await core.store.objects.put(ALICE, "locked", "k", body(b"x"), bare)
    error = to_s3_error(info.value)
    assert (error.status, error.code, error.message) == (
        400,
        "InvalidRequest",
        "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with "
        "Object Lock parameters",
    )


async def test_a_past_retain_until_date_names_its_element() -> None:
    core = make_core()
    await core.store.buckets.create(ALICE, "locked", object_lock=True)
    await core.store.objects.put(ALICE, "locked", "k", body(b"x"), WriteOptions())
    past = core.clock.now - 1
    with pytest.raises(errors.InvalidArgument) as info:
        await core.store.object_lock.put_retention(ALICE, "locked", "k", LockMode.GOVERNANCE, past)
    error = argument_error(info.value)
    assert (error.code, error.message, error.fields) == (
        "InvalidArgument",
        "The retain until date must be in the future!",
        {"ArgumentName": "RetainUntilDate"},
    )


@pytest.mark.parametrize(
    ("default", "name"),
    [
        (DefaultRetention(LockMode.GOVERNANCE, days=36501), "Days"),
        (DefaultRetention(LockMode.COMPLIANCE, years=101), "Years"),
    ],
)
async def test_a_default_retention_period_too_long(default: DefaultRetention, name: str) -> None:
    core = make_core()
    await core.store.buckets.create(ALICE, "locked", object_lock=True)
    with pytest.raises(errors.InvalidArgument) as info:
        await core.store.object_lock.put_config(ALICE, "locked", default)
    error = argument_error(info.value)
    assert (error.code, error.message) == (
        "InvalidRetentionPeriod",
        "Default retention period too large.",
    )
    assert error.fields == {}


# --------------------------------------------------------------------------- configurations


@pytest.mark.parametrize(
    "check",
    [
        lambda: check_cors([]),
        lambda: check_cors([CorsRule((), ("GET",))]),
        lambda: check_website(WebsiteConfig(index_suffix="i.html", has_rules=True)),
        lambda: check_lifecycle([]),
    ],
)
def test_a_configuration_missing_what_it_must_hold_is_malformed_xml(
    check: Callable[[], object],
) -> None:
    assert s3_error_of(check) == (
        400,
        "MalformedXML",
        "The XML you provided was not well-formed or did not validate against our published schema",
    )


# --------------------------------------------------------------------------- digests


def test_a_checksum_that_does_not_match() -> None:
    summer = c.new_checksum("CRC32")
    summer.update(b"hello world")
    assert s3_error_of(lambda: summer.verify(c.checksum_b64("CRC32", b"other"))) == (
        400,
        "BadDigest",
        "The CRC32 you specified did not match the calculated checksum.",
    )


def test_content_md5_invalid_or_not_matching() -> None:
    digest = hashlib.md5(b"data").digest()
    assert s3_error_of(lambda: c.check_content_md5("zzz", digest)) == (
        400,
        "InvalidDigest",
        "The Content-MD5 you specified was invalid.",
    )
    other = b64(hashlib.md5(b"other").digest())
    assert s3_error_of(lambda: c.check_content_md5(other, digest)) == (
        400,
        "BadDigest",
        "The Content-MD5 you specified did not match what we received.",
    )


async def test_what_a_write_declares_and_does_not_get() -> None:
    core = make_core()
    await core.store.buckets.create(ALICE, "plain")
    cases = [
        (
            WriteOptions(declared_size=5),
            "IncompleteBody",
            "You did not provide the number of bytes specified by the Content-Length HTTP header.",
        ),
        (
            WriteOptions(content_md5=hashlib.md5(b"other").digest()),
            "BadDigest",
            "The Content-MD5 you specified did not match what we received.",
        ),
        (
            WriteOptions(
                checksum_algorithms=("sha256",),
                expected_checksums=lambda: {"sha256": c.checksum_b64("SHA256", b"other")},
            ),
            "BadDigest",
            "The SHA256 you specified did not match the calculated checksum.",
        ),
    ]
    for opts, code, message in cases:
        with pytest.raises(errors.DoliumError) as info:
            await core.store.objects.put(ALICE, "plain", "k", body(b"x"), opts)
        error = to_s3_error(info.value)
        assert (error.status, error.code, error.message) == (400, code, message)


# --------------------------------------------------------------------------- buckets


async def test_bucket_conflicts_and_ownership() -> None:
    core = make_core()
    store = core.store
    await store.buckets.create(ALICE, "taken", acl="public-read")
    await store.objects.put(ALICE, "taken", "k", body(b"x"), WriteOptions())
    cases: list[tuple[Callable[[], Awaitable[object]], str, str]] = [
        (
            lambda: store.buckets.create(ALICE, "taken"),
            "BucketAlreadyOwnedByYou",
            "Your previous request to create the named bucket succeeded and you already own it.",
        ),
        (
            lambda: store.buckets.create(BOB, "taken"),
            "BucketAlreadyExists",
            "The requested bucket name is not available. The bucket namespace is shared by all"
            " users of the system. Please select a different name and try again.",
        ),
        (
            lambda: store.buckets.delete(ALICE, "taken"),
            "BucketNotEmpty",
            "The bucket you tried to delete is not empty",
        ),
        (
            lambda: store.bucket_settings.put_ownership(
                ALICE, "taken", ObjectOwnership.BUCKET_OWNER_ENFORCED
            ),
            "InvalidBucketAclWithObjectOwnership",
            "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting",
        ),
    ]
    for call, code, message in cases:
        with pytest.raises(errors.DoliumError) as info:
            await call()
        error = to_s3_error(info.value)
        assert (error.code, error.message) == (code, message)


# --------------------------------------------------------------------------- one message per error


@pytest.mark.parametrize(
    ("error", "code", "message"),
    [
        (
            errors.NoSuchBucket("no bucket 'b'"),
            "NoSuchBucket",
            "The specified bucket does not exist",
        ),
        (
            errors.NoSuchKey("no object 'k' in 'b'"),
            "NoSuchKey",
            "The specified key does not exist.",
        ),
        (
            errors.NoSuchVersion("no version"),
            "NoSuchVersion",
            "The specified version does not exist.",
        ),
        (
            errors.NoSuchUpload("no upload 'u'"),
            "NoSuchUpload",
            "The specified upload does not exist. The upload ID may be invalid, or the upload may"
            " have been aborted or completed.",
        ),
        (errors.AccessDenied("may not read 'k'"), "AccessDenied", "Access Denied"),
        (errors.NoSuchTenant("no tenant 't'"), "AccessDenied", "Access Denied"),
        (
            errors.PreconditionFailed("an object exists at this key"),
            "PreconditionFailed",
            "At least one of the pre-conditions you specified did not hold",
        ),
    ],
)
def test_s3_says_one_message_whoever_raised(
    error: errors.DoliumError, code: str, message: str
) -> None:
    """A meta store words these in its own terms; S3 answers with its one message."""
    s3 = to_s3_error(error)
    assert (s3.code, s3.message) == (code, message)


async def test_a_meta_store_s_not_found_in_s3_s_words() -> None:
    core = make_core()
    await core.store.buckets.create(ALICE, "plain")
    # The meta store finds no object to match, in its own words.
    opts = WriteOptions(condition=WriteCondition(if_match='"abc"'))
    with pytest.raises(errors.NoSuchKey) as info:
        await core.store.objects.put(ALICE, "plain", "k", body(b"x"), opts)
    error = to_s3_error(info.value)
    assert (error.status, error.code, error.message) == (
        404,
        "NoSuchKey",
        "The specified key does not exist.",
    )


def test_every_problem_has_s3_s_words() -> None:
    assert set(S3_PROBLEMS) == set(errors.Problem)


# --------------------------------------------------------------------------- the core's words

CORE = Path(dolium.__file__).parent / "core"
BUCKETS = CORE / "buckets"
# Every module of the core but the S3 evaluator of ACLs and bucket policies,
# whose policy language is S3's, and the global names, which follow S3's
# bucket-name rules (docs/architecture.md).
CORE_MODULES = sorted(
    path
    for path in CORE.rglob("*.py")
    if path.relative_to(CORE).parts[0] != "access" and path.name != "names.py"
)
S3_EDGE = [*(Path(dolium.__file__).parent / "frontends" / "s3" / "rules").glob("*.py")]
S3_EDGE += [Path(dolium.__file__).parent / "frontends" / "s3" / "errors.py"]
ERROR_CLASSES = {
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.DoliumError)
}
# Names S3 gives the elements of its documents and its headers.
WIRE_WORDS = re.compile(r"x-amz-|<\w|\b[A-Z][a-z]+(?:[A-Z][a-z0-9]*)+\b|Lifecycle V2")


def _text(node: ast.expr, constants: dict[str, str]) -> str | None:
    """The text of a message argument; an f-string's replacement fields read "{}"."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(_text(v, constants) or "{}" for v in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return (_text(node.left, constants) or "{}") + (_text(node.right, constants) or "{}")
    if isinstance(node, ast.Name):
        return constants.get(node.id)
    return None


def core_messages(path: Path) -> list[str]:
    """The messages a module gives the domain errors it makes."""
    tree = ast.parse(path.read_text())
    constants = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    return [
        text
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and _error_class(node.func) in ERROR_CLASSES
        and node.args
        and (text := _text(node.args[0], constants)) is not None
    ]


def _error_class(func: ast.expr) -> str | None:
    """The class a call makes, named alone (`NoSuchKey`) or by module (`errors.NoSuchKey`)."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def edge_strings() -> set[str]:
    """Every string the S3 edge's rules and error table hold (S3's messages among them)."""
    found: set[str] = set()
    for path in S3_EDGE:
        tree = ast.parse(path.read_text())
        # The pieces of an f-string are no message; the f-string is, "{}" for its fields.
        pieces = {
            id(piece)
            for node in ast.walk(tree)
            if isinstance(node, ast.JoinedStr)
            for piece in node.values
        }
        for node in ast.walk(tree):
            if id(node) in pieces:
                continue
            text = _text(node, {}) if isinstance(node, ast.expr) else None
            if text is not None and len(text) >= 20:
                found.add(text)
    return found


def test_the_core_finds_its_messages() -> None:
    messages = core_messages(BUCKETS / "lifecycle.py")
    assert any("Transition actions are not implemented" in m for m in messages)
    assert "The configuration names destinations this server cannot deliver to" in (
        core_messages(BUCKETS / "notifications.py")
    )
    assert "Completing an upload needs at least one part." in (
        core_messages(CORE / "objects" / "multipart.py")
    )
    # Made by module, as `errors.InvalidRange(...)`.
    assert "the range {} holds no byte of {}" in core_messages(CORE / "objects" / "conditions.py")
    assert any("customer key" in m for m in core_messages(CORE / "content" / "sse.py"))


def test_the_guard_reads_every_core_package_but_access() -> None:
    packages = {path.relative_to(CORE).parts[0] for path in CORE_MODULES}
    assert {"buckets", "objects", "content", "accounts", "jobs", "store.py"} <= packages
    assert "access" not in packages
    assert "names.py" not in {path.name for path in CORE_MODULES}


@pytest.mark.parametrize("path", CORE_MODULES, ids=lambda p: str(p.relative_to(CORE)))
def test_the_core_raises_in_its_own_words(path: Path) -> None:
    """S3's messages and the names of its elements and headers belong to the S3
    edge (`frontends/s3/rules`, the S3 error table), never to the core."""
    edge = edge_strings()
    name = str(path.relative_to(CORE))
    for message in core_messages(path):
        assert not WIRE_WORDS.search(message), f"{name}: {message!r} names S3's wire"
        s3 = [s for s in edge if message in s or s in message]
        assert not s3, f"{name}: {message!r} is the S3 edge's {s3[0]!r}"
