"""The JSON under bucket policies: S3's strict reading of the text, and its errors.

Every fault in a policy is a `MalformedPolicy` carrying the message S3
answers; the messages are here, together, so they stay word for word.
"""

from __future__ import annotations

import json

from dolium import errors

__all__ = [
    "MalformedPolicy",
    "dumps",
    "duplicate",
    "load",
    "normalized_size",
    "string_list",
]

MAX_POLICY_BYTES = 20 * 1024  # of the document without insignificant whitespace

# S3's messages, word for word.
FIRST_BYTE = "Policies must be valid JSON and the first byte must be '{'"
INVALID_JSON = "This policy contains invalid Json"
TOO_LARGE = "Normalized policy document exceeds the maximum allowed size of 20480 bytes"
NO_STATEMENT = "Missing required field Statement"
EMPTY_STATEMENT = "Could not parse the policy: Statement is empty!"
BAD_VERSION = "The policy must contain a valid version string"
SYNTAX = "Invalid policy syntax."
BAD_RESOURCE = "Policy has invalid resource"
BAD_ACTION = "Policy has invalid action"
BAD_PRINCIPAL = "Invalid principal in policy"
NOT_APPLICABLE = "Action does not apply to any resource(s) in statement"
BAD_CONDITION_KEY = "Policy has an invalid condition key"
BAD_IP = "Invalid IP address in Conditions"


class MalformedPolicy(errors.InvalidRequest):
    """A bucket policy S3 would refuse; the message is S3's."""


def duplicate(name: str) -> MalformedPolicy:
    """S3's answer to an element given twice (or with its Not form)."""
    return MalformedPolicy(f"Statement/policy already has instance of {name}")


class _Number(str):
    """A JSON number, kept as its text (condition values are strings)."""

    __slots__ = ()


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


def _unique_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    doc: dict[str, object] = {}
    for name, value in pairs:
        if name in doc:
            # "Individual elements must not contain multiple instances of the same key."
            raise duplicate(name)
        doc[name] = value
    return doc


def load(text: str) -> object:
    """The document, with numbers as their text and no repeated key in an object."""
    try:
        return json.loads(
            text,
            object_pairs_hook=_unique_object,
            parse_int=_Number,
            parse_float=_Number,
            parse_constant=_no_constant,
        )
    except MalformedPolicy:
        raise
    except (ValueError, RecursionError) as exc:
        raise MalformedPolicy(INVALID_JSON) from exc


def dumps(doc: object) -> str:
    try:
        return json.dumps(doc, separators=(",", ":"), ensure_ascii=False)
    except RecursionError as exc:  # nested deeper than this stack allows
        raise MalformedPolicy(INVALID_JSON) from exc


def normalized_size(doc: object) -> int:
    return len(dumps(doc).encode("utf-8", "surrogatepass"))


def string_list(raw: object, message: str = SYNTAX) -> list[str]:
    """A string or a list of strings, as a list; anything else is `message`."""
    if isinstance(raw, list):
        items = raw
    elif raw is not None:
        items = [raw]
    else:
        raise MalformedPolicy(message)
    if not all(type(i) is str for i in items):
        raise MalformedPolicy(message)
    return [str(i) for i in items]
