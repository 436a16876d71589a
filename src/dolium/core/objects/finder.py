"""What the services of one attribute (tags, locks, ACLs) need of the objects service.

A protocol, so that those modules never import the objects service, which
imports their rules: the dependency runs one way.
"""

from __future__ import annotations

from typing import Protocol

from dolium.model import Bucket, ObjectVersion


class VersionFinder(Protocol):
    async def find(self, bucket: Bucket, key: str, version_id: str | None) -> ObjectVersion:
        """The named version, or the latest; raise NoSuchKey / NoSuchVersion."""
