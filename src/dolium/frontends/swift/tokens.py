"""Self-contained auth tokens: what they name, until when, signed by the server.

A token is `AUTH_tk` + base64url(JSON payload) + "." + base64url(HMAC-SHA256
of that payload under the server's secret). Any process holding the secret
accepts it without a shared session table, which is what lets every worker
(and every server sharing a data directory) serve a token another issued.
The payload names the access key whose secret logged in, so revoking that
key ends its tokens at their next use.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass

PREFIX = "AUTH_tk"
# Swift's tempauth default lifetime.
DEFAULT_LIFETIME = 24 * 3600.0
# A longer header is no token of ours; refusing it early bounds the work.
MAX_TOKEN_LENGTH = 1024


@dataclass(frozen=True, slots=True)
class TokenClaims:
    tenant: str
    user: str
    access_key: str
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    def __init__(self, secret: bytes, lifetime: float = DEFAULT_LIFETIME) -> None:
        if len(secret) < 32:
            raise ValueError("the token secret must be at least 32 bytes")
        self._secret = secret
        self.lifetime = lifetime

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self._secret, payload, hashlib.sha256).digest()

    def issue(self, tenant: str, user: str, access_key: str, now: float) -> tuple[str, float]:
        """A new token and when it expires."""
        expires = float(int(now + self.lifetime))
        payload = json.dumps(
            {"t": tenant, "u": user, "k": access_key, "e": expires}, separators=(",", ":")
        ).encode()
        return f"{PREFIX}{_b64(payload)}.{_b64(self._mac(payload))}", expires

    def verify(self, token: str, now: float) -> TokenClaims | None:
        """The claims of a genuine, unexpired token; None for anything else."""
        if len(token) > MAX_TOKEN_LENGTH or not token.startswith(PREFIX):
            return None
        body, dot, mac = token[len(PREFIX) :].partition(".")
        if not dot:
            return None
        try:
            payload, signature = _unb64(body), _unb64(mac)
        except (ValueError, UnicodeError):
            return None
        if not hmac.compare_digest(self._mac(payload), signature):
            return None
        try:
            fields = json.loads(payload)
            claims = TokenClaims(
                str(fields["t"]), str(fields["u"]), str(fields["k"]), float(fields["e"])
            )
        except (ValueError, KeyError, TypeError):
            return None
        return claims if claims.expires > now else None
