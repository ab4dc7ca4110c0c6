"""Payouts: standard and instant, by API or by schedule; their lifecycle on a rail; cancel and reverse.

A payout takes its amount (and, for an instant payout, its fees) out of the account's available
balance by a `payout` balance transaction in the same unit of work that creates it, with the bucket
locked: no interleaving can overdraw it. The payout document lives in `resources`; `payout_tracking`
holds when its next step is due, which the worker (`advance_due`) asks the payout's rail about and
applies through the state machine (payoutkit/ledger/payouts.py). A failure or a cancel returns the
funds; a failure also marks the destination `errored`, which stops automatic payouts to it until its
details are updated.

Automatic payouts (`run_automatic`): at each account's schedule time the worker pays out each
available balance (per currency and source type) to the currency's default external account, and
marks the balance transactions it swept with the payout (`GET /v1/balance_transactions?payout=`). A
negative balance is recovered by debiting the account's bank when `debit_negative_balances` is set;
the debit sweeps what it covers and its own credit, pending until it arrives, so the balance is paid
out again only once it has (else the next payout's transactions would not add up to it).

No payout, of any kind, takes the account's available total in a currency below zero; all source
types of the currency are locked to check it (payoutkit/ledger/payouts.py, "What a payout may take").
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import asdict, replace
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, insert, select, update

from payoutkit.api import expand
from payoutkit.api.context import Ctx
from payoutkit.api.listing import ListParams, Range, range_filter
from payoutkit.api.params import Int, Metadata, Params, metadata_update
from payoutkit.errors import InvalidRequest, PermissionDenied, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger import instant as instant_math
from payoutkit.ledger.money import check_amount, check_currency
from payoutkit.ledger.payouts import (
    FAILURE_MESSAGES,
    NO_FEES,
    REVERSAL_WINDOW_SECONDS,
    PayoutFees,
    PayoutStatus,
    book_payout,
    book_payout_return,
    check_payout_amount,
    payable,
    payout_limit,
    require_payout_funds,
    transition,
)
from payoutkit.ledger.postings import PROCESSOR, WORLD, BalanceType, BucketKey, SourceType
from payoutkit.services import events, instant
from payoutkit.services.access import list_owned, owned
from payoutkit.services.accounts import account_data, external_accounts_list, schedule_of
from payoutkit.services.actor import Moment
from payoutkit.services.external_accounts import internal_of
from payoutkit.services.movement import Movement, key, movement
from payoutkit.services.payout_runs import next_run, run_idle
from payoutkit.services.rail import Rail, RailPayout, SimulatedRail
from payoutkit.services.settlement import settle
from payoutkit.store import resources as objects
from payoutkit.store.balances import read_buckets
from payoutkit.store.schema import accounts, balance_transactions, payout_runs, payout_tracking, resources

if TYPE_CHECKING:
    from payoutkit.runtime import Runtime

SIMULATED = SimulatedRail()


def rail_of(state: Runtime | None) -> Rail:
    rail = getattr(state, "rail", None) if state is not None else None
    return rail if rail is not None else SIMULATED


class PayoutCreate(Params):
    amount: Int
    currency: str
    description: str | None = None
    destination: str | None = None
    metadata: Metadata = None
    method: Literal["standard", "instant"] | None = None
    source_type: Literal["bank_account", "card", "fpx"] | None = None
    statement_descriptor: str | None = None


class PayoutUpdate(Params):
    metadata: Metadata = None


class PayoutList(ListParams):
    arrival_date: Int | Range | None = None
    destination: str | None = None
    status: Literal["pending", "in_transit", "paid", "failed", "canceled"] | None = None


class PayoutReverse(Params):
    metadata: Metadata = None


# ---- creating a payout ---------------------------------------------------------------------------


def _destination(
    conn: Connection, account_id: str, livemode: bool, currency: str, given: str | None
) -> dict[str, Any]:
    if given:
        check_id(given, ("ba", "card"), "destination", "external account")
        found = objects.get(conn, given)
        if (
            found is None
            or found[1] != account_id
            or found[0].get("object") not in ("bank_account", "card")
            or found[0].get("livemode") != livemode
        ):
            raise ResourceMissing(f"No such external account: '{given}'", param="destination")
        dest = found[0]
        if dest["currency"] != currency:
            raise InvalidRequest(
                f"The destination {given} takes {dest['currency']}, not {currency}.",
                param="currency",
                code="invalid_currency",
            )
        return dest
    for ea in external_accounts_list(conn, account_id, livemode):
        if ea["currency"] == currency and ea.get("default_for_currency"):
            return ea
    raise InvalidRequest(
        f"This account has no external account for {currency}: add one (default_for_currency) or pass "
        "destination.",
        param="destination",
    )


def payout_keys(source: BucketKey, platform_id: str) -> list[BucketKey]:
    """Every bucket a payout on `source` may move: its own, the world's, and for fees the processor's
    and the platform's."""
    return [
        source,
        source.with_account(WORLD),
        source.with_account(PROCESSOR),
        source.with_account(platform_id),
    ]


