"""Listing every version of keys by prefix and delimiter, a page at a time,
resumed by (key marker, version id marker), checked against a naive reference."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest
from corekit import ALICE, BOB, Core, body, make_core
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dolium.backends.meta_memory import MemoryMetaStore
from dolium.core.ids import new_version_id
from dolium.core.objects.listing import VersionPage
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import AccessDenied, InvalidArgument
from dolium.frontends.s3.errors import to_s3_error
from dolium.model import UNVERSIONED_ID, ObjectVersion, Versioning

BUCKET = "versions"

# A listing item: (key, version id) for a version or a delete marker,
# (prefix, None) for a common prefix.
Item = tuple[str, str | None]


class CountingMeta(MemoryMetaStore):
    """Counts the lookups a listing makes, and stops one that makes no progress."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.limit = 10_000

    async def list_versions(
        self,
        bucket: str,
        *,
        prefix: str = "",
        after: tuple[str, int] | None = None,
        limit: int = 1000,
    ) -> list[ObjectVersion]:
        self.calls += 1
        if self.calls > self.limit:
            raise AssertionError(f"listing made more than {self.limit} lookups for one page")
        return await super().list_versions(bucket, prefix=prefix, after=after, limit=limit)


async def new_core() -> Core:
    core = make_core(CountingMeta())
    await core.store.buckets.create(ALICE, BUCKET)
    return core


def meta_of(core: Core) -> CountingMeta:
    assert isinstance(core.meta, CountingMeta)
    return core.meta


async def add(core: Core, key: str, version_id: str = "", *, marker: bool = False) -> str:
    """Put a version (a fresh id unless given) or a delete marker straight into the store."""
    version_id = version_id or new_version_id(core.clock())
    await core.meta.put_version(
        ObjectVersion(bucket=BUCKET, key=key, version_id=version_id, delete_marker=marker)
    )
    return version_id


async def page(
    core: Core,
    *,
    prefix: str = "",
    delimiter: str = "",
    key_marker: str = "",
    version_id_marker: str = "",
    max_keys: int = 1000,
) -> VersionPage:
    return await core.store.listing.versions(
        ALICE,
        BUCKET,
        prefix=prefix,
        delimiter=delimiter,
        key_marker=key_marker,
        version_id_marker=version_id_marker,
        max_keys=max_keys,
    )


def items_of(p: VersionPage) -> list[Item]:
    """The page's versions and prefixes merged back into listing order."""
    items: list[Item] = [(v.key, v.version_id) for v in p.entries]
    items += [(prefix, None) for prefix in p.prefixes]
    # Stable: the versions of one key keep their newest-first order.
    return sorted(items, key=lambda item: item[0])


async def test_versions_by_key_newest_first_with_markers_and_latest_flags() -> None:
    core = await new_core()
    b1 = await add(core, "b")
    a1 = await add(core, "a")
    b2 = await add(core, "b", marker=True)
    a2 = await add(core, "a")
    p = await page(core)
    assert items_of(p) == [("a", a2), ("a", a1), ("b", b2), ("b", b1)]
    assert [(v.is_latest, v.delete_marker) for v in p.entries] == [
        (True, False),
        (False, False),
        (True, True),
        (False, False),
    ]
    assert (p.truncated, p.next_key_marker, p.next_version_id_marker) == (False, None, None)


async def test_pages_resume_inside_a_key() -> None:
    core = await new_core()
    ids = [await add(core, "k") for _ in range(5)][::-1]  # newest first
    last = await add(core, "l")
    p = await page(core, max_keys=2)
    assert items_of(p) == [("k", ids[0]), ("k", ids[1])]
    assert (p.truncated, p.next_key_marker, p.next_version_id_marker) == (True, "k", ids[1])
    p = await page(core, key_marker="k", version_id_marker=ids[1], max_keys=2)
    assert items_of(p) == [("k", ids[2]), ("k", ids[3])]
    p = await page(core, key_marker="k", version_id_marker=ids[3], max_keys=2)
    assert items_of(p) == [("k", ids[4]), ("l", last)]
    assert (p.truncated, p.next_key_marker) == (False, None)
    # The oldest version as marker: the page goes on with the next key.
    p = await page(core, key_marker="k", version_id_marker=ids[4])
    assert items_of(p) == [("l", last)]
    # A key marker alone starts after every version of that key.
    p = await page(core, key_marker="k")
    assert items_of(p) == [("l", last)]


