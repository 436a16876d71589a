"""An account as its owner sees it: metadata and usage.

Only the account's own tenant may read or change it; which of its users
count as the owner (Swift: the tenant's admin users) is the front end's
rule until account ACLs land in the authorizer.
"""

from __future__ import annotations

from collections.abc import Mapping

from dolium.core.buckets.container_meta import merged
from dolium.core.context import Context
from dolium.errors import AccessDenied
from dolium.model import Account, Principal


class AccountInfo:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _check(self, principal: Principal, account: str) -> None:
        if principal.anonymous or principal.tenant != account:
            raise AccessDenied(f"only account {account!r} may see or change itself")

    async def get(self, principal: Principal, account: str) -> Account:
        self._check(principal, account)
        return await self.ctx.meta.get_account(account)

    async def stored_meta(self, account: str) -> Mapping[str, str]:
        """The account's metadata, with no permission check: for a front end that
        checks a request signed with a key kept there before it knows who signed."""
        return (await self.ctx.meta.get_account(account)).meta

    async def update_meta(
        self, principal: Principal, account: str, changes: Mapping[str, str | None]
    ) -> None:
        """Set or remove (None or "") names of the account's metadata."""
        self._check(principal, account)
        if not changes:
            return
        current = (await self.ctx.meta.get_account(account)).meta
        await self.ctx.meta.set_account_meta(
            account, merged(current, changes), actor=principal.actor
        )
