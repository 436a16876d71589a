"""Property fuzzing of the parsers that read client input.

Each parser may refuse what it is given, but only with the errors the front
end turns into a 4xx answer (S3Error, or a DoliumError the S3 error table
maps); any other exception would be a 500. Inputs are arbitrary bytes and
text, and valid documents mutated element by element.
"""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from seeds import AWKWARD, POLICY, XML_SEEDS

from dolium.core import names
from dolium.core.access.acl import CANNED, GRANTEE_KINDS, canned, loads, user
from dolium.core.access.policy import Decision, evaluate, is_public, named_tenants, parse_policy
from dolium.core.buckets import lifecycle as core_lifecycle
from dolium.core.objects.conditions import (
    check_preconditions,
    etag_matches,
    parse_http_date,
    parse_range,
)
from dolium.errors import DoliumError
from dolium.frontends.s3.auth import sigv4
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.cors import parse_cors, render_cors
from dolium.frontends.s3.ops.lifecycle import parse_lifecycle, render_lifecycle
from dolium.frontends.s3.rules import objects as rules
from dolium.frontends.s3.rules.cors import check_cors
from dolium.frontends.s3.rules.lifecycle import check_lifecycle
from dolium.frontends.s3.rules.tagging import validate_tags
from dolium.frontends.s3.wire import acl_xml, headers, xml
from dolium.frontends.s3.wire.http import S3Request
from dolium.model import AccessKey, Principal

REFUSALS = (S3Error, DoliumError)
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def refused(call: Callable[[], Any]) -> Any:
    """What `call` returns, or None if it refused with a 4xx-mapped error."""
    try:
        return call()
    except REFUSALS:
        return None


# --------------------------------------------------------------------------- strategies

awkward = st.sampled_from(AWKWARD)
text = st.one_of(awkward, st.text(max_size=40))
# Header values, paths and queries arrive as the latin-1 decoding of wire bytes.
wire = st.one_of(awkward.filter(lambda s: s.isascii()), st.binary(max_size=60)).map(
    lambda v: v.decode("latin-1") if isinstance(v, bytes) else v
)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


@st.composite
def mutated_xml(draw: st.DrawFn, seed: bytes) -> bytes:
    """`seed` with values replaced, and elements dropped, repeated, renamed or added."""
    root = ET.fromstring(seed)
    vocabulary = sorted({_local(e.tag) for e in root.iter()})
    # Values first: each leaf may get an awkward text (numbers, dates, names).
    for leaf in [e for e in root.iter() if len(e) == 0]:
        if draw(st.integers(0, 4)) == 0:
            leaf.text = draw(text)
    for _ in range(draw(st.integers(0, 3))):
        parents = {child: parent for parent in root.iter() for child in parent}
        node = draw(st.sampled_from(list(root.iter())))
        op = draw(st.sampled_from(["drop", "dup", "rename", "add", "attr"]))
        namespace = node.tag[: -len(_local(node.tag))]
        if op == "drop" and node in parents:
            parents[node].remove(node)
        elif op == "dup" and node in parents:
            parents[node].append(node)
        elif op == "rename":
            other = st.from_regex(r"[A-Za-z]{1,8}", fullmatch=True)
            node.tag = namespace + draw(st.sampled_from(vocabulary) | other)
        elif op == "add":
            child = ET.SubElement(node, namespace + draw(st.sampled_from(vocabulary)))
            child.text = draw(text)
        elif op == "attr":
            kind = draw(st.one_of(st.sampled_from(sorted(GRANTEE_KINDS)), text))
            node.set(f"{{{xml.XSI_XMLNS}}}type", kind)
    out = ET.tostring(root)
    if draw(st.integers(0, 3)) == 0:  # now and then, damage the bytes too
        cut = draw(st.integers(0, len(out)))
        out = out[:cut] + draw(st.binary(max_size=8)) + out[cut:]
    return out


def _tagging(body: bytes) -> None:
    validate_tags(xml.parse_tagging(body), 50)


def _checked_lifecycle(body: bytes) -> list[core_lifecycle.Rule]:
    """The rules of `body` if a put would store them: S3's checks, then the core's refusal."""
    rules = parse_lifecycle(body)
    check_lifecycle(rules)
    core_lifecycle.refuse_unsupported(rules)
    return rules


def _lifecycle(body: bytes) -> None:
    rules = _checked_lifecycle(body)
    # What validated must render and read back as the same rules.
    assert _checked_lifecycle(render_lifecycle(rules)) == rules


def _cors(body: bytes) -> None:
    rules = tuple(parse_cors(body))
    check_cors(rules)
    assert tuple(parse_cors(render_cors(rules))) == rules


def _acl(body: bytes) -> None:
    acl = acl_xml.parse_acl(body)
    again = acl_xml.parse_acl(acl_xml.render_acl(acl))
    assert again.grants == acl.grants
    assert again.owner_id == acl.owner_id


