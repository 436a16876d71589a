"""Listing keys by prefix and delimiter, a page at a time, checked against a
naive reference that rolls up every key at once."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

import pytest
from corekit import ALICE, Core, make_core
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dolium.backends.meta_memory import MemoryMetaStore
from dolium.model import ListedObject, ListPage, ObjectVersion, Versioning

BUCKET = "listing"


class CountingMeta(MemoryMetaStore):
    """Counts the lookups a listing makes, and stops one that makes no progress."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0
        self.rows = 0
        self.limit = 10_000

    async def list_objects(
        self, bucket: str, *, prefix: str = "", start_after: str = "", limit: int = 1000
    ) -> list[ListedObject]:
        self.calls += 1
        if self.calls > self.limit:
            raise AssertionError(f"listing made more than {self.limit} lookups for one page")
        found = await super().list_objects(
            bucket, prefix=prefix, start_after=start_after, limit=limit
        )
        self.rows += len(found)
        return found


async def new_core(keys: Iterable[str] = (), deleted: Iterable[str] = ()) -> Core:
    core = make_core(CountingMeta())
    await core.store.buckets.create(ALICE, BUCKET)
    for key in keys:
        await core.meta.put_version(ObjectVersion(bucket=BUCKET, key=key, version_id="null"))
    for key in deleted:
        await core.meta.put_version(
            ObjectVersion(bucket=BUCKET, key=key, version_id="marker", delete_marker=True)
        )
    return core


def meta_of(core: Core) -> CountingMeta:
    assert isinstance(core.meta, CountingMeta)
    return core.meta


async def page(
    core: Core,
    *,
    prefix: str = "",
    delimiter: str = "",
    start_after: str = "",
    max_keys: int = 1000,
) -> ListPage:
    return await core.store.listing.list(
        ALICE,
        BUCKET,
        prefix=prefix,
        delimiter=delimiter,
        start_after=start_after,
        max_keys=max_keys,
    )


def keys_of(p: ListPage) -> list[str]:
    return [v.key for v in p.entries]


def reference(keys: Iterable[str], prefix: str, delimiter: str, start_after: str) -> list[str]:
    """Every key and common prefix after `start_after`, in order, computed naively."""
    items: set[str] = set()
    for key in keys:
        if not key.startswith(prefix) or key <= start_after:
            continue
        at = key.find(delimiter, len(prefix)) if delimiter else -1
        item = key if at < 0 else key[: at + len(delimiter)]
        if item > start_after:
            items.add(item)
    # Python orders str by code point, which is the UTF-8 byte order.
    return sorted(items)


KEYS = [
    "a.txt",
    "docs/a",
    "docs/b/1",
    "docs/b/2",
    "docs/c",
    "img/x.png",
    "img/y.png",
    "zeta",
]


async def test_plain_listing_is_in_key_order() -> None:
    core = await new_core(reversed(KEYS))
    p = await page(core)
    assert keys_of(p) == KEYS
    assert (p.prefixes, p.truncated, p.next_marker) == ((), False, None)


async def test_prefix_and_delimiter() -> None:
    core = await new_core(KEYS)
    p = await page(core, delimiter="/")
    assert keys_of(p) == ["a.txt", "zeta"]
    assert p.prefixes == ("docs/", "img/")
    p = await page(core, prefix="docs/", delimiter="/")
    assert keys_of(p) == ["docs/a", "docs/c"]
    assert p.prefixes == ("docs/b/",)
    p = await page(core, prefix="docs/")
    assert keys_of(p) == ["docs/a", "docs/b/1", "docs/b/2", "docs/c"]
    p = await page(core, prefix="doc")
    assert keys_of(p) == ["docs/a", "docs/b/1", "docs/b/2", "docs/c"]
    p = await page(core, prefix="nothing")
    assert (keys_of(p), p.prefixes) == ([], ())


