"""Refusals: the one tree of errors by which Payoutkit says no.

Every layer raises these — the pure ledger, the use cases, the store's few refusals, the wire layer's
own (an unknown URL, a body too large) — and nothing below the wire layer knows about HTTP. The wire
layer maps a refusal to Stripe's status and error `type` once, by looking its class up through the MRO
(`payoutkit/api/errors.py`), so a new subclass renders as its parent until it is given its own row.

    Refusal                        message, param, code, extra (fields added to the error envelope)
    ├── InvalidRequest             a request that cannot be done as asked (bad or unknown params)
    │   ├── ResourceMissing        an object that does not exist for the actor (code resource_missing)
    │   ├── LedgerError            the ledger's refusals (payoutkit/ledger/errors.py)
    │   ├── UnknownUrl             a URL no route serves
    │   │   └── MethodNotAllowed   a URL served, but not with this method
    │   └── BodyTooLarge           a request body past the configured limit
    ├── AuthenticationError        no key, an unknown or revoked key
    │   └── SessionRefused         the embedded API's: no, a claimed or an expired session or token
    │                              (type `authentication_error`, docs/embedded.md)
    ├── PermissionDenied           an actor not allowed to do this (payoutkit/services/policy.py)
    │   └── FeatureDenied          an account session's scope does not enable it (`permission_error`)
    ├── CardError                  a declined card (a charge's decline is a returned outcome, see
    │                              services/charges: the failed charge is kept and this is rendered)
    ├── IdempotencyError           an idempotency key reused with other parameters
    └── Conflict                   a concurrent request holds the idempotency key

This module imports nothing: the pure ledger derives its errors from it.
"""

from __future__ import annotations

from typing import Any, ClassVar


class Refusal(Exception):
    """A request refused; `param` names the offending request parameter, `code` Stripe's error code."""

    default_param: ClassVar[str | None] = None
    default_code: ClassVar[str | None] = None

    def __init__(
        self,
        message: str,
        *,
        param: str | None = None,
        code: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.param = param if param is not None else self.default_param
        self.code = code if code is not None else self.default_code
        self.extra: dict[str, Any] = extra or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(message={self.message!r}, param={self.param!r}, code={self.code!r})"


class InvalidRequest(Refusal):
    pass


class ResourceMissing(InvalidRequest):
    default_code = "resource_missing"

    @classmethod
    def for_id(cls, object_name: str, object_id: str, param: str = "id") -> ResourceMissing:
        return cls(f"No such {object_name}: '{object_id}'", param=param)


class UnknownUrl(InvalidRequest):
    """No route serves this URL."""

    def __init__(self, method: str, path: str) -> None:
        super().__init__(f"Unrecognized request URL ({method}: {path}).")


class MethodNotAllowed(UnknownUrl):
    """A route serves this URL, but not with this method."""


class BodyTooLarge(InvalidRequest):
    pass


class AuthenticationError(Refusal):
    pass


class SessionRefused(AuthenticationError):
    """The embedded API's authentication refusal: code `session_claimed` or `session_expired` when the
    front end should fetch a new client secret."""


class PermissionDenied(Refusal):
    pass


class FeatureDenied(PermissionDenied):
    """A request an account session's scope does not allow (its component or feature is not enabled)."""


class CardError(Refusal):
    pass


class IdempotencyError(Refusal):
    pass


class Conflict(Refusal):
    default_code = "idempotency_key_in_use"