XML_PARSERS: dict[str, Callable[[bytes], object]] = {
    "complete_multipart": xml.parse_complete_multipart,
    "delete_objects": xml.parse_delete_objects,
    "create_bucket": xml.parse_create_bucket,
    "versioning": xml.parse_versioning,
    "tagging": _tagging,
    "acl": _acl,
    "lifecycle": _lifecycle,
    "cors": _cors,
}


def test_every_seed_parses() -> None:
    """The seeds are valid: mutations start from documents the parsers accept."""
    for name, parse in XML_PARSERS.items():
        if name != "lifecycle":  # its transitions are NotImplemented (501) by design
            parse(XML_SEEDS[name])
    assert len(parse_lifecycle(XML_SEEDS["lifecycle"])) == 4
    parse_policy(POLICY, "b1")


# --------------------------------------------------------------------------- XML


@pytest.mark.parametrize("name", sorted(XML_PARSERS))
@FAST
@given(data=st.data())
def test_xml_parsers_refuse_mutated_documents_cleanly(name: str, data: st.DataObject) -> None:
    body = data.draw(mutated_xml(XML_SEEDS[name]))
    refused(lambda: XML_PARSERS[name](body))


@pytest.mark.parametrize("name", sorted(XML_PARSERS))
@QUICK
@given(body=st.one_of(st.binary(max_size=200), text.map(lambda s: s.encode("utf-8", "replace"))))
def test_xml_parsers_refuse_arbitrary_bytes_cleanly(name: str, body: bytes) -> None:
    refused(lambda: XML_PARSERS[name](body))


@QUICK
@given(inner=st.binary(max_size=100), root=st.sampled_from(sorted(XML_SEEDS)))
def test_xml_parsers_refuse_garbage_inside_the_right_root(inner: bytes, root: str) -> None:
    tag = ET.fromstring(XML_SEEDS[root]).tag.rsplit("}", 1)[-1]
    body = f"<{tag}>".encode() + inner + f"</{tag}>".encode()
    refused(lambda: XML_PARSERS[root](body))


# --------------------------------------------------------------------------- SigV4

DATE = "20240101"
AMZ_DATE = DATE + "T000000Z"
HEADER_NAMES = st.sampled_from(
    ["host", "x-amz-date", "date", "x-amz-content-sha256", "x-amz-security-token",
     "x-amz-meta-a", "content-type", "authorization", "x-amz-copy-source"]
)  # fmt: skip


# Date headers at the edges of what the date types hold.
HTTP_DATES = st.sampled_from(
    ["Mon, 01 Jan 2024 00:00:00 GMT", "Fri, 31 Dec 9999 23:59:59 -0100", "Mon, 01 Jan 2024",
     "Sat, 01 Jan 0000 00:00:00 +0000", "Mon, 01 Jan 1 00:00:00 +2359", "Mon, 01 Jan 2024 24:60:61",
     "Thu, 01 Jan 1970 00:00:00 +9999", "Mon, 01 Jan 99999 00:00:00 GMT"]
)  # fmt: skip


def _either(draw: st.DrawFn, good: str) -> str:
    """Mostly `good`, so that a request gets past the first checks; now and then garbage."""
    return good if draw(st.integers(0, 5)) else draw(wire)


@st.composite
def sigv4_request(draw: st.DrawFn) -> tuple[str, str | bytes, str | bytes, list[tuple[str, str]]]:
    """A request that is a valid SigV4 request in some parts and garbage in others."""
    method = draw(st.sampled_from(["GET", "PUT", "post", ""]) | wire)
    path: str | bytes = draw(st.one_of(wire, st.binary(max_size=40)))
    credential = "/".join(
        _either(draw, good) for good in ("AKID", DATE, "us-east-1", "s3", "aws4_request")
    )
    signed = _either(draw, "host;x-amz-content-sha256;x-amz-date")
    signature = _either(draw, "0" * 64)
    payload = _either(draw, draw(st.sampled_from(sorted(sigv4.PAYLOAD_MODES)) | st.just("e" * 64)))
    hdrs = [("host", _either(draw, "127.0.0.1:9000"))]
    if draw(st.booleans()):
        hdrs.append(("x-amz-date", _either(draw, AMZ_DATE)))
    else:
        hdrs.append(("date", _either(draw, draw(HTTP_DATES))))
    hdrs.append(("x-amz-content-sha256", payload))
    hdrs += draw(st.lists(st.tuples(HEADER_NAMES, wire), max_size=3))
    query = draw(st.one_of(wire, st.binary(max_size=40)))
    if draw(st.booleans()):
        auth = f"{_either(draw, sigv4.ALGORITHM)} Credential={credential}, "
        auth += f"SignedHeaders={signed}, Signature={signature}"
        hdrs.append(("authorization", auth))
    else:
        params = {
            "X-Amz-Algorithm": _either(draw, sigv4.ALGORITHM),
            "X-Amz-Credential": credential,
            "X-Amz-Date": _either(draw, AMZ_DATE),
            "X-Amz-Expires": _either(draw, "3600"),
            "X-Amz-SignedHeaders": signed,
            "X-Amz-Signature": signature,
        }
        pieces = [f"{quote(k)}={quote(v.encode('latin-1'))}" for k, v in params.items()]
        query = "&".join([*pieces, query if isinstance(query, str) else query.decode("latin-1")])
    return method, path, query, hdrs