def _render(doc: dict[str, Any]) -> dict[str, Any]:
    return dict(doc)


def open_payout(
    conn: Connection,
    moment: Moment,
    rail: Rail,
    mv: Movement,
    *,
    account_id: str,
    platform_id: str,
    amount: int,
    source: BucketKey,
    method: str,
    destination: dict[str, Any],
    automatic: bool,
    fees: PayoutFees = NO_FEES,
    description: str | None = None,
    statement_descriptor: str | None = None,
    metadata: dict[str, str] | None = None,
    original_payout: str | None = None,
) -> dict[str, Any]:
    """Book and record a payout on a movement whose buckets are locked and whose funds were checked."""
    now = moment.now
    po = new_id("po")
    fee_id = new_id("fee") if fees.application_fee else None
    fees = PayoutFees(**{**asdict(fees), "application_fee_id": fee_id})
    arrival = rail.arrival_date(now, method)
    entries = book_payout(
        source,
        amount,
        payout_id=po,
        created=now,
        arrival=arrival,
        platform=platform_id,
        fees=fees,
        description=description,
    )
    mv.post(entries)
    mv.sync_reserves()
    txn = mv.txn_for(account_id, po)
    payout: dict[str, Any] = {
        "id": po,
        "object": "payout",
        "amount": amount,
        "application_fee": fee_id,
        "application_fee_amount": fees.application_fee if fee_id else None,
        "arrival_date": arrival,
        "automatic": automatic,
        "balance_transaction": txn,
        "created": now,
        "currency": source.currency,
        "description": description,
        "destination": destination["id"],
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "livemode": moment.livemode,
        "metadata": metadata or {},
        "method": method,
        "original_payout": original_payout,
        "payout_method": None,
        "reconciliation_status": "in_progress" if automatic else "not_applicable",
        "reversed_by": None,
        "source_type": source.source_type.value,
        "statement_descriptor": statement_descriptor,
        "status": PayoutStatus.PENDING.value,
        "trace_id": {"status": "pending", "value": None},
        "type": destination["object"],
    }
    objects.create(conn, payout, account_id=account_id, parent_id=destination["id"], status="pending")
    dest_internal = internal_of(conn, destination["id"])
    internal = {
        "failure_code": dest_internal.get("failure_code") or None,
        "fees": asdict(fees),
        "txn_available_on": arrival if amount < 0 else now,
    }
    conn.execute(update(resources).where(resources.c.id == po).values(internal=internal))
    step = rail.advance(_rail_payout(payout, internal), now)
    conn.execute(
        insert(payout_tracking).values(
            payout_id=po,
            account_id=account_id,
            livemode=moment.livemode,
            status="pending",
            arrival_date=arrival,
            next_action_at=step.next_at if step.status is PayoutStatus.PENDING else now,
        )
    )
    if fee_id:
        objects.create(
            conn,
            {
                "id": fee_id,
                "object": "application_fee",
                "account": account_id,
                "amount": fees.application_fee,
                "amount_refunded": 0,
                "application": platform_id,
                "balance_transaction": mv.txn_for(platform_id, fee_id),
                # Stripe's schema requires `charge`; a payout's fee names the payout it was taken
                # from (`fee_source` says so), and `expand[]=charge` leaves it an id.
                "charge": po,
                "created": now,
                "currency": source.currency,
                "fee_source": {"payout": po, "type": "payout"},
                "livemode": moment.livemode,
                "originating_transaction": None,
                "refunded": False,
                "refunds": {
                    "object": "list",
                    "data": [],
                    "has_more": False,
                    "url": f"/v1/application_fees/{fee_id}/refunds",
                },
            },
            account_id=platform_id,
        )
    if automatic:
        # The transactions this payout settles: every available one of the bucket not yet swept, and
        # the payout's own.
        seq = mv.seqs[mv.route(source)]
        conn.execute(
            update(balance_transactions)
            .where(
                balance_transactions.c.balance_seq == seq,
                balance_transactions.c.status == "available",
                balance_transactions.c.payout.is_(None),
            )
            .values(payout=po)
        )
        conn.execute(update(balance_transactions).where(balance_transactions.c.id == txn).values(payout=po))
    events.emit(
        conn,
        moment,
        "payout.created",
        payout,
        platform_id=platform_id,
        account_id=account_id,
    )
    return payout


