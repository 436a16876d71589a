"""The S3 action names and condition keys a bucket policy may name.

From AWS's "Actions, resources, and condition keys for Amazon S3" page. The
split by resource type is what lets a policy refuse a statement whose actions
apply to none of its resources: object actions take an object ARN
(`arn:aws:s3:::bucket/key`), bucket actions the bucket's ARN. Account-level
actions (ListAllMyBuckets, access points, batch jobs, ...) are known names
that apply to neither, so a bucket policy can never use them.

Data only: no logic lives here.
"""

from __future__ import annotations


def _words(prefix: str, text: str) -> frozenset[str]:
    return frozenset(prefix + word for word in text.split())


OBJECT_ACTIONS: frozenset[str] = _words(
    "s3:",
    """
    AbortMultipartUpload BypassGovernanceRetention DeleteObject DeleteObjectTagging
    DeleteObjectVersion DeleteObjectVersionTagging GetObject GetObjectAcl GetObjectAttributes
    GetObjectLegalHold GetObjectRetention GetObjectTagging GetObjectTorrent GetObjectVersion
    GetObjectVersionAcl GetObjectVersionAttributes GetObjectVersionForReplication
    GetObjectVersionTagging GetObjectVersionTorrent InitiateReplication ListMultipartUploadParts
    ObjectOwnerOverrideToBucketOwner PutObject PutObjectAcl PutObjectLegalHold PutObjectRetention
    PutObjectTagging PutObjectVersionAcl PutObjectVersionTagging ReplicateDelete ReplicateObject
    ReplicateTags RestoreObject
    """,
)

BUCKET_ACTIONS: frozenset[str] = _words(
    "s3:",
    """
    CreateBucket CreateBucketMetadataTableConfiguration DeleteBucket
    DeleteBucketMetadataTableConfiguration DeleteBucketOwnershipControls DeleteBucketPolicy
    DeleteBucketWebsite GetAccelerateConfiguration GetAnalyticsConfiguration GetBucketAbac
    GetBucketAcl GetBucketCORS GetBucketLocation GetBucketLogging
    GetBucketMetadataTableConfiguration GetBucketNotification GetBucketObjectLockConfiguration
    GetBucketOwnershipControls GetBucketPolicy GetBucketPolicyStatus GetBucketPublicAccessBlock
    GetBucketRequestPayment GetBucketTagging GetBucketVersioning GetBucketWebsite
    GetEncryptionConfiguration GetIntelligentTieringConfiguration GetInventoryConfiguration
    GetLifecycleConfiguration GetMetricsConfiguration GetReplicationConfiguration ListBucket
    ListBucketMultipartUploads ListBucketVersions PutAccelerateConfiguration
    PutAnalyticsConfiguration PutBucketAbac PutBucketAcl PutBucketCORS PutBucketLogging
    PutBucketNotification PutBucketObjectLockConfiguration PutBucketOwnershipControls
    PutBucketPolicy PutBucketPublicAccessBlock PutBucketRequestPayment PutBucketTagging
    PutBucketVersioning PutBucketWebsite PutEncryptionConfiguration
    PutIntelligentTieringConfiguration PutInventoryConfiguration PutLifecycleConfiguration
    PutMetricsConfiguration PutReplicationConfiguration
    """,
)

# Known, but on resources a bucket policy cannot name.
ACCOUNT_ACTIONS: frozenset[str] = _words(
    "s3:",
    """
    CreateAccessPoint CreateJob CreateMultiRegionAccessPoint DeleteAccessPoint
    DeleteAccessPointPolicy DeleteMultiRegionAccessPoint DeleteStorageLensConfiguration
    DescribeJob DescribeMultiRegionAccessPointOperation GetAccessPoint GetAccessPointPolicy
    GetAccessPointPolicyStatus GetAccountPublicAccessBlock GetMultiRegionAccessPoint
    GetStorageLensConfiguration GetStorageLensDashboard ListAccessPoints ListAllMyBuckets
    ListJobs ListMultiRegionAccessPoints ListStorageLensConfigurations PutAccessPointPolicy
    PutAccountPublicAccessBlock PutStorageLensConfiguration UpdateJobPriority UpdateJobStatus
    """,
)