class OneKey:
    async def lookup(self, access_key: str) -> tuple[AccessKey, Principal] | None:
        if access_key != "AKID":
            return None
        return AccessKey("AKID", "secret", "t1", "u1"), Principal("t1", "u1", access_key="AKID")


@settings(max_examples=300, deadline=None)
@given(request=sigv4_request(), now=st.floats(0, 4e11, allow_nan=False))
def test_sigv4_parse_and_verify_refuse_cleanly(
    request: tuple[str, str | bytes, str | bytes, list[tuple[str, str]]], now: float
) -> None:
    ctx = refused(lambda: sigv4.parse_request_auth(*request))
    if ctx is None:
        return
    assert isinstance(ctx.canonical_request, bytes)
    refused(lambda: asyncio.run(sigv4.verify(ctx, OneKey(), None, now)))


@FAST
@given(path=st.one_of(wire, st.binary(max_size=80)), query=st.one_of(wire, st.binary(max_size=80)))
def test_sigv4_canonical_forms_never_raise(path: str | bytes, query: str | bytes) -> None:
    uri = sigv4.canonical_uri(path)
    assert uri.isascii()
    canonical = sigv4.canonical_query(sigv4.query_pairs(query), presigned=True)
    assert canonical.isascii()


# --------------------------------------------------------------------------- headers


async def _no_body() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


OBJECT_HEADERS = st.sampled_from(
    ["content-md5", "if-match", "if-none-match", "x-amz-checksum-crc32", "x-amz-checksum-sha256",
     "x-amz-checksum-crc64nvme", "x-amz-trailer", "x-amz-checksum-algorithm",
     "x-amz-sdk-checksum-algorithm", "x-amz-tagging", "x-amz-tagging-directive",
     "content-encoding", "cache-control", "expires", "x-amz-meta-k", "content-type",
     "x-amz-object-lock-mode", "x-amz-object-lock-retain-until-date",
     "x-amz-object-lock-legal-hold", "x-amz-acl", "x-amz-grant-read", "x-amz-grant-full-control"]
)  # fmt: skip


@FAST
@given(pairs=st.lists(st.tuples(OBJECT_HEADERS, wire), max_size=5))
def test_object_header_parsers_refuse_cleanly(pairs: list[tuple[str, str]]) -> None:
    request = S3Request("PUT", "/b/k", "", pairs, "b", "k", {}, _no_body)
    options = refused(lambda: headers.write_options(request, 10))
    if options is not None and options.expected_checksums is not None:
        refused(options.expected_checksums)
    refused(lambda: headers.copy_tags(request))
    lock_header = getattr(headers, "lock_header", None)
    if lock_header is not None:
        refused(lambda: lock_header(request))
    refused(lambda: headers.apply_overrides([], {"response-expires": pairs[0][1]} if pairs else {}))


@FAST
@given(value=wire)
def test_tagging_header_refuses_cleanly(value: str) -> None:
    refused(lambda: headers.parse_tagging_header(value))


@FAST
@given(pairs=st.dictionaries(st.sampled_from([*sorted(acl_xml.GRANT_HEADERS), "x-amz-acl"]), wire))
def test_acl_headers_refuse_cleanly(pairs: dict[str, str]) -> None:
    owner, bucket_owner = user("o1"), user("o2")
    refused(lambda: acl_xml.acl_from_headers(pairs, owner, bucket_owner, lambda _e: None))
    refused(lambda: acl_xml.acl_from_headers(pairs, owner, None, None))


# --------------------------------------------------------------------------- ranges, conditions


@FAST
@given(header=st.one_of(wire, st.from_regex(r"bytes=[0-9]{0,25}-[0-9]{0,25}", fullmatch=True)),
       size=st.integers(0, 2**63))  # fmt: skip
def test_range_is_inside_the_object_or_refused(header: str, size: int) -> None:
    found = refused(lambda: parse_range(header, size))
    if found is not None:
        assert 0 <= found.start <= found.end < size


