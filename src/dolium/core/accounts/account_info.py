"""An account as its owner sees it: metadata and usage.

Only the account's own tenant may read or change it (and the root account's
admins may change its metadata, as a reseller would), and whoever its Swift
account ACL names: any level may read it, `admin` may change it. Which of
the tenant's own users count as the owner (Swift: the tenant's admin users)
is the front end's rule.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

from dolium.core.access import swift_account_acl
from dolium.core.accounts.quotas import is_reserved
from dolium.core.accounts.service import ROOT_TENANT
from dolium.core.buckets.container_meta import merged
from dolium.core.context import Context
from dolium.errors import AccessDenied
from dolium.model import Account, Principal


class AccountInfo:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def _check(self, principal: Principal, account: str, *, change: bool = False) -> None:
        if principal.anonymous:
            raise AccessDenied(f"only account {account!r} may see or change itself")
        if principal.tenant == account:
            return
        granted = await swift_account_acl.level_in(self.ctx.meta, principal, account)
        if granted is None or (change and granted != swift_account_acl.ADMIN):
            raise AccessDenied(f"only account {account!r} may see or change itself")

    async def _check_change(self, principal: Principal, account: str) -> None:
        # The root account's admins administer every account, as a reseller does.
        if not (principal.tenant == ROOT_TENANT and principal.admin):
            await self._check(principal, account, change=True)

    async def acl_level(self, principal: Principal, account: str) -> str | None:
        """What the account's Swift ACL gives `principal` (None: nothing)."""
        return await swift_account_acl.level_in(self.ctx.meta, principal, account)

    async def get(self, principal: Principal, account: str) -> Account:
        """The account, without the metadata that is the server's (its quota)."""
        await self._check(principal, account)
        found = await self.ctx.meta.get_account(account)
        mine = {k: v for k, v in found.meta.items() if not is_reserved(k)}
        return replace(found, meta=mine) if len(mine) != len(found.meta) else found

    async def stored(self, account: str) -> Account:
        """The account (metadata, usage) with no permission check: for a front
        end's rules that judge a request by the account's own settings (a key
        that signs requests, a quota) before or beside the caller's rights."""
        return await self.ctx.meta.get_account(account)

    async def update_meta(
        self, principal: Principal, account: str, changes: Mapping[str, str | None]
    ) -> None:
        """Set or remove (None or "") names of the account's metadata.

        The server's own names (its quota) are neither changed nor removed."""
        await self._check_change(principal, account)
        changes = {k: v for k, v in changes.items() if not is_reserved(k)}
        if not changes:
            return
        current = (await self.ctx.meta.get_account(account)).meta
        await self.ctx.meta.set_account_meta(
            account, merged(current, changes), actor=principal.actor
        )

    async def acl(self, principal: Principal, account: str) -> swift_account_acl.AccountAcl:
        """The account's Swift ACL: its owner's and its admins' to see."""
        await self._check(principal, account, change=True)
        return swift_account_acl.stored((await self.ctx.meta.get_account(account)).meta)

    async def set_acl(
        self, principal: Principal, account: str, acl: swift_account_acl.AccountAcl
    ) -> None:
        """Replace the account's Swift ACL (NO_ACL: none); its owner's and admins' to do."""
        await self._check(principal, account, change=True)
        current = (await self.ctx.meta.get_account(account)).meta
        changes = {swift_account_acl.META_NAME: acl.dump()}
        await self.ctx.meta.set_account_meta(
            account, merged(current, changes), actor=principal.actor
        )

    async def groups(self, principal: Principal, account: str) -> dict[str, tuple[str, ...]]:
        """The account's groups (name -> members), which sharing documents name."""
        await self._check(principal, account)
        return await self.ctx.meta.get_groups(account)

    async def set_groups(
        self,
        principal: Principal,
        account: str,
        groups: Mapping[str, Sequence[str]],
        *,
        replace_all: bool,
    ) -> None:
        """Set the members of the named groups; a group given no members is removed.

        `replace_all`: the groups not named are removed too."""
        await self._check(principal, account, change=True)
        changes: dict[str, Sequence[str]] = dict(groups)
        if replace_all:
            for name in await self.ctx.meta.get_groups(account):
                changes.setdefault(name, ())
        for name, members in sorted(changes.items()):
            await self.ctx.meta.set_group(account, name, members, actor=principal.actor)