async def test_null_version_id_marker() -> None:
    core = await new_core()
    await add(core, "k", UNVERSIONED_ID)
    newer = await add(core, "k")
    p = await page(core, max_keys=1)
    assert (p.next_key_marker, p.next_version_id_marker) == ("k", newer)
    p = await page(core, key_marker="k", version_id_marker=newer, max_keys=1)
    assert items_of(p) == [("k", UNVERSIONED_ID)]
    assert not p.truncated
    # "null" is a version id like any other: the page resumes after it.
    await add(core, "j", UNVERSIONED_ID)
    p = await page(core, key_marker="j", version_id_marker=UNVERSIONED_ID)
    assert items_of(p) == [("k", newer), ("k", UNVERSIONED_ID)]


async def test_marker_version_deleted_meanwhile_restarts_its_key() -> None:
    # A client deleting what it lists, page by page, must not skip the rest.
    core = await new_core()
    ids = [await add(core, "k") for _ in range(4)][::-1]
    p = await page(core, max_keys=2)
    assert p.next_version_id_marker == ids[1]
    for version_id in ids[:2]:
        await core.meta.delete_version(BUCKET, "k", version_id)
    p = await page(core, key_marker="k", version_id_marker=ids[1], max_keys=2)
    assert items_of(p) == [("k", ids[2]), ("k", ids[3])]


async def test_prefix_and_delimiter_roll_up_versions() -> None:
    core = await new_core()
    top = await add(core, "a.txt")
    for key in ("docs/a", "docs/a", "docs/b/1", "img/x"):
        await add(core, key)
    docs_c = [await add(core, "docs/c"), await add(core, "docs/c", marker=True)][::-1]
    p = await page(core, delimiter="/")
    assert items_of(p) == [("a.txt", top), ("docs/", None), ("img/", None)]
    p = await page(core, prefix="docs/", delimiter="/")
    assert [item[0] for item in items_of(p)] == ["docs/a", "docs/a", "docs/b/", "docs/c", "docs/c"]
    assert items_of(p)[-2:] == [("docs/c", docs_c[0]), ("docs/c", docs_c[1])]
    # A page that ends with a common prefix resumes after it, without a version id.
    p = await page(core, delimiter="/", max_keys=2)
    assert (p.next_key_marker, p.next_version_id_marker) == ("docs/", None)
    p = await page(core, delimiter="/", key_marker="docs/")
    assert items_of(p) == [("img/", None)]


async def test_a_common_prefix_of_many_versions_costs_one_lookup() -> None:
    core = await new_core()
    for i in range(200):
        await add(core, f"big/{i % 7}")
    last = await add(core, "z")
    meta_of(core).calls = 0
    p = await page(core, delimiter="/")
    assert items_of(p) == [("big/", None), ("z", last)]
    assert meta_of(core).calls <= 3


async def test_max_keys_zero_and_exactly_full_pages() -> None:
    core = await new_core()
    a, b = await add(core, "a"), await add(core, "b")
    p = await page(core, max_keys=0)
    assert (items_of(p), p.truncated, p.next_key_marker) == ([], False, None)
    p = await page(core, max_keys=2)
    assert (items_of(p), p.truncated) == ([("a", a), ("b", b)], False)


async def test_marker_arguments_are_checked() -> None:
    core = await new_core()
    with pytest.raises(InvalidArgument) as info:
        await page(core, version_id_marker=UNVERSIONED_ID)
    assert to_s3_error(info.value).message == (
        "A version-id marker cannot be specified without a key marker."
    )
    with pytest.raises(InvalidArgument) as info:
        await page(core, key_marker="k", version_id_marker="not-a-version-id")
    assert to_s3_error(info.value).message == "Invalid version id specified"
    with pytest.raises(AccessDenied):
        await core.store.listing.versions(BOB, BUCKET)


async def test_versions_written_through_the_core() -> None:
    core = await new_core()
    objects = core.store.objects
    await objects.put(ALICE, BUCKET, "k", body(b"unversioned"), WriteOptions())
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    v1 = await objects.put(ALICE, BUCKET, "k", body(b"one"), WriteOptions())
    marker = await objects.delete(ALICE, BUCKET, "k")
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.SUSPENDED)
    # A delete in a suspended bucket leaves a "null" marker that replaces the null version.
    null_marker = await objects.delete(ALICE, BUCKET, "k")
    assert null_marker.version_id == UNVERSIONED_ID
    p = await page(core)
    assert [(v.version_id, v.delete_marker, v.is_latest) for v in p.entries] == [
        (UNVERSIONED_ID, True, True),
        (marker.version_id, True, False),
        (v1.version_id, False, False),
    ]


