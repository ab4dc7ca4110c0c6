"""Who acts, and when: what every use case is given besides its command.

A `Moment` is a unit of work's place in time: its mode, the mode's time, and — when a request caused
it — the request id and idempotency key that the events it emits carry. The worker's jobs act at a
bare moment. An `Actor` is a moment with someone acting in it: the account that acts (the platform
itself, or a connected account through `Stripe-Account`), the platform whose key authenticated, and
the `Scope` the actor is limited to. A secret key's scope is everything its account reaches; an
account session's (the embedded components) is one account and the features it enables.

Use cases decide what an actor may do by the pure policies in `payoutkit/services/policy.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from typing import Any

from payoutkit.clock import mode_time
from payoutkit.ledger.frozen import made_whole


@dataclass(frozen=True, kw_only=True)
class Moment:
    livemode: bool
    now: int
    request_id: str | None = None
    idempotency_key: str | None = None

    @classmethod
    def job(cls, livemode: bool, now: int) -> Moment:
        """A job's moment. A live job never runs ahead of the real clock (`clock.mode_time`)."""
        return cls(livemode=livemode, now=mode_time(now, livemode))


@dataclass(frozen=True)
class Scope:
    """What an actor may reach. `account`: the one account (None: every account its key reaches);
    `features`: the features it may use, e.g. `payouts.instant_payouts` (None: all of them);
    `session`: the account session whose token the actor acts with (None: an API key)."""

    account: str | None = None
    features: frozenset[str] | None = None
    session: str | None = None

    def allows(self, feature: str) -> bool:
        return self.features is None or feature in self.features


FULL = Scope()


@dataclass(frozen=True, kw_only=True)
class Actor(Moment):
    account_id: str
    platform_id: str
    scope: Scope = FULL

    @property
    def is_platform(self) -> bool:
        return self.account_id == self.platform_id

    def at(self, now: int) -> Actor:
        return replace(self, now=now)

    @staticmethod
    def reading_now(
        read: Callable[[], int],
        account_id: str,
        platform_id: str,
        livemode: bool,
        request_id: str,
        idempotency_key: str | None = None,
    ) -> Actor:
        """A secret key's actor (full scope) for one request (`ledger/frozen.made_whole`: it is made on
        every request), its `now` read by `read()` when first asked for, in the unit of work that made
        it, then kept: a unit that never asks for the time (a read of one payout) does not read the
        simulated clock, and one that asks only after a statement that read the clock along with
        something else takes that statement's (`store.clock.prime`: a payout's first read). The same
        actor in every other way (`replace` reads the time)."""
        return made_whole(
            _ReadingNow,
            livemode=livemode,
            now=_UNREAD,
            request_id=request_id,
            idempotency_key=idempotency_key,
            account_id=account_id,
            platform_id=platform_id,
            scope=FULL,
            _read_now=read,
        )


_UNREAD = -(2**63)  # `now` not read yet (no time is this)


class _Now:
    """`_ReadingNow.now`: the stored time, read with the actor's `read` on first use."""

    def __get__(self, obj: Actor | None, owner: type | None = None) -> Any:
        if obj is None:
            return self
        now: int = obj.__dict__["now"]
        if now == _UNREAD:
            now = obj.__dict__["now"] = obj.__dict__.pop("_read_now")()
        return now

    def __set__(self, obj: Actor, value: int) -> None:  # the dataclass's own __init__ sets it
        obj.__dict__["now"] = value


class _ReadingNow(Actor):
    """An `Actor` whose time is read on first use (`Actor.reading_now`); equal to (and hashed as) the
    `Actor` of the same fields."""

    now = _Now()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Actor):
            return NotImplemented
        return _values(self) == _values(other)

    def __hash__(self) -> int:
        return hash(_values(self))


def _values(actor: Actor) -> tuple[Any, ...]:
    return tuple(getattr(actor, f.name) for f in fields(actor))
