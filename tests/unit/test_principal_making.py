"""Principal.making is dataclasses.replace of the request's fields, written out."""

from __future__ import annotations

from dataclasses import fields, replace
from types import MappingProxyType
from typing import Any

from dolium.model import Principal

# A value other than the default for every field: a field added to Principal
# and not to this table fails the test until `making` is looked at again.
SET: dict[str, Any] = {
    "tenant": "acme",
    "user": "alice",
    "access_key": "AKIDEXAMPLE",
    "admin": True,
    "canonical_id": "c0ffee",
    "display_name": "Alice",
    "facts": MappingProxyType({"aws:sourceip": "10.0.0.1"}),
    "groups": frozenset({"acme:ops"}),
    "policies": ('{"Version": "2012-10-17"}',),
    "address": "10.0.0.2",
    "request_id": "R1",
}


def test_making_keeps_every_other_field() -> None:
    principal = Principal(**{f.name: SET[f.name] for f in fields(Principal)})
    facts = MappingProxyType({"s3:prefix": "logs/"})
    made = principal.making(facts, "192.0.2.7", "R2")
    assert made == replace(principal, facts=facts, address="192.0.2.7", request_id="R2")
    assert made.facts is facts