# -- against the reference ----------------------------------------------------------


def reference(
    chains: dict[str, list[str]], prefix: str, delimiter: str, start: Item | None
) -> list[Item]:
    """Every item after `start` = (key marker, version id marker or None), naively."""
    items: list[Item] = []
    for key in sorted(chains):
        if not key.startswith(prefix):
            continue
        at = key.find(delimiter, len(prefix)) if delimiter else -1
        if at >= 0:
            rolled = key[: at + len(delimiter)]
            if not items or items[-1] != (rolled, None):
                items.append((rolled, None))
        else:
            items.extend((key, version_id) for version_id in chains[key])
    if start is None:
        return items
    key_marker, version_id_marker = start
    if version_id_marker is None:
        return [item for item in items if item[0] > key_marker]
    at = items.index(start)
    return items[at + 1 :]


async def all_pages(
    core: Core,
    chains: dict[str, list[str]],
    *,
    prefix: str,
    delimiter: str,
    start: Item | None,
    max_keys: int,
) -> list[Item]:
    """Page through to the end; every page is checked on the way."""
    meta = meta_of(core)
    expected = reference(chains, prefix, delimiter, start)
    seen: list[Item] = []
    key_marker, version_id_marker = start or ("", None)
    for _ in range(len(expected) + 2):
        meta.calls = 0
        meta.limit = sum(map(len, chains.values())) + 3
        p = await page(
            core,
            prefix=prefix,
            delimiter=delimiter,
            key_marker=key_marker,
            version_id_marker=version_id_marker or "",
            max_keys=max_keys,
        )
        items = items_of(p)
        assert len(items) <= max_keys
        seen += items
        assert seen == expected[: len(seen)]
        assert p.truncated == (len(seen) < len(expected))
        if not p.truncated:
            assert (p.next_key_marker, p.next_version_id_marker) == (None, None)
            return seen
        assert len(items) == max_keys
        assert (p.next_key_marker, p.next_version_id_marker) == items[-1]
        key_marker, version_id_marker = items[-1]
        assert key_marker is not None
    raise AssertionError("listing did not end")


ALPHABET = ["a", "b", "/", "-", "é", "\U0001f600", "\U0010ffff"]
key_text = st.text(alphabet=st.sampled_from(ALPHABET), min_size=1, max_size=5)


@st.composite
def scenarios(
    draw: st.DrawFn,
) -> tuple[list[tuple[str, bool, bool]], str, str, int, int]:
    """Writes as (key, null version?, delete marker?), prefix, delimiter, start, max_keys."""
    keys = draw(st.lists(key_text, min_size=1, max_size=10, unique=True))
    writes = draw(
        st.lists(st.tuples(st.sampled_from(keys), st.booleans(), st.booleans()), max_size=25)
    )
    prefix = draw(st.text(alphabet=st.sampled_from(ALPHABET), max_size=2))
    delimiter = draw(st.sampled_from(["", "/", "-", "a", "/a", "\U0010ffff"]))
    start = draw(st.integers(-1, 40))  # an index into the full listing, -1 = none
    return writes, prefix, delimiter, start, draw(st.integers(1, 5))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_versions_match_reference(
    scenario: tuple[list[tuple[str, bool, bool]], str, str, int, int],
) -> None:
    writes, prefix, delimiter, start_at, max_keys = scenario

    async def run() -> None:
        core = await new_core()
        chains: dict[str, list[str]] = {}
        for key, null, marker in writes:
            version_id = await add(core, key, UNVERSIONED_ID if null else "", marker=marker)
            chain = [v for v in chains.get(key, []) if v != version_id]  # null replaces null
            chains[key] = [version_id, *chain]
        full = reference(chains, prefix, delimiter, None)
        start: Item | None = None
        if 0 <= start_at < len(full):
            # A version, or a common prefix as key marker alone, as clients resume.
            start = full[start_at]
        await all_pages(
            core, chains, prefix=prefix, delimiter=delimiter, start=start, max_keys=max_keys
        )

    asyncio.run(run())


@pytest.mark.parametrize("markers", [["k"], ["k", "k"]])
async def test_delete_markers_only(markers: Sequence[str]) -> None:
    core = await new_core()
    ids = [await add(core, key, marker=True) for key in markers][::-1]
    p = await page(core)
    assert items_of(p) == [("k", i) for i in ids]
    assert all(v.delete_marker for v in p.entries)
