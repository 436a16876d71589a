"""The S3 object model as a state machine, checked against a plain reference.

Hypothesis drives the core (over the in-memory meta and blob stores) with
puts (plain, If-None-Match: *, If-Match), gets, deletes with and without a
version id, versioning changes and multipart uploads, and after every step
compares the listings with a model that is a dict of version lists:
versions newest first, delete markers, the "null" version that unversioned
and suspended writes replace, and ETags (MD5, or MD5 of part MD5s "-N").
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import TypeVar

from corekit import ALICE, BLOCK, body, make_core, read_all
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    invariant,
    precondition,
    rule,
)

from dolium import errors
from dolium.conditions import WriteCondition
from dolium.core.objects.multipart import MIN_PART_SIZE, CompletedPart
from dolium.core.objects.write_options import WriteOptions
from dolium.model import UNVERSIONED_ID, Versioning

T = TypeVar("T")
BUCKET = "model"
KEYS = st.sampled_from(["a", "b", "dir/c", "dir/d/e"])
# Small bodies are stored inline; a few cross blocks; one is a full-size part.
BIG_PART = bytes(range(256)) * (MIN_PART_SIZE // 256)
DATA = st.one_of(
    st.binary(max_size=2048),
    st.binary(min_size=1, max_size=8).map(lambda b: b * (BLOCK // len(b) + 3)),
)


@dataclass
class Version:
    version_id: str
    etag: str = ""
    data: bytes = b""
    marker: bool = False


@dataclass
class Upload:
    key: str
    parts: dict[int, tuple[str, bytes]] = field(default_factory=dict)


def md5(data: bytes) -> str:
    return hashlib.md5(data, usedforsecurity=False).hexdigest()


class ObjectModel(RuleBasedStateMachine):
    uploads = Bundle("uploads")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.core = make_core()
        self.store = self.core.store
        self.run(self.store.buckets.create(ALICE, BUCKET))
        self.versioning = Versioning.UNVERSIONED
        self.keys: dict[str, list[Version]] = {}  # newest first
        self.open_uploads: dict[str, Upload] = {}
        self.seen_ids: list[str] = [UNVERSIONED_ID]

    def run(self, work: Awaitable[T]) -> T:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        self.loop.close()

    # -- the reference model -------------------------------------------------------------

    def current(self, key: str) -> Version | None:
        chain = self.keys.get(key, [])
        return chain[0] if chain and not chain[0].marker else None

    def add(self, key: str, version: Version) -> None:
        """A new latest version, as a write or delete under the current versioning."""
        chain = self.keys.setdefault(key, [])
        if version.version_id == UNVERSIONED_ID:
            chain[:] = [v for v in chain if v.version_id != UNVERSIONED_ID]
        chain.insert(0, version)
        self.seen_ids.append(version.version_id)

    def check_new_id(self, version_id: str) -> None:
        if self.versioning == Versioning.ENABLED:
            assert version_id != UNVERSIONED_ID
            assert version_id not in self.seen_ids
        else:
            assert version_id == UNVERSIONED_ID

    def expected_failure(self, key: str, condition: WriteCondition | None) -> type | None:
        if condition is None:
            return None
        now = self.current(key)
        if condition.if_none_match and now is not None:
            return errors.PreconditionFailed
        if condition.if_match is not None:
            if now is None:
                return errors.NoSuchKey
            if condition.if_match.strip('"') not in ("*", now.etag):
                return errors.PreconditionFailed
        return None

    # -- objects --------------------------------------------------------------------------

    @rule(
        key=KEYS,
        data=DATA,
        condition=st.sampled_from(["none", "if-none-match", "if-match-current", "if-match-other"]),
    )
    def put(self, key: str, data: bytes, condition: str) -> None:
        now = self.current(key)
        cond = {
            "none": None,
            "if-none-match": WriteCondition(if_none_match=True),
            "if-match-current": WriteCondition(if_match=f'"{now.etag}"' if now else md5(b"x")),
            "if-match-other": WriteCondition(if_match=md5(data + b"other")),
        }[condition]
        failure = self.expected_failure(key, cond)
        try:
            created = self.run(
                self.store.objects.put(ALICE, BUCKET, key, body(data), WriteOptions(condition=cond))
            )
        except (errors.PreconditionFailed, errors.NoSuchKey) as exc:
            assert failure is not None and isinstance(exc, failure), (condition, exc)
            return
        assert failure is None, f"{condition} should have failed with {failure}"
        assert created.etag == md5(data) and created.size == len(data)
        self.check_new_id(created.version_id)
        self.add(key, Version(created.version_id, created.etag, data))

    @rule(key=KEYS)
    def get(self, key: str) -> None:
        now = self.current(key)
        try:
            version = self.run(self.store.objects.head(ALICE, BUCKET, key))
        except errors.NoSuchKey:
            assert now is None
            return
        assert now is not None, f"{key} should be absent"
        assert (version.version_id, version.etag) == (now.version_id, now.etag)
        assert self.run(read_all(self.store, version)) == now.data

    @rule(key=KEYS, pick=st.integers(0, 10**6))
    def get_version(self, key: str, pick: int) -> None:
        version_id = self.seen_ids[pick % len(self.seen_ids)]
        wanted = next((v for v in self.keys.get(key, []) if v.version_id == version_id), None)
        try:
            version = self.run(self.store.objects.head(ALICE, BUCKET, key, version_id))
        except errors.NoSuchVersion:
            assert wanted is None
            return
        except errors.NoSuchKey:
            assert wanted is not None and wanted.marker
            return
        assert wanted is not None and not wanted.marker
        assert version.etag == wanted.etag
        assert self.run(read_all(self.store, version)) == wanted.data

    @rule(key=KEYS)
    def delete(self, key: str) -> None:
        result = self.run(self.store.objects.delete(ALICE, BUCKET, key))
        if self.versioning == Versioning.UNVERSIONED:
            assert not result.delete_marker
            self.keys.pop(key, None)
            return
        assert result.delete_marker and result.version_id is not None
        self.check_new_id(result.version_id)
        self.add(key, Version(result.version_id, marker=True))

    @rule(key=KEYS, pick=st.integers(0, 10**6))
    def delete_version(self, key: str, pick: int) -> None:
        version_id = self.seen_ids[pick % len(self.seen_ids)]
        chain = self.keys.get(key, [])
        gone = next((v for v in chain if v.version_id == version_id), None)
        result = self.run(self.store.objects.delete(ALICE, BUCKET, key, version_id))
        assert result.version_id == version_id
        assert result.delete_marker == (gone is not None and gone.marker)
        chain[:] = [v for v in chain if v.version_id != version_id]

    @rule(state=st.sampled_from([Versioning.ENABLED, Versioning.SUSPENDED]))
    def set_versioning(self, state: Versioning) -> None:
        self.run(self.store.buckets.set_versioning(ALICE, BUCKET, state))
        self.versioning = state

    # -- multipart ------------------------------------------------------------------------

    @rule(target=uploads, key=KEYS, bodies=st.lists(st.none() | DATA, max_size=3))
    def create_upload(self, key: str, bodies: list[bytes | None]) -> str:
        """A new upload with its first parts (a rule of its own would seldom reach them)."""
        upload = self.run(self.store.multipart.create(ALICE, BUCKET, key, WriteOptions()))
        self.open_uploads[upload.upload_id] = Upload(key)
        for number, data in enumerate(bodies, start=1):
            # None stands for BIG_PART, whose repr would fill the report.
            self.upload_part(upload.upload_id, number, data or b"", big=int(data is not None))
        return upload.upload_id

    @rule(upload_id=uploads, number=st.integers(1, 3), data=DATA, big=st.integers(0, 2))
    def upload_part(self, upload_id: str, number: int, data: bytes, big: int) -> None:
        data = BIG_PART if big == 0 else data
        upload = self.open_uploads.get(upload_id)
        key = upload.key if upload else "a"
        try:
            part = self.run(
                self.store.multipart.put_part(
                    ALICE, BUCKET, key, upload_id, number, body(data), WriteOptions()
                )
            )
        except errors.NoSuchUpload:
            assert upload is None
            return
        assert upload is not None, "a finished upload took a part"
        assert part.etag == md5(data)
        upload.parts[number] = (part.etag, data)

    @rule(
        upload_id=consumes(uploads),
        count=st.integers(1, 3),
        missing=st.integers(0, 5),
        wrong=st.integers(0, 5),
    )
    def complete(self, upload_id: str, count: int, missing: int, wrong: int) -> None:
        upload = self.open_uploads.get(upload_id)
        parts = upload.parts if upload else {}
        # Mostly parts that were uploaded, in order; now and then one that was not,
        # or a wrong ETag.
        numbers = sorted(parts)[:count] or [1]
        if missing == 0:
            numbers = sorted({*numbers, 3})
        bad = wrong == 0
        wanted = [
            CompletedPart(n, md5(b"wrong") if bad else parts.get(n, ("0" * 32, b""))[0], {})
            for n in numbers
        ]
        key = upload.key if upload else "a"
        try:
            created = self.run(self.store.multipart.complete(ALICE, BUCKET, key, upload_id, wanted))
        except errors.NoSuchUpload:
            assert upload is None
            return
        except errors.InvalidPart:
            assert upload is not None and (bad or any(n not in parts for n in numbers))
            return
        except errors.EntityTooSmall:
            assert upload is not None
            assert any(len(parts[n][1]) < MIN_PART_SIZE for n in numbers[:-1])
            return
        assert upload is not None and not bad and all(n in parts for n in numbers)
        assert all(len(parts[n][1]) >= MIN_PART_SIZE for n in numbers[:-1])
        digests = b"".join(bytes.fromhex(parts[n][0]) for n in numbers)
        etag = f"{md5(digests)}-{len(numbers)}"
        data = b"".join(parts[n][1] for n in numbers)
        assert created.etag == etag and created.size == len(data)
        self.check_new_id(created.version_id)
        del self.open_uploads[upload_id]
        self.add(key, Version(created.version_id, etag, data))

    @rule(upload_id=consumes(uploads))
    def abort(self, upload_id: str) -> None:
        upload = self.open_uploads.pop(upload_id, None)
        key = upload.key if upload else "a"
        try:
            self.run(self.store.multipart.abort(ALICE, BUCKET, key, upload_id))
        except errors.NoSuchUpload:
            assert upload is None
            return
        assert upload is not None

    @precondition(lambda self: bool(self.open_uploads))
    @rule()
    def list_uploads(self) -> None:
        page = self.run(self.store.multipart.list_uploads(ALICE, BUCKET))
        assert not page.truncated
        assert {u.upload_id for u in page.uploads} == set(self.open_uploads)

    # -- listings, after every step ------------------------------------------------------------

    @invariant()
    def listing_matches(self) -> None:
        page = self.run(self.store.listing.list(ALICE, BUCKET))
        got = [(v.key, v.etag, v.size) for v in page.entries]
        want = [
            (key, now.etag, len(now.data))
            for key in sorted(self.keys)
            if (now := self.current(key)) is not None
        ]
        assert got == want

    @invariant()
    def versions_match(self) -> None:
        page = self.run(self.store.listing.versions(ALICE, BUCKET))
        got = [(v.key, v.version_id, v.delete_marker, v.is_latest, v.etag) for v in page.entries]
        want = [
            (key, v.version_id, v.marker, i == 0, v.etag)
            for key in sorted(self.keys)
            for i, v in enumerate(self.keys[key])
        ]
        assert got == want


ObjectModel.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestObjectModel = ObjectModel.TestCase
