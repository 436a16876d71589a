"""SLO writes: PUT `?multipart-manifest=put` (check every segment, keep the
manifest) and DELETE `?multipart-manifest=delete` (the segments, then the
manifest). Reads are in `read`.

The manifest is kept as an object whose data is its JSON, as in Swift: a
segment overwritten or deleted later breaks the large object's reads, and
the container's bytes count the manifest, not its segments twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from urllib.parse import quote

from starlette.responses import Response

from dolium.core.objects import conditions
from dolium.core.objects.write_options import WriteOptions
from dolium.errors import AccessDenied, NotFound
from dolium.frontends.swift.errors import SwiftError, status_line
from dolium.frontends.swift.largeobjects import kinds, manifest
from dolium.frontends.swift.largeobjects.manifest import Segment, Spec
from dolium.frontends.swift.largeobjects.segments import SegmentError, read_manifest
from dolium.frontends.swift.middleware import quotas
from dolium.frontends.swift.ops import bulk_delete, versioned_writes
from dolium.frontends.swift.ops.common import empty
from dolium.frontends.swift.ops.objects import body_of, check_name, declared_length
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire import bulk_response, metadata
from dolium.frontends.swift.wire import object_headers as oh
from dolium.model import ObjectVersion, container_address

INFO: dict[str, object] = {
    "max_manifest_segments": manifest.MAX_MANIFEST_SEGMENTS,
    "max_manifest_size": manifest.MAX_MANIFEST_SIZE,
    "yield_frequency": 10,
    "min_segment_size": manifest.MIN_SEGMENT_SIZE,
    "allow_async_delete": False,
}


def wanted(request: SwiftRequest, what: str) -> bool:
    return request.query.get("multipart-manifest") == what


async def _read_body(request: SwiftRequest) -> bytes:
    """The manifest as sent: at most `MAX_MANIFEST_SIZE` bytes are read."""
    body = bytearray()
    async for chunk in body_of(request):
        body += chunk
        if len(body) > manifest.MAX_MANIFEST_SIZE:
            break
    return bytes(body[: manifest.MAX_MANIFEST_SIZE])


async def _head(request: SwiftRequest, path: str) -> tuple[ObjectVersion | None, str]:
    """A segment as the caller may see it, or why not (Swift's status line)."""
    container, _, key = path.lstrip("/").partition("/")
    if not request.may_reach(container):
        return None, status_line(401)
    try:
        version = await request.store.objects.head(
            request.principal, container_address(request.account, container), key
        )
        await request.store.expiry.check(version)
    except AccessDenied:
        return None, status_line(bulk_delete.refused_status(request))
    except NotFound:
        return None, status_line(404)
    return version, ""


def _segment(
    spec: Spec, version: ObjectVersion, last: bool, problems: list[tuple[str, str]]
) -> Segment:
    """The stored entry for one object segment; its problems appended."""
    name = quote(spec.path)
    if kinds.is_slo(version):
        size, etag = kinds.slo_size(version), kinds.slo_etag(version)
    else:
        size, etag = version.size, version.etag
    bounds: tuple[int, int] | None = None
    length = size
    if spec.range is not None:
        bounds = manifest.resolve_range(spec.range, size)
        if bounds is None:
            problems.append((name, "Unsatisfiable Range"))
        elif bounds == (0, size - 1):
            bounds = None  # the whole object: no range to keep
        else:
            length = bounds[1] - bounds[0] + 1
    if length < manifest.MIN_SEGMENT_SIZE and not last:
        problems.append((name, "Too small; each segment must be at least 1 byte."))
    if spec.size is not None and spec.size != size:
        problems.append((name, "Size Mismatch"))
    if spec.etag is not None and spec.etag.strip('"') != etag:
        problems.append((name, "Etag Mismatch"))
    modified = datetime.fromtimestamp(version.modified, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")
    return Segment(
        name="/" + spec.path.lstrip("/"),
        hash=etag,
        size=size,
        content_type=kinds.strip_swift_bytes(version.content_type),
        last_modified=modified,
        range=bounds,
        sub_slo=kinds.is_slo(version),
    )


async def put(request: SwiftRequest) -> Response:
    check_name(request)
    headers = request.http.headers
    if request.header("x-copy-from"):
        raise SwiftError(405, "Multipart Manifest PUTs cannot be COPY requests")
    size = declared_length(request)
    if size is not None and size > manifest.MAX_MANIFEST_SIZE:
        raise SwiftError(413, f"Manifest File > {manifest.MAX_MANIFEST_SIZE} bytes")
    kinds.check_write_headers("PUT", {k: v for k, v in headers.items() if k != kinds.SLO})
    specs = manifest.parse_upload(await _read_body(request), f"/{request.container}/{request.obj}")
    objects = [s for s in specs if s.data is None]
    if len(objects) > manifest.MAX_MANIFEST_SEGMENTS:
        raise SwiftError(
            413, f"Number of object-backed segments must be <= {manifest.MAX_MANIFEST_SEGMENTS}"
        )
    fmt = bulk_response.out_format(request.header("accept")) or bulk_response.PLAIN
    # Each distinct segment is looked up once, a few at a time.
    paths = list(dict.fromkeys(s.path for s in objects))
    found = dict(zip(paths, await asyncio.gather(*(_head(request, p) for p in paths)), strict=True))
    problems: list[tuple[str, str]] = []
    segments: list[Segment] = []
    for index, spec in enumerate(specs):
        if spec.data is not None:
            segments.append(Segment(data=spec.data))
            continue
        version, why = found[spec.path]
        if version is None:
            problems.append((quote(spec.path), why))
            continue
        segments.append(_segment(spec, version, index == len(specs) - 1, problems))
    if problems:
        body = bulk_response.render(fmt, {}, problems, "upload")
        return Response(body, status_code=400, media_type=bulk_response.media_type(fmt))
    etag = manifest.slo_etag(segments)
    sent_etag = headers.get("etag", "").strip().strip('"')
    if sent_etag and sent_etag != etag:
        raise SwiftError(422)
    return await _store(request, segments, etag)


async def _store(request: SwiftRequest, segments: list[Segment], etag: str) -> Response:
    headers = request.http.headers
    total = sum(s.length for s in segments)
    document = manifest.dump(segments)
    changes = metadata.requested(metadata.OBJECT, headers.items(), removals=False)
    kept = {n: v for n, v in oh.stored_headers(headers).items() if n != kinds.DLO}
    kept |= {kinds.SLO: "True", kinds.SLO_ETAG: etag, kinds.SLO_SIZE: str(total)}
    opts = WriteOptions(
        content_type=kinds.add_swift_bytes(oh.content_type(headers, request.obj), total),
        meta=metadata.present(changes),
        headers=kept,
        declared_size=len(document),
    )
    expires = oh.delete_at(headers, request.store.ctx.clock())

    async def body() -> AsyncIterator[bytes]:
        yield document

    store = request.store
    await quotas.check_write(request.store, request.account, request.container, len(document))
    await versioned_writes.before_write(request, request.container, request.obj)
    version = await store.objects.put(request.principal, request.address, request.obj, body(), opts)
    await store.expiry.set(request.principal, request.address, request.obj, expires)
    return empty(
        201,
        [("Etag", f'"{etag}"'), ("Last-Modified", conditions.format_http_date(version.modified))],
    )


async def delete(request: SwiftRequest) -> Response:
    """The manifest's segments (nested manifests' too), then the manifest."""
    fmt = bulk_delete.wanted_format(request)
    if fmt is None:
        return bulk_delete.not_acceptable()
    items = await _items(request, f"/{request.container}/{request.obj}", depth=0)
    return bulk_delete.answer(fmt, await bulk_delete.run(request, items))


async def _items(request: SwiftRequest, name: str, depth: int) -> list[bulk_delete.Item]:
    version, why = await _head(request, name)
    if version is None:
        code = int(why.split()[0])
        message = "SLO manifest not found" if code == 404 else why
        return [bulk_delete.Item(name, (code, message))]
    if not kinds.is_slo(version):
        return [bulk_delete.Item(name, (400, "Not an SLO manifest"))]
    try:
        segments = await read_manifest(request, version)
    except SegmentError:
        return [bulk_delete.Item(name, (500, "Unable to load SLO manifest"))]
    items: list[bulk_delete.Item] = []
    for segment in segments:
        if segment.data is not None:
            continue
        if segment.sub_slo and depth + 1 < manifest.MAX_DEPTH:
            items.extend(await _items(request, segment.name, depth + 1))
        else:
            items.append(bulk_delete.Item(segment.name))
    items.append(bulk_delete.Item(name))
    return items
