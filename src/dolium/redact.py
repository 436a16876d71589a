"""Broker and database URLs without their passwords, for logs and errors.

A URL in the configuration may carry a password (`redis://:pw@host`,
`amqp://user:pw@host/vhost`), or, for NATS, a token in place of the user
(`nats://token@host`); whatever a person or a log shipper reads shows `***`
in its place. A driver's own error text may quote the URL it was
given, so that is scrubbed too.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

HIDDEN = "***"
# Schemes where a user without a password is a token: a secret too.
TOKEN_SCHEMES = frozenset({"nats", "tls"})


def _secret(url: str) -> tuple[str | None, bool]:
    """The secret of `url` (None if it has none), and whether it is the user part."""
    parts = urlsplit(url)
    if parts.password:
        return parts.password, False
    if parts.username and parts.scheme in TOKEN_SCHEMES:
        return parts.username, True
    return None, False


def redact_url(url: str) -> str:
    """`url` with its password or token (if any) replaced by ***."""
    try:
        parts = urlsplit(url)
        secret, is_user = _secret(url)
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:  # not a URL a driver would take either: show nothing of it
        return HIDDEN
    if not secret:
        return url
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    user = HIDDEN if is_user else f"{parts.username or ''}:{HIDDEN}"
    return urlunsplit(parts._replace(netloc=f"{user}@{host}{port}"))


def scrub(text: str, url: str) -> str:
    """`text` (a driver's error) with the password or token of `url` replaced by ***."""
    try:
        secret, _ = _secret(url)
    except ValueError:
        return text
    if secret:
        text = text.replace(url, redact_url(url))
        # The driver may quote it percent-decoded.
        for form in {secret, unquote(secret)}:
            text = text.replace(form, HIDDEN)
    return text
