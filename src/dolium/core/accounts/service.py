"""Accounts: tenants, their users and access keys, and the root account.

This service checks names and credentials and generates them; the meta store
only keeps the records. It knows no HTTP, no SQL and no files.

Credentials are immutable: the meta store has no call to change a secret, so
a key is rotated by creating a new one and revoking the old one. The root
account (tenant "root", admin user "root") is set up by `ensure_root` on every
start of the server: the configured root key is added if missing and
accepted if it matches; a configured root access key that already exists
with another secret, for another user, or revoked is refused with a
`ConfigError` (choose a new access key id to rotate the root key).
"""

from __future__ import annotations

import contextlib
import hmac
import re
import secrets
import string

from dolium.core.clock import Clock
from dolium.errors import (
    AccessKeyExists,
    ConfigError,
    InvalidArgument,
    NoSuchAccessKey,
    NoSuchTenant,
    NoSuchUser,
    TenantExists,
    TenantNotEmpty,
    UserExists,
    UserNotEmpty,
)
from dolium.model import SERVER, AccessKey, Actor, Tenant, User
from dolium.protocols import MetaStore

ROOT_TENANT = "root"
ROOT_USER = "root"

ACCESS_KEY_PREFIX = "DK"
ACCESS_KEY_LENGTH = 20
SECRET_KEY_LENGTH = 40

_NAME_RE = re.compile(r"[a-z0-9_-]{1,64}")
_ACCESS_KEY_RE = re.compile(r"[A-Za-z0-9._-]{3,128}")
_SECRET_KEY_RE = re.compile(r"[\x21-\x7e]{8,128}")  # printable ASCII, no spaces
_CANONICAL_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,128}")
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")
_KEY_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits


def new_access_key() -> str:
    """An access key id shaped like AWS's: "DK" + 18 uppercase letters and digits."""
    tail = ACCESS_KEY_LENGTH - len(ACCESS_KEY_PREFIX)
    return ACCESS_KEY_PREFIX + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(tail))


def new_secret_key() -> str:
    """A 40-character secret (about 238 bits), letters and digits only.

    AWS secrets also use "+" and "/"; leaving them out keeps the secret safe
    to paste into URLs, shell lines and client config files.
    """
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(SECRET_KEY_LENGTH))


def new_canonical_id() -> str:
    """64 lowercase hex digits, like an AWS canonical user id."""
    return secrets.token_hex(32)


def check_name(kind: str, name: str) -> str:
    """Tenant and user names: 1..64 of lowercase letters, digits, "-" and "_"."""
    if not _NAME_RE.fullmatch(name):
        raise InvalidArgument(
            f"{kind} name {name!r} is invalid: use 1-64 lowercase letters, digits, '-' or '_'"
        )
    return name


def check_access_key(access_key: str) -> str:
    if not _ACCESS_KEY_RE.fullmatch(access_key):
        raise InvalidArgument(
            f"access key {access_key!r} is invalid: use 3-128 letters, digits, '.', '-' or '_'"
        )
    return access_key


def check_secret_key(secret_key: str) -> str:
    # The secret itself never appears in an error message.
    if not _SECRET_KEY_RE.fullmatch(secret_key):
        raise InvalidArgument(
            "secret key is invalid: use 8-128 printable ASCII characters without spaces"
        )
    return secret_key