def _rail_payout(payout: dict[str, Any], internal: dict[str, Any]) -> RailPayout:
    return RailPayout(
        id=payout["id"],
        amount=payout["amount"],
        currency=payout["currency"],
        method=payout["method"],
        created=payout["created"],
        arrival_date=payout["arrival_date"],
        destination=payout["destination"],
        failure_code=internal.get("failure_code"),
    )


def create(conn: Connection, ctx: Ctx, p: PayoutCreate) -> dict[str, Any]:
    currency = check_currency(p.currency)
    amount = check_payout_amount(check_amount(p.amount, currency), currency)
    method = p.method or "standard"
    if p.statement_descriptor is not None and len(p.statement_descriptor) > 22:
        raise InvalidRequest(
            "The statement descriptor must be at most 22 characters.", param="statement_descriptor"
        )
    account = account_data(conn, ctx.account_id)
    platform = account if ctx.is_platform else account_data(conn, ctx.platform_id)
    schedule = account["settings"]["payouts"]["schedule"]
    if method == "standard" and not ctx.is_platform and schedule["interval"] != "manual":
        raise InvalidRequest(
            "This account is paid out automatically (settings.payouts.schedule.interval is "
            f"{schedule['interval']}). Set the interval to manual to create standard payouts through "
            "the API.",
            param="method",
            code="payouts_not_allowed",
        )
    source_type = SourceType(p.source_type or "card")
    dest = _destination(conn, ctx.account_id, ctx.livemode, currency, p.destination)
    if dest.get("status") == "errored":
        raise InvalidRequest(
            f"The external account {dest['id']} failed a payout and cannot receive payouts until its details "
            "are updated.",
            param="destination",
            code="bank_account_unusable",
        )
    if method not in dest.get("available_payout_methods", ["standard"]):
        raise InvalidRequest(
            f"The destination {dest['id']} does not support {method} payouts (its available_payout_methods "
            f"are {', '.join(dest.get('available_payout_methods', []))}).",
            param="method",
            code="instant_payouts_unsupported",
        )
    fees = NO_FEES
    terms = None
    if method == "instant":
        if source_type is not SourceType.CARD:
            raise InvalidRequest(
                "Instant payouts are paid from card funds only (source_type=card).", param="source_type"
            )
        terms = instant.terms(
            conn,
            ctx.state,
            account=account,
            platform=platform,
            livemode=ctx.livemode,
            currency=currency,
            now=ctx.now,
        )
        if terms.refusal is not None:
            raise terms.refusal
        fees = instant_math.instant_fees(
            amount,
            application=terms.application,
            processing=terms.processing,
            platform_pays_processing=terms.platform_pays_processing,
        )
    source = key(ctx, ctx.account_id, currency, source_type)
    # Every source type of the currency is read under its lock: a payout never takes the account's
    # total below zero (payoutkit/ledger/payouts.py, "What a payout may take").
    siblings = [key(ctx, ctx.account_id, currency, st) for st in SourceType]
    mv = movement(conn, ctx, payout_keys(source, ctx.platform_id), exact=siblings)
    if terms is not None:
        # Read today's volume only now, under the bucket's lock: concurrent instant payouts of this
        # account queue here, so they cannot pass the limit together.
        used = instant.volume_today(conn, ctx.account_id, ctx.livemode, currency, terms.day)
        terms.remaining_today = max(0, instant.daily_limit(ctx.state, currency) - used)
        refusal = instant.limit_refusal(amount, terms, currency)
        if refusal is not None:
            raise refusal
    total = sum(mv.bucket(k).available for k in siblings)
    require_payout_funds(amount + fees.charged_to_account(), mv.bucket(source).available, total, currency)
    payout = open_payout(
        conn,
        ctx,
        rail_of(ctx.state),
        mv,
        account_id=ctx.account_id,
        platform_id=ctx.platform_id,
        amount=amount,
        source=source,
        method=method,
        destination=dest,
        automatic=False,
        fees=fees,
        description=p.description,
        statement_descriptor=p.statement_descriptor
        or account["settings"]["payouts"].get("statement_descriptor"),
        metadata=metadata_update({}, p.metadata),
    )
    if terms is not None:
        instant.add_volume(conn, ctx.account_id, ctx.livemode, currency, terms.day, amount)
    return _render(payout)


