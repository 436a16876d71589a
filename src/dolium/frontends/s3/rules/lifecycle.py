"""S3's rules on a lifecycle configuration (PutBucketLifecycleConfiguration),
with S3's messages.

The core keeps the rules and applies them; what a rule must hold, which
actions and filters go together, the limits on IDs, sizes and counts, the
two forms of a configuration ("Lifecycle V2" or not) and S3's storage classes
are S3's to say.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence

from dolium.core.buckets.lifecycle import DAY, Filter, Rule, Transition
from dolium.errors import InvalidArgument, InvalidRequest, MalformedConfiguration

MAX_RULES = 1000
MAX_ID_LENGTH = 255
# The largest size a filter may name, as S3 bounds it (1000 TiB).
MAX_FILTER_SIZE = 1_099_511_627_776_000
STORAGE_CLASSES = frozenset(
    {"GLACIER", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "DEEP_ARCHIVE", "GLACIER_IR"}
)


def _malformed(what: str) -> MalformedConfiguration:
    return MalformedConfiguration(f"A lifecycle configuration {what}.")


def check_lifecycle(rules: Sequence[Rule]) -> None:
    """Raise the error S3 gives for a configuration it would refuse.

    The first rule decides the form: with a <Filter> the configuration is
    "Lifecycle V2", and no rule may then use the older rule-level <Prefix>
    (nor the reverse). It is the `approve` hook of the core's put, which
    refuses transitions after it, so a configuration S3 would refuse for
    another reason gets S3's answer.
    """
    if not rules:
        raise _malformed("needs at least one rule")
    if len(rules) > MAX_RULES:
        raise InvalidRequest(
            f"The number of lifecycle rules must not exceed the allowed limit of {MAX_RULES} rules."
        )
    seen: set[str] = set()
    for rule in rules:
        if rule.id:
            if len(rule.id) > MAX_ID_LENGTH:
                raise InvalidArgument(
                    "ID length should not exceed allowed limit of 255", argument_name="ID"
                )
            if rule.id in seen:
                raise InvalidArgument(
                    "Rule ID must be unique. Found same ID for more than one rule",
                    argument_name="ID",
                    argument_value=rule.id,
                )
            seen.add(rule.id)
    v2 = rules[0].filter is not None
    for rule in rules:
        _check_rule(rule, v2)
    if not v2:
        _check_overlaps(rules)


def _positive(value: int | None, message: str, name: str) -> None:
    if value is not None and value <= 0:
        raise InvalidArgument(message, argument_name=name, argument_value=str(value))


def _check_rule(rule: Rule, v2: bool) -> None:
    if rule.prefix is None and rule.filter is None:
        raise _malformed("rule needs a prefix or a filter")
    if v2 and rule.prefix is not None:
        raise InvalidRequest(
            "Base level prefix cannot be used in Lifecycle V2, prefixes are only supported "
            "in the Filter."
        )
    if not v2 and rule.filter is not None:
        raise InvalidRequest("Filter element can only be used in Lifecycle V2.")
    scope = rule.scope
    _check_filter(scope)
    if not (rule.expiration or rule.noncurrent or rule.abort_days is not None or rule.transitions):
        raise InvalidRequest("At least one action needs to be specified in a rule")
    exp = rule.expiration
    if exp is not None:
        given = [x for x in (exp.days, exp.date, exp.expired_object_delete_marker) if x is not None]
        if len(given) != 1:
            raise _malformed("expiration needs exactly one of days, date or expired delete markers")
        _positive(exp.days, "'Days' for Expiration action must be a positive integer", "Days")
        if exp.date is not None and exp.date % DAY:
            raise InvalidArgument("'Date' must be at midnight GMT", argument_name="Date")
        if exp.expired_object_delete_marker is not None:
            if scope.tags:
                raise InvalidRequest("ExpiredObjectDeleteMarker cannot be specified with Tags.")
            if scope.has_sizes:
                raise InvalidRequest(
                    "ExpiredObjectDeleteMarker cannot be specified with Object Size."
                )
    nc = rule.noncurrent
    if nc is not None:
        if nc.days is None:
            raise _malformed("noncurrent version expiration needs its days")
        _positive(
            nc.days,
            "'NoncurrentDays' for NoncurrentVersionExpiration action must be a positive integer",
            "NoncurrentDays",
        )
        _check_newer(nc.newer_versions, v2)
    if rule.abort_days is not None:
        _positive(
            rule.abort_days,
            "'DaysAfterInitiation' for AbortIncompleteMultipartUpload action must be a "
            "positive integer",
            "DaysAfterInitiation",
        )
        if scope.tags:
            raise InvalidRequest("AbortIncompleteMultipartUpload cannot be specified with Tags.")
        if scope.has_sizes:
            raise InvalidRequest(
                "AbortIncompleteMultipartUpload cannot be specified with Object Size."
            )
    for transition in rule.transitions:
        _check_transition(transition, v2)


def _check_newer(newer: int | None, v2: bool) -> None:
    if newer is None:
        return
    if not v2:
        raise InvalidRequest("NewerNoncurrentVersions element can only be used in Lifecycle V2.")
    _positive(
        newer, "'NewerNoncurrentVersions' must be a positive integer", "NewerNoncurrentVersions"
    )


def _check_filter(scope: Filter) -> None:
    keys = [k for k, _ in scope.tags]
    if any(not k for k in keys):
        raise _malformed("filter's tags need keys")
    if len(set(keys)) != len(keys):
        raise InvalidRequest("Duplicate Tag Keys are not allowed.")
    greater, less = scope.size_greater, scope.size_less
    if greater is not None and not 0 <= greater <= MAX_FILTER_SIZE:
        raise InvalidRequest(f"'ObjectSizeGreaterThan' should be between 0 and {MAX_FILTER_SIZE}.")
    if less is not None and not 1 <= less <= MAX_FILTER_SIZE:
        raise InvalidRequest(f"'ObjectSizeLessThan' should be between 1 and {MAX_FILTER_SIZE}.")
    if greater is not None and less is not None and less <= greater:
        raise InvalidRequest(
            "'ObjectSizeLessThan' has to be a value greater than 'ObjectSizeGreaterThan'."
        )


def _check_transition(transition: Transition, v2: bool) -> None:
    if transition.storage_class not in STORAGE_CLASSES:
        raise _malformed("transition names an unknown storage class")
    if transition.noncurrent:
        if transition.days is None or transition.date is not None:
            raise _malformed("noncurrent version transition needs days and no date")
        _check_newer(transition.newer_versions, v2)
    elif (transition.days is None) == (transition.date is None):
        raise _malformed("transition needs exactly one of days or date")
    if transition.days is not None and transition.days < 0:
        raise InvalidArgument(
            "'Days' in Transition action must be nonnegative", argument_name="Days"
        )
    if transition.date is not None and transition.date % DAY:
        raise InvalidArgument("'Date' must be at midnight GMT", argument_name="Date")


def _check_overlaps(rules: Sequence[Rule]) -> None:
    """Before Lifecycle V2, rules whose prefixes overlap may not share an action type."""
    kinds: dict[str, Callable[[Rule], bool]] = {
        "Expiration": lambda r: r.expiration is not None,
        "NoncurrentVersionExpiration": lambda r: r.noncurrent is not None,
        "AbortIncompleteMultipartUpload": lambda r: r.abort_days is not None,
    }
    for kind, takes in kinds.items():
        prefixes = sorted(r.prefix or "" for r in rules if takes(r))
        # Sorted, a prefix that begins any later one begins its neighbour.
        for a, b in itertools.pairwise(prefixes):
            if b.startswith(a):
                raise InvalidRequest(
                    f"Found overlapping prefixes '{a}' and '{b}' for same action type '{kind}'"
                )
