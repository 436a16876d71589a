"""Whether a write keeps the quotas of its container and account.

Checked twice: by the core before a write stores any data (so an upload
that cannot fit is refused before its body is read), and by the meta store
inside the transaction that commits it, against the usage as it stands
then, so that concurrent writers cannot pass a quota together. Only writes
that add bytes or objects are checked: deleting and overwriting with
something smaller always succeed, also above a quota lowered meanwhile.
"""

from __future__ import annotations

from dolium.errors import QuotaExceeded
from dolium.model import Quota, Usage


def check(scope: str, quota: Quota, usage: Usage, *, name: str) -> None:
    """QuotaExceeded if `usage` (after the write) is over `quota`."""
    for dimension, limit, held in (
        ("bytes", quota.bytes, usage.bytes),
        ("objects", quota.objects, usage.objects),
    ):
        if limit is not None and held > limit:
            raise QuotaExceeded(
                f"the {scope} quota of {name!r} is {limit} {dimension}; the write would "
                f"make it hold {held}",
                scope=scope, dimension=dimension, limit=limit,
            )  # fmt: skip


def grows(size: int, objects: int) -> bool:
    """Whether a change of usage by (`size`, `objects`) has quotas to keep."""
    return size > 0 or objects > 0
