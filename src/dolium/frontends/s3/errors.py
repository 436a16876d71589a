"""S3 wire errors: one table from domain errors to (HTTP status, S3 code), and
S3's wording of the domain errors the core words in its own terms.

Front-end code that finds a problem in the request itself (bad signature,
bad header) raises `S3Error` with the exact AWS code. Everything else comes
from the core as a `DoliumError` and is translated here. Any other exception
is a 500 InternalError, logged with the request id, never shown to the client.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dolium import errors as e
from dolium.core.access.policy import MalformedPolicy
from dolium.core.content.checksums import ALGORITHMS


class S3Error(Exception):
    """An error to send as-is: status, AWS error code, message, extra fields."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        headers: dict[str, str] | None = None,
        **fields: str,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}
        self.fields = fields


S3_ERRORS: dict[type[e.DoliumError], tuple[int, str]] = {
    e.NoSuchBucket: (404, "NoSuchBucket"),
    e.NoSuchKey: (404, "NoSuchKey"),
    e.NoSuchVersion: (404, "NoSuchVersion"),
    e.NoSuchUpload: (404, "NoSuchUpload"),
    e.BucketAlreadyExists: (409, "BucketAlreadyExists"),
    e.BucketAlreadyOwnedByYou: (409, "BucketAlreadyOwnedByYou"),
    e.BucketNotEmpty: (409, "BucketNotEmpty"),
    e.ConditionalRequestConflict: (409, "ConditionalRequestConflict"),
    e.InvalidBucketState: (409, "InvalidBucketState"),
    e.AccessDenied: (403, "AccessDenied"),
    e.AclNotSupported: (400, "AccessControlListNotSupported"),
    e.AclBlocksOwnership: (400, "InvalidBucketAclWithObjectOwnership"),
    e.UnresolvableGrantByEmail: (400, "UnresolvableGrantByEmailAddress"),
    e.InvalidBucketName: (400, "InvalidBucketName"),
    e.KeyTooLong: (400, "KeyTooLongError"),
    e.MetadataTooLarge: (400, "MetadataTooLarge"),
    e.InvalidArgument: (400, "InvalidArgument"),
    e.NoSuchStoragePolicy: (400, "InvalidArgument"),
    # S3 answers these with the key service's own error codes.
    e.KmsKeyNotFound: (400, "KMS.NotFoundException"),
    e.KmsKeyDisabled: (400, "KMS.DisabledException"),
    e.InvalidPart: (400, "InvalidPart"),
    e.InvalidPartOrder: (400, "InvalidPartOrder"),
    e.EntityTooSmall: (400, "EntityTooSmall"),
    e.EntityTooLarge: (400, "EntityTooLarge"),
    e.InvalidDigest: (400, "InvalidDigest"),
    e.BadDigest: (400, "BadDigest"),
    e.ChecksumMismatch: (400, "BadDigest"),
    e.InvalidRange: (416, "InvalidRange"),
    e.IncompleteBody: (400, "IncompleteBody"),
    e.MalformedConfiguration: (400, "MalformedXML"),
    e.TooManyParts: (400, "InvalidArgument"),
    e.InvalidTag: (400, "InvalidTag"),
    e.TooManyTags: (400, "InvalidTag"),
    e.NoSuchTagSet: (404, "NoSuchTagSet"),
    MalformedPolicy: (400, "MalformedPolicy"),
    e.InvalidRequest: (400, "InvalidRequest"),
    e.PreconditionFailed: (412, "PreconditionFailed"),
    e.NotSupported: (501, "NotImplemented"),
    e.NoSuchTenant: (403, "AccessDenied"),
    e.NoSuchAccessKey: (403, "InvalidAccessKeyId"),
    e.CorruptBlock: (500, "InternalError"),
    e.BlockNotFound: (500, "InternalError"),
    # Not an AWS code (S3 never fills up); 507 as MinIO answers it, and not
    # retried by SDKs as a 500 or 503 would be: space must be freed first.
    e.StorageFull: (507, "InsufficientStorage"),
    # Not an AWS code (S3 has no quotas): Ceph RGW's, which S3 clients of
    # quota-keeping servers know; the message names the quota.
    e.QuotaExceeded: (403, "QuotaExceeded"),
    e.InvalidTargetBucketForLogging: (400, "InvalidTargetBucketForLogging"),
    # Too few of the stores a block is spread over answered (erasure coding
    # below its write quorum): S3's answer to a service that cannot take
    # the request now, which SDKs retry with back-off.
    e.StorageUnavailable: (503, "ServiceUnavailable"),
}

