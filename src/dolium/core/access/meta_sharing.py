"""The sharing evaluator's lookup over the meta store: path records and account groups.

The candidate paths of one object come back in one read of their path
records (`MetaStore.get_paths`); only a path that carries sharing and is not
a folder by its name costs a second read, of its latest version, to learn
whether it is a directory object. Containers nobody shared from (everything
S3 writes) therefore cost one read per check and nothing more.

This module only fetches: what a sharing document grants is `sharing`'s rule.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from dolium.core.access.sharing import SharedPath, Sharing
from dolium.model import NO_SHARING, Bucket
from dolium.protocols.meta import MetaStore

# Content types that make an object a directory object, as Pithos names them.
DIRECTORY_TYPES = frozenset({"application/directory", "application/folder"})


def is_directory(content_type: str) -> bool:
    return content_type.partition(";")[0].strip().lower() in DIRECTORY_TYPES


class MetaSharingLookup:
    def __init__(self, meta: MetaStore) -> None:
        self.meta = meta

    async def sharing(self, container: Bucket, paths: Sequence[str]) -> Mapping[str, SharedPath]:
        records = await self.meta.get_paths(container.name, paths)
        found: dict[str, SharedPath] = {}
        for path, record in records.items():
            if record.sharing == NO_SHARING:
                continue
            sharing = Sharing(frozenset(record.sharing.read), frozenset(record.sharing.write))
            directory = False
            if not path.endswith("/"):
                latest = await self.meta.get_version(container.name, path)
                directory = latest is not None and is_directory(latest.content_type)
            found[path] = SharedPath(sharing, directory)
        return found

    async def group_members(self, account: str, group: str) -> Collection[str]:
        return (await self.meta.get_groups(account)).get(group, ())
