"""A request's policy facts: the signature facts alone do not gather the rest."""

from __future__ import annotations

import pytest

from dolium.frontends.s3.auth.facts import request_facts
from dolium.frontends.s3.auth.sigv4 import SigningInfo
from dolium.frontends.s3.wire.http import S3Request
from dolium.model import Principal

ALICE = Principal("acme", "alice", "AKIDEXAMPLE")
SIGNED = SigningInfo("AKIDEXAMPLE", "scope", "20261208T000000Z", "UNSIGNED-PAYLOAD", b"k", "s")


async def _nothing() -> dict[str, object]:
    return {}


def _request(query: dict[str, str], headers: list[tuple[str, str]], signed: bool) -> S3Request:
    return S3Request(
        "PUT", "/b/k", "", [("user-agent", "test"), *headers], "b", "k", query, _nothing,
        signing=SIGNED if signed else None, client="192.0.2.7",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("query", "headers", "version", "auth"),
    [
        ({"X-Amz-Signature": "s"}, [], "AWS4-HMAC-SHA256", "REST-QUERY-STRING"),
        ({}, [("authorization", "AWS4-HMAC-SHA256 Credential=...")], "AWS4-HMAC-SHA256",
         "REST-HEADER"),
        ({"AWSAccessKeyId": "AK", "Signature": "s"}, [], "AWS", "REST-QUERY-STRING"),
        ({}, [("authorization", "AWS AK:sig")], "AWS", "REST-HEADER"),
    ],
)  # fmt: skip
def test_the_signature_facts_alone_match_the_gathered_ones(
    query: dict[str, str], headers: list[tuple[str, str]], version: str, auth: str
) -> None:
    alone = request_facts(_request(query, headers, signed=True), ALICE)
    assert (alone["s3:signatureversion"], alone.get("s3:authtype")) == (version, auth)
    assert alone._facts is None  # type: ignore[attr-defined]  # the rest not gathered
    gathered = request_facts(_request(query, headers, signed=True), ALICE)
    assert dict(gathered)["s3:signatureversion"] == version
    assert gathered["aws:useragent"] == "test" and gathered["s3:authtype"] == auth


def test_an_unsigned_request_has_no_signature_facts() -> None:
    facts = request_facts(_request({}, [], signed=False), ALICE)
    assert facts.get("s3:signatureversion") is None
    with pytest.raises(KeyError):
        facts["s3:authtype"]
    assert "s3:signatureversion" not in dict(facts)
