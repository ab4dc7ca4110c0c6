"""What a handler of the wire layer is given: one unit of work's connection, the runtime, the actor.

`Call` is built by `api/wire.py` for each request once it is authenticated; a handler turns the
request's parameter model into a use case's command, calls the use case with `call.actor`, and renders
what it returns. A handler returns the Stripe JSON body, or `Refused(refusal)`: a refusal that is
itself the outcome to keep (a declined charge is stored as `failed`, and the unit commits).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

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
