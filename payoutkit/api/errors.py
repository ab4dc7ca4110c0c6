"""Refusals on the wire: each class of `payoutkit.errors` mapped once to Stripe's status and error type.

The lookup walks the refusal's MRO, so a subclass renders as its nearest mapped ancestor; the root
`Refusal` is the fallback (400 `invalid_request_error`). An exception that is not a refusal is a bug:
the wire layer logs it with the request id and answers 500 `api_error` (`server_error`).
"""

from __future__ import annotations

from typing import Any

from payoutkit.errors import (
    AuthenticationError,
    BodyTooLarge,
    CardError,
    Conflict,
    FeatureDenied,
    IdempotencyError,
    InvalidRequest,
    MethodNotAllowed,
    PermissionDenied,
    Refusal,
    ResourceMissing,
    SessionRefused,
    UnknownUrl,
)

DOC_URL = "https://docs.stripe.com/error-codes"

# class → (HTTP status, Stripe error type)
WIRE: dict[type[Refusal], tuple[int, str]] = {
    Refusal: (400, "invalid_request_error"),
    InvalidRequest: (400, "invalid_request_error"),
    ResourceMissing: (404, "invalid_request_error"),
    UnknownUrl: (404, "invalid_request_error"),
    MethodNotAllowed: (405, "invalid_request_error"),
    BodyTooLarge: (413, "invalid_request_error"),
    AuthenticationError: (401, "invalid_request_error"),
    PermissionDenied: (403, "invalid_request_error"),
    CardError: (402, "card_error"),
    IdempotencyError: (400, "idempotency_error"),
    Conflict: (409, "invalid_request_error"),
    # The embedded API's own (docs/embedded.md): the types connect.js tells apart.
    SessionRefused: (401, "authentication_error"),
    FeatureDenied: (403, "permission_error"),
}


def wire_of(exc: Refusal) -> tuple[int, str]:
    for cls in type(exc).__mro__:
        found = WIRE.get(cls)
        if found is not None:
            return found
    raise AssertionError("Refusal is mapped")  # pragma: no cover: Refusal is in WIRE


def status_of(exc: Refusal) -> int:
    return wire_of(exc)[0]


def render(exc: Refusal) -> tuple[int, dict[str, Any]]:
    """The status and Stripe's `{"error": {...}}` envelope for a refusal."""
    status, kind = wire_of(exc)
    error: dict[str, Any] = {"type": kind, "message": exc.message}
    if exc.code:
        error["code"] = exc.code
        error["doc_url"] = f"{DOC_URL}#{exc.code.replace('_', '-')}"
    if exc.param:
        error["param"] = exc.param
    error.update(exc.extra)
    return status, {"error": error}


def server_error(request_id: str) -> tuple[int, dict[str, Any]]:
    """The answer to a bug: nothing of it reaches the client but the request id."""
    message = "An unexpected error occurred. Request id: " + request_id
    return 500, {"error": {"type": "api_error", "message": message}}
