"""Domain types shared by every layer.

Plain frozen dataclasses: no I/O, no HTTP, no SQL. Keys are `str` here; back
ends decide how to store them (the SQL store keeps UTF-8 bytes so that order
is the byte order S3 lists in).
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import NamedTuple

EMPTY_MAP: Mapping[str, str] = MappingProxyType({})


def empty_map() -> Mapping[str, str]:
    return EMPTY_MAP


class Versioning(enum.StrEnum):
    """Bucket versioning state as S3 names it ("" = never enabled)."""

    UNVERSIONED = ""
    ENABLED = "Enabled"
    SUSPENDED = "Suspended"


# The version id of the one version a key keeps outside versioning (never
# enabled, or suspended), which the next such write replaces. Front ends name
# it as their API does (S3: "null", in the S3 front end's wire.versions); the
# value is what data directories have always stored.
UNVERSIONED_ID = "null"

# The storage policy of buckets that name none: the server's own block store.
DEFAULT_POLICY = "standard"


@dataclass(frozen=True, slots=True)
class Tenant:
    """An account: owns buckets, users and keys."""

    name: str
    canonical_id: str
    display_name: str
    email: str = ""
    created: float = 0.0


@dataclass(frozen=True, slots=True)
class User:
    tenant: str
    name: str
    admin: bool = False
    created: float = 0.0


@dataclass(frozen=True, slots=True)
class AccessKey:
    """A credential. The secret is needed to verify signatures, so it is kept."""

    access_key: str
    secret_key: str
    tenant: str
    user: str
    created: float = 0.0
    active: bool = True


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request, once authenticated; tenant "" is anonymous."""

    tenant: str
    user: str
    access_key: str = ""
    admin: bool = False
    canonical_id: str = ""
    display_name: str = ""
    # What policy conditions test about the request (aws:SourceIp, s3:prefix,
    # ...): lower-case condition key -> value, set by the front end.
    facts: Mapping[str, str] = field(default_factory=empty_map)
    # The groups the caller is known to belong to, as "account:group"
    # (evaluators that meet other groups look their members up themselves).
    groups: frozenset[str] = frozenset()
    # The identity policies (JSON documents) of the user and of its account
    # groups. Empty for a user without any, and for admins, whom identity
    # policies do not restrict: such a principal has its tenant's full rights.
    policies: tuple[str, ...] = ()
    # Where the request came from and its id, set by the front end; the
    # change log records them with each change the request makes.
    address: str = ""
    request_id: str = ""

    @property
    def anonymous(self) -> bool:
        return not self.tenant

    def making(self, facts: Mapping[str, str], address: str, request_id: str) -> Principal:
        """This principal as the maker of one request: `dataclasses.replace` written
        out, as it runs on every request and replace() inspects the class each time."""
        return Principal(
            self.tenant, self.user, self.access_key, self.admin, self.canonical_id,
            self.display_name, facts, self.groups, self.policies, address, request_id,
        )  # fmt: skip

    @property
    def actor(self) -> Actor:
        """Who this principal is, as the change log records it."""
        return Actor(self.tenant, self.user, self.access_key, self.address, self.request_id)


def container_address(account: str, container: str) -> str:
    """How S3 names a container that holds no global name: `account:container`.

    Account names have no ":" and global names are S3 bucket names, which
    have none either, so an address splits at its first ":" without doubt.
    """
    return f"{account}:{container}"


def split_address(address: str) -> tuple[str, str] | None:
    """(account, container) of an `account:container` address; None for a global name."""
    account, colon, container = address.partition(":")
    return (account, container) if colon else None


@dataclass(frozen=True, slots=True)
class Bucket:
    """A container (an S3 bucket, a Swift container), unique per (owner, container name).

    `name` is its address, which every meta store call takes: the global
    S3 name the container holds, or `account:container` when it holds none
    (see `container_address`). The meta store assigns `id`, the key other
    records refer to it by.
    """

    name: str
    owner: str  # tenant name: the account
    created: float
    region: str = ""
    versioning: Versioning = Versioning.UNVERSIONED
    object_lock: bool = False
    block_size: int = 4 * 1024 * 1024
    hash_algorithm: str = "sha256"
    # The storage policy new data of this bucket is written through.
    policy: str = DEFAULT_POLICY
    # Sub-resource documents (policy, cors, tagging, lifecycle, ...): name ->
    # JSON text in the form the core module owning that name defines.
    configs: Mapping[str, str] = field(default_factory=empty_map)
    # Assigned by the meta store; not compared, so that a bucket as given
    # equals the bucket as stored.
    id: int = field(default=0, compare=False)

    @property
    def container(self) -> str:
        """The container's name within its account."""
        split = split_address(self.name)
        return self.name if split is None else split[1]


