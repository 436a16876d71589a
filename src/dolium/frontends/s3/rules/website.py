"""S3's rules on a website configuration (PutBucketWebsite), with S3's messages.

The core keeps the configuration and routes requests by it; what a
configuration must hold, which protocols and status codes it may name and how
many routing rules it may have are S3's to say.
"""

from __future__ import annotations

from dolium.core.buckets.website import RoutingRule, WebsiteConfig, status_code
from dolium.errors import InvalidArgument, InvalidRequest, MalformedConfiguration

MAX_RULES = 50
PROTOCOLS = ("http", "https")
BAD_PROTOCOL = (
    "Invalid protocol, protocol can be http or https. "
    "If not defined the protocol will be selected automatically."
)


def check_website(config: WebsiteConfig) -> None:
    """Raise the error S3 gives for a configuration it would refuse.

    S3 checks the document once the caller may configure the bucket: it is
    the `approve` hook of the core's put.
    """
    if config.redirect_all is not None:
        if config.index_suffix is not None or config.error_key is not None or config.has_rules:
            raise InvalidArgument(
                "RedirectAllRequestsTo cannot be provided in conjunction with other Routing Rules.",
                argument_name="RedirectAllRequestsTo",
                argument_value="not null",
            )
        if not config.redirect_all.host:
            raise MalformedConfiguration("Redirecting all requests needs a host name.")
        _check_protocol(config.redirect_all.protocol)
        return
    if config.index_suffix is None:
        raise InvalidArgument(
            "A value for IndexDocument Suffix must be provided if RedirectAllRequestsTo is empty",
            argument_name="IndexDocument",
            argument_value="null",
        )
    if not config.index_suffix or "/" in config.index_suffix:
        raise InvalidArgument(
            "The IndexDocument Suffix is not well formed",
            argument_name="IndexDocument",
            argument_value=config.index_suffix,
        )
    if config.error_key is not None and not config.error_key:
        raise MalformedConfiguration("An error document needs a key.")
    if config.has_rules and not config.rules:
        raise MalformedConfiguration("Routing rules, when given, hold at least one rule.")
    if len(config.rules) > MAX_RULES:
        raise InvalidRequest(
            f"{len(config.rules)} routing rules provided, the number of routing rules in a "
            f"website configuration is limited to {MAX_RULES}."
        )
    for rule in config.rules:
        _check_rule(rule)


def _check_protocol(protocol: str | None) -> None:
    if protocol is not None and protocol not in PROTOCOLS:
        raise InvalidRequest(BAD_PROTOCOL)


def _check_rule(rule: RoutingRule) -> None:
    condition, redirect = rule.condition, rule.redirect
    if condition is not None:
        if condition.key_prefix is None and condition.error_code is None:
            raise InvalidRequest(
                "Condition cannot be empty. To redirect all requests without a condition, "
                "the condition element shouldn't be present."
            )
        if condition.error_code is not None:
            code = status_code(condition.error_code)
            if code is None:
                raise MalformedConfiguration("An error code condition is an HTTP status code.")
            if not 400 <= code <= 599:
                raise InvalidRequest(
                    f"The provided HTTP error code ({code}) is not valid. "
                    "Valid codes are 4XX or 5XX."
                )
    if redirect.replace_key is not None and redirect.replace_key_prefix is not None:
        raise InvalidRequest("You can only define ReplaceKeyPrefix or ReplaceKey but not both.")
    _check_protocol(redirect.protocol)
    if redirect.host == "":
        raise MalformedConfiguration("A redirect's host name, when given, is not empty.")
    if redirect.code is not None:
        code = status_code(redirect.code)
        if code is None:
            raise MalformedConfiguration("A redirect code is an HTTP status code.")
        if not 301 <= code <= 399:
            raise InvalidRequest(
                f"The provided HTTP redirect code ({code}) is not valid. "
                "Valid codes are 3XX except 300."
            )
