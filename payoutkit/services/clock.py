"""The simulated clock of test mode (a Payoutkit extension): read it, accept an advance.

An accepted advance records its target on the locked clock row; the clock then moves there in
committed steps (`jobs.step`, driven by the caller) so that other requests run between them. The
simulated clock itself (or None when the server runs on the real clock) is given by the caller.
"""

from __future__ import annotations

from dataclasses import dataclass

from payoutkit.clock import SimulatedClock
from payoutkit.errors import InvalidRequest, PermissionDenied
from payoutkit.records.clock import TestClock
from payoutkit.services.actor import Actor
from payoutkit.store import Tx

# An advance goes at most this far at a time.
MAX_ADVANCE = 5 * 366 * 86400


@dataclass(frozen=True)
class Advance:
    """Advance by `seconds`, or `to` a time: exactly one of them."""

    seconds: int | None = None
    to: int | None = None


def _test_mode(actor: Actor) -> None:
    if actor.livemode:
        raise PermissionDenied("The test clock is a test-mode helper; it cannot be used with live keys.")


def read(actor: Actor, *, simulated: bool) -> TestClock:
    """The test clock at the actor's moment."""
    _test_mode(actor)
    return TestClock(actor.now, simulated)


def advance(tx: Tx, actor: Actor, command: Advance, *, clock: SimulatedClock | None) -> TestClock:
    """Accept an advance: lock the clock row, check the target, record it; answer with the target."""
    _test_mode(actor)
    if clock is None:
        raise InvalidRequest("This server runs on the real clock; start it with --simulated-clock.")
    if (command.seconds is None) == (command.to is None):
        raise InvalidRequest("Give exactly one of seconds or to.", param="seconds")
    now, target = clock.lock(tx)
    # An advance follows the one still under way, if any: it starts where that one ends.
    base = max(now, target or now)
    to = base + command.seconds if command.seconds is not None else command.to
    assert to is not None
    if to < base:
        param = "to" if command.to is not None else "seconds"
        raise InvalidRequest("The clock cannot go backwards.", param=param)
    if to - base > MAX_ADVANCE:
        raise InvalidRequest("Advance the clock by at most five years at a time.", param="seconds")
    clock.set_target(tx, to)
    return TestClock(to, True)
