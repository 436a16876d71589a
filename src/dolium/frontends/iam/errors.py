"""The one table from the core's errors to IAM's error codes and statuses."""

from __future__ import annotations

from dolium.core.access.policy import MalformedPolicy
from dolium.errors import (
    AccessDenied,
    AccessKeyExists,
    DoliumError,
    InvalidArgument,
    InvalidRequest,
    NoSuchAccessKey,
    NoSuchPolicy,
    NoSuchTenant,
    NoSuchUser,
    StorageUnavailable,
    UserExists,
    UserNotEmpty,
)


class IamError(Exception):
    """An error answered as IAM's ErrorResponse."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


# Most specific first: the first class an error is an instance of answers.
IAM_ERRORS: tuple[tuple[type[DoliumError], int, str], ...] = (
    (MalformedPolicy, 400, "MalformedPolicyDocument"),
    (NoSuchUser, 404, "NoSuchEntity"),
    (NoSuchAccessKey, 404, "NoSuchEntity"),
    (NoSuchPolicy, 404, "NoSuchEntity"),
    (NoSuchTenant, 404, "NoSuchEntity"),
    (UserExists, 409, "EntityAlreadyExists"),
    (AccessKeyExists, 409, "EntityAlreadyExists"),
    (UserNotEmpty, 409, "DeleteConflict"),
    (AccessDenied, 403, "AccessDenied"),
    (InvalidArgument, 400, "ValidationError"),
    (InvalidRequest, 400, "InvalidInput"),
    # A store that cannot answer now (the key store's service is down):
    # IAM's code for a temporary failure, which SDKs retry.
    (StorageUnavailable, 503, "ServiceUnavailable"),
)

# What a client is told of a failure of the server's own; the log has the details.
UNAVAILABLE_MESSAGE = "The request has failed due to a temporary failure of the server."


def to_iam(exc: DoliumError) -> IamError | None:
    """IAM's words for a core error; None for one IAM has none for (a 500)."""
    for kind, status, code in IAM_ERRORS:
        if isinstance(exc, kind):
            return IamError(status, code, exc.message if status < 500 else UNAVAILABLE_MESSAGE)
    return None


def missing(name: str) -> IamError:
    return IamError(
        400,
        "ValidationError",
        f"1 validation error detected: Value null at '{name[0].lower() + name[1:]}' "
        "failed to satisfy constraint: Member must not be null",
    )
