"""The Owner of each listed object and version: the account that owns it, not the caller.

ListObjects (V1) always names it, ListObjectsV2 with fetch-owner=true,
ListObjectVersions on every version and delete marker. Who owns what
another account writes follows the bucket's object ownership, as on S3.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

from access_support import canonical_id, policy, rule
from conftest import empty_bucket


@contextlib.contextmanager
def shared(s3: Any, other_s3: Any, ownership: str) -> Iterator[str]:
    """A versioned bucket of the root account that lets the other account write,
    read and delete its objects, and list it."""
    name = f"lsown-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, ObjectOwnership=ownership)
    try:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
        other = {"CanonicalUser": canonical_id(other_s3)}
        actions = ["s3:PutObject", "s3:DeleteObject"]
        listing = ["s3:ListBucket", "s3:ListBucketVersions"]
        s3.put_bucket_policy(
            Bucket=name,
            Policy=policy(
                rule("Allow", name, actions, other), rule("Allow", name, listing, other, "")
            ),
        )
        yield name
    finally:
        empty_bucket(s3, name)


def owners(entries: list[dict[str, Any]]) -> dict[str, tuple[str, str]]:
    return {e["Key"]: (e["Owner"]["ID"], e["Owner"]["DisplayName"]) for e in entries}


def test_listings_name_each_objects_owner(s3: Any, other_s3: Any) -> None:
    root, other = canonical_id(s3), canonical_id(other_s3)
    root_name = s3.list_buckets()["Owner"]["DisplayName"]
    other_name = other_s3.list_buckets()["Owner"]["DisplayName"]
    with shared(s3, other_s3, "ObjectWriter") as name:
        s3.put_object(Bucket=name, Key="mine", Body=b"m")
        other_s3.put_object(Bucket=name, Key="theirs", Body=b"t")
        expected = {"mine": (root, root_name), "theirs": (other, other_name)}
        for caller in (s3, other_s3):  # whoever lists, the owners are the objects'
            assert owners(caller.list_objects(Bucket=name)["Contents"]) == expected
            v2 = caller.list_objects_v2(Bucket=name, FetchOwner=True)["Contents"]
            assert owners(v2) == expected
            plain = caller.list_objects_v2(Bucket=name)["Contents"]
            assert all("Owner" not in e for e in plain)
            assert owners(caller.list_object_versions(Bucket=name)["Versions"]) == expected
        # The writer's delete marker is the writer's.
        other_s3.delete_object(Bucket=name, Key="mine")
        markers = s3.list_object_versions(Bucket=name)["DeleteMarkers"]
        assert owners(markers) == {"mine": (other, other_name)}


def test_bucket_owner_enforced_owns_objects_and_delete_markers(s3: Any, other_s3: Any) -> None:
    root = canonical_id(s3)
    with shared(s3, other_s3, "BucketOwnerEnforced") as name:
        other_s3.put_object(Bucket=name, Key="theirs", Body=b"t")
        other_s3.delete_object(Bucket=name, Key="theirs")
        other_s3.put_object(Bucket=name, Key="again", Body=b"a")
        for caller in (s3, other_s3):
            listed = caller.list_object_versions(Bucket=name)
            assert [e["Owner"]["ID"] for e in listed["Versions"]] == [root, root]
            assert [e["Owner"]["ID"] for e in listed["DeleteMarkers"]] == [root]
            current = caller.list_objects(Bucket=name)["Contents"]
            assert [e["Owner"]["ID"] for e in current] == [root]