# ---- reading and updating -------------------------------------------------------------------------


def retrieve(conn: Connection, ctx: Ctx, p: Params, payout: str) -> dict[str, Any]:
    check_id(payout, ("po",), "payout", "payout")
    return _render(owned(conn, ctx, payout, "payout", param="payout"))


def modify(conn: Connection, ctx: Ctx, p: PayoutUpdate, payout: str) -> dict[str, Any]:
    check_id(payout, ("po",), "payout", "payout")
    doc = owned(conn, ctx, payout, "payout", param="payout", for_update=True)
    doc["metadata"] = metadata_update(doc["metadata"], p.metadata)
    objects.save(conn, doc, status=doc["status"])
    return _render(doc)


def list_payouts(conn: Connection, ctx: Ctx, p: PayoutList) -> dict[str, Any]:
    where = []
    if p.status:
        where.append(resources.c.status == p.status)
    if p.destination:
        where.append(resources.c.parent_id == p.destination)
    if p.arrival_date is not None:
        arriving = select(payout_tracking.c.payout_id).where(
            payout_tracking.c.account_id == ctx.account_id,
            payout_tracking.c.livemode == ctx.livemode,
            *range_filter(payout_tracking.c.arrival_date, p.arrival_date),
        )
        where.append(resources.c.id.in_(arriving))
    return list_owned(conn, ctx, "payout", p, "/v1/payouts", *where)


# ---- state changes --------------------------------------------------------------------------------


def _lock(conn: Connection, payout_id: str) -> tuple[Any, dict[str, Any], dict[str, Any], str]:
    """The payout's tracking row, document and internal state, locked in that order (the worker's)."""
    stmt = select(payout_tracking).where(payout_tracking.c.payout_id == payout_id)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    track = conn.execute(stmt).first()
    row = conn.execute(
        select(resources.c.data, resources.c.internal, resources.c.account_id).where(
            resources.c.id == payout_id
        )
    ).first()
    if track is None or row is None:
        raise ResourceMissing.for_id("payout", payout_id, "payout")
    return track, dict(row.data), dict(row.internal or {}), row.account_id


