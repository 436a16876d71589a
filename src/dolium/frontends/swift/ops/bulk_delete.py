"""Deleting many objects and containers in one request: Swift's bulk delete
(`DELETE` or `POST` on the account with `?bulk-delete`, a body of
URL-encoded `/container/object` or `/container` lines), and the deletion
of an SLO's segments (`?multipart-manifest=delete`) that reuses it.

Every item is judged and deleted as if asked for alone, with the caller's
own rights. The answer is 200 and its body (plain text, JSON or XML by the
Accept header) counts what was deleted and what was not found, and lists
the items that failed with their status, as Swift's bulk middleware does.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, unquote

from starlette.responses import Response

from dolium.core.access.actions import Action
from dolium.errors import AccessDenied, BucketNotEmpty, Conflict, DoliumError, NotFound
from dolium.frontends.swift import auth
from dolium.frontends.swift.errors import SwiftError, status_line, status_of
from dolium.frontends.swift.ops.objects import body_of, declared_length
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire import bulk_response
from dolium.model import container_address

MAX_DELETES_PER_REQUEST = 10000
MAX_FAILED_DELETES = 1000
# Swift's longest path of a line: an object name, a container name, two slashes.
MAX_PATH_LENGTH = 1024 + 256 + 2

INFO: dict[str, object] = {
    "max_deletes_per_request": MAX_DELETES_PER_REQUEST,
    "max_failed_deletes": MAX_FAILED_DELETES,
}


@dataclass
class Item:
    """One thing to delete: "/container" or "/container/object" (decoded),
    or an error already known about it (status, message)."""

    name: str
    error: tuple[int, str] | None = None


@dataclass
class Outcome:
    deleted: int = 0
    not_found: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)
    status: str = "200 OK"
    body: str = ""

    def results(self) -> dict[str, object]:
        return {
            "Number Deleted": self.deleted,
            "Number Not Found": self.not_found,
            "Response Status": self.status,
            "Response Body": self.body,
        }


def refused_status(request: SwiftRequest) -> int:
    return 401 if request.principal.anonymous else 403


async def _delete_one(request: SwiftRequest, name: str) -> int:
    """Delete one item as the caller; its status (204, 404, 409, ...)."""
    container, _, obj = name.lstrip("/").partition("/")
    if not container:
        return 400
    if not request.may_reach(container):
        return 401
    address = container_address(request.account, container)
    store, principal = request.store, request.principal
    action = Action.DELETE if obj else Action.DELETE_CONTAINER
    if auth.is_member(principal, request.account) and not (
        obj and await store.containers.member_allows(principal, address, action)
    ):
        # A member may delete what the container's ACL lets it write; never a container.
        return refused_status(request)
    try:
        if not obj:
            await store.buckets.delete(principal, address)
            return 204
        # As a single DELETE: 404 for an object that is not there, unless
        # the caller may not learn whether it is.
        with contextlib.suppress(AccessDenied):
            await store.objects.head(principal, address, obj)
        await store.objects.delete(principal, address, obj)
    except AccessDenied:
        return refused_status(request)
    except BucketNotEmpty:
        return 409
    except NotFound:
        return 404
    except Conflict:
        return 409
    except DoliumError as exc:
        return status_of(exc) or 502
    return 204


async def run(request: SwiftRequest, items: Iterable[Item]) -> Outcome:
    outcome = Outcome()
    server_error = False
    for item in items:
        if not item.name:
            continue
        if len(outcome.errors) >= MAX_FAILED_DELETES:
            outcome.status, outcome.body = status_line(400), "Max delete failures exceeded"
            return outcome
        if item.error is not None:
            code, message = item.error
            if code == 404:
                outcome.not_found += 1
            else:
                outcome.errors.append((quote(item.name), message))
            continue
        status = await _delete_one(request, item.name)
        if status // 100 == 2:
            outcome.deleted += 1
        elif status == 404:
            outcome.not_found += 1
        else:
            server_error = server_error or status >= 500
            outcome.errors.append((quote(item.name), status_line(status)))
    if outcome.errors:
        outcome.status = status_line(502 if server_error else 400)
    elif not (outcome.deleted or outcome.not_found):
        outcome.status, outcome.body = status_line(400), "Invalid bulk delete."
    return outcome


def answer(fmt: str, outcome: Outcome) -> Response:
    body = bulk_response.render(fmt, outcome.results(), outcome.errors, "delete")
    return Response(body, status_code=200, media_type=bulk_response.media_type(fmt))


def wanted_format(request: SwiftRequest) -> str | None:
    """The answer's format; None when the Accept header allows none of them."""
    return bulk_response.out_format(request.header("accept"))


def not_acceptable() -> Response:
    """Swift says so in a plain-text body, still with a 200."""
    return answer(bulk_response.PLAIN, Outcome(status=status_line(406)))


async def _names(request: SwiftRequest) -> AsyncIterator[str]:
    """The body's lines, decoded; 413 past the limit, 400 for an endless line."""
    pending = b""
    count = 0
    async for chunk in body_of(request):
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in lines:
            count += 1
            if count > MAX_DELETES_PER_REQUEST:
                raise SwiftError(
                    413, f"Maximum Bulk Deletes: {MAX_DELETES_PER_REQUEST} per request"
                )
            yield unquote(line.decode("utf-8", "surrogateescape").strip())
        if len(pending) > MAX_PATH_LENGTH * 2:
            raise SwiftError(400, "Invalid File Name")
    if pending.strip():
        count += 1
        if count > MAX_DELETES_PER_REQUEST:
            raise SwiftError(413, f"Maximum Bulk Deletes: {MAX_DELETES_PER_REQUEST} per request")
        yield unquote(pending.decode("utf-8", "surrogateescape").strip())


async def bulk_delete(request: SwiftRequest) -> Response:
    fmt = wanted_format(request)
    incoming = request.header("content-type")
    # Only newline-separated names are understood.
    if fmt is None or (incoming and not incoming.startswith("text/plain")):
        return not_acceptable()
    outcome = Outcome()
    try:
        declared_length(request)
        names = [Item(name) async for name in _names(request)]
    except SwiftError as exc:
        outcome.status, outcome.body = status_line(exc.status), exc.text
        return answer(fmt, outcome)
    return answer(fmt, await run(request, names))