@dataclass(frozen=True, slots=True)
class Usage:
    """What an account or a container holds: bytes of every stored version, and
    current objects (latest versions that are not delete markers)."""

    bytes: int = 0
    objects: int = 0


@dataclass(frozen=True, slots=True)
class Quota:
    """What a container or an account may hold at most; None: no limit."""

    bytes: int | None = None
    objects: int | None = None

    @property
    def unlimited(self) -> bool:
        return self.bytes is None and self.objects is None


NO_QUOTA = Quota()


@dataclass(frozen=True, slots=True)
class Limits:
    """The quotas one write must keep: its container's and its account's."""

    bucket: Quota = NO_QUOTA
    account: Quota = NO_QUOTA

    @property
    def unlimited(self) -> bool:
        return self.bucket.unlimited and self.account.unlimited


@dataclass(frozen=True, slots=True)
class Account:
    """What the meta store keeps of an account whichever key store holds its users."""

    name: str
    meta: Mapping[str, str] = field(default_factory=empty_map)
    usage: Usage = Usage()


@dataclass(frozen=True, slots=True)
class Sharing:
    """Who may read and who may write a path beside its owner.

    Entries name a user (`account` or `account:user`), a group
    (`account:group`, resolved through the account's groups) or everyone
    (`*`). Write implies read; the core decides what the entries grant.
    """

    read: tuple[str, ...] = ()
    write: tuple[str, ...] = ()


NO_SHARING = Sharing()


@dataclass(frozen=True, slots=True)
class PathRecord:
    """What outlives one version of a key: kept while the key has any version.

    The meta store assigns `uuid` when the key's first version is written; a
    move carries the record, and so the UUID, to the new path.
    """

    bucket: str  # the container's address, as given to the call that returned it
    key: str
    uuid: str
    sharing: Sharing = NO_SHARING
    public_id: str | None = None  # unique across the store
    delete_at: float | None = None  # epoch seconds


@dataclass(frozen=True, slots=True)
class Extent:
    """One block of an object: its content hash and its length in the object.

    The stored block is the content with trailing NULs stripped (Pithos
    hashing rules); `size` says how many bytes it stands for, so the reader
    pads it back.
    """

    digest: bytes
    size: int


@dataclass(frozen=True, slots=True)
class Hashmap:
    """The Pithos hashmap of a version's plaintext, computed from its data and kept.

    Kept only where the version's extents are not already its hashmap: blocks
    not aligned to the block size (multipart parts of other sizes) or sealed
    (their digests name ciphertext). `block_size` and `algorithm` say what it
    was computed with: a copy into a container with other parameters carries
    it along, and it does not describe the copy there.
    """

    block_size: int
    algorithm: str
    digests: tuple[bytes, ...]


class LockMode(enum.StrEnum):
    """Object lock retention mode ("" = none)."""

    NONE = ""
    GOVERNANCE = "GOVERNANCE"
    COMPLIANCE = "COMPLIANCE"


@dataclass(frozen=True, slots=True)
class Lock:
    """Object lock (WORM) state of a version: retention and legal hold."""

    mode: LockMode = LockMode.NONE
    until: float = 0.0  # retain-until, epoch seconds
    # None: never placed, which S3 tells apart from a hold placed and lifted.
    legal_hold: bool | None = None


NO_LOCK = Lock()

# The attributes of a stored version that change in place, each by its own
# call: "retention" is the lock's mode and date, "legal_hold" its hold.
MUTABLE = frozenset({"tags", "acl", "retention", "legal_hold"})
# Not a client's to change, so not in MUTABLE: the hashmap computed from a
# version's data is added later, by name, with update_version.
HASHMAP = "hashmap"