async def test_max_keys_and_resumption_by_marker() -> None:
    core = await new_core(KEYS)
    p = await page(core, delimiter="/", max_keys=2)
    assert (keys_of(p), p.prefixes, p.truncated, p.next_marker) == (
        ["a.txt"],
        ("docs/",),
        True,
        "docs/",
    )
    # The marker is a common prefix: nothing under it comes back.
    p = await page(core, delimiter="/", max_keys=2, start_after="docs/")
    assert (keys_of(p), p.prefixes, p.truncated, p.next_marker) == (
        ["zeta"],
        ("img/",),
        False,
        None,
    )
    p = await page(core, delimiter="/", max_keys=1, start_after="docs/")
    assert (p.prefixes, p.truncated, p.next_marker) == (("img/",), True, "img/")
    p = await page(core, delimiter="/", max_keys=1, start_after="img/")
    assert (keys_of(p), p.prefixes, p.truncated) == (["zeta"], (), False)


async def test_exactly_full_page_is_not_truncated() -> None:
    core = await new_core(["a", "b", "c"])
    p = await page(core, max_keys=3)
    assert (keys_of(p), p.truncated, p.next_marker) == (["a", "b", "c"], False, None)
    p = await page(core, max_keys=2)
    assert (keys_of(p), p.truncated, p.next_marker) == (["a", "b"], True, "b")


async def test_max_keys_zero_is_an_empty_complete_page() -> None:
    # As S3 answers (ceph s3-tests test_bucket_list_maxkeys_zero).
    core = await new_core(KEYS)
    for delimiter in ("", "/"):
        p = await page(core, delimiter=delimiter, max_keys=0)
        assert (keys_of(p), p.prefixes, p.truncated, p.next_marker) == ([], (), False, None)


async def test_start_after() -> None:
    core = await new_core(KEYS)
    assert keys_of(await page(core, start_after="docs/b/1")) == KEYS[3:]
    assert keys_of(await page(core, start_after="b")) == KEYS[1:]
    assert keys_of(await page(core, start_after="zz")) == []
    # A marker before the prefix starts at the prefix.
    assert keys_of(await page(core, prefix="img/", start_after="a")) == ["img/x.png", "img/y.png"]
    # A marker inside a common prefix: the prefix sorts before it and is skipped.
    p = await page(core, delimiter="/", start_after="docs/b/1")
    assert (keys_of(p), p.prefixes) == (["zeta"], ("img/",))


async def test_delete_markers_are_not_listed() -> None:
    core = await new_core(KEYS, deleted=["docs/a", "docs/c", "zeta"])
    p = await page(core, prefix="docs/", delimiter="/")
    assert (keys_of(p), p.prefixes) == ([], ("docs/b/",))
    p = await page(core, max_keys=2, start_after="img/x.png")
    assert (keys_of(p), p.truncated) == (["img/y.png"], False)


async def test_multi_character_delimiter() -> None:
    core = await new_core(["a--b", "a--c--d", "a-b", "b"])
    p = await page(core, delimiter="--")
    assert (keys_of(p), p.prefixes) == (["a-b", "b"], ("a--",))
    p = await page(core, prefix="a--", delimiter="--")
    assert (keys_of(p), p.prefixes) == (["a--b"], ("a--c--",))


async def test_non_ascii_keys_list_in_utf8_byte_order() -> None:
    keys = ["z", "é", "中", "\U0001f600", "\uffff", "a"]
    core = await new_core(keys)
    assert keys_of(await page(core)) == sorted(keys, key=lambda k: k.encode())


async def test_a_common_prefix_costs_one_lookup() -> None:
    keys = [f"big/{i:04d}" for i in range(500)] + ["a", "c/1", "z"]
    core = await new_core(keys)
    meta_of(core).calls = 0
    p = await page(core, delimiter="/")
    assert (keys_of(p), p.prefixes) == (["a", "z"], ("big/", "c/"))
    assert meta_of(core).calls <= 6


async def test_many_full_prefixes_cost_a_few_rows_each() -> None:
    keys = [f"d{d:02d}/{i:03d}" for d in range(40) for i in range(100)] + ["top"]
    core = await new_core(keys)
    meta_of(core).calls = meta_of(core).rows = 0
    p = await page(core, delimiter="/")
    assert (keys_of(p), len(p.prefixes)) == (["top"], 40)
    assert meta_of(core).rows <= 4 * 41  # not a batch of 100 under each prefix
    # Plain keys after a delimiter still come in growing batches, not one by one.
    meta_of(core).calls = 0
    p = await page(core, prefix="d07/", delimiter="/")
    assert len(keys_of(p)) == 100 and meta_of(core).calls <= 5


