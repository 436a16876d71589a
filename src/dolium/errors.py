"""Domain errors raised by the core and the back ends.

Each front end maps these to its wire format in one table; anything that is
not a `DoliumError` is an internal error there. Messages are the raiser's
own words; a front end words an error by its class, or by its `problem`
(`Problem`, `ChecksumProblem`) where one class covers several cases.

    DoliumError
    ├── ConfigError                 bad configuration (one line for a person)
    ├── NotFound
    │   ├── NoSuchBucket  NoSuchKey  NoSuchVersion  NoSuchUpload
    │   ├── NoSuchTenant  NoSuchUser  NoSuchAccessKey  NoSuchPolicy
    │   ├── NoSuchTagSet
    ├── Conflict
    │   ├── BucketAlreadyExists  BucketAlreadyOwnedByYou  BucketNotEmpty
    │   ├── TenantExists  UserExists  AccessKeyExists  TenantNotEmpty
    │   ├── UserNotEmpty            a user to delete still has keys or policies
    │   ├── ConditionalRequestConflict
    │   ├── MissingBlocks           a hashmap names blocks the store does not hold
    │   └── InvalidBucketState      not allowed in the bucket's state (object lock)
    ├── AccessDenied
    ├── InvalidRequest              request is well-formed but not allowed
    │   ├── InvalidBucketName  KeyTooLong  MetadataTooLarge  InvalidArgument
    │   ├── IntegrityRequired
    │   ├── InvalidPart  InvalidPartOrder  EntityTooSmall  EntityTooLarge
    │   ├── InvalidDigest  BadDigest  ChecksumMismatch  InvalidChecksum  InvalidRange
    │   ├── IncompleteBody  MalformedConfiguration  TooManyParts
    │   ├── InvalidTag  TooManyTags
    │   ├── AclNotSupported  AclBlocksOwnership  UnresolvableGrantByEmail
    │   ├── NoSuchStoragePolicy     a request names a storage policy not configured
    │   ├── KmsKeyNotFound  KmsKeyDisabled   a key of the key service (SSE-KMS)
    ├── PreconditionFailed  NotModified
    ├── NotSupported                valid S3, but a feature Dolium does not implement
    └── StorageError                a back end failed (I/O, corruption)
        ├── BlockNotFound  CorruptBlock  StorageFull
        └── StorageUnavailable      a store cannot answer now: try again later
            └── KeyStoreUnavailable the key store cannot say whether a key is good
"""

from __future__ import annotations

import enum


class DoliumError(Exception):
    """Base of every error the core or a back end raises on purpose.

    `message` says what was wrong in the words of whoever raised it; a
    front end may word the error in its own terms, by class or, where one
    class covers several cases, by `problem`.
    """

    def __init__(
        self, message: str = "", *, problem: enum.Enum | None = None, **context: object
    ) -> None:
        super().__init__(message or type(self).__name__)
        self.message = message or type(self).__name__
        self.problem = problem
        self.context = context


class ConfigError(DoliumError):
    pass


class NotFound(DoliumError):
    pass


class NoSuchBucket(NotFound):
    pass


class NoSuchKey(NotFound):
    pass


class NoSuchVersion(NotFound):
    pass


class NoSuchUpload(NotFound):
    pass


class NoSuchTenant(NotFound):
    pass


class NoSuchUser(NotFound):
    pass


class NoSuchAccessKey(NotFound):
    pass


class NoSuchPolicy(NotFound):
    pass


class NoSuchTagSet(NotFound):
    pass


class Conflict(DoliumError):
    pass


class BucketAlreadyExists(Conflict):
    pass


class BucketAlreadyOwnedByYou(Conflict):
    pass


class BucketNotEmpty(Conflict):
    pass


class TenantExists(Conflict):
    pass


class TenantNotEmpty(Conflict):
    pass


class UserExists(Conflict):
    pass


class UserNotEmpty(Conflict):
    pass


class AccessKeyExists(Conflict):
    pass


class ConditionalRequestConflict(Conflict):
    pass


class MissingBlocks(Conflict):
    """A write by hashmap names blocks that are not stored; `missing` lists
    their digests, in hashmap order, each once."""

    def __init__(self, message: str, missing: tuple[bytes, ...]) -> None:
        super().__init__(message)
        self.missing = missing


class InvalidBucketState(Conflict):
    pass


class AccessDenied(DoliumError):
    pass


class InvalidRequest(DoliumError):
    pass


class InvalidArgument(InvalidRequest):
    pass


class KmsKeyNotFound(InvalidRequest):
    """A request names a key the key service does not have."""


class KmsKeyDisabled(InvalidRequest):
    """A request would encrypt or decrypt with a key that is disabled."""


class NoSuchStoragePolicy(InvalidRequest):
    """A request names a storage policy this server does not have (`policy`: the name)."""


class IntegrityRequired(InvalidRequest):
    """A write under Object Lock declares neither an MD5 nor a checksum of its data."""


class InvalidBucketName(InvalidRequest):
    pass


class KeyTooLong(InvalidRequest):
    pass


class MetadataTooLarge(InvalidRequest):
    pass


class InvalidPart(InvalidRequest):
    pass


class InvalidPartOrder(InvalidRequest):
    pass


class EntityTooSmall(InvalidRequest):
    pass


class EntityTooLarge(InvalidRequest):
    pass


class InvalidDigest(InvalidRequest):
    pass


class BadDigest(InvalidRequest):
    pass


class ChecksumMismatch(InvalidRequest):
    """A checksum the client declared does not match the data."""


