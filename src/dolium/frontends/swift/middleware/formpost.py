"""FormPost: a browser uploads files straight into a container with an HTML
form, signed by the owner with a temp URL key, with no token.

The form's fields (`redirect`, `max_file_size`, `max_file_count`,
`expires`, `signature`, and optionally `x_delete_at`, `x_delete_after`,
`content-type`) come before its files; the signature is an HMAC of
`PATH\\nREDIRECT\\nMAX_FILE_SIZE\\nMAX_FILE_COUNT\\nEXPIRES` under one of the
account's or container's `Temp-URL-Key`s (hex, or `<digest>:<base64>`).
Each file becomes the object `<path>/<filename>` (`<prefix><filename>`
when the path names a prefix), streamed as it arrives. The answer is
Swift's: a 303 to `redirect?status=...&message=...`, or without a redirect
the status line and message as plain text; 401 `FormPost: Invalid
Signature` or `FormPost: Form Expired`; 400 `FormPost: ...` for a form
that is not one.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response

from dolium.core.objects.write_options import WriteOptions
from dolium.core.store import Store
from dolium.errors import AccessDenied, DoliumError, IncompleteBody
from dolium.frontends.swift.errors import SwiftError, html_body, status_line, status_of
from dolium.frontends.swift.middleware import quotas, signatures
from dolium.frontends.swift.wire import form_data
from dolium.frontends.swift.wire import object_headers as oh
from dolium.model import Principal, container_address

# The longest value of a field that is not a file; the rest is dropped.
MAX_VALUE_LENGTH = 4096
USER = ".wsgi.formpost"

INFO: dict[str, object] = {
    "allowed_digests": list(signatures.ALLOWED_DIGESTS),
    "deprecated_digests": list(signatures.DEPRECATED_DIGESTS),
}


class _Invalid(Exception):
    """A 400: the form is not one FormPost can take."""


class _Unauthorized(Exception):
    """A 401: the form's signature or expiry does not hold."""


class _TooLarge(Exception):
    """A file passed `max_file_size`."""


def requested(http: Request) -> bool:
    """Whether this is a form upload: a POST of multipart/form-data (at any
    path; one that names no container is refused for want of keys)."""
    if http.method != "POST":
        return False
    return form_data.boundary_of(http.headers.get("content-type", "")) is not None


def _plain(status: int, body: str) -> Response:
    return Response(body.encode(), status_code=status, media_type="text/plain")


async def handle(store: Store, http: Request, account: str, container: str, obj: str) -> Response:
    boundary = form_data.boundary_of(http.headers.get("content-type", ""))
    assert boundary is not None
    form = form_data.FormData(_body(http), boundary)
    try:
        return await _translate(store, http, form, account, container, obj)
    except form_data.FormInvalid as exc:
        return _plain(400, f"FormPost: {exc}")
    except _Invalid as exc:
        return _plain(400, f"FormPost: {exc}")
    except _TooLarge:
        return _plain(400, "FormPost: max_file_size exceeded")
    except _Unauthorized as exc:
        return _plain(401, f"FormPost: {str(exc).title()}")


async def _body(http: Request) -> AsyncIterator[bytes]:
    async for chunk in http.stream():
        if chunk:
            yield chunk


async def _field(form: form_data.FormData) -> str:
    data = bytearray()
    async for chunk in form.data():
        if len(data) < MAX_VALUE_LENGTH:
            data += chunk[: MAX_VALUE_LENGTH - len(data)]
    # Swift strips these characters from the end of every value.
    return data.decode("utf-8", "replace").rstrip("\r\n-")


async def _translate(
    store: Store,
    http: Request,
    form: form_data.FormData,
    account: str,
    container: str,
    obj: str,
) -> Response:
    keys = await signatures.signing_keys(store, account, container) if container else []
    attributes: dict[str, str] = {}
    status, message, count = 0, "", 0
    while (headers := await form.next_part()) is not None:
        kind, attrs = form_data.disposition(headers.get("content-disposition", ""))
        if kind == "form-data" and attrs.get("filename"):
            count += 1
            if count > _integer(attributes, "max_file_count"):
                status, message = 400, "max file count exceeded"
                break
            file_attributes = dict(attributes, filename=attrs["filename"])
            if "content-type" not in attributes and "content-type" in headers:
                file_attributes["content-type"] = headers["content-type"]
            if "content-encoding" not in attributes and "content-encoding" in headers:
                file_attributes["content-encoding"] = headers["content-encoding"]
            status = await _upload(
                store, http, form, keys, file_attributes, account, container, obj
            )
            if status // 100 != 2:
                break
        elif "name" in attrs:
            attributes[attrs["name"].lower()] = await _field(form)
    if not status:
        status, message = 400, "no files to process"
    return _answer(status, message, attributes.get("redirect"))