# What a client is told of a server-side failure; the log has the details.
SERVER_MESSAGES = {
    "InsufficientStorage": "There is not enough free space on the server to store the data.",
    "ServiceUnavailable": "Service is unable to handle request.",
}


# --------------------------------------------------------------------------- wording

# What S3 says of a document its schema refuses: the XML parsers' answer
# (wire.xml), and the core's to a configuration that lacks what it must hold.
MALFORMED_MESSAGE = (
    "The XML you provided was not well-formed or did not validate against our published schema"
)


def _checksum_message(exc: e.InvalidChecksum) -> str:
    problem, algorithm = exc.problem, exc.algorithm.lower()
    if problem is e.ChecksumProblem.UNKNOWN_ALGORITHM:
        return (
            "Checksum algorithm provided is unsupported. Please try again with any of the"
            f" valid types: [{', '.join(ALGORITHMS)}]"
        )
    if problem is e.ChecksumProblem.MALFORMED_VALUE:
        return f"Value for x-amz-checksum-{algorithm} header is invalid."
    if problem is e.ChecksumProblem.TYPE_WITHOUT_ALGORITHM:
        return (
            "The x-amz-checksum-type header can only be used with the"
            " x-amz-checksum-algorithm header."
        )
    if problem is e.ChecksumProblem.UNKNOWN_TYPE:
        return "Value for x-amz-checksum-type header is invalid."
    return (
        f"The {exc.checksum_type} checksum type cannot be used with the"
        f" {exc.algorithm} checksum algorithm."
    )


# S3's message for domain errors the core words in its own terms (most
# specific class wins); the others keep the core's message. Each function
# gets an instance of the class it is listed under.
S3_MESSAGES: dict[type[e.DoliumError], Callable[[Any], str]] = {
    e.InvalidChecksum: _checksum_message,
    e.ChecksumMismatch: lambda exc: (
        f"The {exc.context.get('algorithm', '')} you specified did not match the calculated"
        " checksum."
    ),
    e.InvalidDigest: lambda _: "The Content-MD5 you specified was invalid.",
    e.BadDigest: lambda _: "The Content-MD5 you specified did not match what we received.",
    e.IncompleteBody: lambda _: (
        "You did not provide the number of bytes specified by the Content-Length HTTP header."
    ),
    e.IntegrityRequired: lambda _: (
        "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with "
        "Object Lock parameters"
    ),
    e.MalformedConfiguration: lambda _: MALFORMED_MESSAGE,
    e.BucketAlreadyOwnedByYou: lambda _: (
        "Your previous request to create the named bucket succeeded and you already own it."
    ),
    e.BucketAlreadyExists: lambda _: (
        "The requested bucket name is not available. The bucket namespace is shared by all "
        "users of the system. Please select a different name and try again."
    ),
    e.BucketNotEmpty: lambda _: "The bucket you tried to delete is not empty",
    e.AclBlocksOwnership: lambda _: (
        "Bucket cannot have ACLs set with ObjectOwnership's BucketOwnerEnforced setting"
    ),
    # S3 says these in the same words whichever layer found the bucket, key,
    # version or upload missing (the meta stores word them in their own terms).
    e.NoSuchBucket: lambda _: "The specified bucket does not exist",
    e.NoSuchKey: lambda _: "The specified key does not exist.",
    e.NoSuchVersion: lambda _: "The specified version does not exist.",
    e.NoSuchUpload: lambda _: (
        "The specified upload does not exist. The upload ID may be invalid, or the upload may "
        "have been aborted or completed."
    ),
    e.NoSuchTagSet: lambda _: "The TagSet does not exist",
    e.AccessDenied: lambda _: "Access Denied",
    e.NoSuchTenant: lambda _: "Access Denied",  # answered as a refusal: no account named
    e.InvalidPart: lambda _: (
        "One or more of the specified parts could not be found. The part may not have been "
        "uploaded, or the specified entity tag may not match the part's entity tag."
    ),
    e.InvalidPartOrder: lambda _: (
        "The list of parts was not in ascending order. Parts must be ordered by part number."
    ),
    e.EntityTooSmall: lambda _: (
        "Your proposed upload is smaller than the minimum allowed object size."
    ),
    e.EntityTooLarge: lambda _: "Your proposed upload exceeds the maximum allowed size",
    e.InvalidRange: lambda _: "The requested range is not satisfiable",
    e.PreconditionFailed: lambda _: "At least one of the pre-conditions you specified did not hold",
}