def _platform_of(conn: Connection, account_id: str) -> str:
    row = conn.execute(
        select(accounts.c.platform_id, accounts.c.kind).where(accounts.c.id == account_id)
    ).one()
    return account_id if row.kind == "platform" else str(row.platform_id)


def _save(conn: Connection, doc: dict[str, Any], next_at: int | None) -> None:
    objects.save(conn, doc, status=doc["status"])
    conn.execute(
        update(payout_tracking)
        .where(payout_tracking.c.payout_id == doc["id"])
        .values(status=doc["status"], next_action_at=next_at)
    )


def _return_funds(
    conn: Connection,
    moment: Moment,
    doc: dict[str, Any],
    internal: dict[str, Any],
    account_id: str,
    kind: str,
) -> str:
    platform = _platform_of(conn, account_id)
    fees = PayoutFees(**internal.get("fees", {}))
    source = BucketKey(
        account_id, moment.livemode, doc["currency"], BalanceType.PAYMENTS, SourceType(doc["source_type"])
    )
    entries = book_payout_return(
        source,
        doc["amount"],
        payout_id=doc["id"],
        kind=kind,
        created=moment.now,
        available_on=internal.get("txn_available_on", doc["created"]),
        platform=platform,
        fees=fees,
    )
    mv = movement(conn, moment, [e.key for e in entries])
    mv.post(entries)
    mv.sync_reserves()
    return mv.txn_for(account_id, doc["id"])


def _set_status(
    conn: Connection,
    moment: Moment,
    doc: dict[str, Any],
    internal: dict[str, Any],
    account_id: str,
    new: PayoutStatus,
    *,
    failure_code: str | None = None,
) -> list[tuple[str, dict[str, Any]]]:
    """Move a payout to `new` (checked by the state machine), booking what that means. Returns the
    events to emit, in order, once the document is saved."""
    old = doc["status"]
    transition(old, new)
    doc["status"] = new.value
    out: list[tuple[str, dict[str, Any]]] = [("payout.updated", {"status": old})]
    if new is PayoutStatus.PAID:
        doc["trace_id"] = {"status": "supported", "value": "PKT" + doc["id"][3:19].upper()}
        out.append(("payout.paid", {}))
        if doc["automatic"]:
            doc["reconciliation_status"] = "completed"
            out.append(("payout.reconciliation_completed", {}))
    elif new is PayoutStatus.FAILED:
        code = failure_code or "could_not_process"
        doc["failure_code"] = code
        doc["failure_message"] = FAILURE_MESSAGES.get(code, "The payout failed.")
        doc["failure_balance_transaction"] = _return_funds(
            conn, moment, doc, internal, account_id, "payout_failure"
        )
        if doc["trace_id"]["status"] == "pending":
            doc["trace_id"] = {"status": "unsupported", "value": None}
        _mark_errored(conn, moment, doc["destination"], account_id)
        out.append(("payout.failed", {}))
    elif new is PayoutStatus.CANCELED:
        doc["failure_balance_transaction"] = _return_funds(
            conn, moment, doc, internal, account_id, "payout_cancel"
        )
        doc["trace_id"] = {"status": "unsupported", "value": None}
        out.append(("payout.canceled", {}))
    if doc["automatic"] and new in (PayoutStatus.FAILED, PayoutStatus.CANCELED):
        doc["reconciliation_status"] = "not_applicable"
        # What it swept is free to be swept again.
        conn.execute(
            update(balance_transactions).where(balance_transactions.c.payout == doc["id"]).values(payout=None)
        )
    return out


def _mark_errored(conn: Connection, moment: Moment, destination_id: str, account_id: str) -> None:
    found = objects.get(conn, destination_id, for_update=True)
    if found is None or found[0].get("status") == "errored":
        return
    ea = found[0]
    ea["status"] = "errored"
    objects.save(conn, ea, status="errored")
    rendered = {k: v for k, v in ea.items() if k not in ("livemode", "created")}
    events.emit(
        conn,
        moment,
        "account.external_account.updated",
        rendered,
        platform_id=_platform_of(conn, account_id),
        account_id=account_id,
        previous_attributes={"status": "new"},
    )


