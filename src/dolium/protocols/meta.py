"""Meta stores: tenants, keys, buckets, object versions and multipart uploads.

A meta store keeps records and makes each call atomic; it does not decide
the object model's rules (the core does). It never sees HTTP or block data,
except small objects the core chooses to keep inline.

Ordering: keys sort by their UTF-8 bytes, as S3 lists them. Versions of a
key sort newest first by `serial`, a number the store assigns, increasing
across the whole store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection
from typing import Protocol

from dolium.model import (
    MUTABLE,
    AccessKey,
    BlockRef,
    Bucket,
    MultipartUpload,
    ObjectVersion,
    Part,
    Tenant,
    User,
    WriteCondition,
)

# Called with a stored version inside the transaction that changes it; what
# it raises aborts the change, so its check holds against concurrent calls.
Guard = Callable[[ObjectVersion], None]


class MetaStore(Protocol):
    # -- tenants, users, keys ------------------------------------------------
    async def create_tenant(self, tenant: Tenant) -> None:
        """Raise TenantExists if the name is taken."""

    async def get_tenant(self, name: str) -> Tenant | None: ...

    async def list_tenants(self) -> list[Tenant]: ...

    async def delete_tenant(self, name: str) -> None:
        """Delete a tenant with its users and keys.

        Raise NoSuchTenant, or TenantNotEmpty if it still owns buckets.
        """

    async def create_user(self, user: User) -> None:
        """Raise NoSuchTenant or UserExists."""

    async def get_user(self, tenant: str, name: str) -> User | None: ...

    async def list_users(self, tenant: str | None = None) -> list[User]: ...

    async def create_key(self, key: AccessKey) -> None:
        """Raise NoSuchUser or AccessKeyExists."""

    async def get_key(self, access_key: str) -> AccessKey | None:
        """The key, active or revoked."""

    async def list_keys(self, tenant: str | None = None) -> list[AccessKey]: ...

    async def revoke_key(self, access_key: str) -> None:
        """Mark the key inactive; raise NoSuchAccessKey."""

    # -- buckets -------------------------------------------------------------
    async def create_bucket(self, bucket: Bucket) -> None:
        """Raise BucketAlreadyExists if the name is taken (by anyone)."""

    async def get_bucket(self, name: str) -> Bucket | None: ...

    async def list_buckets(self, owner: str | None = None) -> list[Bucket]:
        """Buckets sorted by name, all or those of one tenant."""

    async def update_bucket(self, bucket: Bucket) -> None:
        """Replace the bucket's settings, but not its `configs`; raise NoSuchBucket."""

    async def set_bucket_config(self, name: str, config: str, document: str | None) -> Bucket:
        """Set (or with None remove) one entry of the bucket's `configs`, atomically.

        Other entries are kept even when written concurrently. Returns the
        bucket as updated; raises NoSuchBucket.
        """

    async def delete_bucket(self, name: str) -> None:
        """Delete an empty bucket and its pending uploads.

        Raise NoSuchBucket, or BucketNotEmpty if any version or delete
        marker remains.
        """

    # -- object versions -----------------------------------------------------
    async def get_version(
        self, bucket: str, key: str, version_id: str | None = None
    ) -> ObjectVersion | None:
        """A given version, or the latest (possibly a delete marker)."""

    async def put_version(
        self, version: ObjectVersion, condition: WriteCondition | None = None
    ) -> ObjectVersion:
        """Make `version` the latest version of its key, atomically.

        In one transaction: check `condition` against the current latest
        version (PreconditionFailed; NoSuchKey for `if_match` when there is
        no current object), remove any version with the same version id
        (this is how the "null" version is replaced), mark the others not
        latest, insert. Returns the version with its assigned serial.
        """

    async def update_version(
        self, version: ObjectVersion, fields: Collection[str] = MUTABLE, guard: Guard | None = None
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
        self, bucket: str, key: str, version_id: str, guard: Guard | None = None
    ) -> ObjectVersion | None:
        """Remove one version; the newest remaining one becomes latest.

        `guard` sees the version first. Returns the removed version, or None
        if there was none.
        """

    async def list_objects(
        self, bucket: str, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> list[ObjectVersion]:
        """Latest versions that are not delete markers, by key.

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

    # -- multipart uploads ---------------------------------------------------
    async def create_upload(self, upload: MultipartUpload) -> None: ...

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

    async def put_part(self, bucket: str, part: Part) -> None:
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
    ) -> ObjectVersion:
        """Atomically: put `version` (as put_version) and drop the upload.

        Raise NoSuchUpload if the upload is gone.
        """

    async def abort_upload(self, bucket: str, upload_id: str) -> None:
        """Drop the upload and its parts; raise NoSuchUpload."""

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

    async def close(self) -> None: ...
