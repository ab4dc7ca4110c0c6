"""External accounts (bank accounts and debit cards): stored resources whose parent is their account.

The document is the `ExternalAccount` record's (records/external_accounts.py); the test outcome of its
payouts is in the `internal` column (`PayoutOutcome`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, Row, and_, bindparam, delete, insert, select, update

from payoutkit.lists import Page, Window
from payoutkit.records.external_accounts import KINDS, ExternalAccount, PayoutOutcome
from payoutkit.store.among import among
from payoutkit.store.fast import Query
from payoutkit.store.paging import page as paged
from payoutkit.store.schema import object_is, resources
from payoutkit.store.units import INSTANT_READ

# `object IN ('bank_account', 'card')` as fixed SQL text: an `in_()` of values (even literal_execute
# ones) is a post-compile parameter, which SQLAlchemy renders into the statement on every execution.
# The kinds are constants of ours (no quote in them).
IS_EXTERNAL_ACCOUNT = object_is(*KINDS)
# An account's external accounts of one mode (`account_id`, `livemode`).
FOR_ACCOUNT_WHERE = and_(
    resources.c.parent_id == bindparam("account_id"),
    IS_EXTERNAL_ACCOUNT,
    resources.c.livemode == bindparam("livemode"),
)
_FOR_ACCOUNT = select(resources.c.data).where(FOR_ACCOUNT_WHERE).order_by(resources.c.seq.desc())
_FOR_ACCOUNT_FAST = Query(_FOR_ACCOUNT)  # every GET /v1/balance asks
# A payout to the default destination: the destinations with their outcomes, in one read.
_WITH_OUTCOMES = Query(_FOR_ACCOUNT.add_columns(resources.c.internal))
_GET = select(resources.c.data).where(resources.c.id == bindparam("ea_id"), IS_EXTERNAL_ACCOUNT)
_GET_FOR_UPDATE = _GET.with_for_update()
_INTERNAL = Query(select(resources.c.internal).where(resources.c.id == bindparam("ea_id")))  # every payout
_INSERT = insert(resources)
_SAVE = (
    update(resources)
    .where(resources.c.id == bindparam("ea_id"))
    .values(data=bindparam("data"), status=bindparam("status"))
)
_DELETE = delete(resources).where(resources.c.id == bindparam("ea_id"))


def for_account(tx: Connection, account_id: str, livemode: bool) -> list[ExternalAccount]:
    """An account's external accounts of one mode, newest first."""
    rows = _FOR_ACCOUNT_FAST.rows(tx, {"account_id": account_id, "livemode": livemode})
    return [ExternalAccount.from_doc(data) for (data,) in rows]


def instant_capable(tx: Connection, account_id: str, livemode: bool) -> list[tuple[str, str]]:
    """The id and currency of each of an account's external accounts of one mode that takes instant
    payouts and has not errored (`ExternalAccount.takes("instant")`, `.errored`), newest first: what
    the Balance's `instant_available` needs, without building the records."""
    primed = tx.info.get(INSTANT_READ)
    if primed is not None and (account_id, bool(livemode)) in primed:
        return list(primed.pop((account_id, bool(livemode))))
    rows = _FOR_ACCOUNT_FAST.rows(tx, {"account_id": account_id, "livemode": livemode})
    return _capable(d for (d,) in rows)