def _emit_all(
    conn: Connection,
    moment: Moment,
    doc: dict[str, Any],
    account_id: str,
    emitted: list[tuple[str, dict[str, Any]]],
) -> None:
    platform = _platform_of(conn, account_id)
    for type, previous in emitted:
        events.emit(
            conn,
            moment,
            type,
            doc,
            platform_id=platform,
            account_id=account_id,
            previous_attributes=previous or None,
        )


def cancel(conn: Connection, ctx: Ctx, p: Params, payout: str) -> dict[str, Any]:
    check_id(payout, ("po",), "payout", "payout")
    owned(conn, ctx, payout, "payout", param="payout")
    _, doc, internal, account_id = _lock(conn, payout)
    if doc["automatic"]:
        raise InvalidRequest(
            "Automatic payouts cannot be canceled.", param="payout", code="payout_not_cancelable"
        )
    if doc["method"] == "instant":
        raise InvalidRequest(
            "Instant payouts cannot be canceled.", param="payout", code="payout_not_cancelable"
        )
    if doc["status"] != "pending":
        raise InvalidRequest(
            f"Only pending payouts can be canceled; this one is {doc['status']}.",
            param="payout",
            code="payout_not_cancelable",
        )
    emitted = _set_status(conn, ctx, doc, internal, account_id, PayoutStatus.CANCELED)
    _save(conn, doc, None)
    _emit_all(conn, ctx, doc, account_id, emitted)
    return _render(doc)


def reverse(conn: Connection, ctx: Ctx, p: PayoutReverse, payout: str) -> dict[str, Any]:
    check_id(payout, ("po",), "payout", "payout")
    owned(conn, ctx, payout, "payout", param="payout")
    _, doc, _, account_id = _lock(conn, payout)
    account = account_data(conn, account_id)
    if ctx.is_platform or account.get("controller", {}).get("losses", {}).get("payments") != "application":
        raise PermissionDenied(
            "Payout reversals are for connected accounts whose negative balances the platform is liable for "
            "(controller.losses.payments = application)."
        )

    def refuse(message: str) -> InvalidRequest:
        return InvalidRequest(message, param="payout", code="payout_not_reversible")

    if doc["amount"] <= 0:
        raise refuse("Debits and reversals cannot be reversed.")
    if doc["method"] != "standard":
        raise refuse("Instant payouts cannot be reversed.")
    if doc["reversed_by"]:
        raise refuse(f"This payout was already reversed by {doc['reversed_by']}; a payout is reversed once.")
    if doc["status"] == "pending":
        raise refuse("This payout is still pending: cancel it instead.")
    if doc["status"] not in ("in_transit", "paid"):
        raise refuse(f"A {doc['status']} payout cannot be reversed.")
    dest = objects.get(conn, doc["destination"])
    if dest is None or dest[0]["object"] != "bank_account" or dest[0]["country"] not in ("US", "CA"):
        raise refuse("Only payouts to US or Canadian bank accounts can be reversed.")
    if doc["arrival_date"] < ctx.now - REVERSAL_WINDOW_SECONDS:
        raise refuse("Payouts that arrived more than 90 days ago cannot be reversed.")
    source = key(ctx, account_id, doc["currency"], doc["source_type"])
    mv = movement(conn, ctx, payout_keys(source, ctx.platform_id))
    reversal = open_payout(
        conn,
        ctx,
        rail_of(ctx.state),
        mv,
        account_id=account_id,
        platform_id=ctx.platform_id,
        amount=-doc["amount"],
        source=source,
        method="standard",
        destination=dest[0],
        automatic=False,
        description=f"Reversal of {doc['id']}",
        metadata=metadata_update({}, p.metadata),
        original_payout=doc["id"],
    )
    doc["reversed_by"] = reversal["id"]
    objects.save(conn, doc, status=doc["status"])
    _emit_all(conn, ctx, doc, account_id, [("payout.updated", {"reversed_by": None})])
    return _render(reversal)


