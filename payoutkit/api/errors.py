"""Errors on the wire, designed once and mapped at the edge.

    ApiError                      status, type, code, param → Stripe's {"error": {...}} envelope
    ├── InvalidRequest            400 invalid_request_error (bad or unknown params)
    │   └── ResourceMissing       404 invalid_request_error, code resource_missing
    ├── AuthenticationError       401 (no key, unknown key)
    ├── PermissionDenied          403 (a key or session not allowed to do this)
    ├── CardError                 402 card_error (a declined charge)
    ├── IdempotencyError          400 idempotency_error (a key reused with other parameters)
    ├── Conflict                  409 (a concurrent request holds the idempotency key)
    └── ServerError               500 api_error (never expected: logged with the request id)

Domain errors from `payoutkit.ledger.errors` are rendered by `from_ledger` at the same edge.
"""

from __future__ import annotations

from typing import Any

DOC_URL = "https://docs.stripe.com/error-codes"


class ApiError(Exception):
    status = 400
    type = "invalid_request_error"
    code: str | None = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
        commit: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra or {}
        # True when the failure is itself a result to keep (a declined charge is stored as `failed`).
        self.commit = commit

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            error["code"] = self.code
            error["doc_url"] = f"{DOC_URL}#{self.code.replace('_', '-')}"
        if self.param:
            error["param"] = self.param
        error.update(self.extra)
        return {"error": error}


class InvalidRequest(ApiError):
    pass


class ResourceMissing(InvalidRequest):
    status = 404
    code = "resource_missing"

    @classmethod
    def for_id(cls, object_name: str, object_id: str, param: str = "id") -> ResourceMissing:
        return cls(f"No such {object_name}: '{object_id}'", param=param)


class AuthenticationError(ApiError):
    status = 401


class PermissionDenied(ApiError):
    status = 403


class CardError(ApiError):
    status = 402
    type = "card_error"


class IdempotencyError(ApiError):
    type = "idempotency_error"


class Conflict(ApiError):
    status = 409
    code = "idempotency_key_in_use"


class ServerError(ApiError):
    status = 500
    type = "api_error"
