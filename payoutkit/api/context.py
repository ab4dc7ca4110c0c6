"""What a handler of the wire layer is given: one unit of work's connection, the runtime, the actor.

`Call` is built by `api/wire.py` for each request once it is authenticated; a handler turns the
request's parameter model into a use case's command, calls the use case with `call.actor`, and renders
what it returns. A handler returns the Stripe JSON body, or `Refused(refusal)`: a refusal that is
itself the outcome to keep (a declined charge is stored as `failed`, and the unit commits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from payoutkit.errors import Refusal
from payoutkit.services.actor import Actor

if TYPE_CHECKING:
    from payoutkit.runtime import Runtime
    from payoutkit.store import Tx


@dataclass(frozen=True)
class Call:
    conn: Tx
    runtime: Runtime
    actor: Actor


@dataclass(frozen=True)
class Refused:
    """A refusal to answer with, after the unit of work has committed."""

    refusal: Refusal


@dataclass(frozen=True, kw_only=True)
class Ctx(Actor):
    """Transitional (issue 8): the old services' view of a request (an actor and the runtime), until
    each service is a use case."""

    state: Any = None

    @classmethod
    def of(cls, call: Call) -> Ctx:
        a = call.actor
        return cls(account_id=a.account_id, platform_id=a.platform_id, livemode=a.livemode,
                   now=a.now, request_id=a.request_id, idempotency_key=a.idempotency_key,
                   state=call.runtime)  # fmt: skip