# ---- the worker's jobs ----------------------------------------------------------------------------


def _claim(conn: Connection, stmt: Any) -> Any:
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return conn.execute(stmt).all()


def advance_due(conn: Connection, moment: Moment, rail: Rail, *, limit: int = 200) -> int:
    """Advance every payout whose next step is due, as its rail reports; return how many moved."""
    rows = _claim(
        conn,
        select(payout_tracking.c.payout_id)
        .where(payout_tracking.c.livemode == moment.livemode, payout_tracking.c.next_action_at <= moment.now)
        .order_by(payout_tracking.c.next_action_at)
        .limit(limit),
    )
    for row in rows:
        advance(conn, moment, rail, row.payout_id)
    return len(rows)


def advance(conn: Connection, moment: Moment, rail: Rail, payout_id: str) -> None:
    track, doc, internal, account_id = _lock(conn, payout_id)
    due = track.next_action_at
    while due is not None and due <= moment.now:
        step = rail.advance(_rail_payout(doc, internal), due)
        if step.status.value != doc["status"]:
            if step.status is PayoutStatus.PAID and doc["status"] == "pending":
                # A rail may report arrival without the submission: pass through in_transit.
                emitted = _set_status(conn, moment, doc, internal, account_id, PayoutStatus.IN_TRANSIT)
                _emit_all(conn, moment, doc, account_id, emitted)
            emitted = _set_status(
                conn, moment, doc, internal, account_id, step.status, failure_code=step.failure_code
            )
            _emit_all(conn, moment, doc, account_id, emitted)
            if step.status is PayoutStatus.FAILED and doc.get("reversed_by"):
                _cancel_reversal(conn, moment, doc["reversed_by"])
        if step.next_at is not None and step.next_at <= due:
            raise RuntimeError(f"rail did not move payout {payout_id} forward from {due}")
        due = step.next_at
    _save(conn, doc, due)


def _cancel_reversal(conn: Connection, moment: Moment, reversal_id: str) -> None:
    """A payout that fails while its reversal is pending takes the reversal down with it."""
    _, rev, internal, account_id = _lock(conn, reversal_id)
    if rev["status"] != "pending":
        return
    emitted = _set_status(conn, moment, rev, internal, account_id, PayoutStatus.CANCELED)
    _save(conn, rev, None)
    _emit_all(conn, moment, rev, account_id, emitted)


def run_automatic(conn: Connection, moment: Moment, rail: Rail, *, limit: int = 200) -> int:
    """Run the payout runs that are due (at most `limit`); return how many accounts were run."""
    rows = _claim(
        conn,
        select(payout_runs.c.account_id)
        .where(payout_runs.c.livemode == moment.livemode, payout_runs.c.next_run_at <= moment.now)
        .order_by(payout_runs.c.next_run_at)
        .limit(limit),
    )
    idle = run_idle(conn, [row.account_id for row in rows], moment.livemode, moment.now, schedule_of)
    for row in rows:
        if row.account_id not in idle:
            _run_account(conn, moment, rail, row.account_id)
    return len(rows)


def _credits_in_flight(conn: Connection, account_id: str, livemode: bool) -> dict[tuple[str, str], int]:
    """Per (currency, source type): what the account's debits and reversals still on their way will
    credit when they arrive."""
    rows = conn.execute(
        select(resources.c.data).where(
            resources.c.account_id == account_id,
            resources.c.livemode == livemode,
            resources.c.object == "payout",
            resources.c.status.in_(("pending", "in_transit")),
        )
    ).all()
    out: dict[tuple[str, str], int] = defaultdict(int)
    for row in rows:
        if row.data["amount"] < 0:
            out[(row.data["currency"], row.data["source_type"])] -= row.data["amount"]
    return out


