"""POST policies: the signed JSON document that authorizes a browser upload.

`decode` reads the base64 policy into a `PostPolicy` (400
InvalidPolicyDocument when it is not one); `check` tests a form against it
as S3 does: expiration, then each condition in order, then that every
field is named by a condition; `check_size` tests the file's size against
`content-length-range` once it is known. Failures are 403 AccessDenied
with S3's "Invalid according to Policy: ..." messages.

The signature over the policy is not checked here (see `post_object`): it
covers the base64 text as received, so it comes first. Pure functions: no
I/O and no clock of its own.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import re
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from dolium.frontends.s3.errors import S3Error

EQ = "eq"
STARTS_WITH = "starts-with"
LENGTH_RANGE = "content-length-range"
_OPERATIONS = (EQ, STARTS_WITH, LENGTH_RANGE)
_EXPIRATION = re.compile(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(\.\d{1,9})?Z")
_INTEGER = re.compile(r"-?\d{1,18}")
# Fields no condition needs to name: the signature and what it signs, the
# file, and the ones a form marks to be ignored.
EXEMPT_V4 = frozenset({"x-amz-signature", "file", "policy"})
EXEMPT_V2 = frozenset({"awsaccesskeyid", "signature", "file", "policy"})
IGNORED_PREFIX = "x-ignore-"


def invalid(detail: str) -> S3Error:
    return S3Error(400, "InvalidPolicyDocument", f"Invalid Policy: {detail}")


def denied(detail: str) -> S3Error:
    return S3Error(403, "AccessDenied", f"Invalid according to Policy: {detail}")


@dataclass(frozen=True)
class Condition:
    operation: str  # eq, starts-with or content-length-range
    field: str  # lower-cased, with its `$` (simple conditions get one); "" for a range
    value: str  # the operand of eq and starts-with
    low: int | None  # content-length-range bounds; None when not an integer
    high: int | None
    text: str  # as S3 prints it in "Policy Condition failed: ..."


@dataclass(frozen=True)
class PostPolicy:
    expiration: float  # POSIX time after which the policy is void
    conditions: tuple[Condition, ...]

    def size_range(self) -> tuple[int, int] | None:
        """The allowed file sizes, every content-length-range at once; None: any."""
        ranges = [(c.low, c.high) for c in self.conditions if c.operation == LENGTH_RANGE]
        bounds = [(low, high) for low, high in ranges if low is not None and high is not None]
        if not bounds:
            return None
        return max(low for low, _ in bounds), min(high for _, high in bounds)


def _no_constants(name: str) -> Any:
    raise ValueError(name)  # NaN and Infinity are not JSON


def decode(policy: str) -> PostPolicy:
    """The policy a form's base64 `policy` field carries."""
    try:
        raw = base64.b64decode(policy.encode("ascii"), validate=True)
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise invalid("invalid Base64 encoding.") from None
    try:
        document = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise invalid("Invalid JSON.") from None
    if not isinstance(document, dict):
        raise invalid("Invalid JSON.")
    for name in document:
        # Member names are case-sensitive: "EXPIRATION" is not "expiration".
        if name not in ("expiration", "conditions"):
            raise invalid(f"Unexpected: '{name.lower()}'")
    if "expiration" not in document:
        raise invalid("Policy missing expiration.")
    expiration = _expiration(document["expiration"])
    if "conditions" not in document:
        raise invalid("Policy missing conditions.")
    conditions = document["conditions"]
    if not isinstance(conditions, list):
        raise invalid("Invalid 'conditions' value: must be a List.")
    return PostPolicy(expiration, tuple(_condition(c) for c in conditions))