@dataclass(frozen=True, slots=True)
class ObjectVersion:
    """One version of one key (or a delete marker)."""

    bucket: str
    key: str
    version_id: str
    size: int = 0
    etag: str = ""  # quoted-less hex MD5, or MD5-of-MD5s + "-N"
    modified: float = 0.0
    owner: str = ""
    # Who wrote it (a user of the owner's account) and `modified` says when,
    # from the core's clock: what "the state of a container at time T" reads.
    user: str = ""
    delete_marker: bool = False
    is_latest: bool = True
    content_type: str = "binary/octet-stream"
    # Block list; empty when the data is inline or the object is empty.
    extents: tuple[Extent, ...] = ()
    inline: bytes | None = None
    # Pithos Merkle root (hex); None when it must be computed on demand
    # (multipart parts whose size is not a multiple of the block size).
    top_hash: str | None = None
    meta: Mapping[str, str] = field(default_factory=empty_map)  # x-amz-meta-*, lower-case names
    headers: Mapping[str, str] = field(default_factory=empty_map)  # cache-control, ...
    checksums: Mapping[str, str] = field(default_factory=empty_map)  # algorithm -> base64
    checksum_type: str = ""  # FULL_OBJECT | COMPOSITE
    parts: tuple[int, ...] = ()  # part sizes of a multipart object
    # The checksum of each part (base64, of the upload's algorithm), when every part had one.
    part_checksums: tuple[str, ...] = ()
    serial: int = 0  # global, increasing; assigned by the meta store
    # Mutable attributes (MUTABLE): a meta store's update_version replaces them.
    tags: Mapping[str, str] = field(default_factory=empty_map)
    acl: str = ""  # JSON grant list (core.acl); "" = the owner's full control
    lock: Lock = NO_LOCK
    # Server-side encryption parameters (core.sse); empty when stored in clear.
    sse: Mapping[str, str] = field(default_factory=empty_map)
    # The storage policy that stored `extents` (its blocks are read through it).
    policy: str = DEFAULT_POLICY
    # The plaintext hashmap, when computed from the data (see Hashmap).
    hashmap: Hashmap | None = None


def with_mutable(
    stored: ObjectVersion, given: ObjectVersion, fields: Collection[str]
) -> ObjectVersion:
    """`stored` with the mutable attributes named in `fields` taken from `given`.

    How a meta store's update_version merges: what is not named keeps its
    stored value, even half of a lock.
    """
    lock = stored.lock
    if "retention" in fields:
        lock = replace(lock, mode=given.lock.mode, until=given.lock.until)
    if "legal_hold" in fields:
        lock = replace(lock, legal_hold=given.lock.legal_hold)
    return replace(
        stored,
        tags=given.tags if "tags" in fields else stored.tags,
        acl=given.acl if "acl" in fields else stored.acl,
        lock=lock,
        hashmap=given.hashmap if HASHMAP in fields else stored.hashmap,
    )


@dataclass(frozen=True, slots=True)
class MultipartUpload:
    bucket: str
    key: str
    upload_id: str
    initiated: float
    owner: str
    content_type: str = "binary/octet-stream"
    meta: Mapping[str, str] = field(default_factory=empty_map)
    headers: Mapping[str, str] = field(default_factory=empty_map)
    checksum_algorithm: str = ""
    checksum_type: str = ""
    # Given at creation, carried to the completed version.
    tags: Mapping[str, str] = field(default_factory=empty_map)
    acl: str = ""
    lock: Lock = NO_LOCK
    sse: Mapping[str, str] = field(default_factory=empty_map)
    # The storage policy every part of this upload is stored through.
    policy: str = DEFAULT_POLICY


@dataclass(frozen=True, slots=True)
class Part:
    upload_id: str
    number: int
    size: int
    etag: str
    modified: float
    extents: tuple[Extent, ...] = ()
    checksums: Mapping[str, str] = field(default_factory=empty_map)
    # The storage policy that stored `extents`.
    policy: str = DEFAULT_POLICY


@dataclass(frozen=True, slots=True)
class BlockRef:
    """A block as the meta store counts it: its digest within one storage policy."""

    policy: str
    digest: bytes


class ListedObject(NamedTuple):
    """What a listing of current objects shows of one.

    A listing page holds up to a thousand of these, so the store reads only
    these columns: not the data layout, metadata or attributes of a full
    ObjectVersion, whose decoding would cost a page several times over. A
    named tuple, because it is made a thousand times a page and a tuple is
    made several times faster than a frozen dataclass.
    """

    key: str
    version_id: str
    size: int
    etag: str
    modified: float
    owner: str
    content_type: str
    checksum_algorithms: tuple[str, ...] = ()  # the names of its stored checksums
    checksum_type: str = ""
    user: str = ""  # who wrote it (Pithos shows it as x_object_modified_by)
    # The Pithos top hash kept with the version's row; "" when it is computed
    # on demand (core.objects.hashmaps.object_top_hash tells the rest).
    top_hash: str = ""

    @classmethod
    def of(cls, v: ObjectVersion) -> ListedObject:
        return cls(
            key=v.key,
            version_id=v.version_id,
            size=v.size,
            etag=v.etag,
            modified=v.modified,
            owner=v.owner,
            content_type=v.content_type,
            checksum_algorithms=tuple(v.checksums),
            checksum_type=v.checksum_type,
            user=v.user,
            top_hash=v.top_hash or "",
        )


@dataclass(frozen=True, slots=True)
class ListPage:
    """A page of a listing, already rolled up by delimiter."""

    entries: tuple[ListedObject, ...]
    prefixes: tuple[str, ...]
    truncated: bool
    next_marker: str | None  # last key or prefix returned, when truncated


# --------------------------------------------------------------------------- change log


