"""Meta stores: tenants, keys, containers, object versions and multipart uploads.

A meta store keeps records and makes each call atomic; it does not decide
the object model's rules (the core does). It never sees HTTP or block data,
except small objects the core chooses to keep inline.

Ordering: keys sort by their UTF-8 bytes, as S3 lists them. Versions of a
key sort newest first by `serial`, a number the store assigns, increasing
across the whole store.

Containers: a container is unique per (account, name) and keyed by an id the
store assigns. S3 names are a global index onto containers. Calls name a
container by its address (`Bucket.name`): a global name, or
`account:container` (`model.container_address`); the store resolves it
inside the call, and answers as if a container it cannot resolve did not
exist. Writes keep each container's usage (bytes, current objects) in the
same transaction; an account's usage is the sum over its containers.

Change log: every call that changes state appends one `Change` in the same
transaction (a call that fails appends none), naming the `actor` it is
given. `changes` reads the log in serial order for its consumers (event
delivery, audit, usage), and each consumer keeps its place in a cursor
(`cursor`, `advance_cursor`); moving a cursor is bookkeeping, not a change.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Mapping
from typing import Protocol

from dolium.conditions import WriteCondition
from dolium.model import (
    MUTABLE,
    SERVER,
    AccessKey,
    Account,
    Actor,
    BlockRef,
    Bucket,
    Change,
    ChangeAction,
    Limits,
    ListedObject,
    MultipartUpload,
    ObjectVersion,
    Part,
    PathRecord,
    Sharing,
    Tenant,
    Usage,
    User,
)

# Called with a stored version inside the transaction that changes it; what
# it raises aborts the change, so its check holds against concurrent calls.
Guard = Callable[[ObjectVersion], None]


class MetaStore(Protocol):
    async def config_epoch(self) -> int:
        """A number that moves whenever a tenant, user, access key or container
        changes (its settings included; not its usage or its objects), in the
        transaction that changes it. Caches of those hold while it stays put."""

    # -- tenants, users, keys ------------------------------------------------
    async def create_tenant(self, tenant: Tenant, *, actor: Actor = SERVER) -> None:
        """Raise TenantExists if the name is taken."""

    async def get_tenant(self, name: str) -> Tenant | None: ...

    async def list_tenants(self) -> list[Tenant]: ...

    async def delete_tenant(self, name: str, *, actor: Actor = SERVER) -> None:
        """Delete a tenant with its users, keys and policies.

        Raise NoSuchTenant, or TenantNotEmpty if it still owns buckets.
        """

    async def create_user(self, user: User, *, actor: Actor = SERVER) -> None:
        """Raise NoSuchTenant or UserExists."""

    async def get_user(self, tenant: str, name: str) -> User | None: ...

    async def list_users(self, tenant: str | None = None) -> list[User]: ...

    async def delete_user(self, tenant: str, name: str, *, actor: Actor = SERVER) -> None:
        """Delete a user with its keys and policies; raise NoSuchUser."""

    async def create_key(self, key: AccessKey, *, actor: Actor = SERVER) -> None:
        """Raise NoSuchUser or AccessKeyExists."""

    async def get_key(self, access_key: str) -> AccessKey | None:
        """The key, active or revoked."""

    async def list_keys(self, tenant: str | None = None) -> list[AccessKey]: ...

    async def revoke_key(self, access_key: str, *, actor: Actor = SERVER) -> None:
        """Mark the key inactive; raise NoSuchAccessKey."""

    async def delete_key(self, access_key: str, *, actor: Actor = SERVER) -> None:
        """Forget the key, active or revoked; raise NoSuchAccessKey."""

    # -- accounts --------------------------------------------------------------
    async def get_account(self, name: str) -> Account:
        """The account's metadata and usage; empty for an account never written to."""

    async def set_account_meta(
        self, name: str, meta: Mapping[str, str], *, actor: Actor = SERVER
    ) -> None:
        """Replace the account's metadata."""

    async def set_group(
        self, account: str, group: str, members: Collection[str], *, actor: Actor = SERVER
    ) -> None:
        """Replace the members of one of the account's groups; no members removes it."""

    async def get_groups(self, account: str) -> dict[str, tuple[str, ...]]:
        """The account's groups: name -> members, both sorted."""

    # -- identity policies -----------------------------------------------------
    # Named JSON documents attached to a user or to an account group; the
    # store keeps them as given and judges nothing. Setting or deleting one
    # moves the config epoch.
    async def put_user_policy(
        self, tenant: str, user: str, name: str, document: str, *, actor: Actor = SERVER
    ) -> None:
        """Create or replace the user's policy `name`; raise NoSuchUser."""

    async def delete_user_policy(
        self, tenant: str, user: str, name: str, *, actor: Actor = SERVER
    ) -> None:
        """Raise NoSuchPolicy if the user has no policy of that name."""

    async def get_user_policies(self, tenant: str, user: str) -> dict[str, str]:
        """The user's policies: name -> document, sorted by name; empty for no user."""

    async def put_group_policy(
        self, account: str, group: str, name: str, document: str, *, actor: Actor = SERVER
    ) -> None:
        """Create or replace the group's policy `name`; raise NoSuchTenant.

        A group's policies outlive its members (an empty group keeps them).
        """

    async def delete_group_policy(
        self, account: str, group: str, name: str, *, actor: Actor = SERVER
    ) -> None:
        """Raise NoSuchPolicy if the group has no policy of that name."""

    async def get_group_policies(self, account: str) -> dict[str, dict[str, str]]:
        """The policies of the account's groups: group -> name -> document, sorted."""

    # -- containers ----------------------------------------------------------
    async def create_bucket(self, bucket: Bucket, *, actor: Actor = SERVER) -> Bucket:
        """Create container `bucket.name` of `bucket.owner`, holding that global name.

        Raise BucketAlreadyExists if the global name is held (by anyone) or
        the owner has a container of that name. Returns it with its id.
        """

    async def create_container(
        self, bucket: Bucket, *, claim: bool, actor: Actor = SERVER
    ) -> Bucket:
        """Create container `bucket.name` of `bucket.owner`; raise BucketAlreadyExists if
        the owner has one of that name.

        With `claim`, it also takes the global name equal to its name, if free.
        Returns it with its id, named by its address.
        """

    async def get_bucket(self, name: str) -> Bucket | None:
        """The container at an address, named by its address (its global name if it holds one)."""

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        """Containers sorted by address, all or those of one account."""

    async def get_usage(self, bucket: str) -> Usage:
        """What the container holds; raise NoSuchBucket."""

    async def update_bucket(self, bucket: Bucket, *, actor: Actor = SERVER) -> None:
        """Replace the bucket's settings, but not its `configs`; raise NoSuchBucket."""

    async def set_bucket_config(
        self, name: str, config: str, document: str | None, *, actor: Actor = SERVER
    ) -> Bucket:
        """Set (or with None remove) one entry of the bucket's `configs`, atomically.

        Other entries are kept even when written concurrently. Returns the
        bucket as updated; raises NoSuchBucket.
        """

    async def delete_bucket(self, name: str, *, actor: Actor = SERVER) -> None:
        """Delete an empty container, its pending uploads and its global name.

        Raise NoSuchBucket, or BucketNotEmpty if any version or delete
        marker remains.
        """

    # -- object versions -----------------------------------------------------
    async def get_version(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        """A given version, or the latest (possibly a delete marker)."""

    async def put_version(
        self,
        version: ObjectVersion,
        condition: WriteCondition | None = None,
        *,
        actor: Actor = SERVER,
        action: ChangeAction = ChangeAction.OBJECT_PUT,
        limits: Limits | None = None,
    ) -> ObjectVersion:
        """Make `version` the latest version of its key, atomically.

        In one transaction: check `condition` against the current latest
        version (PreconditionFailed; NoSuchKey for `if_match` when there is
        no current object), remove any version with the same version id
        (this is how the "null" version is replaced), mark the others not
        latest, insert. The key's path record is created with its first
        version. Returns the version with its assigned serial.

        The change is recorded as `action` (how the version was made), or
        as OBJECT_MARKER for a delete marker.

        With `limits`, a write that adds bytes or objects raises
        QuotaExceeded (and changes nothing) when the container's or its
        account's usage would pass them (`dolium.quotas.check`), checked
        against concurrent writes: two writers never pass a quota together.
        """

    async def update_version(
        self,
        version: ObjectVersion,
        fields: Collection[str] = MUTABLE,
        guard: Guard | None = None,
        *,
        actor: Actor = SERVER,
    ) -> ObjectVersion:
        """Replace the named mutable attributes (MUTABLE) of a stored version.

        The version is found by bucket, key and version id. Nothing else of
        it changes: attributes not named keep their stored values, also when
        another call changed them meanwhile (tags and a legal hold set at
        once both land; so do a retention and a legal hold). `guard` sees the
        stored version first. Returns the version as stored; raise
        NoSuchVersion if it is gone.
        """

    async def delete_version(
        self,
        bucket: str,
        key: str,
        version_id: str,
        guard: Guard | None = None,
        *,
        actor: Actor = SERVER,
    ) -> ObjectVersion | None:
        """Remove one version; the newest remaining one becomes latest.

        The path record goes with the key's last version.
        `guard` sees the version first. Returns the removed version, or None
        if there was none. An OBJECT_DELETE record is appended in both cases:
        the delete was asked for and succeeds either way, and consumers (S3
        event notifications, the audit log) report it as such.
        """

    async def list_objects(
        self, bucket: str, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> list[ListedObject]:
        """Latest versions that are not delete markers, by key, as listed.

        Keys start with `prefix` and sort strictly after `start_after`.
        The cost is proportional to `limit`, not to the bucket's size.
        """

    async def list_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        after: tuple[str, int] | None = None,
        limit: int = 1000,
    ) -> list[ObjectVersion]:
        """Every version and delete marker, by key, newest first within a key.

        `after` = (key, serial): resume with the older versions of that key
        (serial below it), then the following keys; (key, 0) therefore
        resumes at the next key.
        """

    async def list_objects_at(
        self,
        bucket: str,
        until: float,
        *,
        prefix: str = "",
        start_after: str = "",
        limit: int = 1000,
    ) -> list[ObjectVersion]:
        """The container as it was at time `until`, by key, as `list_objects` lists it.

        Each key's version as of `until` is its newest version (by serial)
        modified at or before it; keys whose version then was a delete marker,
        or that had none, are left out. The cost follows the keys visited and
        the versions written after `until`, not the container's size.
        """

    # -- path records --------------------------------------------------------
    async def get_path(self, bucket: str, key: str) -> PathRecord | None: ...

    async def get_paths(self, bucket: str, keys: Collection[str]) -> dict[str, PathRecord]:
        """The path records of those of `keys` that have one, in one read."""

    async def move(
        self, bucket: str, key: str, to_bucket: str, to_key: str, *, actor: Actor = SERVER
    ) -> PathRecord:
        """Move the key, every version and its path record (UUID included), atomically.

        Raise NoSuchKey if the key has no version, Conflict if the
        destination has any, NoSuchBucket if either container is gone.
        """

    async def set_sharing(
        self, bucket: str, key: str, sharing: Sharing, *, actor: Actor = SERVER
    ) -> PathRecord:
        """Replace the path's sharing; raise NoSuchKey if the key has no version."""

    async def set_public(
        self, bucket: str, key: str, public_id: str | None, *, actor: Actor = SERVER
    ) -> PathRecord:
        """Give the path a public id (None: none); raise NoSuchKey, or Conflict if
        another path has that id."""

    async def set_delete_at(
        self, bucket: str, key: str, when: float | None, *, actor: Actor = SERVER
    ) -> PathRecord:
        """Set when the path expires (None: never); raise NoSuchKey."""

    async def resolve_public(self, public_id: str) -> PathRecord | None:
        """The path with this public id, its container named by its address."""

    # -- multipart uploads ---------------------------------------------------
    async def create_upload(self, upload: MultipartUpload, *, actor: Actor = SERVER) -> None: ...

    async def get_upload(self, bucket: str, upload_id: str) -> MultipartUpload | None: ...

    async def list_uploads(
        self,
        bucket: str,
        *,
        prefix: str = "",
        after_key: str = "",
        after_upload_id: str = "",
        limit: int = 1000,
    ) -> list[MultipartUpload]:
        """Pending uploads by key, then by time of creation.

        Resume after (`after_key`, `after_upload_id`); an empty upload id
        resumes at the first key after `after_key`.
        """

    async def put_part(self, bucket: str, part: Part, *, actor: Actor = SERVER) -> None:
        """Add or replace a part; raise NoSuchUpload if the upload is gone."""

    async def list_parts(
        self, bucket: str, upload_id: str, *, after: int = 0, limit: int = 10000
    ) -> list[Part]:
        """Parts by number, numbers greater than `after`."""

    async def complete_upload(
        self,
        bucket: str,
        upload_id: str,
        version: ObjectVersion,
        condition: WriteCondition | None = None,
        *,
        actor: Actor = SERVER,
        limits: Limits | None = None,
    ) -> ObjectVersion:
        """Atomically: put `version` (as put_version, `limits` too) and drop the upload.

        Raise NoSuchUpload if the upload is gone.
        """

    async def abort_upload(self, bucket: str, upload_id: str, *, actor: Actor = SERVER) -> None:
        """Drop the upload and its parts; raise NoSuchUpload."""

    # -- change log ----------------------------------------------------------
    async def record_refusal(self, change: Change) -> None:
        """Append the record of a refused request (REQUEST_DENIED), which changed nothing.

        Not made durable before it returns (it joins the next durable commit):
        a refusal costs no fsync, so refused requests cannot be used to load
        the disk. Its serial is the store's to assign.
        """

    async def changes(self, after: int = 0, limit: int = 1000) -> list[Change]:
        """Change records with serials above `after`, in serial order, at most `limit`."""

    async def cursor(self, consumer: str) -> int:
        """The serial `consumer` has processed the log up to (0 at first)."""

    async def advance_cursor(self, consumer: str, serial: int) -> None:
        """Move `consumer`'s cursor forward to `serial`; never backward."""

    # -- leases of background work ------------------------------------------
    async def hold_lease(self, name: str, holder: str, *, now: float, until: float) -> bool:
        """Take or renew the lease `name` for `holder` until `until`; whether
        `holder` holds it now.

        Taken when no one holds it, when its holder's lease expired (its
        expiry is at or before `now`), or when `holder` already holds it.
        Processes sharing the store use it so that work they could all do
        (garbage collection, lifecycle, delivery...) is done by one of them,
        and by another when that one stops renewing. The change need not be
        durable: after a crash of the store the lease is taken again.
        """

    async def drop_lease(self, name: str, holder: str) -> None:
        """Give up the lease `name` if `holder` holds it."""

    async def lease_holder(self, name: str, *, now: float) -> str | None:
        """Who holds the lease `name` at `now`, if anyone (for operators)."""

    # -- block references and leases -----------------------------------------
    # Every write above that adds or removes block references (a version put,
    # replaced or deleted; a part put or replaced; an upload completed or
    # aborted; a bucket deleted with its uploads) changes the blocks'
    # reference counts in its own transaction. Counts are per storage policy.

    async def lease_blocks(
        self, refs: Collection[BlockRef], holder: str, *, now: float, until: float
    ) -> set[BlockRef]:
        """Lease blocks to `holder` until `until` (renewing its earlier lease).

        A writer leases a block before it looks for it in the blob store or
        stores it, and the lease covers it until the metadata that
        references it commits. Returns the blocks not leased because the
        collector is deleting them (marked by `claim_garbage`, not yet
        forgotten): the writer must wait and ask again. The change need not
        be durable (a crash that undoes it ends its writer too), but must
        never be undone while a later change stays.
        """

    async def claim_garbage(self, *, now: float, stale_before: float, limit: int) -> list[BlockRef]:
        """Mark up to `limit` blocks for deletion and return them.

        Chosen: blocks no version or part references and no lease live at
        `now` covers, not already marked (or marked before `stale_before`,
        by a collector that did not finish). Expired leases are dropped. The
        cost follows the number of unreferenced blocks, not of all blocks.
        """

    async def forget_blocks(self, refs: Collection[BlockRef]) -> None:
        """The collector has deleted these blocks: drop their records.

        A block referenced again meanwhile keeps its record, unmarked.
        """

    def referenced_blocks(self) -> AsyncIterator[BlockRef]:
        """Every block referenced by a version or a part (repeats allowed)."""

    def referenced_digests(self) -> AsyncIterator[bytes]:
        """The digests of `referenced_blocks`, whatever their policy."""

    async def block_counts(self) -> dict[str, tuple[int, int]]:
        """Per storage policy: (blocks referenced, references to them); their
        ratio is what deduplication saves."""

    async def close(self) -> None: ...