class AccountService:
    """Tenants, users and keys over a meta store."""

    def __init__(self, meta: MetaStore, clock: Clock, actor: Actor = SERVER) -> None:
        self.meta = meta
        self.clock = clock
        # Who the change log records as making these changes: the server
        # itself for the command line, the administrator for the admin API.
        self.actor = actor

    # -- tenants ---------------------------------------------------------------
    async def create_tenant(
        self,
        name: str,
        canonical_id: str | None = None,
        display_name: str | None = None,
        email: str = "",
    ) -> Tenant:
        check_name("tenant", name)
        if canonical_id is None:
            canonical_id = new_canonical_id()
        elif not _CANONICAL_ID_RE.fullmatch(canonical_id):
            raise InvalidArgument(
                f"canonical id {canonical_id!r} is invalid: use 1-128 letters, digits, "
                "'.', '-' or '_' (or leave it out to generate one)"
            )
        display_name = name if display_name is None else display_name.strip()
        if not display_name or len(display_name) > 128 or not display_name.isprintable():
            raise InvalidArgument("display name must be 1-128 printable characters")
        if email and not _EMAIL_RE.fullmatch(email):
            raise InvalidArgument(f"email {email!r} is not an address (e.g. ops@example.com)")
        if await self.meta.get_tenant(name) is not None:
            raise TenantExists(f"tenant {name!r} already exists")
        for other in await self.meta.list_tenants():
            if other.canonical_id == canonical_id:
                raise TenantExists(
                    f"canonical id {canonical_id!r} is already used by tenant {other.name!r}"
                )
        tenant = Tenant(
            name=name,
            canonical_id=canonical_id,
            display_name=display_name,
            email=email,
            created=self.clock(),
        )
        await self.meta.create_tenant(tenant, actor=self.actor)
        return tenant

    async def get_tenant(self, name: str) -> Tenant:
        tenant = await self.meta.get_tenant(name)
        if tenant is None:
            raise NoSuchTenant(f"no tenant {name!r}")
        return tenant

    async def list_tenants(self) -> list[Tenant]:
        return sorted(await self.meta.list_tenants(), key=lambda t: t.name)

    async def delete_tenant(self, name: str) -> None:
        """Delete a tenant with its users and keys; it must own no bucket."""
        if name == ROOT_TENANT:
            raise InvalidArgument(
                f"tenant {ROOT_TENANT!r} holds the root credentials and cannot be deleted"
            )
        await self.get_tenant(name)
        buckets = await self.meta.list_buckets(owner=name)
        if buckets:
            raise TenantNotEmpty(
                f"tenant {name!r} still owns {len(buckets)} bucket(s) "
                f"(e.g. {buckets[0].name!r}); delete them first"
            )
        await self.meta.delete_tenant(name, actor=self.actor)

    # -- users -----------------------------------------------------------------
    async def create_user(
        self,
        tenant: str,
        user: str,
        admin: bool = False,
        *,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> AccessKey:
        """Create a user and its first access key (generated unless given)."""
        check_name("tenant", tenant)
        check_name("user", user)
        key = self._new_key(tenant, user, access_key, secret_key)
        await self.get_tenant(tenant)
        if await self.meta.get_user(tenant, user) is not None:
            raise UserExists(f"user {tenant}:{user} already exists")
        await self._check_key_free(key.access_key)
        await self.meta.create_user(
            User(tenant=tenant, name=user, admin=admin, created=key.created), actor=self.actor
        )
        await self.meta.create_key(key, actor=self.actor)
        return key

    async def add_user(self, tenant: str, user: str) -> User:
        """Create a user without a key (IAM's CreateUser: keys come separately)."""
        check_name("tenant", tenant)
        check_name("user", user)
        await self.get_tenant(tenant)
        made = User(tenant=tenant, name=user, admin=False, created=self.clock())
        await self.meta.create_user(made, actor=self.actor)
        return made

    async def get_user(self, tenant: str, user: str) -> User:
        found = await self.meta.get_user(tenant, user)
        if found is None:
            raise NoSuchUser(f"no user {tenant}:{user}")
        return found

    async def list_users(self, tenant: str | None = None) -> list[User]:
        if tenant is not None:
            await self.get_tenant(tenant)
        users = await self.meta.list_users(tenant)
        return sorted(users, key=lambda u: (u.tenant, u.name))

    async def delete_user(self, tenant: str, user: str) -> None:
        """Delete a user that holds no active access key and no policy, as IAM's
        DeleteUser refuses one that does; its revoked keys go with it (they sign
        nothing, and the admin API has no other way to remove them)."""
        if (tenant, user) == (ROOT_TENANT, ROOT_USER):
            raise InvalidArgument("the root user holds the root credentials and cannot be deleted")
        await self.get_user(tenant, user)
        keys = [k for k in await self.meta.list_keys(tenant) if k.user == user and k.active]
        if keys:
            raise UserNotEmpty(
                "Cannot delete entity, must delete access keys first "
                f"({tenant}:{user} has {len(keys)})."
            )
        if await self.meta.get_user_policies(tenant, user):
            raise UserNotEmpty("Cannot delete entity, must delete policies first.")
        await self.meta.delete_user(tenant, user, actor=self.actor)

    # -- keys ------------------------------------------------------------------
    async def create_key(
        self,
        tenant: str,
        user: str,
        access_key: str | None = None,
        secret_key: str | None = None,
    ) -> AccessKey:
        """Add an access key to an existing user (generated unless given)."""
        key = self._new_key(tenant, user, access_key, secret_key)
        await self.get_user(tenant, user)
        await self._check_key_free(key.access_key)
        await self.meta.create_key(key, actor=self.actor)
        return key

    async def get_key(self, access_key: str) -> AccessKey:
        key = await self.meta.get_key(access_key)
        if key is None:
            raise NoSuchAccessKey(f"no access key {access_key!r}")
        return key

    async def list_keys(self, tenant: str | None = None) -> list[AccessKey]:
        if tenant is not None:
            await self.get_tenant(tenant)
        keys = await self.meta.list_keys(tenant)
        return sorted(keys, key=lambda k: (k.tenant, k.user, k.created, k.access_key))

    async def revoke_key(self, access_key: str) -> AccessKey:
        """Deactivate a key; it stays listed as revoked."""
        key = await self.get_key(access_key)
        await self.meta.revoke_key(access_key, actor=self.actor)
        return key

    async def delete_key(self, access_key: str) -> AccessKey:
        """Forget a key altogether (IAM's DeleteAccessKey); revoking keeps it listed."""
        key = await self.get_key(access_key)
        await self.meta.delete_key(access_key, actor=self.actor)
        return key

    # -- root ------------------------------------------------------------------
    async def ensure_root(self, access_key: str, secret_key: str) -> AccessKey:
        """Make sure the root account exists and accepts this key (idempotent)."""
        check_access_key(access_key)
        check_secret_key(secret_key)
        if await self.meta.get_tenant(ROOT_TENANT) is None:
            with contextlib.suppress(TenantExists):  # another process got there first
                await self.create_tenant(ROOT_TENANT, display_name="root")
        if await self.meta.get_user(ROOT_TENANT, ROOT_USER) is None:
            with contextlib.suppress(UserExists):
                await self.meta.create_user(
                    User(tenant=ROOT_TENANT, name=ROOT_USER, admin=True, created=self.clock())
                )
        existing = await self.meta.get_key(access_key)
        if existing is None:
            key = AccessKey(
                access_key=access_key,
                secret_key=secret_key,
                tenant=ROOT_TENANT,
                user=ROOT_USER,
                created=self.clock(),
            )
            await self.meta.create_key(key)
            return key
        if (existing.tenant, existing.user) != (ROOT_TENANT, ROOT_USER):
            raise ConfigError(
                f"root credentials: access key {access_key!r} belongs to "
                f"{existing.tenant}:{existing.user}; choose another root access key"
            )
        if not existing.active:
            raise ConfigError(
                f"root credentials: access key {access_key!r} was revoked; "
                "choose another root access key"
            )
        if not hmac.compare_digest(existing.secret_key.encode(), secret_key.encode()):
            raise ConfigError(
                f"root credentials: access key {access_key!r} exists with a different secret; "
                "use its original secret, or a new access key id to rotate it"
            )
        return existing

    # -- helpers ---------------------------------------------------------------
    def _new_key(
        self, tenant: str, user: str, access_key: str | None, secret_key: str | None
    ) -> AccessKey:
        return AccessKey(
            access_key=check_access_key(access_key) if access_key else new_access_key(),
            secret_key=check_secret_key(secret_key) if secret_key else new_secret_key(),
            tenant=tenant,
            user=user,
            created=self.clock(),
        )

    async def _check_key_free(self, access_key: str) -> None:
        if await self.meta.get_key(access_key) is not None:
            raise AccessKeyExists(f"access key {access_key!r} already exists")
