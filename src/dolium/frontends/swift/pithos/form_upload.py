"""Pithos' HTML form upload: `POST <object>` of `multipart/form-data` whose
file field `X-Object-Data` becomes the object, as a PUT would make it.

The caller is authenticated by its token as for any Pithos request (the
header, or `?X-Auth-Token=` since a browser form sends no header), which is
what tells this apart from Swift's FormPost: that one is signed in its
fields and carries no token. The form is read with FormPost's reader, one
part at a time; the file is streamed into the store as it arrives.

Answers as Pithos: 201 with `ETag` and `X-Object-Version`, and the ETag
(the MD5 of the data) as the body; 400 when no part is a file named
`X-Object-Data`. The object gets the part's `Content-Type` (guessed from
the name without one) and no metadata; its sharing and public link stay.
"""

from __future__ import annotations

from starlette.responses import Response

from dolium.core.objects import conditions
from dolium.core.objects.write_options import WriteOptions
from dolium.frontends.swift.errors import SwiftError
from dolium.frontends.swift.middleware import quotas
from dolium.frontends.swift.ops import object_versions, versioned_writes
from dolium.frontends.swift.ops.objects import body_of, check_name
from dolium.frontends.swift.request import SwiftRequest
from dolium.frontends.swift.wire import form_data
from dolium.frontends.swift.wire import object_headers as oh

FIELD = "X-Object-Data"


def wanted(request: SwiftRequest) -> bool:
    """Whether an object POST is a form upload (the app hands a tokenless
    one to FormPost before it gets here)."""
    return form_data.boundary_of(request.header("content-type")) is not None


async def upload(request: SwiftRequest) -> Response:
    check_name(request)
    boundary = form_data.boundary_of(request.header("content-type"))
    if boundary is None:
        raise SwiftError(400, "Missing X-Object-Data field")
    form = form_data.FormData(body_of(request), boundary)
    try:
        while (headers := await form.next_part()) is not None:
            kind, attrs = form_data.disposition(headers.get("content-disposition", ""))
            # A file, as a browser sends one: a field with a (non-empty) file name.
            if kind == "form-data" and attrs.get("name") == FIELD and attrs.get("filename"):
                return await _store(request, form, headers.get("content-type", ""))
    except form_data.FormInvalid as exc:
        raise SwiftError(400, f"Invalid form: {exc}") from None
    raise SwiftError(400, "Missing X-Object-Data field")


async def _store(request: SwiftRequest, form: form_data.FormData, content_type: str) -> Response:
    """Write the current part as the object. What follows it in the form is
    not read: Pithos takes no other field."""
    store = request.store
    opts = WriteOptions(
        content_type=oh.content_type({"content-type": content_type}, request.obj),
        declared_size=None,
    )
    await quotas.check_write(store, request.account, request.container, None)
    await versioned_writes.before_write(request, request.container, request.obj)
    version = await store.objects.put(
        request.principal, request.address, request.obj, form.data(), opts
    )
    # A new object has no expiry, as after any PUT.
    await store.expiry.set(request.principal, request.address, request.obj, None)
    response = Response(version.etag.encode(), status_code=201, media_type="text/plain")
    for name, value in (
        ("Etag", version.etag),
        ("Last-Modified", conditions.format_http_date(version.modified)),
        ("X-Object-Version", version.version_id),
        *object_versions.version_header(version.version_id),
    ):
        response.headers.append(name, value)
    return response
