"""Who may call what: every routed S3 operation, as the owner, another tenant and anonymous.

One table drives two tests. The owner runs each operation on a bucket of
its own and succeeds (a configuration never set may answer its "not
configured" 404). The other tenant, holding no grant, and an anonymous
caller run each one on a second bucket of the owner's and are refused with
403 AccessDenied; after every write they attempt, everything the owner keeps
in that bucket is read back and must be as it was.

ACLs, bucket policies, ownership controls and the public access block are
checked in test_access_grants.py.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from access_support import NO_BLOCK, TAGS, policy, refusal, rule
from botocore.exceptions import ClientError

UPLOAD_KEY = "mp"


@dataclass
class Target:
    """What an operation acts on: a bucket of the owner's, and the caller's own things.

    `maker` is set for the owner's runs only: then each destructive operation
    gets a fresh object, upload or bucket; an outsider aims at the real ones.
    """

    bucket: str
    key: str  # an object with two versions
    version: str  # its latest version
    upload: str  # an upload of UPLOAD_KEY holding part 1
    part_etag: str
    own_bucket: str  # a bucket the caller may write to and read from
    own_key: str
    own_upload: str  # an upload of UPLOAD_KEY in own_bucket
    versioning: str  # what PutBucketVersioning asks for
    maker: Any = None
    made_buckets: list[str] = field(default_factory=list)

    def fresh_key(self) -> tuple[str, str]:
        if self.maker is None:
            return self.key, self.version
        key = f"fresh-{uuid.uuid4().hex[:8]}"
        return key, self.maker.put_object(Bucket=self.bucket, Key=key, Body=b"f")["VersionId"]

    def fresh_upload(self) -> tuple[str, str, str]:
        if self.maker is None:
            return UPLOAD_KEY, self.upload, self.part_etag
        upload = self.maker.create_multipart_upload(Bucket=self.bucket, Key=UPLOAD_KEY)["UploadId"]
        part = self.maker.upload_part(
            Bucket=self.bucket, Key=UPLOAD_KEY, UploadId=upload, PartNumber=1, Body=b"p"
        )
        return UPLOAD_KEY, upload, part["ETag"]

    def fresh_bucket(self) -> str:
        if self.maker is None:
            return self.bucket
        name = f"acm-{uuid.uuid4().hex[:12]}"
        self.maker.create_bucket(Bucket=name)
        self.made_buckets.append(name)
        return name


Call = Callable[[Any, Target], Any]


def _b(method: str, **kw: Any) -> Call:
    """`method` on the target bucket."""
    return lambda c, t: getattr(c, method)(Bucket=t.bucket, **kw)


def _o(method: str, **kw: Any) -> Call:
    """`method` on the target's object."""
    return lambda c, t: getattr(c, method)(Bucket=t.bucket, Key=t.key, **kw)


def _put_policy(c: Any, t: Target) -> Any:
    arns = [f"arn:aws:s3:::{t.bucket}", f"arn:aws:s3:::{t.bucket}/*"]
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": arns}
    return c.put_bucket_policy(Bucket=t.bucket, Policy=policy(statement))


def _copy(c: Any, bucket: str, key: str, src_bucket: str, src_key: str) -> Any:
    return c.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": src_bucket, "Key": src_key})


def _part_copy(c: Any, bucket: str, upload: str, src_bucket: str, src_key: str) -> Any:
    source = {"Bucket": src_bucket, "Key": src_key}
    return c.upload_part_copy(
        Bucket=bucket, Key=UPLOAD_KEY, UploadId=upload, PartNumber=2, CopySource=source
    )


def _retain(c: Any, t: Target) -> Any:
    until = datetime.now(UTC) + timedelta(days=1)
    retention = {"Mode": "GOVERNANCE", "RetainUntilDate": until}
    return c.put_object_retention(Bucket=t.bucket, Key=t.fresh_key()[0], Retention=retention)


