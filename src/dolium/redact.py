"""Broker and database URLs without their passwords, for logs and errors.

A URL in the configuration may carry a password (`redis://:pw@host`,
`amqp://user:pw@host/vhost`); whatever a person or a log shipper reads shows
`***` in its place. A driver's own error text may quote the URL it was
given, so that is scrubbed too.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit, urlunsplit

HIDDEN = "***"


def redact_url(url: str) -> str:
    """`url` with its password (if any) replaced by ***."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL a driver would take either: show nothing of it
        return HIDDEN
    if not password:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port is not None else ""
    return urlunsplit(parts._replace(netloc=f"{user}:{HIDDEN}@{host}{port}"))


def scrub(text: str, url: str) -> str:
    """`text` (a driver's error) with the password of `url` replaced by ***."""
    try:
        password = urlsplit(url).password
    except ValueError:
        return text
    if password:
        text = text.replace(url, redact_url(url))
        # The driver may quote it percent-decoded.
        for form in {password, unquote(password)}:
            text = text.replace(form, HIDDEN)
    return text
