"""POST policies and the streaming multipart/form-data parser of browser uploads."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dolium.frontends.s3.auth import post_policy
from dolium.frontends.s3.auth.sigv4 import sign, signing_key
from dolium.frontends.s3.errors import S3Error
from dolium.frontends.s3.ops.post_object import Fields
from dolium.frontends.s3.wire import formdata

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
NOW = 1_700_000_000.0


def b64(document: Any) -> str:
    text = document if isinstance(document, str) else json.dumps(document)
    return base64.b64encode(text.encode()).decode()


# ------------------------------------------------------------------ signatures


def test_aws_sigv4_post_example_signature() -> None:
    # The POST policy of AWS's "Browser-Based Upload using HTTP POST" example,
    # byte for byte (CRLF line ends), and the signature the page states.
    policy = (
        '{ "expiration": "2015-12-30T12:00:00.000Z",\r\n'
        '  "conditions": [\r\n'
        '    {"bucket": "sigv4examplebucket"},\r\n'
        '    ["starts-with", "$key", "user/user1/"],\r\n'
        '    {"acl": "public-read"},\r\n'
        '    {"success_action_redirect": '
        '"http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"},\r\n'
        '    ["starts-with", "$Content-Type", "image/"],\r\n'
        '    {"x-amz-meta-uuid": "14365123651274"},\r\n'
        '    {"x-amz-server-side-encryption": "AES256"},\r\n'
        '    ["starts-with", "$x-amz-meta-tag", ""],\r\n'
        "\r\n"
        '    {"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"},\r\n'
        '    {"x-amz-algorithm": "AWS4-HMAC-SHA256"},\r\n'
        '    {"x-amz-date": "20151229T000000Z" }\r\n'
        "  ]\r\n"
        "}"
    )
    encoded = b64(policy)
    assert len(encoded) == 864
    key = signing_key(SECRET, "20151229", "us-east-1")
    assert sign(key, encoded) == "8afdbf4008c03f22c2cd3cdb72e4afbb1f6a588f3255ac628749a66d7f09699e"
    parsed = post_policy.decode(encoded)
    assert parsed.expiration == 1451476800.0  # 2015-12-30T12:00:00Z
    assert [c.field for c in parsed.conditions][:3] == ["$bucket", "$key", "$acl"]
    form = {
        "bucket": "sigv4examplebucket",
        "key": "user/user1/photo.jpg",
        "acl": "public-read",
        "success_action_redirect": (
            "http://sigv4examplebucket.s3.amazonaws.com/successful_upload.html"
        ),
        "content-type": "image/jpeg",
        "x-amz-meta-uuid": "14365123651274",
        "x-amz-server-side-encryption": "AES256",
        "x-amz-meta-tag": "",
        "x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request",
        "x-amz-algorithm": "AWS4-HMAC-SHA256",
        "x-amz-date": "20151229T000000Z",
    }
    names = ["key", "acl", "success_action_redirect", "Content-Type", "x-amz-meta-uuid"]
    names += ["x-amz-server-side-encryption", "X-Amz-Credential", "X-Amz-Algorithm"]
    names += ["X-Amz-Date", "x-amz-meta-tag", "Policy", "X-Amz-Signature"]
    post_policy.check(parsed, form, names, post_policy.EXEMPT_V4, 1451400000.0)


def test_botocore_presigned_post_vector() -> None:
    policy = (
        '{"expiration": "2015-12-29T01:00:00Z", "conditions": [{"bucket": "sigv4examplebucket"}, '
        '{"key": "user/user1/photo.jpg"}, {"x-amz-algorithm": "AWS4-HMAC-SHA256"}, '
        '{"x-amz-credential": "AKIAIOSFODNN7EXAMPLE/20151229/us-east-1/s3/aws4_request"}, '
        '{"x-amz-date": "20151229T000000Z"}]}'
    )
    key = signing_key(SECRET, "20151229", "us-east-1")
    expected = "3364624b39010d9b06f5d9b8c9a18a6e478d261c048159c92f2fd6fa885f14e6"
    assert sign(key, b64(policy)) == expected


# ------------------------------------------------------------------ the document


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ("not base64!", "Invalid Policy: invalid Base64 encoding."),
        (b64("{nope"), "Invalid Policy: Invalid JSON."),
        (b64("[]"), "Invalid Policy: Invalid JSON."),
        (b64({"EXPIRATION": "x", "conditions": []}), "Invalid Policy: Unexpected: 'expiration'"),
        (b64({"Statement": []}), "Invalid Policy: Unexpected: 'statement'"),
        (b64({"conditions": []}), "Invalid Policy: Policy missing expiration."),
        (
            b64({"expiration": "2011-09-13T07:52:58+02:00", "conditions": []}),
            "Invalid Policy: Invalid 'expiration' value: '2011-09-13T07:52:58+02:00'",
        ),
        (
            b64({"expiration": "2015-10-17 03:15:59 UTC", "conditions": []}),
            "Invalid Policy: Invalid 'expiration' value: '2015-10-17 03:15:59 UTC'",
        ),
        (b64({"expiration": "2030-01-01T00:00:00Z"}), "Invalid Policy: Policy missing conditions."),
        (
            b64({"expiration": "2030-01-01T00:00:00Z", "conditions": {}}),
            "Invalid Policy: Invalid 'conditions' value: must be a List.",
        ),
        (
            b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [{}]}),
            "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one "
            "property specified.",
        ),
        (
            b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [{"a": "1", "b": "2"}]}),
            "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly one "
            "property specified.",
        ),
        (
            b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [{"Content-Length": 6}]}),
            "Invalid Policy: Invalid Simple-Condition: value must be a string.",
        ),
        (
            b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [{"a": None}]}),
            "Invalid Policy: Invalid JSON.",
        ),
        (
            b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [[]]}),
            "Invalid Policy: Invalid Condition: missing operation identifier.",
        ),
        (
            b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [["in", "$a", "b"]]}),
            "Invalid Policy: Invalid Condition: unknown operation 'in'.",
        ),
        (
            b64({"expiration": "2030-01-01T00:00:00Z", "conditions": [["eq", "$a"]]}),
            "Invalid Policy: Invalid eq: wrong number of arguments.",
        ),
        (
            b64(
                {"expiration": "2030-01-01T00:00:00Z", "conditions": [["content-length-range", 0]]}
            ),
            "Invalid Policy: Invalid content-length-range: wrong number of arguments.",
        ),
        (
            b64(
                '{"expiration": "2030-01-01T00:00:00Z", '
                '"conditions": [["content-length-range", 0, 512.0]]}'
            ),
            "Invalid Policy: Invalid JSON.",
        ),
        (
            b64({"expiration": "2030-01-01T00:00:00Z", "conditions": ["key"]}),
            "Invalid Policy: Invalid condition test: must be a List or Object.",
        ),
        (
            b64('{"expiration": "2030-01-01T00:00:00Z", "conditions": [],}'),
            "Invalid Policy: Invalid JSON.",
        ),
    ],
)
def test_malformed_documents(policy: str, message: str) -> None:
    with pytest.raises(S3Error) as exc:
        post_policy.decode(policy)
    assert (exc.value.status, exc.value.code, exc.value.message) == (
        400,
        "InvalidPolicyDocument",
        message,
    )


def policy_of(*conditions: Any, expiration: str = "2023-11-14T22:13:20.000Z") -> Any:
    return post_policy.decode(b64({"expiration": expiration, "conditions": list(conditions)}))


def check(policy: Any, form: dict[str, str], names: Sequence[str] | None = None) -> None:
    sent = list(form) if names is None else list(names)
    post_policy.check(policy, form, sent, post_policy.EXEMPT_V4, NOW - 1)


def refusal(policy: Any, form: dict[str, str], names: Sequence[str] | None = None) -> str:
    with pytest.raises(S3Error) as exc:
        check(policy, form, names)
    assert (exc.value.status, exc.value.code) == (403, "AccessDenied")
    return exc.value.message


def test_expiration() -> None:
    policy = policy_of(expiration="2023-11-14T22:13:20Z")  # NOW exactly
    assert policy.expiration == NOW
    post_policy.check(policy, {}, [], post_policy.EXEMPT_V4, NOW)
    with pytest.raises(S3Error) as exc:
        post_policy.check(policy, {}, [], post_policy.EXEMPT_V4, NOW + 0.5)
    assert exc.value.message == "Invalid according to Policy: Policy expired."


def test_exact_and_prefix_matching() -> None:
    policy = policy_of(
        {"bucket": "b"},
        ["eq", "$key", "user/a.txt"],
        ["starts-with", "$x-amz-meta-tag", ""],
        ["StArTs-WiTh", "$CoNtEnT-TyPe", "image/"],
    )
    form = {"bucket": "b", "key": "user/a.txt", "x-amz-meta-tag": "", "content-type": "image/png"}
    names = ["key", "X-Amz-Meta-Tag", "Content-Type", "policy", "x-amz-signature", "file"]
    check(policy, form, names)
    assert refusal(policy, {**form, "key": "user/b.txt"}, names) == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$key", "user/a.txt"]'
    )
    assert refusal(policy, {**form, "bucket": "other"}, names) == (
        'Invalid according to Policy: Policy Condition failed: ["eq", "$bucket", "b"]'
    )
    # Values are case-sensitive; a list of types passes only when each type does.
    assert "CoNtEnT-TyPe" in refusal(policy, {**form, "content-type": "IMAGE/png"}, names)
    check(policy, {**form, "content-type": "image/jpg, image/gif"}, names)
    assert "$CoNtEnT-TyPe" in refusal(policy, {**form, "content-type": "image/jpg,text/plain"})
    # A condition on a field the form lacks fails, even starts-with "".
    absent = {k: v for k, v in form.items() if k != "x-amz-meta-tag"}
    assert '["starts-with", "$x-amz-meta-tag", ""]' in refusal(policy, absent)


def test_commas_matter_only_for_content_type() -> None:
    check(policy_of(["starts-with", "$key", "a/"]), {"key": "a/x,b/y"})


def test_condition_without_dollar_matches_nothing() -> None:
    policy = policy_of(["eq", "key", "k"])
    assert refusal(policy, {"key": "k"}).endswith('["eq", "key", "k"]')


def test_every_field_needs_a_condition() -> None:
    policy = policy_of({"key": "k"})
    names = ["Key", "Policy", "X-Amz-Signature", "file", "x-ignore-submit", "Filename"]
    assert refusal(policy, {"key": "k", "filename": "x"}, names) == (
        "Invalid according to Policy: Extra input fields: Filename"
    )
    check(policy, {"key": "k"}, names[:5])
    # SigV2 forms are exempt from naming their own signature fields.
    post_policy.check(
        policy,
        {"key": "k"},
        ["key", "AWSAccessKeyId", "signature", "policy"],
        post_policy.EXEMPT_V2,
        NOW - 1,
    )


def test_content_length_range() -> None:
    policy = policy_of(["content-length-range", 5, 10], ["content-length-range", "0", "8"])
    check(policy, {})
    assert policy.size_range() == (5, 8)
    assert policy_of().size_range() is None
    bad = policy_of(["content-length-range", "test", "10"])
    assert refusal(bad, {}) == (
        'Invalid according to Policy: Policy Condition failed: ["content-length-range", "test", '
        '"10"]'
    )
    large = post_policy.too_large(12, 10)
    assert (large.code, large.fields) == (
        "EntityTooLarge",
        {"ProposedSize": "12", "MaxSizeAllowed": "10"},
    )
    small = post_policy.too_small(1, 5)
    assert (small.code, small.message) == (
        "EntityTooSmall",
        "Your proposed upload is smaller than the minimum allowed size",
    )


# ------------------------------------------------------------------ the form


def test_header_params() -> None:
    assert formdata.header_params('form-data; name="key"; filename="C:\\dir\\a.txt"') == (
        "form-data",
        {"name": "key", "filename": "C:\\dir\\a.txt"},
    )
    assert formdata.header_params('Form-Data;NAME=file ; filename="a \\"b\\".txt"') == (
        "form-data",
        {"name": "file", "filename": 'a "b".txt'},
    )


def test_boundary_of() -> None:
    assert formdata.boundary_of('multipart/form-data; boundary="a b"') == b"a b"
    assert formdata.boundary_of("Multipart/Form-Data;boundary=xyz") == b"xyz"
    with pytest.raises(S3Error) as exc:
        formdata.boundary_of("application/x-www-form-urlencoded")
    assert (exc.value.status, exc.value.code) == (412, "PreconditionFailed")
    for bad in ("multipart/form-data", "multipart/form-data; boundary=" + "x" * 71):
        with pytest.raises(S3Error) as exc:
            formdata.boundary_of(bad)
        assert exc.value.code == "MalformedPOSTRequest"


def body(parts: list[tuple[str, bytes, str | None]], boundary: bytes = b"XyZ") -> bytes:
    out = b""
    for name, value, filename in parts:
        disposition = f'form-data; name="{name}"'
        if filename is not None:
            disposition += f'; filename="{filename}"'
        out += b"--" + boundary + f"\r\nContent-Disposition: {disposition}\r\n\r\n".encode()
        out += value + b"\r\n"
    return out + b"--" + boundary + b"--\r\n"


async def chunked(data: bytes, sizes: Sequence[int]) -> AsyncIterator[bytes]:
    at, index = 0, 0
    while at < len(data):
        size = max(1, sizes[index % len(sizes)]) if sizes else len(data)
        yield data[at : at + size]
        at += size
        index += 1


async def parse(
    data: bytes, sizes: Sequence[int] = (), boundary: bytes = b"XyZ", limit: int = 20480
) -> tuple[list[tuple[str, bytes]], str | None, bytes | None]:
    form = await formdata.read_form(chunked(data, sizes), boundary, limit)
    if form.file is None:
        return form.fields, None, None
    content = b"".join([chunk async for chunk in form.file.chunks])
    return form.fields, form.file.filename, content


def run(data: bytes, **kwargs: Any) -> tuple[list[tuple[str, bytes]], str | None, bytes | None]:
    return asyncio.run(parse(data, **kwargs))


def test_form_fields_then_file_then_ignored() -> None:
    data = body(
        [
            ("key", b"uploads/${filename}", None),
            ("Policy", b"abc", None),
            ("File", b"line\r\n--Xy\r\n-XyZ\n--XyZ\r--XyZ end", "photo.jpg"),
            ("submit", b"Upload", None),
        ]
    )
    fields, filename, content = run(data)
    assert fields == [("key", b"uploads/${filename}"), ("Policy", b"abc")]
    assert filename == "photo.jpg"
    assert content == b"line\r\n--Xy\r\n-XyZ\n--XyZ\r--XyZ end"
    for size in (1, 2, 3, 7, 64):
        assert run(data, sizes=[size]) == (fields, filename, content)


def test_preamble_padding_and_empty_headers() -> None:
    data = b"preamble\r\n--XyZ  \r\n\r\nno headers\r\n" + body([("file", b"x", None)])
    with pytest.raises(S3Error) as exc:
        run(data)  # a part without a name is not form data
    assert exc.value.code == "MalformedPOSTRequest"
    data = b"preamble\r\n" + body([("a", b"1", None), ("file", b"", None)])
    assert run(data) == ([("a", b"1")], None, b"")


def test_form_without_file() -> None:
    assert run(body([("key", b"k", None)])) == ([("key", b"k")], None, None)


def test_fields_over_the_limit() -> None:
    data = body([("pad", b"x" * 30, None), ("file", b"data", None)])
    with pytest.raises(S3Error) as exc:
        run(data, limit=40)
    assert (exc.value.code, exc.value.fields) == (
        "MaxPostPreDataLengthExceeded",
        {"MaxPostPreDataLengthBytes": "40"},
    )
    # The file does not count.
    data = body([("file", b"y" * 100, None)])
    assert run(data, limit=60)[2] == b"y" * 100


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"--XyZ",
        b'--XyZ\r\nContent-Disposition: form-data; name="key"\r\n\r\nvalue',
        b'--XyZ\r\nContent-Disposition: form-data; name="file"\r\n\r\npartial file',
        b"--XyZjunk\r\n\r\n",
        b"--XyZ\r\nno colon here\r\n\r\nx\r\n--XyZ--",
    ],
)
def test_malformed_bodies(data: bytes) -> None:
    with pytest.raises(S3Error) as exc:
        run(data)
    assert (exc.value.status, exc.value.code) == (400, "MalformedPOSTRequest")


def test_file_stream_is_bounded() -> None:
    content = bytes(range(256)) * 400
    data = body([("file", content, "f")])

    async def largest() -> int:
        form = await formdata.read_form(chunked(data, [1000]), b"XyZ", 20480)
        assert form.file is not None
        return max([len(chunk) async for chunk in form.file.chunks])

    # Never more than a received chunk plus what a delimiter could straddle.
    assert asyncio.run(largest()) <= 1000 + len(b"\r\n--XyZ")


def test_fields_expand_filename() -> None:
    form = formdata.Form(
        [("key", b"u/${filename}"), ("Policy", b"${filename}"), ("x-amz-meta-a", b"1")],
        formdata.FilePart("C:\\docs\\r.pdf", None, 0, chunked(b"", [])),
    )
    fields = Fields.of(form)
    assert fields.get("key") == "u/r.pdf"
    assert fields.get("policy") == "${filename}"  # signed text stays as sent
    assert fields.names == ["key", "Policy", "x-amz-meta-a"]
    # A file part without a filename leaves the variable as it is.
    form.file = formdata.FilePart(None, None, 0, chunked(b"", []))
    assert Fields.of(form).get("key") == "u/${filename}"
    repeated = Fields.of(formdata.Form([("tag", b"a"), ("TAG", b"b")], None))
    assert repeated.get("tag") == "a,b"


# ------------------------------------------------------------------ fuzzing


async def drain(data: bytes, sizes: Sequence[int], boundary: bytes, limit: int) -> None:
    form = await formdata.read_form(chunked(data, sizes), boundary, limit)
    if form.file is not None:
        async for _ in form.file.chunks:
            pass


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=400),
    sizes=st.lists(st.integers(1, 50), max_size=5),
    boundary=st.sampled_from([b"XyZ", b"-", b"a b", b"--"]),
    limit=st.integers(0, 200),
)
def test_any_bytes_parse_or_raise_s3_error(
    data: bytes, sizes: list[int], boundary: bytes, limit: int
) -> None:
    try:
        asyncio.run(drain(data, sizes, boundary, limit))
    except S3Error as exc:
        assert exc.code in ("MalformedPOSTRequest", "MaxPostPreDataLengthExceeded")


@settings(max_examples=300, deadline=None)
@given(
    cut=st.integers(0, 200),
    flips=st.lists(st.tuples(st.integers(0, 199), st.integers(0, 255)), max_size=4),
    sizes=st.lists(st.integers(1, 30), max_size=4),
    limit=st.integers(20, 300),
)
def test_damaged_forms_parse_or_raise_s3_error(
    cut: int, flips: list[tuple[int, int]], sizes: list[int], limit: int
) -> None:
    valid = body([("key", b"k/${filename}", None), ("policy", b"e30=", "p"), ("file", b"abc", "f")])
    damaged = bytearray(valid[: max(cut, 0)] if cut < len(valid) else valid)
    for at, value in flips:
        if at < len(damaged):
            damaged[at] = value
    try:
        asyncio.run(drain(bytes(damaged), sizes, b"XyZ", limit))
    except S3Error as exc:
        assert exc.code in ("MalformedPOSTRequest", "MaxPostPreDataLengthExceeded")


_FIELD_NAME = st.text(
    st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters='"\\')
)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.lists(
        st.tuples(_FIELD_NAME.filter(lambda n: n.lower() != "file" and n), st.binary()), max_size=5
    ),
    content=st.binary(max_size=300),
    sizes=st.lists(st.integers(1, 40), max_size=4),
)
def test_valid_forms_round_trip(
    fields: list[tuple[str, bytes]], content: bytes, sizes: list[int]
) -> None:
    boundary = b"----8a3f0c9e1b7d"
    parts: list[tuple[str, bytes, str | None]] = [(n, v, None) for n, v in fields]
    data = body([*parts, ("file", content, "f.bin")], boundary)
    if any(boundary in v for _, v in fields) or boundary in content:
        return  # a value that holds the delimiter is not a valid form
    assert run(data, sizes=sizes, boundary=boundary) == (fields, "f.bin", content)


@settings(max_examples=200, deadline=None)
@given(st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=12), children, max_size=3),
    max_leaves=12,
))  # fmt: skip
def test_any_json_decodes_or_raises_invalid_policy(document: Any) -> None:
    for candidate in (document, {"expiration": "2030-01-01T00:00:00Z", "conditions": document}):
        try:
            policy = post_policy.decode(b64(candidate))
        except S3Error as exc:
            assert exc.code == "InvalidPolicyDocument"
            continue
        try:
            check(policy, {"key": "k"}, ["key"])
        except S3Error as exc:
            assert exc.status == 403
