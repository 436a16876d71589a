"""Static websites from containers, as Swift's `staticweb` middleware serves
them: for GET and HEAD without a token (or with `X-Web-Mode: true`), on a
container whose metadata sets them:

- `X-Container-Meta-Web-Index: index.html`: `.../dir/` serves
  `dir/index.html`, and `.../dir` redirects (301) to `.../dir/` when it has
  one or holds objects;
- `X-Container-Meta-Web-Listings: true`: a directory without an index is
  answered with an HTML listing of what it holds (`-Web-Listings-CSS`
  names a style sheet);
- `X-Container-Meta-Web-Error: error.html`: a 404 serves `404error.html`
  from the container's root, with that status.

Every object is read, and every listing made, with the caller's own
rights: a site is public when its container's ACL says so (`.r:*`, and
`.rlistings` for listings).
"""

from __future__ import annotations

import html
from collections.abc import Awaitable, Callable
from dataclasses import replace
from urllib.parse import quote

from starlette.responses import Response

from dolium.errors import AccessDenied, DoliumError, NoSuchBucket
from dolium.frontends.swift.errors import SwiftError, to_swift_error
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire.listings import swift_time

Handler = Callable[[SwiftRequest], Awaitable[Response]]
INDEX, ERROR, LISTINGS, CSS = "web-index", "web-error", "web-listings", "web-listings-css"
_TRUE = ("true", "1", "yes", "on", "t", "y")


def wanted(request: SwiftRequest) -> bool:
    return (
        request.method in ("GET", "HEAD")
        and bool(request.container)
        and not request.query
        and (request.principal.anonymous or request.flag("x-web-mode"))
    )


def _status(exc: Exception) -> int | None:
    if isinstance(exc, SwiftError):
        return exc.status
    if isinstance(exc, AccessDenied):
        return None  # the caller's refusal: 401 or 403, as the app says
    if isinstance(exc, DoliumError):
        error = to_swift_error(exc)
        return None if error is None else error.status
    return None


async def answer(request: SwiftRequest, plain: Handler, serve: Handler) -> Response:
    """The request as a web site serves it: `plain` answers it when the
    container is no site, `serve` reads an object."""
    try:
        settings = await request.store.containers.stored_meta(request.address)
    except NoSuchBucket:
        return await plain(request)
    index, listings = settings.get(INDEX, "").strip(), settings.get(LISTINGS, "").strip()
    if not index and listings.lower() not in _TRUE:
        return await plain(request)
    path: str = request.http.scope["path"]
    site = _Site(request, serve, settings, path)
    if not request.obj and not path.endswith("/"):
        return site.redirect()  # as Swift: a site's root is the container's path with "/"
    if request.obj:
        try:
            return await serve(request)
        except (SwiftError, DoliumError) as exc:
            if _status(exc) != 404:
                raise
    return await site.directory()


class _Site:
    def __init__(
        self, request: SwiftRequest, serve: Handler, settings: dict[str, str], path: str
    ) -> None:
        self.request, self.serve, self.settings, self.path = request, serve, settings, path
        self.index = settings.get(INDEX, "").strip()
        self.listings = settings.get(LISTINGS, "").strip().lower() in _TRUE

    def _at(self, obj: str) -> SwiftRequest:
        return replace(self.request, obj=obj, query={})

    def redirect(self) -> Response:
        return Response(status_code=301, headers={"Location": quote(self.path) + "/"})

    async def directory(self) -> Response:
        """`path` names no object: its index, a redirect, a listing, or an error."""
        prefix = self.request.obj
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        if self.index:
            try:
                found = await self.serve(self._at(prefix + self.index))
            except (SwiftError, DoliumError) as exc:
                if _status(exc) != 404:
                    raise
            else:
                return self.redirect() if not self.path.endswith("/") else found
        if not self.path.endswith("/"):
            if await self._entries(prefix, 1):
                return self.redirect()
            return await self.error(404)
        if not self.listings:
            return await self.error(404)
        entries = await self._entries(prefix, 10000)
        if not entries and prefix:
            return await self.error(404)
        return self._listing(prefix, entries)

    async def _entries(self, prefix: str, limit: int) -> list[tuple[str, int, float, str] | str]:
        try:
            page = await self.request.store.listing.list(
                self.request.principal, self.request.address, prefix=prefix, delimiter="/",
                max_keys=limit,
            )  # fmt: skip
        except AccessDenied:
            return []
        found: list[tuple[str, int, float, str] | str] = list(page.prefixes)
        found += [(e.key, e.size, e.modified, e.content_type) for e in page.entries]
        return found

    async def error(self, status: int) -> Response:
        """`<status><web-error>` from the container's root with `status`, else Swift's page."""
        suffix = self.settings.get(ERROR, "").strip()
        if suffix:
            try:
                page = await self.serve(self._at(f"{status}{suffix}"))
            except (SwiftError, DoliumError):
                pass
            else:
                page.status_code = status
                return page
        raise SwiftError(status)

    def _listing(self, prefix: str, entries: list[tuple[str, int, float, str] | str]) -> Response:
        title = html.escape(self.path)
        css = self.settings.get(CSS, "").strip()
        style = (
            f'  <link rel="stylesheet" type="text/css" href="{"../" * prefix.count("/")}'
            f'{quote(css)}" />\n'
            if css
            else "  <style>th, td {text-align: left; padding: 0 1em;}</style>\n"
        )
        rows = []
        if prefix:
            rows.append('   <tr id="parent" class="item"><td class="colname"><a href="../">../</a>'
                        "</td><td></td><td></td></tr>\n")  # fmt: skip
        for entry in entries:
            if isinstance(entry, str):
                name = entry[len(prefix) :]
                rows.append(
                    f'   <tr class="item subdir"><td class="colname"><a href="{quote(name)}">'
                    f"{html.escape(name)}</a></td><td></td><td></td></tr>\n"
                )
        for entry in entries:
            if not isinstance(entry, str):
                key, size, modified, kind = entry
                name = key[len(prefix) :]
                kinds = " ".join("type-" + html.escape(t.lower()) for t in kind.split("/"))
                when = swift_time(modified).split(".")[0].replace("T", " ")
                rows.append(
                    f'   <tr class="item {kinds}"><td class="colname"><a href="{quote(name)}">'
                    f'{html.escape(name)}</a></td><td class="colsize">{size}</td>'
                    f'<td class="coldate">{when}</td></tr>\n'
                )
        body = (
            "<!DOCTYPE html>\n<html>\n <head>\n"
            f"  <title>Listing of {title}</title>\n{style} </head>\n <body>\n"
            f'  <h1 id="title">Listing of {title}</h1>\n  <table id="listing">\n'
            '   <tr id="heading"><th class="colname">Name</th><th class="colsize">Size</th>'
            '<th class="coldate">Date</th></tr>\n'
            + "".join(rows)
            + "  </table>\n </body>\n</html>\n"
        )
        content = b"" if self.request.method == "HEAD" else body.encode()
        return Response(content, status_code=200, media_type="text/html; charset=UTF-8")