def _capable(docs: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    return [
        (d["id"], d["currency"])
        for d in docs
        if "instant" in d.get("available_payout_methods", ()) and d.get("status", "new") != "errored"
    ]


def prime_instant_capable(
    tx: Connection, account_id: str, livemode: bool, docs: Iterable[dict[str, Any]]
) -> None:
    """Keep, for the unit's next `instant_capable` of this account and mode (which takes it, once), the
    documents of its external accounts that a statement of the unit read along with something else,
    newest first. Dropped when the unit ends (store/db.py UNIT_STATE)."""
    tx.info.setdefault(INSTANT_READ, {})[(account_id, bool(livemode))] = _capable(docs)


def with_outcomes(
    tx: Connection, account_id: str, livemode: bool
) -> list[tuple[ExternalAccount, PayoutOutcome]]:
    """`for_account`, each with what a payout to it does (`outcome`), in one statement."""
    rows = _WITH_OUTCOMES.rows(tx, {"account_id": account_id, "livemode": livemode})
    return [(ExternalAccount.from_doc(data), PayoutOutcome.from_doc(internal)) for data, internal in rows]


def documents(tx: Connection, account_id: str, livemode: bool) -> list[dict[str, Any]]:
    """`for_account` as the stored documents, as they are."""
    rows = tx.execute(_FOR_ACCOUNT, {"account_id": account_id, "livemode": livemode}).all()
    return [dict(r.data) for r in rows]


def get(tx: Connection, ea_id: str, *, for_update: bool = False) -> ExternalAccount | None:
    """The external account (None for an unknown id). `for_update` locks its row (PostgreSQL)."""
    stmt = _GET_FOR_UPDATE if for_update and tx.dialect.name == "postgresql" else _GET
    row = tx.execute(stmt, {"ea_id": ea_id}).first()
    return None if row is None else ExternalAccount.from_doc(row.data)


def outcome(tx: Connection, ea_id: str) -> PayoutOutcome:
    return PayoutOutcome.from_doc(internal(tx, ea_id))


def internal(tx: Connection, ea_id: str) -> dict[str, Any]:
    """The `internal` column as stored ({} when none)."""
    rows = _INTERNAL.rows(tx, {"ea_id": ea_id})
    return dict(rows[0][0] or {}) if rows else {}


def insert_external_account(tx: Connection, ea: ExternalAccount, outcome: PayoutOutcome) -> None:
    tx.execute(
        _INSERT,
        {
            "id": ea.id,
            "object": ea.object,
            "account_id": ea.account,
            "livemode": ea.livemode,
            "created": ea.created,
            "parent_id": ea.account,
            "status": ea.status,
            "data": ea.doc(),
            "internal": outcome.doc(),
        },
    )


def save(tx: Connection, ea: ExternalAccount) -> None:
    tx.execute(_SAVE, {"ea_id": ea.id, "data": ea.doc(), "status": ea.status})


def remove(tx: Connection, ea_id: str) -> None:
    tx.execute(_DELETE, {"ea_id": ea_id})


def page(
    tx: Connection, account_id: str, livemode: bool, kinds: tuple[str, ...], window: Window
) -> Page[ExternalAccount]:
    """A page of an account's external accounts of one mode (of the given kinds), newest first."""
    where = [
        resources.c.parent_id == account_id,
        object_is(*kinds),
        resources.c.livemode == livemode,
    ]
    return paged(tx, resources, where, window).map(_of_row)


def _of_row(row: Row[Any]) -> ExternalAccount:
    return ExternalAccount.from_doc(row.data)


_FOR_ACCOUNTS = (
    select(resources.c.parent_id, resources.c.data, resources.c.internal)
    .where(
        among(resources.c.parent_id, "account_ids"),
        IS_EXTERNAL_ACCOUNT,
        resources.c.livemode == bindparam("livemode"),
    )
    .order_by(resources.c.seq.desc())
)


def for_accounts(
    tx: Connection, account_ids: Iterable[str], livemode: bool
) -> dict[str, list[tuple[ExternalAccount, PayoutOutcome]]]:
    """`for_account` of many accounts in one statement, each external account with its `outcome`."""
    found: dict[str, list[tuple[ExternalAccount, PayoutOutcome]]] = {a: [] for a in account_ids}
    if not found:
        return found
    for row in tx.execute(_FOR_ACCOUNTS, {"account_ids": sorted(found), "livemode": livemode}):
        found[row.parent_id].append(
            (ExternalAccount.from_doc(row.data), PayoutOutcome.from_doc(dict(row.internal or {})))
        )
    return found