def _delete_version(c: Any, t: Target) -> Any:
    key, version = t.fresh_key()
    return c.delete_object(Bucket=t.bucket, Key=key, VersionId=version)


def _delete_objects(c: Any, t: Target) -> Any:
    key, version = t.fresh_key()
    objects = [{"Key": key}, {"Key": key, "VersionId": version}]
    return c.delete_objects(Bucket=t.bucket, Delete={"Objects": objects})


def _complete(c: Any, t: Target) -> Any:
    key, upload, etag = t.fresh_upload()
    parts = {"Parts": [{"PartNumber": 1, "ETag": etag}]}
    return c.complete_multipart_upload(
        Bucket=t.bucket, Key=key, UploadId=upload, MultipartUpload=parts
    )


def _abort(c: Any, t: Target) -> Any:
    key, upload, _ = t.fresh_upload()
    return c.abort_multipart_upload(Bucket=t.bucket, Key=key, UploadId=upload)


CORS = {"CORSRules": [{"AllowedMethods": ["GET"], "AllowedOrigins": ["*"]}]}
RULE = {"ID": "old", "Filter": {"Prefix": "tmp/"}, "Status": "Enabled", "Expiration": {"Days": 9}}
LIFECYCLE = {"Rules": [RULE]}
ENCRYPTION = {"Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]}
WEBSITE = {"IndexDocument": {"Suffix": "index.html"}}

READS: dict[str, Call] = {
    "ListObjects": _b("list_objects"),
    "ListObjectsV2": _b("list_objects_v2"),
    "ListObjectVersions": _b("list_object_versions"),
    "ListMultipartUploads": _b("list_multipart_uploads"),
    "HeadBucket": _b("head_bucket"),
    "GetBucketLocation": _b("get_bucket_location"),
    "GetBucketVersioning": _b("get_bucket_versioning"),
    "GetBucketAcl": _b("get_bucket_acl"),
    "GetBucketPolicy": _b("get_bucket_policy"),
    "GetBucketPolicyStatus": _b("get_bucket_policy_status"),
    "GetBucketCors": _b("get_bucket_cors"),
    "GetBucketTagging": _b("get_bucket_tagging"),
    "GetBucketLifecycle": _b("get_bucket_lifecycle_configuration"),
    "GetBucketEncryption": _b("get_bucket_encryption"),
    "GetBucketWebsite": _b("get_bucket_website"),
    "GetBucketNotification": _b("get_bucket_notification_configuration"),
    "GetObjectLockConfiguration": _b("get_object_lock_configuration"),
    "GetBucketOwnershipControls": _b("get_bucket_ownership_controls"),
    "GetPublicAccessBlock": _b("get_public_access_block"),
    "GetBucketRequestPayment": _b("get_bucket_request_payment"),
    "GetBucketLogging": _b("get_bucket_logging"),
    "GetBucketAccelerate": _b("get_bucket_accelerate_configuration"),
    "GetObject": _o("get_object"),
    "GetObjectVersion": lambda c, t: c.get_object(Bucket=t.bucket, Key=t.key, VersionId=t.version),
    "HeadObject": _o("head_object"),
    "GetObjectAcl": _o("get_object_acl"),
    "GetObjectTagging": _o("get_object_tagging"),
    "GetObjectRetention": _o("get_object_retention"),
    "GetObjectLegalHold": _o("get_object_legal_hold"),
    "ListParts": lambda c, t: c.list_parts(Bucket=t.bucket, Key=UPLOAD_KEY, UploadId=t.upload),
}
WRITES: dict[str, Call] = {
    "PutBucketVersioning": lambda c, t: c.put_bucket_versioning(
        Bucket=t.bucket, VersioningConfiguration={"Status": t.versioning}
    ),
    "PutBucketAcl": _b("put_bucket_acl", ACL="public-read-write"),
    "PutBucketPolicy": _put_policy,
    "DeleteBucketPolicy": _b("delete_bucket_policy"),
    "PutBucketCors": _b("put_bucket_cors", CORSConfiguration=CORS),
    "DeleteBucketCors": _b("delete_bucket_cors"),
    "PutBucketTagging": _b("put_bucket_tagging", Tagging=TAGS),
    "DeleteBucketTagging": _b("delete_bucket_tagging"),
    "PutBucketLifecycle": _b(
        "put_bucket_lifecycle_configuration", LifecycleConfiguration=LIFECYCLE
    ),
    "DeleteBucketLifecycle": _b("delete_bucket_lifecycle"),
    "PutBucketEncryption": _b(
        "put_bucket_encryption", ServerSideEncryptionConfiguration=ENCRYPTION
    ),
    "DeleteBucketEncryption": _b("delete_bucket_encryption"),
    "PutBucketWebsite": _b("put_bucket_website", WebsiteConfiguration=WEBSITE),
    "DeleteBucketWebsite": _b("delete_bucket_website"),
    "PutBucketNotification": _b(
        "put_bucket_notification_configuration", NotificationConfiguration={}
    ),
    "PutObjectLockConfiguration": _b(
        "put_object_lock_configuration", ObjectLockConfiguration={"ObjectLockEnabled": "Enabled"}
    ),
    "PutBucketOwnershipControls": _b(
        "put_bucket_ownership_controls",
        OwnershipControls={"Rules": [{"ObjectOwnership": "ObjectWriter"}]},
    ),
    "DeleteBucketOwnershipControls": _b("delete_bucket_ownership_controls"),
    "PutPublicAccessBlock": _b("put_public_access_block", PublicAccessBlockConfiguration=NO_BLOCK),
    "DeletePublicAccessBlock": _b("delete_public_access_block"),
    "PutBucketRequestPayment": _b(
        "put_bucket_request_payment", RequestPaymentConfiguration={"Payer": "BucketOwner"}
    ),
    # Logging off and acceleration suspended: what a server with neither can accept.
    "PutBucketLogging": _b("put_bucket_logging", BucketLoggingStatus={}),
    "PutBucketAccelerate": _b(
        "put_bucket_accelerate_configuration", AccelerateConfiguration={"Status": "Suspended"}
    ),
    "DeleteBucket": lambda c, t: c.delete_bucket(Bucket=t.fresh_bucket()),
    "DeleteObjects": _delete_objects,
    "PutObject": _o("put_object", Body=b"overwritten"),
    # The target's object into the caller's bucket, and the caller's over the target's.
    "CopyObjectOut": lambda c, t: _copy(c, t.own_bucket, "copied", t.bucket, t.key),
    "CopyObjectIn": lambda c, t: _copy(c, t.bucket, t.key, t.own_bucket, t.own_key),
    "DeleteObject": lambda c, t: c.delete_object(Bucket=t.bucket, Key=t.fresh_key()[0]),
    "DeleteObjectVersion": _delete_version,
    "PutObjectAcl": _o("put_object_acl", ACL="public-read"),
    "PutObjectTagging": _o("put_object_tagging", Tagging=TAGS),
    "DeleteObjectTagging": _o("delete_object_tagging"),
    "PutObjectRetention": _retain,
    "PutObjectLegalHold": _o("put_object_legal_hold", LegalHold={"Status": "OFF"}),
    "CreateMultipartUpload": _o("create_multipart_upload"),
    "UploadPart": lambda c, t: c.upload_part(
        Bucket=t.bucket, Key=UPLOAD_KEY, UploadId=t.upload, PartNumber=1, Body=b"other part"
    ),
    "UploadPartCopyIn": lambda c, t: _part_copy(c, t.bucket, t.upload, t.own_bucket, t.own_key),
    "UploadPartCopyOut": lambda c, t: _part_copy(c, t.own_bucket, t.own_upload, t.bucket, t.key),
    "CompleteMultipartUpload": _complete,
    "AbortMultipartUpload": _abort,
}
# What the owner may be told of a configuration it never set.
ABSENT = {
    "GetBucketPolicy": "NoSuchBucketPolicy",
    "GetBucketPolicyStatus": "NoSuchBucketPolicy",
    "GetBucketCors": "NoSuchCORSConfiguration",
    "GetBucketTagging": "NoSuchTagSet",
    "GetBucketLifecycle": "NoSuchLifecycleConfiguration",
    "GetBucketEncryption": "ServerSideEncryptionConfigurationNotFoundError",
    "GetBucketWebsite": "NoSuchWebsiteConfiguration",
    "GetBucketOwnershipControls": "OwnershipControlsNotFoundError",
    "GetPublicAccessBlock": "NoSuchPublicAccessBlockConfiguration",
    "GetObjectRetention": "NoSuchObjectLockConfiguration",
    "GetObjectLegalHold": "NoSuchObjectLockConfiguration",
}
OPS = [*READS, *WRITES]


# --------------------------------------------------------------------------- buckets


def lock_bucket(s3: Any) -> str:
    name = f"acm-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectLockEnabledForBucket=True)
    return name


def destroy(s3: Any, name: str) -> None:
    """Remove a bucket and all in it: uploads aborted, holds lifted, retention bypassed.

    Errors are swallowed: cleanup must not hide the test's own failure.
    """
    listing: dict[str, Any] = {}
    locked = False
    with contextlib.suppress(ClientError):
        for upload in s3.list_multipart_uploads(Bucket=name).get("Uploads", []):
            s3.abort_multipart_upload(Bucket=name, Key=upload["Key"], UploadId=upload["UploadId"])
        listing = s3.list_object_versions(Bucket=name)
        locked = "ObjectLockConfiguration" in s3.get_object_lock_configuration(Bucket=name)
    with contextlib.suppress(ClientError):
        for v in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
            if locked and "Size" in v:
                s3.put_object_legal_hold(
                    Bucket=name, Key=v["Key"], VersionId=v["VersionId"], LegalHold={"Status": "OFF"}
                )
            extra = {"BypassGovernanceRetention": True} if locked else {}
            s3.delete_object(Bucket=name, Key=v["Key"], VersionId=v["VersionId"], **extra)
        s3.delete_bucket(Bucket=name)


def seed(s3: Any, name: str, own_key: str) -> Target:
    """Objects, an upload and a delete marker in `name`; a Target of them."""
    s3.put_object(Bucket=name, Key="k", Body=b"first")
    version = s3.put_object(Bucket=name, Key="k", Body=b"second")["VersionId"]
    s3.put_object(Bucket=name, Key="gone", Body=b"x")
    s3.delete_object(Bucket=name, Key="gone")
    upload = s3.create_multipart_upload(Bucket=name, Key=UPLOAD_KEY)["UploadId"]
    part = s3.upload_part(Bucket=name, Key=UPLOAD_KEY, UploadId=upload, PartNumber=1, Body=b"p1")
    return Target(name, "k", version, upload, part["ETag"], name, own_key, upload, "Enabled")


@pytest.fixture(scope="module")
def playground(s3: Any) -> Iterator[Target]:
    """The owner's bucket for the owner's runs, nothing configured."""
    name = lock_bucket(s3)
    target = seed(s3, name, own_key="src")
    s3.put_object(Bucket=name, Key="src", Body=b"source")
    target.own_upload = s3.create_multipart_upload(Bucket=name, Key=UPLOAD_KEY)["UploadId"]
    target.maker = s3
    yield target
    for made in target.made_buckets:
        destroy(s3, made)
    destroy(s3, name)


@pytest.fixture(scope="module")
def theirs(other_s3: Any) -> Iterator[tuple[str, str, str]]:
    """The other tenant's bucket: (name, an object in it, an upload in it)."""
    name = f"acm-{uuid.uuid4().hex[:12]}"
    other_s3.create_bucket(Bucket=name)
    other_s3.put_object(Bucket=name, Key="mine", Body=b"the other tenant's")
    upload = other_s3.create_multipart_upload(Bucket=name, Key=UPLOAD_KEY)["UploadId"]
    yield name, "mine", upload
    destroy(other_s3, name)


@pytest.fixture(scope="module")
def victim(s3: Any, theirs: tuple[str, str, str]) -> Iterator[Target]:
    """The owner's private bucket outsiders aim at, with every configuration set."""
    name = lock_bucket(s3)
    target = seed(s3, name, own_key=theirs[1])
    target.own_bucket, _, target.own_upload = theirs
    target.versioning = "Suspended"  # a change, were it allowed
    s3.put_object_legal_hold(Bucket=name, Key="k", LegalHold={"Status": "ON"})
    s3.put_object_tagging(Bucket=name, Key="k", Tagging={"TagSet": [{"Key": "a", "Value": "1"}]})
    owner_only = rule("Allow", name, "s3:GetObject", {"AWS": "root"})
    s3.put_bucket_policy(Bucket=name, Policy=policy(owner_only))
    s3.put_bucket_cors(Bucket=name, CORSConfiguration=CORS)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "b", "Value": "2"}]})
    s3.put_bucket_lifecycle_configuration(Bucket=name, LifecycleConfiguration=LIFECYCLE)
    s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration=ENCRYPTION)
    s3.put_bucket_website(Bucket=name, WebsiteConfiguration=WEBSITE)
    preferred = {"Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]}
    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls=preferred)
    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=NO_BLOCK)
    yield target
    destroy(s3, name)


