"""What a payout request reads of the account that pays, in one statement: the account and its
external accounts (a `UNION ALL` of the reads `store/accounts.get` and `store/external_accounts.
with_outcomes` make, ordered so the account comes first), its platform's webhook endpoints and the
simulated clock. Every `POST /v1/payouts` asks, before it locks anything; an instant payout reads its
platform and terms after it (services/instant.py).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Select, bindparam, cast, literal_column, null, select, union_all

from payoutkit.records.accounts import Account
from payoutkit.records.external_accounts import KINDS, ExternalAccount, PayoutOutcome
from payoutkit.store.clock import prime as prime_clock
from payoutkit.store.events import ENDPOINTS_PART, prime_endpoints
from payoutkit.store.fast import Query
from payoutkit.store.schema import accounts, object_is, resources
from payoutkit.store.schema import clock as clock_table

# What a payout request reads of its account, in one statement: the account (`part` 0: its columns and
# document) and its external accounts of the mode with their outcomes (`part` 1, newest first), as the
# two reads `store/accounts.get` and `store/external_accounts.with_outcomes` give them.
_PAYER_ACCOUNT = select(
    literal_column("0").label("part"),
    accounts.c.kind,
    accounts.c.data,
    accounts.c.platform_id,
    accounts.c.livemode,
    cast(null(), resources.c.internal.type).label("internal"),
    literal_column("0").label("seq"),
).where(accounts.c.id == bindparam("account_id"))
_PAYER_DESTINATIONS = select(
    literal_column("1"), null(), resources.c.data, null(), null(), resources.c.internal, resources.c.seq
).where(
    resources.c.parent_id == bindparam("account_id"),
    object_is(*KINDS),  # the partial index's kinds, written in (schema.object_is)
    resources.c.livemode == bindparam("livemode"),
)
# Part 2: the enabled webhook endpoints of the platform, which the payout's event is delivered to
# (store/events.py `prime_endpoints`): one statement fewer per payout.
_PAYER_ENDPOINTS = select(
    literal_column("2"), null(), resources.c.data, null(), null(), resources.c.internal, resources.c.seq
).where(*ENDPOINTS_PART)


# Part 3: the simulated clock's time (in `seq`; no row without a simulated clock), kept for the unit's
# `clock.read` (`prime`): the request's actor reads its time on first use, after this statement.
_PAYER_CLOCK = select(literal_column("3"), null(), null(), null(), null(), null(), clock_table.c.now).where(
    clock_table.c.id == 1
)


def _payer_query(*parts: Select[Any]) -> Query:
    rows = union_all(*parts).subquery()
    return Query(
        select(*rows.c["part", "kind", "data", "platform_id", "livemode", "internal", "seq"]).order_by(
            rows.c.part, rows.c.seq.desc()
        )
    )


_PAYER = _payer_query(_PAYER_ACCOUNT, _PAYER_DESTINATIONS, _PAYER_CLOCK)
_PAYER_AND_ENDPOINTS = _payer_query(_PAYER_ACCOUNT, _PAYER_DESTINATIONS, _PAYER_ENDPOINTS, _PAYER_CLOCK)


def payer(
    tx: Connection, account_id: str, livemode: bool, *, endpoints_of: str | None = None
) -> tuple[Account | None, list[tuple[ExternalAccount, PayoutOutcome]]]:
    """The account (None for an unknown id or a system account) and its external accounts of the
    mode, newest first, each with what a payout to it does: in one statement. `endpoints_of`: a
    platform whose enabled webhook endpoints the statement reads too, for the unit's events."""
    account: Account | None = None
    destinations: list[tuple[ExternalAccount, PayoutOutcome]] = []
    endpoints: list[tuple[Any, Any]] = []
    params = {"account_id": account_id, "livemode": livemode}
    if endpoints_of is None:
        rows = _PAYER.rows(tx, params)
    else:
        rows = _PAYER_AND_ENDPOINTS.rows(tx, {**params, "platform_id": endpoints_of})
    for part, kind, data, platform_id, mode, internal, seq in rows:
        if part == 0:
            if kind != "system":
                account = Account.from_doc(data, kind=kind, platform_id=platform_id, livemode=bool(mode))
        elif part == 1:
            destinations.append((ExternalAccount.from_doc(data), PayoutOutcome.from_doc(internal)))
        elif part == 2:
            endpoints.append((data, internal))
        else:
            prime_clock(tx, seq)
    if endpoints_of is not None:
        endpoints.reverse()  # read newest first: oldest first, as events take them
        prime_endpoints(tx, endpoints_of, livemode, endpoints)
    return account, destinations