async def test_listing_shows_latest_versions_only() -> None:
    core = await new_core()
    await core.store.buckets.set_versioning(ALICE, BUCKET, Versioning.ENABLED)
    for version_id in ("v1", "v2", "v3"):
        await core.meta.put_version(
            ObjectVersion(bucket=BUCKET, key="k", version_id=version_id, etag=version_id)
        )
    p = await page(core)
    assert [(v.key, v.etag) for v in p.entries] == [("k", "v3")]


@pytest.mark.parametrize("max_keys", [1, 2])
async def test_keys_past_the_highest_code_point_after_a_delimiter(max_keys: int) -> None:
    # The listing seeks past a common prefix by appending the highest code
    # point; keys that continue beyond it must neither loop nor reappear.
    top = "\U0010ffff"
    keys = ["a/" + top, "a/" + top + top, "a/" + top + "x", "a/b", "b/" + top + "/c", "c"]
    core = await new_core(keys)
    seen = await all_pages(core, keys, prefix="", delimiter="/", start_after="", max_keys=max_keys)
    assert seen == ["a/", "b/", "c"]
    seen = await all_pages(core, keys, prefix="a/", delimiter=top, start_after="", max_keys=1)
    assert seen == reference(keys, "a/", top, "")


# -- against the reference ----------------------------------------------------------


async def all_pages(
    core: Core, keys: list[str], *, prefix: str, delimiter: str, start_after: str, max_keys: int
) -> list[str]:
    """Page through to the end; every page is checked on the way."""
    meta = meta_of(core)
    expected = reference(keys, prefix, delimiter, start_after)
    seen: list[str] = []
    marker = start_after
    for _ in range(len(expected) + 2):
        meta.calls = 0
        # Each lookup either ends the page or moves past at least one key.
        meta.limit = len(keys) + 2
        p = await page(
            core, prefix=prefix, delimiter=delimiter, start_after=marker, max_keys=max_keys
        )
        items = sorted([*keys_of(p), *p.prefixes])
        assert len(items) <= max_keys
        assert not set(items) & set(seen), "a page repeated an entry"
        seen += items
        assert seen == expected[: len(seen)]
        assert p.truncated == (len(seen) < len(expected))
        if not p.truncated:
            assert p.next_marker is None
            return seen
        assert len(items) == max_keys
        assert p.next_marker == items[-1]
        marker = p.next_marker
    raise AssertionError("listing did not end")


ALPHABET = ["a", "b", "/", "-", "é", "中", "\U0001f600", "\U0010ffff"]
key_text = st.text(alphabet=st.sampled_from(ALPHABET), min_size=1, max_size=6)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[str], list[str], str, str, str, int]:
    keys = draw(st.lists(key_text, max_size=25, unique=True))
    deleted = draw(st.lists(st.sampled_from(keys), unique=True)) if keys else []
    prefix = draw(st.text(alphabet=st.sampled_from(ALPHABET), max_size=2))
    delimiter = draw(st.sampled_from(["", "/", "-", "a", "/a", "\U0010ffff", "é/"]))
    near = [k[:i] for k in keys for i in range(len(k) + 1)]
    start_after = draw(
        st.one_of(st.just(""), st.text(alphabet=st.sampled_from(ALPHABET), max_size=4))
        | (st.sampled_from(near) if near else st.just(""))
    )
    max_keys = draw(st.integers(1, 6))
    return keys, deleted, prefix, delimiter, start_after, max_keys


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_listing_matches_reference(
    scenario: tuple[list[str], list[str], str, str, str, int],
) -> None:
    keys, deleted, prefix, delimiter, start_after, max_keys = scenario
    live = [k for k in keys if k not in deleted]

    async def run() -> None:
        core = await new_core(keys, deleted)
        await all_pages(
            core,
            live,
            prefix=prefix,
            delimiter=delimiter,
            start_after=start_after,
            max_keys=max_keys,
        )

    asyncio.run(run())
