"""What a caller asks to do, in the core's own words.

Every permission check in the core names an `Action` on a `Resource`. The
words are the object model's, not any API's: each front end maps its wire
operations to them, and each evaluator maps them to the names its own rules
are written in (the S3 evaluator to `s3:*` action names, in one table).

An action is fine-grained enough for that mapping to be exact: where an API
tells two calls apart (S3's GetObject and GetObjectVersion, GetBucketCors
and GetBucketWebsite), the resource says which (`version_id`, `setting`).

Pure values: nothing here decides anything.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from dolium.model import Bucket, ObjectVersion


class Action(enum.Enum):
    # A container and what it holds as a whole.
    LIST = enum.auto()  # the current objects (and learning whether a key exists)
    LIST_VERSIONS = enum.auto()
    LIST_UPLOADS = enum.auto()  # multipart uploads in progress
    DELETE_CONTAINER = enum.auto()
    READ_SETTING = enum.auto()  # one setting of the container, named by `Resource.setting`
    WRITE_SETTING = enum.auto()
    DELETE_SETTING = enum.auto()
    # One object (`Resource.key`), or one of its versions (`Resource.version_id`).
    READ = enum.auto()  # data and metadata
    WRITE = enum.auto()  # a new version, whole or by parts
    DELETE = enum.auto()
    READ_ACL = enum.auto()
    WRITE_ACL = enum.auto()
    READ_TAGS = enum.auto()
    WRITE_TAGS = enum.auto()
    DELETE_TAGS = enum.auto()
    READ_RETENTION = enum.auto()
    WRITE_RETENTION = enum.auto()
    BYPASS_RETENTION = enum.auto()  # shorten or lift a GOVERNANCE retention
    READ_LEGAL_HOLD = enum.auto()
    WRITE_LEGAL_HOLD = enum.auto()
    LIST_PARTS = enum.auto()
    ABORT_UPLOAD = enum.auto()


class Setting(enum.StrEnum):
    """A container setting that has a permission of its own."""

    ACL = "acl"
    POLICY = "policy"
    POLICY_STATUS = "policy_status"  # whether the policy makes the container public
    CORS = "cors"
    ENCRYPTION = "encryption"
    LIFECYCLE = "lifecycle"
    LOGGING = "logging"
    NOTIFICATION = "notification"
    OBJECT_LOCK = "object_lock"
    OWNERSHIP = "ownership"
    PUBLIC_ACCESS_BLOCK = "public_access_block"
    REQUEST_PAYMENT = "request_payment"
    TAGGING = "tagging"
    VERSIONING = "versioning"
    WEBSITE = "website"
    ACCELERATE = "accelerate"
    REPLICATION = "replication"
    LOCATION = "location"
    METADATA = "metadata"  # the container's user metadata (Swift, Pithos)


class Decision(enum.Enum):
    ALLOW = "allow"
    DENY = "deny"  # an explicit refusal: no other evaluator can allow
    NONE = "none"  # nothing applies: refused unless something else allows


@dataclass(frozen=True, slots=True)
class Resource:
    """What an action is done to: a container, one of its settings, or an object."""

    container: Bucket
    key: str | None = None  # None: the container itself
    setting: Setting | None = None  # for the *_SETTING actions
    # The version the call names; None: the latest (or no version at all).
    version_id: str | None = None
    # The version read, when its own grants (an S3 object ACL) may allow what
    # the container's rules did not; None until the caller has read it.
    version: ObjectVersion | None = None