@FAST
@given(
    etag=st.one_of(st.just('"0123456789abcdef0123456789abcdef"'), wire),
    modified=st.floats(0, 2**40, allow_nan=False),
    values=st.lists(st.one_of(st.none(), wire), min_size=4, max_size=4),
    copy_source=st.booleans(),
)
def test_conditions_refuse_cleanly(
    etag: str, modified: float, values: list[str | None], copy_source: bool
) -> None:
    if_match, if_none_match, since, unmodified = values
    refused(
        lambda: check_preconditions(
            etag, modified, if_match=if_match, if_none_match=if_none_match,
            if_modified_since=since, if_unmodified_since=unmodified, copy_source=copy_source,
        )
    )  # fmt: skip
    assert isinstance(etag_matches(if_match or "", etag), bool)
    date = parse_http_date(since)
    assert date is None or isinstance(date, int)


# --------------------------------------------------------------------------- names


@FAST
@given(name=st.one_of(text, st.from_regex(r"[a-z0-9.-]{1,70}", fullmatch=True)))
def test_bucket_names(name: str) -> None:
    problem = names.bucket_name_problem(name)
    if problem is None:
        assert 3 <= len(name) <= 63 and name.isascii()
        names.validate_bucket_name(name)
    else:
        with pytest.raises(DoliumError):
            names.validate_bucket_name(name)


@FAST
@given(
    key=st.text(st.characters(), max_size=600) | awkward,
    meta=st.dictionaries(st.text(st.characters(), max_size=20), st.text(st.characters())),
)
def test_key_and_metadata_validators_refuse_cleanly(key: str, meta: dict[str, str]) -> None:
    refused(lambda: names.validate_key(key))
    refused(lambda: rules.validate_metadata(meta))


# --------------------------------------------------------------------------- policy and ACL

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), text),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)


@st.composite
def mutated_policy(draw: st.DrawFn) -> str:
    """The seed policy with one value somewhere replaced by another JSON value."""
    doc = json.loads(POLICY)
    for _ in range(draw(st.integers(1, 3))):
        node: Any = doc
        while True:
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            if not keys:
                break
            key = draw(st.sampled_from(keys))
            child = node[key]
            if isinstance(child, dict | list) and child and draw(st.booleans()):
                node = child
                continue
            node[key] = draw(json_values | awkward)
            break
    return json.dumps(doc)


FACT_KEYS = st.sampled_from(
    ["aws:sourceip", "s3:prefix", "s3:max-keys", "aws:currenttime", "aws:securetransport",
     "aws:sourcearn", "s3:x-amz-acl"]
)  # fmt: skip


@FAST
@given(
    doc=st.one_of(mutated_policy(), text, json_values.map(json.dumps)),
    facts=st.dictionaries(FACT_KEYS, text),
)
def test_policy_parser_refuses_cleanly_and_what_it_takes_evaluates(
    doc: str, facts: dict[str, str]
) -> None:
    policy = refused(lambda: parse_policy(doc, "b1"))
    if policy is None:
        return
    assert isinstance(is_public(policy), bool)
    named_tenants(policy)
    for principal in (Principal("t1", "u1", access_key="AK"), Principal("", "")):
        for resource in ("arn:aws:s3:::b1", "arn:aws:s3:::b1/public/x"):
            decision = evaluate(policy, principal, "s3:GetObject", resource, facts)
            assert isinstance(decision, Decision)


@QUICK
@given(
    stored=st.one_of(text, json_values.map(json.dumps)),
    name=st.one_of(text, st.sampled_from(sorted(CANNED))),
)
def test_acl_storage_and_canned_names_refuse_cleanly(stored: str, name: str) -> None:
    refused(lambda: loads(stored))
    refused(lambda: canned(name, user("o1"), user("o2")))


# --------------------------------------------------------------------------- found by fuzzing


@pytest.mark.parametrize("value", [b"--5", b"9" * 5000, b"-" + b"9" * 5000])
def test_cors_max_age_that_is_no_number_is_malformed(value: bytes) -> None:
    with pytest.raises(S3Error) as caught:
        parse_cors(XML_SEEDS["cors"].replace(b"3000", value))
    assert caught.value.code == "MalformedXML"


def test_sigv4_date_past_year_9999_in_utc_is_no_date() -> None:
    auth = (
        f"{sigv4.ALGORITHM} Credential=AKID/{DATE}/us-east-1/s3/aws4_request, "
        f"SignedHeaders=host;date, Signature={'0' * 64}"
    )
    hdrs = [
        ("host", "127.0.0.1"),
        ("date", "Fri, 31 Dec 9999 23:59:59 -0100"),
        ("x-amz-content-sha256", sigv4.UNSIGNED_PAYLOAD),
        ("authorization", auth),
    ]
    with pytest.raises(S3Error) as caught:
        sigv4.parse_request_auth("GET", "/b/k", "", hdrs)
    assert caught.value.code == "AccessDenied"
