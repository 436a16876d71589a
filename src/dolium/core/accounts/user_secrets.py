"""Password-style logins: a user name and the secret of one of its keys.

APIs whose clients send a user and a key instead of signing requests (Swift's
v1 auth) check the pair here. Every active key of the user is compared, in
constant time each, so the answer takes as long whichever key matched.
"""

from __future__ import annotations

import hmac

from dolium.core.context import Context
from dolium.model import AccessKey


class UserSecrets:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def verify(self, tenant: str, user: str, secret: str) -> AccessKey | None:
        """The active key of `tenant:user` whose secret is `secret`, or None."""
        if not tenant or not user or not secret:
            return None
        keys = await self.ctx.meta.list_keys(tenant)
        given = secret.encode()
        found: AccessKey | None = None
        for key in keys:
            if key.user != user or not key.active:
                continue
            if hmac.compare_digest(key.secret_key.encode(), given):
                found = key
        return found
