"""Valid documents and awkward values for the parser fuzzers.

The hypothesis tests in this directory mutate these documents; the atheris
targets in the top-level `fuzz/` directory start their corpus from them.
"""

from __future__ import annotations

import json

S3 = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'

COMPLETE = f"""<CompleteMultipartUpload {S3}>
<Part><PartNumber>1</PartNumber><ETag>"0123456789abcdef0123456789abcdef"</ETag>
<ChecksumCRC32>AAAAAA==</ChecksumCRC32></Part>
<Part><PartNumber>2</PartNumber><ETag>abc</ETag><ChecksumSHA256>x</ChecksumSHA256></Part>
</CompleteMultipartUpload>""".encode()

DELETE = f"""<Delete {S3}><Quiet>true</Quiet>
<Object><Key>a/b.txt</Key><VersionId>3sl4kqzmnrfp7yiwqb3ugd4e</VersionId></Object>
<Object><Key> spaced </Key><VersionId></VersionId></Object>
</Delete>""".encode()

CREATE_BUCKET = f"""<CreateBucketConfiguration {S3}>
<LocationConstraint>eu-west-1</LocationConstraint></CreateBucketConfiguration>""".encode()

VERSIONING = f"""<VersioningConfiguration {S3}><Status>Enabled</Status>
<MfaDelete>Disabled</MfaDelete></VersioningConfiguration>""".encode()

TAGGING = f"""<Tagging {S3}><TagSet>
<Tag><Key>project</Key><Value>dolium</Value></Tag><Tag><Key>empty</Key><Value></Value></Tag>
</TagSet></Tagging>""".encode()

ACL = f"""<AccessControlPolicy {S3} {XSI}>
<Owner><ID>owner-id</ID><DisplayName>owner</DisplayName></Owner>
<AccessControlList>
<Grant><Grantee xsi:type="CanonicalUser"><ID>owner-id</ID><DisplayName>o</DisplayName></Grantee>
<Permission>FULL_CONTROL</Permission></Grant>
<Grant><Grantee xsi:type="Group"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>
</Grantee><Permission>READ</Permission></Grant>
<Grant><Grantee xsi:type="AmazonCustomerByEmail"><EmailAddress>a@example.com</EmailAddress>
</Grantee><Permission>WRITE_ACP</Permission></Grant>
</AccessControlList></AccessControlPolicy>""".encode()

LIFECYCLE = f"""<LifecycleConfiguration {S3}>
<Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>
<Transition><Days>30</Days><StorageClass>STANDARD_IA</StorageClass></Transition>
<Expiration><Days>365</Days></Expiration></Rule>
<Rule><ID>tagged</ID><Filter><And><Prefix>tmp/</Prefix><Tag><Key>k</Key><Value>v</Value></Tag>
<ObjectSizeGreaterThan>1024</ObjectSizeGreaterThan><ObjectSizeLessThan>1048576</ObjectSizeLessThan>
</And></Filter><Status>Disabled</Status>
<NoncurrentVersionTransition><NoncurrentDays>10</NoncurrentDays>
<NewerNoncurrentVersions>2</NewerNoncurrentVersions><StorageClass>GLACIER</StorageClass>
</NoncurrentVersionTransition>
<NoncurrentVersionExpiration><NoncurrentDays>40</NoncurrentDays>
<NewerNoncurrentVersions>3</NewerNoncurrentVersions></NoncurrentVersionExpiration></Rule>
<Rule><Filter><Prefix>old/</Prefix></Filter><Status>Enabled</Status>
<Expiration><Date>2030-01-01T00:00:00Z</Date></Expiration>
<AbortIncompleteMultipartUpload><DaysAfterInitiation>7</DaysAfterInitiation>
</AbortIncompleteMultipartUpload></Rule>
<Rule><ID>markers</ID><Filter></Filter><Status>Enabled</Status>
<Expiration><ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker></Expiration></Rule>
</LifecycleConfiguration>""".encode()

CORS = f"""<CORSConfiguration {S3}>
<CORSRule><ID>web</ID><AllowedOrigin>https://*.example.com</AllowedOrigin>
<AllowedMethod>GET</AllowedMethod><AllowedMethod>PUT</AllowedMethod>
<AllowedHeader>*</AllowedHeader><ExposeHeader>ETag</ExposeHeader>
<MaxAgeSeconds>3000</MaxAgeSeconds></CORSRule>
<CORSRule><AllowedOrigin>*</AllowedOrigin><AllowedMethod>HEAD</AllowedMethod></CORSRule>
</CORSConfiguration>""".encode()

XML_SEEDS: dict[str, bytes] = {
    "complete_multipart": COMPLETE,
    "delete_objects": DELETE,
    "create_bucket": CREATE_BUCKET,
    "versioning": VERSIONING,
    "tagging": TAGGING,
    "acl": ACL,
    "lifecycle": LIFECYCLE,
    "cors": CORS,
}

POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Id": "p1",
        "Statement": [
            {
                "Sid": "public",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["s3:GetObject", "s3:GetObjectVersion"],
                "Resource": "arn:aws:s3:::b1/public/*",
                "Condition": {
                    "IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]},
                    "StringLike": {"s3:prefix": "home/*"},
                    "NumericLessThanEquals": {"s3:max-keys": "100"},
                    "DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"},
                    "Bool": {"aws:SecureTransport": "true"},
                    "ArnLike": {"aws:SourceArn": "arn:aws:s3:::b1*"},
                },
            },
            {
                "Effect": "Deny",
                "NotPrincipal": {"AWS": ["arn:aws:iam::t1:root", "t2"]},
                "NotAction": "s3:List*",
                "NotResource": ["arn:aws:s3:::b1", "arn:aws:s3:::b1/*"],
                "Condition": {"StringNotEqualsIgnoreCase": {"s3:x-amz-acl": "private"}},
            },
        ],
    }
)

# Values that break naive number, date and string handling.
AWKWARD = (
    "",
    " ",
    "-",
    "--5",
    "+5",
    "0",
    "-0",
    "007",
    "1e3",
    "1.5",
    "NaN",
    "inf",
    "9" * 19,
    "9" * 5000,
    "-" + "9" * 5000,
    "\u0663",  # ARABIC-INDIC DIGIT THREE: isdigit() but not ASCII
    "\u00b2",  # SUPERSCRIPT TWO: isdigit(), int() refuses it
    "true",
    "TRUE",
    "false",
    "2030-01-01T00:00:00Z",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00+23:59",
    "2024-02-30T00:00:00Z",
    "Fri, 31 Dec 9999 23:59:59 -0100",
    "Mon, 01 Jan 0001 00:00:00 +0100",
    "*",
    '"*"',
    'W/"x"',
    "bytes=0-",
    "bytes=-0",
    "bytes=" + "9" * 40 + "-",
    "\x00",
    "\ud800",
    "%",
    "%zz",
    "%ff%fe",
    "a" * 1100,
    "arn:aws:s3:::",
    "::ffff:1.2.3.4/200",
)