class ChangeAction(enum.StrEnum):
    """What a change record says happened, in the core's own words.

    Front ends and consumers translate these to their vocabularies (S3
    event names, audit categories); the store never sees those.
    """

    TENANT_CREATE = "tenant.create"
    TENANT_DELETE = "tenant.delete"
    USER_CREATE = "user.create"
    USER_DELETE = "user.delete"  # with its keys and policies
    USER_POLICY_SET = "user.policy.set"  # `name` is "<user>/<policy>"
    USER_POLICY_DELETE = "user.policy.delete"
    KEY_CREATE = "key.create"
    KEY_REVOKE = "key.revoke"
    KEY_DELETE = "key.delete"
    BUCKET_CREATE = "bucket.create"
    BUCKET_UPDATE = "bucket.update"  # versioning, object lock and other settings
    BUCKET_CONFIG_SET = "bucket.config.set"  # `name` is the config's name
    BUCKET_CONFIG_DELETE = "bucket.config.delete"
    BUCKET_DELETE = "bucket.delete"
    OBJECT_PUT = "object.put"  # a version written from a request body
    OBJECT_POST = "object.post"  # ... from a browser form upload
    OBJECT_COPY = "object.copy"  # ... from another version
    OBJECT_COMPLETE = "object.complete"  # ... from the parts of an upload (`name`)
    OBJECT_MARKER = "object.marker"  # a delete marker became the latest version
    OBJECT_UPDATE = "object.update"  # mutable attributes; `name` lists them
    OBJECT_DELETE = "object.delete"  # a version removed (or asked to be, see MetaStore)
    UPLOAD_CREATE = "upload.create"
    UPLOAD_PART = "upload.part"  # `name` is "<upload id>/<part number>"
    UPLOAD_ABORT = "upload.abort"
    OBJECT_MOVE = "object.move"  # with its path record; `name` is "<to bucket>/<to key>"
    PATH_SHARING_SET = "path.sharing.set"
    PATH_PUBLIC_SET = "path.public.set"  # the public id itself is not recorded: it grants reads
    PATH_DELETE_AT_SET = "path.delete_at.set"
    ACCOUNT_META_SET = "account.meta.set"  # `tenant` is the account
    ACCOUNT_GROUP_SET = "account.group.set"  # `name` is the group
    ACCOUNT_GROUP_POLICY_SET = "account.group.policy.set"  # `name` is "<group>/<policy>"
    ACCOUNT_GROUP_POLICY_DELETE = "account.group.policy.delete"
    # A request that would have changed state, refused (permission, a bucket
    # setting): nothing changed. `name` says what was asked ("PUT ?acl").
    REQUEST_DENIED = "request.denied"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked for a change and through which request; recorded with it.

    The core builds it from the front end's principal and passes it to each
    write of the meta store; all fields empty (SERVER) is the server itself
    (lifecycle expiry, the admin command line).
    """

    tenant: str = ""
    user: str = ""
    access_key: str = ""
    address: str = ""  # the client's network address
    request_id: str = ""


SERVER = Actor()


@dataclass(frozen=True, slots=True)
class Change:
    """One record of the change log, appended in the transaction of its change.

    The resource is named by the fields that apply to the action: `tenant`
    (tenants, users, keys; the owner for buckets), `bucket`, `key`, and
    `name` (user name, access key id, config name, upload id, updated
    attributes). `size`, `etag` and `top_hash` describe the version made or
    removed, when there is one.
    """

    serial: int  # assigned by the meta store, increasing in commit order
    time: float
    action: ChangeAction
    actor: Actor = SERVER
    tenant: str = ""
    bucket: str = ""
    key: str = ""
    name: str = ""
    version_id: str = ""
    size: int | None = None
    etag: str = ""
    top_hash: str = ""


def version_change(
    action: ChangeAction, version: ObjectVersion, actor: Actor, time: float, name: str = ""
) -> Change:
    """The record of a change that made or removed `version` (serial left to the store)."""
    marker = version.delete_marker
    return Change(
        serial=0,
        time=time,
        action=action,
        actor=actor,
        bucket=version.bucket,
        key=version.key,
        name=name,
        version_id=version.version_id,
        size=None if marker else version.size,
        etag="" if marker else version.etag,
        top_hash="" if marker else version.top_hash or "",
    )


def part_change(bucket: str, key: str, part: Part, actor: Actor, time: float) -> Change:
    """The record of a part stored (serial left to the store)."""
    return Change(
        serial=0,
        time=time,
        action=ChangeAction.UPLOAD_PART,
        actor=actor,
        bucket=bucket,
        key=key,
        name=f"{part.upload_id}/{part.number}",
        size=part.size,
        etag=part.etag,
    )
