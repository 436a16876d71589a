"""Helpers shared by the access-control tests."""

from __future__ import annotations

import json
import uuid
from typing import Any

from botocore.exceptions import ClientError

TAGS = {"TagSet": [{"Key": "who", "Value": "caller"}]}
# A public access block with every switch off.
NO_BLOCK = dict.fromkeys(
    ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), False
)


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def rule(
    effect: str, bucket: str, action: Any, principal: Any = "*", resource: str = "/*"
) -> dict[str, Any]:
    """A policy statement on `bucket` + `resource` ("" for the bucket itself)."""
    return {
        "Effect": effect,
        "Principal": principal,
        "Action": action,
        "Resource": f"arn:aws:s3:::{bucket}{resource}",
    }


def body(c: Any, bucket: str, key: str) -> bytes:
    return bytes(c.get_object(Bucket=bucket, Key=key)["Body"].read())


def refusal(exc: ClientError) -> tuple[int, str]:
    return exc.response["ResponseMetadata"]["HTTPStatusCode"], exc.response["Error"]["Code"]


def canonical_id(c: Any) -> str:
    """The caller's canonical ID, read off a bucket made for the purpose."""
    name = f"cid-{uuid.uuid4().hex[:12]}"
    c.create_bucket(Bucket=name)
    owner = str(c.get_bucket_acl(Bucket=name)["Owner"]["ID"])
    c.delete_bucket(Bucket=name)
    return owner
