"""The one table from domain errors to Swift statuses, and Swift's error bodies.

Swift answers errors with a status and a short HTML body (its webob
defaults) or, for a request it could not take, a line of plain text saying
why. Anything not in the table is a 500, logged with the transaction id by
the app, never a traceback on the wire.
"""

from __future__ import annotations

from collections.abc import Sequence
from http import HTTPStatus

from dolium import errors as e

# Class -> status. Looked up along the class's MRO, so a subclass not named
# here takes its parent's status.
SWIFT_STATUSES: dict[type[e.DoliumError], int] = {
    e.NotFound: 404,
    e.AccessDenied: 403,
    e.BucketNotEmpty: 409,
    e.Conflict: 409,
    e.BadDigest: 422,
    e.InvalidDigest: 422,
    e.PreconditionFailed: 412,
    e.NotModified: 304,
    e.InvalidRange: 416,
    e.EntityTooLarge: 413,
    e.MetadataTooLarge: 400,
    e.IncompleteBody: 499,
    e.InvalidRequest: 400,
    e.NotSupported: 501,
    e.StorageFull: 507,
    e.QuotaExceeded: 413,  # as Swift's quota middlewares answer
    e.StorageUnavailable: 503,
}

# Status -> (reason, the sentence of Swift's HTML body).
REASONS: dict[int, tuple[str, str]] = {
    400: (
        "Bad Request",
        "The server could not comply with the request since it is either "
        "malformed or otherwise incorrect.",
    ),
    401: (
        "Unauthorized",
        "This server could not verify that you are authorized to access "
        "the document you requested.",
    ),
    403: ("Forbidden", "Access was denied to this resource."),
    404: ("Not Found", "The resource could not be found."),
    405: ("Method Not Allowed", "The method is not allowed for this resource."),
    406: ("Not Acceptable", "The request is not acceptable."),
    408: (
        "Request Timeout",
        "The server has waited too long for the request to be sent by the client.",
    ),
    409: ("Conflict", "There was a conflict when trying to complete your request."),
    411: ("Length Required", "Missing Content-Length header."),
    412: ("Precondition Failed", "A precondition for this request was not met."),
    413: ("Request Entity Too Large", "The body of your request was too large for this server."),
    416: ("Requested Range Not Satisfiable", "The Range requested is not available."),
    422: ("Unprocessable Entity", "Unable to process the contained instructions"),
    499: ("Client Disconnect", "The client was disconnected during request."),
    500: (
        "Internal Error",
        "The server has either erred or is incapable of performing the requested operation.",
    ),
    501: (
        "Not Implemented",
        "The server has either erred or is incapable of performing the requested operation.",
    ),
    502: ("Bad Gateway", "Bad gateway."),
    503: (
        "Service Unavailable",
        "The server is currently unavailable. Please try again at a later time.",
    ),
    507: ("Insufficient Storage", "There was not enough space to save the resource."),
}


class SwiftError(Exception):
    """A refusal in Swift's words: a status and, optionally, a plain-text reason."""

    def __init__(
        self, status: int, text: str = "", headers: Sequence[tuple[str, str]] = ()
    ) -> None:
        super().__init__(text or str(status))
        self.status = status
        self.text = text
        # Headers the refusal carries (a symlink's Content-Location, ...).
        self.headers = tuple(headers)


def status_of(error: e.DoliumError) -> int | None:
    for cls in type(error).__mro__:
        status = SWIFT_STATUSES.get(cls)
        if status is not None:
            return status
    return None


def to_swift_error(error: e.DoliumError) -> SwiftError | None:
    """The Swift error for a domain error; None when it is not in the table (a 500)."""
    status = status_of(error)
    if status is None:
        return None
    if isinstance(error, e.QuotaExceeded):
        return SwiftError(413, "Upload exceeds quota.")  # Swift's own words
    # A 400 says what was wrong, as Swift's plain-text refusals do; the
    # others keep Swift's standard sentence, which tells a stranger nothing.
    return SwiftError(status, str(error) if status == 400 else "")


def html_body(status: int) -> bytes:
    reason, sentence = REASONS.get(status, (str(status), ""))
    return f"<html><h1>{reason}</h1><p>{sentence}</p></html>".encode()


def status_line(status: int) -> str:
    """A status as Swift's bulk answers name it: "404 Not Found"."""
    if status in REASONS:
        return f"{status} {REASONS[status][0]}"
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"{status} Unknown"
