"""AWS Signature Version 4 for the requests Dolium's own clients send.

Header signing with the whole body's SHA-256 in x-amz-content-sha256, as
S3 wants it: the admin API's small JSON requests, and the `s3` block store's
requests to the S3 service it keeps blocks in. The server checks these
signatures with its own, independent code.

Pure computation, no I/O: a caller that signs a large body again (a retry)
passes the body's SHA-256 it already has as `payload_hash`.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import quote, urlsplit

ALGORITHM = "AWS4-HMAC-SHA256"
SERVICE = "s3"


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _canonical_query(query: str) -> str:
    pairs = []
    for part in query.split("&") if query else []:
        name, _, value = part.partition("=")
        pairs.append((quote(name, safe="-_.~%"), quote(value, safe="-_.~%")))
    return "&".join(f"{n}={v}" for n, v in sorted(pairs))


def sign(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    now: float | None = None,
    payload_hash: str | None = None,
) -> dict[str, str]:
    """`headers` plus the ones that sign the request (Host, dates, Authorization).

    `payload_hash` is the hex SHA-256 of `body`, when the caller has it.
    """
    parts = urlsplit(url)
    when = time.gmtime(time.time() if now is None else now)
    amz_date = time.strftime("%Y%m%dT%H%M%SZ", when)
    date = amz_date[:8]
    payload = payload_hash or hashlib.sha256(body).hexdigest()
    signed = {k.lower(): v.strip() for k, v in headers.items()}
    signed.update({"host": parts.netloc, "x-amz-date": amz_date, "x-amz-content-sha256": payload})
    names = sorted(signed)
    canonical = "\n".join(
        [
            method,
            quote(parts.path or "/", safe="/-_.~%"),
            _canonical_query(parts.query),
            *(f"{n}:{signed[n]}" for n in names),
            "",
            ";".join(names),
            payload,
        ]
    )
    scope = f"{date}/{region}/{SERVICE}/aws4_request"
    to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret_key).encode(), date)
    for part in (region, SERVICE, "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    authorization = (
        f"{ALGORITHM} Credential={access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return {**{k: v for k, v in signed.items() if k != "host"}, "authorization": authorization}
