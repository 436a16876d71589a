"""What the atheris fuzz targets call, and how they start (corpus, artifacts).

Each `fuzz_<name>.py` beside this file imports this module under atheris'
instrumentation and fuzzes `TARGETS[name]`. A target feeds the bytes to one
parser; the parser may refuse them only with S3Error or a DoliumError (a 4xx
answer on the wire). Any other exception, or a failed assertion, is a crash
that libFuzzer saves to the artifacts directory.

The corpus starts from the valid documents of `tests/fuzz/seeds.py` and is
kept in $DOLIUM_FUZZ_DIR (default: <tmp>/dolium-fuzz), one directory per
target, so later runs go on from what earlier ones found.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests" / "fuzz"))

from seeds import AWKWARD, POLICY, XML_SEEDS  # noqa: E402

from dolium.core import names  # noqa: E402
from dolium.core.access.acl import canned, loads, user  # noqa: E402
from dolium.core.access.policy import evaluate, is_public, named_tenants, parse_policy  # noqa: E402
from dolium.core.buckets import lifecycle as core_lifecycle  # noqa: E402
from dolium.core.objects.conditions import check_preconditions, parse_http_date, parse_range  # noqa: E402
from dolium.errors import DoliumError  # noqa: E402
from dolium.frontends.s3.auth import sigv4  # noqa: E402
from dolium.frontends.s3.errors import S3Error  # noqa: E402
from dolium.frontends.s3.ops.cors import parse_cors, render_cors  # noqa: E402
from dolium.frontends.s3.ops.lifecycle import parse_lifecycle, render_lifecycle  # noqa: E402
from dolium.frontends.s3.rules.cors import check_cors  # noqa: E402
from dolium.frontends.s3.rules.lifecycle import check_lifecycle  # noqa: E402
from dolium.frontends.s3.rules.tagging import validate_tags  # noqa: E402
from dolium.frontends.s3.wire import acl_xml, headers, xml  # noqa: E402
from dolium.frontends.s3.wire.http import S3Request  # noqa: E402
from dolium.model import AccessKey, Principal  # noqa: E402

REFUSALS = (S3Error, DoliumError)


def _lines(data: bytes) -> list[str]:
    """Wire text: the bytes as latin-1, one field per line."""
    return data.decode("latin-1").split("\n")


def _header_pairs(lines: list[str]) -> list[tuple[str, str]]:
    pairs = []
    for line in lines:
        name, _, value = line.partition(":")
        pairs.append((name.strip().lower(), value.strip()))
    return pairs


# --------------------------------------------------------------------------- targets

_XML = (
    xml.parse_complete_multipart,
    xml.parse_delete_objects,
    xml.parse_create_bucket,
    xml.parse_versioning,
    lambda body: validate_tags(xml.parse_tagging(body), 50),
)


def fuzz_xml(data: bytes) -> None:
    """First byte: which parser; the rest: the body."""
    if not data:
        return
    parse = _XML[data[0] % len(_XML)]
    with contextlib.suppress(REFUSALS):
        parse(data[1:])


def fuzz_acl_xml(data: bytes) -> None:
    try:
        acl = acl_xml.parse_acl(data)
    except REFUSALS:
        return
    again = acl_xml.parse_acl(acl_xml.render_acl(acl))
    assert again.grants == acl.grants, (again, acl)


def fuzz_acl_headers(data: bytes) -> None:
    pairs = dict(_header_pairs(_lines(data)))
    with contextlib.suppress(REFUSALS):
        acl_xml.acl_from_headers(pairs, user("o1"), user("o2"), lambda _email: None)


def _checked_lifecycle(data: bytes) -> list[core_lifecycle.Rule]:
    """The rules of `data` if a put would store them: S3's checks, then the core's refusal."""
    rules = parse_lifecycle(data)
    check_lifecycle(rules)
    core_lifecycle.refuse_unsupported(rules)
    return rules


def fuzz_lifecycle(data: bytes) -> None:
    try:
        rules = _checked_lifecycle(data)
    except REFUSALS:
        return
    assert _checked_lifecycle(render_lifecycle(rules)) == rules


def fuzz_cors(data: bytes) -> None:
    try:
        rules = tuple(parse_cors(data))
        check_cors(rules)
    except REFUSALS:
        return
    assert tuple(parse_cors(render_cors(rules))) == rules


class _OneKey:
    async def lookup(self, access_key: str) -> tuple[AccessKey, Principal] | None:
        if access_key != "AKID":
            return None
        return AccessKey("AKID", "secret", "t1", "u1"), Principal("t1", "u1", access_key="AKID")


def fuzz_sigv4(data: bytes) -> None:
    """Lines: method, path, query, then "name: value" headers."""
    lines = [*_lines(data), "", "", ""]
    method, path, query = lines[:3]
    pairs = _header_pairs([line for line in lines[3:] if line])
    try:
        ctx = sigv4.parse_request_auth(method, path, query, pairs)
        if ctx is not None:
            asyncio.run(sigv4.verify(ctx, _OneKey(), None, ctx.request_time))
    except REFUSALS:
        pass
    sigv4.canonical_uri(data)
    sigv4.canonical_query(sigv4.query_pairs(data))


def fuzz_conditions(data: bytes) -> None:
    """Lines: Range, size, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since."""
    lines = [*_lines(data), "", "", "", "", "", ""]
    size = int(lines[1]) if lines[1].isascii() and lines[1].isdigit() and len(lines[1]) < 20 else 0
    try:
        found = parse_range(lines[0], size)
    except REFUSALS:
        found = None
    if found is not None:
        assert 0 <= found.start <= found.end < size, (found, size)
    parse_http_date(lines[4])
    with contextlib.suppress(REFUSALS):
        check_preconditions(
            '"0123456789abcdef0123456789abcdef"',
            1_700_000_000.0,
            if_match=lines[2] or None,
            if_none_match=lines[3] or None,
            if_modified_since=lines[4] or None,
            if_unmodified_since=lines[5] or None,
            copy_source=size % 2 == 1,
        )


async def _no_body() -> dict[str, object]:
    return {"type": "http.request", "body": b"", "more_body": False}


def fuzz_headers(data: bytes) -> None:
    """Lines of "name: value": the headers of a PutObject."""
    pairs = _header_pairs(_lines(data))
    request = S3Request("PUT", "/b/k", "", pairs, "b", "k", {}, _no_body)
    try:
        options = headers.write_options(request, 10)
        if options.expected_checksums is not None:
            options.expected_checksums()
    except REFUSALS:
        pass
    for parse in (headers.copy_tags, getattr(headers, "lock_header", None)):
        if parse is not None:
            with contextlib.suppress(REFUSALS):
                parse(request)


def fuzz_names(data: bytes) -> None:
    text = data.decode("utf-8", "surrogateescape")
    problem = names.bucket_name_problem(text)
    assert problem is not None or (3 <= len(text) <= 63 and text.isascii())
    for check in (names.validate_bucket_name, names.validate_key):
        with contextlib.suppress(REFUSALS):
            check(text)
    half = len(text) // 2
    with contextlib.suppress(REFUSALS):
        names.validate_metadata({text[:half]: text[half:]})


_FACTS = ("aws:sourceip", "s3:prefix", "s3:max-keys", "aws:currenttime", "aws:securetransport")


def fuzz_policy(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    try:
        policy = parse_policy(text, "b1")
    except REFUSALS:
        return
    is_public(policy)
    named_tenants(policy)
    facts = {key: text[i::5][:40] for i, key in enumerate(_FACTS)}
    for principal in (Principal("t1", "u1", access_key="AK"), Principal("", "")):
        evaluate(policy, principal, "s3:GetObject", "arn:aws:s3:::b1/public/x", facts)


def fuzz_acl(data: bytes) -> None:
    text = data.decode("utf-8", "replace")
    for parse in (loads, lambda t: canned(t, user("o1"), user("o2"))):
        with contextlib.suppress(REFUSALS):
            parse(text)


TARGETS: dict[str, Callable[[bytes], None]] = {
    "xml": fuzz_xml,
    "acl_xml": fuzz_acl_xml,
    "acl_headers": fuzz_acl_headers,
    "lifecycle": fuzz_lifecycle,
    "cors": fuzz_cors,
    "sigv4": fuzz_sigv4,
    "conditions": fuzz_conditions,
    "headers": fuzz_headers,
    "names": fuzz_names,
    "policy": fuzz_policy,
    "acl": fuzz_acl,
}

_AUTH = (
    "authorization: AWS4-HMAC-SHA256 Credential=AKID/20240101/us-east-1/s3/aws4_request, "
    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=" + "0" * 64
)
_AWKWARD_ASCII = [a for a in AWKWARD if a.isascii()]


def seeds(name: str) -> list[bytes]:
    """Valid inputs to start the corpus of target `name` from."""
    if name == "xml":
        order = ["complete_multipart", "delete_objects", "create_bucket", "versioning", "tagging"]
        return [bytes([i]) + XML_SEEDS[n] for i, n in enumerate(order)]
    if name in ("acl_xml", "lifecycle", "cors"):
        return [XML_SEEDS["acl" if name == "acl_xml" else name]]
    if name == "sigv4":
        head = "GET\n/b/some%20key\nlist-type=2&prefix=a\nhost: 127.0.0.1:9000\n"
        presigned = (
            "GET\n/b/k\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20240101"
            "%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z&X-Amz-Expires=60"
            f"&X-Amz-SignedHeaders=host&X-Amz-Signature={'0' * 64}\nhost: h\n"
        )
        amz_date = "x-amz-date: 20240101T000000Z\nx-amz-content-sha256: UNSIGNED-PAYLOAD\n"
        http_date = f"date: Mon, 01 Jan 2024 00:00:00 GMT\nx-amz-content-sha256: {'e' * 64}\n"
        return [(head + amz_date + _AUTH).encode(), (head + http_date + _AUTH).encode(),
                presigned.encode()]  # fmt: skip
    if name == "conditions":
        return [
            b'bytes=0-9\n100\n"0123456789abcdef0123456789abcdef"\n*\n'
            b"Mon, 01 Jan 2024 00:00:00 GMT\nSun, 06 Nov 1994 08:49:37 GMT",
            b'bytes=-5\n3\nW/"x", "y"\n\nSunday, 06-Nov-94 08:49:37 GMT\nSun Nov  6 08:49:37 1994',
        ]
    if name == "headers":
        return [
            b"content-md5: 1B2M2Y8AsgTpgAhL6jTQVg==\nif-none-match: *\nx-amz-tagging: a=1&b=2\n"
            b"x-amz-checksum-crc32: AAAAAA==\nx-amz-meta-k: v\ncache-control: no-cache\n"
            b"x-amz-object-lock-mode: GOVERNANCE\n"
            b"x-amz-object-lock-retain-until-date: 2030-01-01T00:00:00Z",
            b"x-amz-trailer: x-amz-checksum-crc32c\nx-amz-sdk-checksum-algorithm: CRC32C\n"
            b'if-match: "abc"\ncontent-encoding: aws-chunked,gzip\nx-amz-tagging-directive: COPY',
        ]
    if name == "acl_headers":
        return [
            b"x-amz-acl: public-read",
            b'x-amz-grant-read: id="abc", uri="http://acs.amazonaws.com/groups/global/AllUsers"\n'
            b'x-amz-grant-full-control: emailAddress="a@example.com"',
        ]
    if name == "names":
        return [b"my-bucket.example", b"photos/2024/cat.jpg", "\u00e9t\u00e9".encode()]
    if name == "policy":
        return [POLICY.encode()]
    if name == "acl":
        return [b'{"o":["id","name"],"g":[["CanonicalUser","id","n","READ"]]}', b"public-read"]
    raise KeyError(name)


def main(name: str) -> None:
    """Fuzz target `name` with atheris; libFuzzer flags pass through (-max_total_time=60)."""
    import atheris

    base = Path(os.environ.get("DOLIUM_FUZZ_DIR") or Path(tempfile.gettempdir()) / "dolium-fuzz")
    corpus, artifacts = base / "corpus" / name, base / "artifacts" / name
    corpus.mkdir(parents=True, exist_ok=True)
    artifacts.mkdir(parents=True, exist_ok=True)
    for i, seed in enumerate([*seeds(name), *(a.encode() for a in _AWKWARD_ASCII[:8])]):
        (corpus / f"seed-{i:02d}").write_bytes(seed)
    argv = [sys.argv[0], f"-artifact_prefix={artifacts}/", "-timeout=20", *sys.argv[1:]]
    if not any(not a.startswith("-") for a in sys.argv[1:]):
        argv.append(str(corpus))
    print(f"fuzz {name}: corpus {corpus}, crashes go to {artifacts}", flush=True)
    atheris.Setup(argv, TARGETS[name])
    atheris.Fuzz()