def _debit_arriving(conn: Connection, seq: int) -> bool:
    """Whether a debit of this balance is still on its way: it swept the negative transactions it
    covers together with its own credit, which stays pending until the money arrives. Until then the
    balance's available funds fall short of its unswept transactions by the debit, and a payout made
    meanwhile would list transactions that do not add up to it."""
    found = conn.execute(
        select(balance_transactions.c.id)
        .where(
            balance_transactions.c.balance_seq == seq,
            balance_transactions.c.status == "pending",
            balance_transactions.c.payout.is_not(None),
        )
        .limit(1)
    ).first()
    return found is not None


def _run_account(conn: Connection, moment: Moment, rail: Rail, account_id: str) -> int:
    row = conn.execute(select(accounts).where(accounts.c.id == account_id)).one()
    data = dict(row.data)
    platform = account_id if row.kind == "platform" else str(row.platform_id)
    schedule = schedule_of(data)
    settings = data["settings"]["payouts"]
    automatic = schedule.interval.value != "manual"
    debit = bool(settings.get("debit_negative_balances"))
    made = 0
    buckets, due = read_buckets(conn, account_id, moment.livemode)
    if due is not None and due <= moment.now:
        settle(conn, moment.now, livemode=moment.livemode, account_id=account_id)
        buckets, _ = read_buckets(conn, account_id, moment.livemode)
    payments = [b for b in buckets if b.key.balance_type is BalanceType.PAYMENTS]
    negative = debit and any(b.available < 0 for b in payments)
    coming = _credits_in_flight(conn, account_id, moment.livemode) if negative else {}
    candidates = [
        b.key
        for b in payments
        if (automatic and b.available > 0)
        or (debit and b.available + coming.get((b.key.currency, b.key.source_type.value), 0) < 0)
    ]
    defaults = {
        ea["currency"]: ea
        for ea in external_accounts_list(conn, account_id, moment.livemode)
        if ea.get("default_for_currency")
    }
    for source in candidates:
        dest = defaults.get(source.currency)
        if dest is None or dest.get("status") == "errored":
            continue  # no usable destination: automatic payouts stop until it is updated
        if dest["object"] != "bank_account" and not automatic:
            continue  # a debit needs a bank account
        siblings = [replace(source, source_type=st) for st in SourceType]
        mv = movement(conn, moment, payout_keys(source, platform), exact=siblings)
        available = mv.bucket(source).available
        if automatic and available > 0:
            # A positive balance is paid out whole (an automatic payout sweeps its bucket; in HUF and
            # TWD all but what is short of a whole unit) and only while the currency's total covers it:
            # an account that owes money in another source type is paid out once that is covered.
            total = sum(mv.bucket(k).available for k in siblings)
            amount = payable(available, source.currency)
            if amount <= 0 or amount > payout_limit(available, total):
                continue
            if _debit_arriving(conn, mv.seqs[mv.route(source)]):
                continue  # the balance's debit has not arrived yet: pay out once it has
        else:
            # Debit what is still short once the debits already on their way have arrived.
            short = available + coming.get((source.currency, source.source_type.value), 0)
            amount = payable(short, source.currency)
            if not (debit and amount < 0 and dest["object"] == "bank_account"):
                continue
        open_payout(
            conn,
            moment,
            rail,
            mv,
            account_id=account_id,
            platform_id=platform,
            amount=amount,
            source=source,
            method="standard",
            destination=dest,
            automatic=True,
            statement_descriptor=settings.get("statement_descriptor"),
        )
        made += 1
    conn.execute(
        update(payout_runs)
        .where(payout_runs.c.account_id == account_id, payout_runs.c.livemode == moment.livemode)
        .values(next_run_at=next_run(schedule, moment.now))
    )
    return made


def _load(conn: Connection, ctx: Ctx, payout_id: str) -> dict[str, Any] | None:
    found = objects.get(conn, payout_id)
    if (
        found is None
        or found[0].get("object") != "payout"
        or found[0].get("livemode") != ctx.livemode
        or not expand.visible(conn, ctx, found[1])
    ):
        return None
    return _render(found[0])


expand.register("po", _load)