def _expiration(value: object) -> float:
    match = _EXPIRATION.fullmatch(value) if isinstance(value, str) else None
    if match is not None:
        try:
            when = calendar.timegm(time.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S"))
        except ValueError:
            pass
        else:
            return when + float(match.group(2) or 0)
    shown = value if isinstance(value, str) else json.dumps(value)
    raise invalid(f"Invalid 'expiration' value: '{shown}'")


def _text(condition: object) -> str:
    return json.dumps(condition, ensure_ascii=False)


def _condition(item: object) -> Condition:
    if isinstance(item, dict):
        if len(item) != 1:
            raise invalid(
                "Invalid Simple-Condition: Simple-Conditions must have exactly one property "
                "specified."
            )
        ((name, value),) = item.items()
        if value is None:
            raise invalid("Invalid JSON.")
        if not isinstance(value, str):
            raise invalid("Invalid Simple-Condition: value must be a string.")
        # S3 prints a simple condition as the eq it stands for.
        text = _text([EQ, f"${name}", value])
        return Condition(EQ, f"${name}".lower(), value, None, None, text)
    if not isinstance(item, list):
        raise invalid("Invalid condition test: must be a List or Object.")
    if not item or not isinstance(item[0], str):
        raise invalid("Invalid Condition: missing operation identifier.")
    operation = item[0].lower()
    if operation not in _OPERATIONS:
        raise invalid(f"Invalid Condition: unknown operation '{item[0]}'.")
    if len(item) != 3:
        raise invalid(f"Invalid {item[0]}: wrong number of arguments.")
    first, second = item[1], item[2]
    if operation == LENGTH_RANGE:
        low, high = _bound(first), _bound(second)
        return Condition(LENGTH_RANGE, "", "", low, high, _text(item))
    if not isinstance(first, str) or not isinstance(second, str):
        raise invalid("Invalid JSON.")
    return Condition(operation, first.lower(), second, None, None, _text(item))


def _bound(value: object) -> int | None:
    """An integer bound; None for a string that is not one (the check then fails)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        return int(value) if _INTEGER.fullmatch(value.strip()) else None
    raise invalid("Invalid JSON.")  # floats, booleans, null, lists, objects


def _matches(condition: Condition, value: str) -> bool:
    if condition.operation == EQ:
        return value == condition.value
    if condition.field == "$content-type":
        # A list of types passes when each of them does.
        return all(v.strip().startswith(condition.value) for v in value.split(","))
    return value.startswith(condition.value)


def check(
    policy: PostPolicy,
    values: Mapping[str, str],
    names: Iterable[str],
    exempt: frozenset[str],
    now: float,
) -> None:
    """Refuse a form the policy does not allow.

    `values` maps lower-cased field names to values, with `${filename}`
    expanded and `bucket` set to the bucket the request names. `names` are
    the fields as the form spelled them, for the coverage rule.
    """
    if now > policy.expiration:
        raise denied("Policy expired.")
    covered: set[str] = set()
    for condition in policy.conditions:
        if condition.operation == LENGTH_RANGE:
            if condition.low is None or condition.high is None:
                raise denied(f"Policy Condition failed: {condition.text}")
            continue
        name = condition.field.removeprefix("$")
        value = values.get(name)
        # A condition names its field with `$`; without one it matches nothing.
        if not condition.field.startswith("$") or value is None:
            raise denied(f"Policy Condition failed: {condition.text}")
        if not _matches(condition, value):
            raise denied(f"Policy Condition failed: {condition.text}")
        covered.add(name)
    for sent in names:
        name = sent.lower()
        if name in exempt or name.startswith(IGNORED_PREFIX) or name in covered:
            continue
        raise denied(f"Extra input fields: {sent}")


MAX_OBJECT_SIZE = 5 * 1024**3


def too_large(proposed: int, allowed: int) -> S3Error:
    return S3Error(
        400,
        "EntityTooLarge",
        "Your proposed upload exceeds the maximum allowed size",
        ProposedSize=str(proposed),
        MaxSizeAllowed=str(allowed),
    )


def too_small(proposed: int, allowed: int) -> S3Error:
    return S3Error(
        400,
        "EntityTooSmall",
        "Your proposed upload is smaller than the minimum allowed size",
        ProposedSize=str(proposed),
        MinSizeAllowed=str(allowed),
    )