def snapshot(s3: Any, t: Target) -> dict[str, Any]:
    """Everything the owner keeps in the target bucket: every read of the table, as the owner."""
    state: dict[str, Any] = {}
    for name, read in READS.items():
        try:
            answer = read(s3, t)
        except ClientError as exc:
            answer = exc.response["Error"]["Code"]
        if isinstance(answer, dict):
            answer.pop("ResponseMetadata", None)
            if "Body" in answer:
                answer["Body"] = answer["Body"].read()
        state[name] = answer
    return state


@pytest.fixture(scope="module")
def baseline(s3: Any, victim: Target) -> dict[str, Any]:
    return snapshot(s3, victim)


# --------------------------------------------------------------------------- the matrix


def call(name: str, caller: Any, target: Target) -> Any:
    return {**READS, **WRITES}[name](caller, target)


@pytest.mark.parametrize("op", OPS)
def test_owner_may(op: str, s3: Any, playground: Target) -> None:
    try:
        call(op, s3, playground)
    except ClientError as exc:
        assert op in ABSENT, exc.response
        assert refusal(exc) == (404, ABSENT[op])


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("who", ["other", "anon"])
def test_outsider_is_refused(
    op: str,
    who: str,
    other_s3: Any,
    anon: Any,
    s3: Any,
    victim: Target,
    baseline: dict[str, Any],
) -> None:
    caller = other_s3 if who == "other" else anon
    try:
        answer = call(op, caller, victim)
    except ClientError as exc:
        # A HEAD answer has no body: botocore names the error by its status.
        expected = "403" if op.startswith("Head") else "AccessDenied"
        assert refusal(exc) == (403, expected), exc.response
    else:
        # S3 answers DeleteObjects key by key: each one refused, none deleted.
        assert op == "DeleteObjects", answer
        assert not answer.get("Deleted"), answer
        assert {e["Code"] for e in answer["Errors"]} == {"AccessDenied"}, answer
    if op in WRITES:
        after = snapshot(s3, victim)
        changed = {k for k in baseline if baseline[k] != after[k]}
        assert not changed, {k: (baseline[k], after[k]) for k in changed}
