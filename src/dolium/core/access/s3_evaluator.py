"""The S3 evaluator: S3 ACLs and bucket policies, judged as AWS judges them.

Its edge is `S3_ACTIONS`, the one table from the core's actions to the
`s3:*` action names that bucket policies and ACLs are written in; past it
the rules of `decisions` (explicit Deny, owner tenant, policy Allow, ACL
grants, the public access block, object ownership) work in those names.

An object ACL can allow what the bucket's rules did not, once the caller
has read the version and asks again with it (`Resource.version`).

A user with identity policies (`identity`) is judged as AWS judges an IAM
user: an explicit Deny in its policies refuses; in its own tenant's bucket
its policies' Allow or the bucket's rules' suffices; in another tenant's
bucket both must allow.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from dolium.core.access import decisions, identity
from dolium.core.access.actions import Action, Decision, Resource, Setting
from dolium.core.access.policy import resource_arn
from dolium.core.access.policy_actions import EXISTING_TAG_ACTIONS
from dolium.model import Principal


def _same(name: str) -> tuple[str, str]:
    return name, name


# (action, setting) -> (its s3:* name, the name when the call names a version).
# Where S3 has no delete permission of its own, deleting a setting is a put.
S3_ACTIONS: Mapping[tuple[Action, Setting | None], tuple[str, str]] = MappingProxyType(
    {
        # Containers
        (Action.LIST, None): _same("s3:ListBucket"),
        (Action.LIST_VERSIONS, None): _same("s3:ListBucketVersions"),
        (Action.LIST_UPLOADS, None): _same("s3:ListBucketMultipartUploads"),
        (Action.DELETE_CONTAINER, None): _same("s3:DeleteBucket"),
        # Objects
        (Action.READ, None): ("s3:GetObject", "s3:GetObjectVersion"),
        (Action.WRITE, None): _same("s3:PutObject"),
        (Action.DELETE, None): ("s3:DeleteObject", "s3:DeleteObjectVersion"),
        (Action.READ_ACL, None): ("s3:GetObjectAcl", "s3:GetObjectVersionAcl"),
        (Action.WRITE_ACL, None): ("s3:PutObjectAcl", "s3:PutObjectVersionAcl"),
        (Action.READ_TAGS, None): ("s3:GetObjectTagging", "s3:GetObjectVersionTagging"),
        (Action.WRITE_TAGS, None): ("s3:PutObjectTagging", "s3:PutObjectVersionTagging"),
        (Action.DELETE_TAGS, None): ("s3:DeleteObjectTagging", "s3:DeleteObjectVersionTagging"),
        (Action.READ_RETENTION, None): _same("s3:GetObjectRetention"),
        (Action.WRITE_RETENTION, None): _same("s3:PutObjectRetention"),
        (Action.BYPASS_RETENTION, None): _same("s3:BypassGovernanceRetention"),
        (Action.READ_LEGAL_HOLD, None): _same("s3:GetObjectLegalHold"),
        (Action.WRITE_LEGAL_HOLD, None): _same("s3:PutObjectLegalHold"),
        (Action.LIST_PARTS, None): _same("s3:ListMultipartUploadParts"),
        (Action.ABORT_UPLOAD, None): _same("s3:AbortMultipartUpload"),
        # Container settings
        (Action.READ_SETTING, Setting.ACL): _same("s3:GetBucketAcl"),
        (Action.WRITE_SETTING, Setting.ACL): _same("s3:PutBucketAcl"),
        (Action.READ_SETTING, Setting.POLICY): _same("s3:GetBucketPolicy"),
        (Action.WRITE_SETTING, Setting.POLICY): _same("s3:PutBucketPolicy"),
        (Action.DELETE_SETTING, Setting.POLICY): _same("s3:DeleteBucketPolicy"),
        (Action.READ_SETTING, Setting.POLICY_STATUS): _same("s3:GetBucketPolicyStatus"),
        (Action.READ_SETTING, Setting.CORS): _same("s3:GetBucketCORS"),
        (Action.WRITE_SETTING, Setting.CORS): _same("s3:PutBucketCORS"),
        (Action.DELETE_SETTING, Setting.CORS): _same("s3:PutBucketCORS"),
        (Action.READ_SETTING, Setting.ENCRYPTION): _same("s3:GetEncryptionConfiguration"),
        (Action.WRITE_SETTING, Setting.ENCRYPTION): _same("s3:PutEncryptionConfiguration"),
        (Action.DELETE_SETTING, Setting.ENCRYPTION): _same("s3:PutEncryptionConfiguration"),
        (Action.READ_SETTING, Setting.LIFECYCLE): _same("s3:GetLifecycleConfiguration"),
        (Action.WRITE_SETTING, Setting.LIFECYCLE): _same("s3:PutLifecycleConfiguration"),
        (Action.DELETE_SETTING, Setting.LIFECYCLE): _same("s3:PutLifecycleConfiguration"),
        (Action.READ_SETTING, Setting.LOGGING): _same("s3:GetBucketLogging"),
        (Action.WRITE_SETTING, Setting.LOGGING): _same("s3:PutBucketLogging"),
        (Action.READ_SETTING, Setting.NOTIFICATION): _same("s3:GetBucketNotification"),
        (Action.WRITE_SETTING, Setting.NOTIFICATION): _same("s3:PutBucketNotification"),
        (Action.READ_SETTING, Setting.OBJECT_LOCK): _same("s3:GetBucketObjectLockConfiguration"),
        (Action.WRITE_SETTING, Setting.OBJECT_LOCK): _same("s3:PutBucketObjectLockConfiguration"),
        (Action.READ_SETTING, Setting.OWNERSHIP): _same("s3:GetBucketOwnershipControls"),
        (Action.WRITE_SETTING, Setting.OWNERSHIP): _same("s3:PutBucketOwnershipControls"),
        (Action.DELETE_SETTING, Setting.OWNERSHIP): _same("s3:PutBucketOwnershipControls"),
        (Action.READ_SETTING, Setting.PUBLIC_ACCESS_BLOCK): _same("s3:GetBucketPublicAccessBlock"),
        (Action.WRITE_SETTING, Setting.PUBLIC_ACCESS_BLOCK): _same("s3:PutBucketPublicAccessBlock"),
        (Action.DELETE_SETTING, Setting.PUBLIC_ACCESS_BLOCK): _same(
            "s3:PutBucketPublicAccessBlock"
        ),
        (Action.READ_SETTING, Setting.REQUEST_PAYMENT): _same("s3:GetBucketRequestPayment"),
        (Action.WRITE_SETTING, Setting.REQUEST_PAYMENT): _same("s3:PutBucketRequestPayment"),
        (Action.READ_SETTING, Setting.TAGGING): _same("s3:GetBucketTagging"),
        (Action.WRITE_SETTING, Setting.TAGGING): _same("s3:PutBucketTagging"),
        (Action.DELETE_SETTING, Setting.TAGGING): _same("s3:PutBucketTagging"),
        (Action.READ_SETTING, Setting.VERSIONING): _same("s3:GetBucketVersioning"),
        (Action.WRITE_SETTING, Setting.VERSIONING): _same("s3:PutBucketVersioning"),
        (Action.READ_SETTING, Setting.WEBSITE): _same("s3:GetBucketWebsite"),
        (Action.WRITE_SETTING, Setting.WEBSITE): _same("s3:PutBucketWebsite"),
        (Action.DELETE_SETTING, Setting.WEBSITE): _same("s3:DeleteBucketWebsite"),
        (Action.READ_SETTING, Setting.ACCELERATE): _same("s3:GetAccelerateConfiguration"),
        (Action.WRITE_SETTING, Setting.ACCELERATE): _same("s3:PutAccelerateConfiguration"),
        (Action.READ_SETTING, Setting.REPLICATION): _same("s3:GetReplicationConfiguration"),
        (Action.WRITE_SETTING, Setting.REPLICATION): _same("s3:PutReplicationConfiguration"),
        # S3 has no action of its own for DeleteBucketReplication.
        (Action.DELETE_SETTING, Setting.REPLICATION): _same("s3:PutReplicationConfiguration"),
        (Action.READ_SETTING, Setting.LOCATION): _same("s3:GetBucketLocation"),
        # S3 has no container metadata; its nearest kin, and so the names a
        # bucket policy grants it by, are the bucket's tags.
        (Action.READ_SETTING, Setting.METADATA): _same("s3:GetBucketTagging"),
        (Action.WRITE_SETTING, Setting.METADATA): _same("s3:PutBucketTagging"),
    }
)


def s3_action(action: Action, resource: Resource) -> str:
    """The s3:* name a bucket policy or ACL knows this request by."""
    try:
        latest, by_version = S3_ACTIONS[action, resource.setting]
    except KeyError:
        # A core call site asking for a pair no S3 call makes: a bug, not a refusal.
        raise LookupError(f"no S3 action for {action.name} on {resource.setting}") from None
    return by_version if resource.version_id is not None else latest


class S3Evaluator:
    async def evaluate(self, principal: Principal, action: Action, resource: Resource) -> Decision:
        name = s3_action(action, resource)
        bucket = resource.container
        if not principal.policies:
            return self._resource_rules(principal, name, resource)
        own = identity.decide(principal, name, resource_arn(bucket.name, resource.key))
        if own is Decision.DENY:
            return Decision.DENY
        cross_tenant = principal.tenant != bucket.owner
        if cross_tenant and own is not Decision.ALLOW:
            # Across tenants the user's own policies must allow as well: no
            # grant of the bucket's (ACL, Swift ACL, sharing) stands in for
            # them, so the grantors must not be asked either.
            return Decision.DENY
        if (
            resource.version is None
            and name in EXISTING_TAG_ACTIONS
            and decisions.tests_existing_tags(bucket)
        ):
            return Decision.NONE  # as below: the bucket policy needs the version's tags
        decision = self._resource_rules(principal, name, resource)
        if cross_tenant or decision is Decision.DENY:
            return decision  # its own policies allowed: the bucket's rules decide
        return Decision.ALLOW if Decision.ALLOW in (own, decision) else decision

    def _resource_rules(self, principal: Principal, name: str, resource: Resource) -> Decision:
        bucket = resource.container
        if name in EXISTING_TAG_ACTIONS and decisions.tests_existing_tags(bucket):
            if resource.version is None:
                # The policy tests the object's tags, which only its version
                # knows: undecided, so the core asks again with the version
                # (a Deny on them must not be missed by an Allow without them).
                return Decision.NONE
            principal = decisions.with_existing_tags(principal, resource.version)
        decision = decisions.decide(principal, bucket, name, resource.key)
        if (
            decision is Decision.NONE
            and resource.version is not None
            and decisions.object_allows(principal, bucket, resource.version, name)
        ):
            return Decision.ALLOW
        return decision
