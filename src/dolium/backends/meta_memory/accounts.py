"""Tenants, users, keys, accounts and containers of the in-memory meta store."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from types import MappingProxyType

from dolium.backends.meta_memory.blocks import MemoryBlocks
from dolium.backends.meta_memory.state import _freeze
from dolium.errors import (
    AccessKeyExists,
    BucketAlreadyExists,
    BucketNotEmpty,
    NoSuchAccessKey,
    NoSuchBucket,
    NoSuchTenant,
    NoSuchUser,
    TenantExists,
    TenantNotEmpty,
    UserExists,
)
from dolium.model import (
    EMPTY_MAP,
    SERVER,
    AccessKey,
    Account,
    Actor,
    Bucket,
    ChangeAction,
    Tenant,
    Usage,
    User,
    container_address,
)


class MemoryAccounts(MemoryBlocks):
    # -- tenants, users, keys ----------------------------------------------------
    async def create_tenant(self, tenant: Tenant, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            if tenant.name in self._tenants:
                raise TenantExists(f"tenant {tenant.name!r} exists", tenant=tenant.name)
            self._tenants[tenant.name] = tenant
            self._record(ChangeAction.TENANT_CREATE, actor, tenant=tenant.name)

    async def get_tenant(self, name: str) -> Tenant | None:
        return self._tenants.get(name)

    async def list_tenants(self) -> list[Tenant]:
        return [self._tenants[n] for n in sorted(self._tenants)]

    async def delete_tenant(self, name: str, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            if name not in self._tenants:
                raise NoSuchTenant(f"no tenant {name!r}", tenant=name)
            if any(b.owner == name for b in self._buckets.values()):
                raise TenantNotEmpty(f"tenant {name!r} still owns buckets", tenant=name)
            del self._tenants[name]
            self._users = {k: u for k, u in self._users.items() if u.tenant != name}
            self._user_policies = {k: v for k, v in self._user_policies.items() if k[0] != name}
            self._group_policies.pop(name, None)
            self._keys = {k: v for k, v in self._keys.items() if v.tenant != name}
            self._record(ChangeAction.TENANT_DELETE, actor, tenant=name)

    async def create_user(self, user: User, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            if user.tenant not in self._tenants:
                raise NoSuchTenant(f"no tenant {user.tenant!r}", tenant=user.tenant)
            if (user.tenant, user.name) in self._users:
                raise UserExists(f"user {user.name!r} exists", user=user.name)
            self._users[user.tenant, user.name] = user
            self._record(ChangeAction.USER_CREATE, actor, tenant=user.tenant, name=user.name)

    async def get_user(self, tenant: str, name: str) -> User | None:
        return self._users.get((tenant, name))

    async def list_users(self, tenant: str | None = None) -> list[User]:
        return [self._users[k] for k in sorted(self._users) if tenant is None or k[0] == tenant]

    async def create_key(self, key: AccessKey, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            if (key.tenant, key.user) not in self._users:
                raise NoSuchUser(f"no user {key.user!r} in tenant {key.tenant!r}")
            if key.access_key in self._keys:
                raise AccessKeyExists(f"access key {key.access_key!r} exists")
            self._keys[key.access_key] = key
            self._record(ChangeAction.KEY_CREATE, actor, tenant=key.tenant, name=key.access_key)

    async def get_key(self, access_key: str) -> AccessKey | None:
        return self._keys.get(access_key)

    async def list_keys(self, tenant: str | None = None) -> list[AccessKey]:
        return [
            self._keys[k]
            for k in sorted(self._keys)
            if tenant is None or self._keys[k].tenant == tenant
        ]

    async def revoke_key(self, access_key: str, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            key = self._keys.get(access_key)
            if key is None:
                raise NoSuchAccessKey(f"no access key {access_key!r}")
            self._keys[access_key] = dataclasses.replace(key, active=False)
            self._record(ChangeAction.KEY_REVOKE, actor, tenant=key.tenant, name=access_key)

    # -- accounts ----------------------------------------------------------------
    async def get_account(self, name: str) -> Account:
        used = [self._usage[b.id] for b in self._buckets.values() if b.owner == name]
        usage = Usage(sum(u.bytes for u in used), sum(u.objects for u in used))
        return Account(name, self._account_meta.get(name, EMPTY_MAP), usage)

    async def set_account_meta(
        self, name: str, meta: Mapping[str, str], *, actor: Actor = SERVER
    ) -> None:
        async with self._lock:
            self._account_meta[name] = _freeze(meta)
            self._record(ChangeAction.ACCOUNT_META_SET, actor, tenant=name)

    async def set_group(
        self, account: str, group: str, members: Collection[str], *, actor: Actor = SERVER
    ) -> None:
        async with self._lock:
            groups = self._groups.setdefault(account, {})
            if members:
                groups[group] = tuple(sorted(set(members)))
            else:
                groups.pop(group, None)
            self._record(ChangeAction.ACCOUNT_GROUP_SET, actor, tenant=account, name=group)

    async def get_groups(self, account: str) -> dict[str, tuple[str, ...]]:
        groups = self._groups.get(account, {})
        return {name: groups[name] for name in sorted(groups)}

    # -- containers --------------------------------------------------------------
    def _create(self, bucket: Bucket, *, claim: bool, required: bool, actor: Actor) -> Bucket:
        owner, name = bucket.owner, bucket.name  # a name here, not yet an address
        local = container_address(owner, name)
        global_held = claim and name in self._ids
        if (required and global_held) or local in self._ids:
            raise BucketAlreadyExists(f"bucket {bucket.name!r} exists", bucket=bucket.name)
        self._last_id += 1
        cid = self._last_id
        holds = claim and not global_held
        made = dataclasses.replace(bucket, name=name if holds else local, id=cid)
        self._buckets[cid] = made
        self._ids[local] = cid
        if holds:
            self._ids[name] = cid
        self._usage[cid] = Usage()
        self._chains[cid] = {}
        self._sorted[cid] = []
        self._uploads[cid] = {}
        self._paths[cid] = {}
        self._record(ChangeAction.BUCKET_CREATE, actor, tenant=owner, bucket=made.name)
        return made

    async def create_bucket(self, bucket: Bucket, *, actor: Actor = SERVER) -> Bucket:
        async with self._lock:
            return self._create(bucket, claim=True, required=True, actor=actor)

    async def create_container(
        self, bucket: Bucket, *, claim: bool, actor: Actor = SERVER
    ) -> Bucket:
        async with self._lock:
            return self._create(bucket, claim=claim, required=False, actor=actor)

    async def get_bucket(self, name: str) -> Bucket | None:
        return self._buckets.get(self._cid(name))

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        found = (b for b in self._buckets.values() if owner is None or b.owner == owner)
        return sorted(found, key=lambda b: b.name.encode())

    async def get_usage(self, bucket: str) -> Usage:
        used = self._usage.get(self._cid(bucket))
        if used is None:
            raise NoSuchBucket(f"no bucket {bucket!r}", bucket=bucket)
        return used

    async def update_bucket(self, bucket: Bucket, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            old = self._buckets.get(self._cid(bucket.name))
            if old is None:
                raise NoSuchBucket(f"no bucket {bucket.name!r}", bucket=bucket.name)
            self._buckets[old.id] = dataclasses.replace(
                bucket, name=old.name, owner=old.owner, id=old.id, configs=old.configs
            )
            self._record(ChangeAction.BUCKET_UPDATE, actor, tenant=old.owner, bucket=bucket.name)

    async def set_bucket_config(
        self, name: str, config: str, document: str | None, *, actor: Actor = SERVER
    ) -> Bucket:
        async with self._lock:
            old = self._buckets.get(self._cid(name))
            if old is None:
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            configs = dict(old.configs)  # a private copy, as _freeze
            if document is None:
                configs.pop(config, None)
            else:
                configs[config] = document
            new = dataclasses.replace(old, configs=MappingProxyType(configs))
            self._buckets[old.id] = new
            action = (
                ChangeAction.BUCKET_CONFIG_DELETE
                if document is None
                else ChangeAction.BUCKET_CONFIG_SET
            )
            self._record(action, actor, tenant=old.owner, bucket=name, name=config)
            return new

    async def delete_bucket(self, name: str, *, actor: Actor = SERVER) -> None:
        async with self._lock:
            cid = self._cid(name)
            found = self._buckets.get(cid)
            if found is None:
                raise NoSuchBucket(f"no bucket {name!r}", bucket=name)
            if self._chains[cid]:
                raise BucketNotEmpty(f"bucket {name!r} is not empty", bucket=name)
            for pending in self._uploads[cid].values():
                self._uncount_parts(pending)
            del self._buckets[cid], self._chains[cid], self._sorted[cid], self._uploads[cid]
            del self._usage[cid], self._paths[cid]
            self._ids = {a: i for a, i in self._ids.items() if i != cid}
            self._record(ChangeAction.BUCKET_DELETE, actor, tenant=found.owner, bucket=name)