ACTIONS: frozenset[str] = OBJECT_ACTIONS | BUCKET_ACTIONS | ACCOUNT_ACTIONS

# The actions whose requests carry s3:ExistingObjectTag/<key>: those on an
# object that exists already.
EXISTING_TAG_ACTIONS: frozenset[str] = _words(
    "s3:",
    """
    GetObject GetObjectVersion GetObjectAcl GetObjectVersionAcl GetObjectTagging
    GetObjectVersionTagging PutObjectAcl PutObjectVersionAcl PutObjectTagging
    PutObjectVersionTagging DeleteObjectTagging DeleteObjectVersionTagging
    """,
)

# Condition keys, lower-cased (key names are case-insensitive).
CONDITION_KEYS: frozenset[str] = frozenset(
    name.lower()
    for name in _words(
        "",
        """
    aws:CalledVia aws:CalledViaFirst aws:CalledViaLast aws:CurrentTime aws:EpochTime
    aws:FederatedProvider aws:MultiFactorAuthAge aws:MultiFactorAuthPresent aws:PrincipalAccount
    aws:PrincipalArn aws:PrincipalIsAWSService aws:PrincipalOrgID aws:PrincipalOrgPaths
    aws:PrincipalServiceName aws:PrincipalServiceNamesList aws:PrincipalType aws:referer
    aws:RequestedRegion aws:ResourceAccount aws:ResourceOrgID aws:ResourceOrgPaths
    aws:SecureTransport aws:SourceAccount aws:SourceArn aws:SourceIdentity aws:SourceIp
    aws:SourceOrgID aws:SourceOrgPaths aws:SourceOwner aws:SourceVpc aws:SourceVpce
    aws:SourceVpcArn aws:TagKeys aws:TokenIssueTime aws:UserAgent aws:userid aws:username
    aws:ViaAWSService aws:VpcSourceIp aws:Ec2InstanceSourceVpc aws:Ec2InstanceSourcePrivateIPv4
    s3:AccessGrantsInstanceArn s3:AccessPointNetworkOrigin s3:authType s3:DataAccessPointAccount
    s3:DataAccessPointArn s3:delimiter s3:ExistingJobOperation s3:ExistingJobPriority
    s3:if-match s3:if-none-match s3:JobSuspendedCause s3:LocationConstraint s3:max-keys
    s3:ObjectCreationOperation s3:object-lock-legal-hold s3:object-lock-mode
    s3:object-lock-remaining-retention-days s3:object-lock-retain-until-date s3:prefix
    s3:RequestJobOperation s3:RequestJobPriority s3:RequestObjectTagKeys s3:ResourceAccount
    s3:signatureAge s3:signatureversion s3:TlsVersion s3:versionid s3:x-amz-acl
    s3:x-amz-content-sha256 s3:x-amz-copy-source s3:x-amz-grant-full-control s3:x-amz-grant-read
    s3:x-amz-grant-read-acp s3:x-amz-grant-write s3:x-amz-grant-write-acp
    s3:x-amz-metadata-directive s3:x-amz-object-ownership s3:x-amz-server-side-encryption
    s3:x-amz-server-side-encryption-aws-kms-key-id
    s3:x-amz-server-side-encryption-customer-algorithm s3:x-amz-storage-class
    s3:x-amz-website-redirect-location
    """,
    )
) | frozenset(
    # Header-named spellings of the s3:object-lock-* keys, as the S3 front
    # end reports the object-lock headers.
    (
        "s3:x-amz-object-lock-mode",
        "s3:x-amz-object-lock-retain-until-date",
        "s3:x-amz-object-lock-legal-hold",
    )
)

# Keys that end in a user-chosen name: aws:PrincipalTag/<tag key>, ...
CONDITION_KEY_PREFIXES: tuple[str, ...] = (
    "aws:principaltag/",
    "aws:requesttag/",
    "aws:resourcetag/",
    "s3:existingobjecttag/",
    "s3:requestobjecttag/",
    "s3:buckettag/",
)