class Problem(enum.Enum):
    """What was wrong, where one error class covers cases a front end words apart."""

    OBJECT_LOCKED = "object locked"  # AccessDenied: retention or legal hold protects it
    LOCK_NEEDS_VERSIONING = "lock needs versioning"  # InvalidBucketState
    LOCK_KEEPS_VERSIONING = "lock keeps versioning"  # InvalidBucketState
    NO_OBJECT_LOCK = "no object lock"  # InvalidRequest: a lock call on a bucket without it
    NO_OBJECT_LOCK_FOR_WRITE = "no object lock for write"  # InvalidRequest: a write's lock
    RETENTION_NOT_POSITIVE = "retention not positive"  # InvalidArgument
    RETENTION_TOO_LONG = "retention too long"  # InvalidArgument
    RETAIN_UNTIL_PAST = "retain until past"  # InvalidArgument
    PART_NUMBER = "part number"  # InvalidArgument: out of 1..MAX_PARTS
    NO_PARTS = "no parts"  # InvalidRequest: completing an upload with none
    VERSION_ID = "version id"  # InvalidArgument: no version here has such an id
    VERSION_MARKER_ALONE = "version marker alone"  # InvalidArgument: no key marker with it
    COPY_OF_DELETE_MARKER = "copy of delete marker"  # InvalidRequest
    NOT_ENCRYPTED = "not encrypted"  # InvalidRequest: a customer key for data not under one
    NEEDS_CUSTOMER_KEY = "needs customer key"  # InvalidRequest: reading customer-keyed data
    PART_NEEDS_CUSTOMER_KEY = "part needs customer key"  # InvalidRequest
    # InvalidArgument: a write the key service would encrypt (a bucket's
    # SSE-KMS default, an SSE-KMS upload's part) by a request the front end
    # does not let use it
    KMS_NOT_ALLOWED = "kms not allowed"


class ChecksumProblem(enum.Enum):
    """What is wrong with a checksum a request names."""

    UNKNOWN_ALGORITHM = "unknown algorithm"
    MALFORMED_VALUE = "malformed value"  # not the base64 of a digest of the algorithm's size
    TYPE_WITHOUT_ALGORITHM = "type without algorithm"
    UNKNOWN_TYPE = "unknown type"
    TYPE_NOT_FOR_ALGORITHM = "type not for algorithm"


class InvalidChecksum(InvalidRequest):
    """A checksum algorithm, checksum type or checksum value a request names is unusable.

    `problem` says which; `algorithm` and `checksum_type` are the values
    concerned, as the request gave them ("" when they play no part). Each
    front end words the problem in its own terms.
    """

    def __init__(
        self,
        message: str,
        problem: ChecksumProblem,
        *,
        algorithm: str = "",
        checksum_type: str = "",
    ) -> None:
        super().__init__(message, problem=problem, algorithm=algorithm, checksum_type=checksum_type)
        self.problem: ChecksumProblem = problem
        self.algorithm = algorithm
        self.checksum_type = checksum_type


class InvalidRange(InvalidRequest):
    pass


class IncompleteBody(InvalidRequest):
    pass


class InvalidTargetBucketForLogging(InvalidRequest):
    """A logging target that does not exist, is elsewhere, or does not let the service
    write; `context["target_bucket"]` names it."""


class MalformedConfiguration(InvalidRequest):
    """A bucket configuration lacks what it must hold, or holds a value of the wrong shape.

    What the front end's parser of the configuration's wire format would
    have refused had its schema said so; the message says what was wrong.
    """


class TooManyParts(InvalidRequest):
    pass


class InvalidTag(InvalidRequest):
    """A tag breaks the tagging rules (key, value, duplicate, reserved prefix)."""


class TooManyTags(InvalidRequest):
    pass


class AclNotSupported(InvalidRequest):
    """An ACL was given for a bucket whose object ownership disables ACLs."""


class AclBlocksOwnership(InvalidRequest):
    """ACLs would be disabled while the bucket's ACL still grants to others."""


class UnresolvableGrantByEmail(InvalidRequest):
    """An ACL grants to an e-mail address that no tenant has."""


class PreconditionFailed(DoliumError):
    pass


class NotModified(DoliumError):
    """Conditional GET/HEAD: the client's copy is current (HTTP 304)."""

    def __init__(self, etag: str = "", modified: float = 0.0) -> None:
        super().__init__("Not Modified")
        self.etag = etag
        self.modified = modified


class NotSupported(DoliumError):
    """A well-formed request for a feature Dolium does not implement (S3's 501)."""


class StorageError(DoliumError):
    pass


class BlockNotFound(StorageError):
    pass


class AppendConflict(StorageError):
    """Another writer appended to the audit log first; the append changed nothing."""


class CorruptBlock(StorageError):
    pass


class QuotaExceeded(DoliumError):
    """A write would take a container or an account past a quota its operator set.

    `scope` is "bucket" or "account", `dimension` "bytes" or "objects", and
    `limit` the quota; the write changed nothing.
    """

    def __init__(self, message: str, *, scope: str, dimension: str, limit: int) -> None:
        super().__init__(message)
        self.scope = scope
        self.dimension = dimension
        self.limit = limit


class StorageFull(StorageError):
    """The store has no space left (or the quota of its file system is reached)."""


class StorageUnavailable(StorageError):
    """Too few of the stores a block is spread over answered: try again later."""


class KeyStoreUnavailable(StorageUnavailable):
    """The key store could not answer (its service failed, its file cannot be
    read): the request is refused as one to retry, never let through."""