# S3's message for each problem the core names where one class covers several
# (see `errors.Problem`); it wins over the class's.
S3_PROBLEMS: dict[e.Problem, str] = {
    e.Problem.OBJECT_LOCKED: "Access Denied because object protected by object lock.",
    e.Problem.LOCK_NEEDS_VERSIONING: (
        "Versioning must be 'Enabled' on the bucket to apply a Object Lock configuration"
    ),
    e.Problem.LOCK_KEEPS_VERSIONING: (
        "An Object Lock configuration is present on this bucket, so the versioning state "
        "cannot be changed."
    ),
    e.Problem.NO_OBJECT_LOCK: "Bucket is missing Object Lock Configuration",
    # PutObject, CopyObject and CreateMultipartUpload spell it without spaces.
    e.Problem.NO_OBJECT_LOCK_FOR_WRITE: "Bucket is missing ObjectLockConfiguration",
    e.Problem.RETENTION_NOT_POSITIVE: "Default retention period must be a positive integer value.",
    e.Problem.RETENTION_TOO_LONG: "Default retention period too large.",
    e.Problem.RETAIN_UNTIL_PAST: "The retain until date must be in the future!",
    e.Problem.PART_NUMBER: "Part number must be an integer between 1 and 10000, inclusive",
    e.Problem.NO_PARTS: "You must specify at least one part",
    e.Problem.VERSION_ID: "Invalid version id specified",
    e.Problem.VERSION_MARKER_ALONE: (
        "A version-id marker cannot be specified without a key marker."
    ),
    e.Problem.COPY_OF_DELETE_MARKER: (
        "The source of a copy request may not specifically refer to a delete marker by version id."
    ),
    e.Problem.KMS_NOT_ALLOWED: (
        "Requests specifying Server Side Encryption with AWS KMS managed keys require "
        "AWS Signature Version 4."
    ),
    e.Problem.NOT_ENCRYPTED: "The encryption parameters are not applicable to this object.",
    e.Problem.NEEDS_CUSTOMER_KEY: (
        "The object was stored using a form of Server Side Encryption. The correct parameters "
        "must be provided to retrieve the object."
    ),
    e.Problem.PART_NEEDS_CUSTOMER_KEY: (
        "The multipart upload initiate requested encryption. Subsequent part requests must "
        "include the appropriate encryption parameters."
    ),
}


def s3_message(exc: e.DoliumError) -> str:
    """What S3 says of a domain error it answers with a 4xx."""
    if isinstance(exc.problem, e.Problem) and exc.problem in S3_PROBLEMS:
        return S3_PROBLEMS[exc.problem]
    for cls in type(exc).__mro__:
        if cls in S3_MESSAGES:
            return S3_MESSAGES[cls](exc)
    return exc.message


def to_s3_error(exc: e.DoliumError) -> S3Error:
    """The wire error for a domain error (most specific class wins)."""
    for cls in type(exc).__mro__:
        if cls in S3_ERRORS:
            status, code = S3_ERRORS[cls]
            message = (
                s3_message(exc)
                if status < 500
                else SERVER_MESSAGES.get(code, "We encountered an internal error.")
            )
            error = S3Error(status, code, message)
            if "target_bucket" in exc.context:  # InvalidTargetBucketForLogging
                error.fields["TargetBucket"] = str(exc.context["target_bucket"])
            if exc.problem is e.Problem.KMS_NOT_ALLOWED:
                error.fields["ArgumentName"] = "Authorization"
            return error
    return S3Error(500, "InternalError", "We encountered an internal error. Please try again.")
