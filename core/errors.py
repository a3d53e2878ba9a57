"""Domain errors raised by services; every interface maps them in one place.

The API answers them as application/problem+json with `code` and `details`; pages show
`message` beside the form. Messages are translatable and carry the concrete dates.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A request the rules refuse. `status` is the HTTP status the API answers with."""

    status = 400
    default_code = "invalid"

    def __init__(self, message: Any, *, code: str | None = None, **details: Any) -> None:
        super().__init__(str(message))
        self.message = message
        self.code = code or self.default_code
        self.details = details


class ValidationFailed(DomainError):
    status = 400
    default_code = "invalid"


class PermissionDenied(DomainError):
    status = 403
    default_code = "forbidden"


class NotFound(DomainError):
    status = 404
    default_code = "not_found"


class Conflict(DomainError):
    """The request is valid but the current state refuses it (e.g. a late non-renewal, R11)."""

    status = 409
    default_code = "conflict"