def _answer(status: int, message: str, redirect: str | None) -> Response:
    line = status_line(status)
    if not redirect:
        if message:
            return _plain(status, f"{line}\r\nFormPost: {message.title()}")
        if status // 100 != 2:
            return Response(html_body(status), status_code=status, media_type="text/plain")
        return _plain(status, line)
    location = redirect + ("&" if "?" in redirect else "?")
    location += f"status={quote(str(status))}&message={quote(message)}"
    body = f'<html><body><p><a href="{location}">Click to continue...</a></p></body></html>'
    return Response(body.encode(), status_code=303, headers={"Location": location})


def _integer(attributes: Mapping[str, str], name: str) -> int:
    try:
        return int(attributes.get(name) or 0)
    except ValueError:
        raise _Invalid(f"{name} not an integer") from None


def _check_signature(
    path: str, attributes: Mapping[str, str], keys: list[signatures.ScopedKey]
) -> None:
    if not keys:
        raise _Unauthorized("invalid signature")
    try:
        expires = int(attributes.get("expires") or 0)
    except ValueError:
        raise _Invalid("expired not an integer") from None
    if expires < time.time():
        raise _Unauthorized("form expired")
    message = "\n".join(
        (
            path,
            attributes.get("redirect") or "",
            attributes.get("max_file_size") or "0",
            attributes.get("max_file_count") or "0",
            attributes.get("expires") or "0",
        )
    )
    parsed = signatures.parse_signature(attributes.get("signature", ""))
    if parsed is None:
        raise _Unauthorized("invalid signature")
    algorithm, signature = parsed
    if signatures.matching_scope(keys, [message], algorithm, signature) is None:
        raise _Unauthorized("invalid signature")


async def _capped(data: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    seen = 0
    async for chunk in data:
        seen += len(chunk)
        if seen > limit:
            raise _TooLarge
        yield chunk


async def _upload(
    store: Store,
    http: Request,
    form: form_data.FormData,
    keys: list[signatures.ScopedKey],
    attributes: Mapping[str, str],
    account: str,
    container: str,
    obj: str,
) -> int:
    """Write one file of the form; its status."""
    max_size = _integer(attributes, "max_file_size")
    deletes = {}
    for name, header in (("x_delete_at", "x-delete-at"), ("x_delete_after", "x-delete-after")):
        if name in attributes:
            try:
                deletes[header] = str(int(attributes[name]))
            except ValueError:
                what = "Unix timestamp" if name == "x_delete_at" else "Number of seconds"
                raise _Invalid(f"{name} not an integer: {what} required.") from None
    # Signed over the path as the browser sends it, as Swift checks it.
    _check_signature(http.scope["path"], attributes, keys)
    key = obj + attributes["filename"]
    headers = {"content-type": attributes.get("content-type") or "", **deletes}
    if attributes.get("content-encoding"):
        headers["content-encoding"] = attributes["content-encoding"]
    opts = WriteOptions(
        content_type=oh.content_type(headers, key),
        headers=oh.stored_headers(headers),
        declared_size=None,
    )
    principal = Principal(tenant=account, user=USER, admin=True)
    address = container_address(account, container)
    try:
        expires = oh.delete_at(headers, store.ctx.clock())
        await quotas.check_write(store, account, container, None)
        await store.objects.put(principal, address, key, _capped(form.data(), max_size), opts)
        await store.expiry.set(principal, address, key, expires)
    except AccessDenied:
        return 403
    except SwiftError as exc:
        return exc.status
    except IncompleteBody:
        return 499
    except DoliumError as exc:
        return status_of(exc) or 502
    return 201
