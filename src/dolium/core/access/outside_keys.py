"""Access keys kept outside the meta store (a key file, an HTTP lookup
service), acting for accounts kept in it.

A key store other than `meta` says, for a key, its secret, the tenant and
user it acts for, and whether that user is an administrator of its tenant.
Everything else about an account lives in the meta store, as for any
account: its canonical id and display name (ACLs, listings), its buckets,
quotas, groups and identity policies. So:

- a tenant or user the key store names that the meta store lacks is created
  on its first use (a new canonical id; the display name is the tenant's
  name), and stays after the key goes, with whatever it owns;
- the admin flag is the key store's, at every lookup: the key store is
  where an operator grants and withdraws it;
- a key the key store does not know is looked up in the meta store next:
  the server's root key and keys made with `dolium user create` or the
  admin API keep working beside the outside ones. A key the outside store
  knows is never looked up there, and an outside store that cannot answer
  refuses the request (`KeyStoreUnavailable`) rather than fall through;
- a record naming a tenant or user that is not a valid name is treated as
  an unknown key, with a warning in the log.

The key store's own answers are not cached here (each store keeps them no
longer than the bound it documents, so that revoking a key takes effect in
time); the account part of the principal is, until the meta store's config
epoch moves (core.caches), as for keys kept in the meta store.
"""

from __future__ import annotations

import dataclasses
import logging

from dolium.core.access.identity import with_policies
from dolium.core.accounts.service import AccountService, check_name
from dolium.core.caches import Cache, Caches
from dolium.core.clock import Clock
from dolium.errors import InvalidArgument, TenantExists, UserExists
from dolium.model import AccessKey, Principal, User
from dolium.protocols.keys import KeyStore
from dolium.protocols.meta import MetaStore

log = logging.getLogger(__name__)

Found = tuple[AccessKey, Principal] | None
# What the key store decides about a principal: tenant, user, admin.
Who = tuple[str, str, bool]


class OutsideKeyStore:
    def __init__(
        self, outside: KeyStore, inside: KeyStore, meta: MetaStore, caches: Caches, clock: Clock
    ) -> None:
        self._outside = outside
        self._inside = inside
        self._meta = meta
        self._accounts = AccountService(meta, clock)
        self._principals: Cache[Who, Principal | None] = caches.cache()

    async def lookup(self, access_key: str) -> Found:
        found = await self._outside.lookup(access_key)
        if found is None:
            return await self._inside.lookup(access_key)
        key, given = found
        principal = await self._principals.get((given.tenant, given.user, given.admin), self._load)
        if principal is None:
            return None
        return key, dataclasses.replace(principal, access_key=key.access_key)

    async def close(self) -> None:
        await self._outside.close()
        await self._inside.close()

    async def _load(self, who: Who) -> Principal | None:
        tenant_name, user_name, admin = who
        try:
            check_name("tenant", tenant_name)
            check_name("user", user_name)
        except InvalidArgument as exc:
            log.warning("key store: a key names an account that cannot exist: %s", exc.message)
            return None
        tenant = await self._meta.get_tenant(tenant_name)
        if tenant is None:
            try:
                tenant = await self._accounts.create_tenant(tenant_name)
                log.info("tenant %r created on first use of a key of the key store", tenant_name)
            except TenantExists:  # another process made it meanwhile
                tenant = await self._accounts.get_tenant(tenant_name)
        if await self._meta.get_user(tenant_name, user_name) is None:
            made = User(tenant_name, user_name, admin=admin, created=self._accounts.clock())
            try:
                await self._meta.create_user(made)
                log.info("user %s:%s created on first use of a key", tenant_name, user_name)
            except UserExists:
                pass
        principal = Principal(
            tenant=tenant.name,
            user=user_name,
            admin=admin,
            canonical_id=tenant.canonical_id,
            display_name=tenant.display_name,
        )
        return await with_policies(self._meta, principal)
