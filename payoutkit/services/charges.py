"""Charges, refunds and disputes: the funds that come in, and go back out.

A charge is made on the acting account (a direct charge when that is a connected account) or, with
`transfer_data[destination]`, on the platform for a connected account (a destination charge). Its
`source` is a test token that selects the source type and the outcome (docs/testing.md). Funds arrive
pending until `available_on`: the account's `delay_days` (or the source type's settlement time, if
longer) in business days; `tok_bypassPending` makes them available at once.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, select

from payoutkit.api import expand
from payoutkit.api.context import Ctx, Refused
from payoutkit.api.listing import ListParams
from payoutkit.api.params import Bool, Int, Metadata, Nested, Params, metadata_update
from payoutkit.errors import CardError, InvalidRequest, ResourceMissing
from payoutkit.ids import check_id, new_id
from payoutkit.ledger import calendar
from payoutkit.ledger.allocation import next_share
from payoutkit.ledger.booking import Charge, book_charge, book_dispute, book_refund
from payoutkit.ledger.money import check_amount, check_currency
from payoutkit.ledger.postings import SourceType, TxnStatus
from payoutkit.services import accounts as accounts_service
from payoutkit.services import application_fees
from payoutkit.services import transfers as transfers_service
from payoutkit.services.access import connected_account, list_owned, owned
from payoutkit.services.balance import render_txn
from payoutkit.services.events import emit_request, previous_attributes
from payoutkit.services.movement import key, movement
from payoutkit.services.test_tokens import test_id_in_livemode
from payoutkit.store import resources as objects
from payoutkit.store.schema import balance_transactions as txns
from payoutkit.store.schema import resources

MINIMUM_CHARGE = 50
# A destination charge's transfer's internal state: the sum of the refunds that asked to reverse it.
REVERSAL_BASIS = "refund_basis"


@dataclass(frozen=True)
class TestSource:
    source_type: SourceType
    brand: str
    last4: str
    funding: str = "credit"
    bypass_pending: bool = False
    dispute: bool = False
    decline: tuple[str, str, str] | None = None  # (code, decline_code, message)
    currency: str | None = None  # a source that only takes one currency


_DECLINED = "Your card was declined."
TEST_SOURCES = {
    "tok_visa": TestSource(SourceType.CARD, "Visa", "4242"),
    "tok_us": TestSource(SourceType.CARD, "Visa", "4242"),
    "tok_visa_debit": TestSource(SourceType.CARD, "Visa", "5556", funding="debit"),
    "tok_mastercard": TestSource(SourceType.CARD, "MasterCard", "4444"),
    "tok_mastercard_debit": TestSource(SourceType.CARD, "MasterCard", "8210", funding="debit"),
    "tok_amex": TestSource(SourceType.CARD, "American Express", "8431"),
    "tok_discover": TestSource(SourceType.CARD, "Discover", "1117"),
    "tok_bypassPending": TestSource(SourceType.CARD, "Visa", "0077", bypass_pending=True),
    "tok_createDispute": TestSource(SourceType.CARD, "Visa", "0259", dispute=True),
    "tok_chargeDeclined": TestSource(
        SourceType.CARD, "Visa", "0002", decline=("card_declined", "generic_decline", _DECLINED)
    ),
    "tok_chargeDeclinedInsufficientFunds": TestSource(
        SourceType.CARD,
        "Visa",
        "9995",
        decline=("card_declined", "insufficient_funds", "Your card has insufficient funds."),
    ),
    "tok_chargeDeclinedFraudulent": TestSource(
        SourceType.CARD, "Visa", "0019", decline=("card_declined", "fraudulent", _DECLINED)
    ),
    "tok_chargeDeclinedExpiredCard": TestSource(
        SourceType.CARD, "Visa", "0069", decline=("expired_card", "expired_card", "Your card has expired.")
    ),
    "tok_chargeDeclinedProcessingError": TestSource(
        SourceType.CARD,
        "Visa",
        "0119",
        decline=("processing_error", "processing_error", "An error occurred while processing your card."),
    ),
    # Legacy ACH through the Charges API: the `bank_account` source type.
    "btok_us_verified": TestSource(
        SourceType.BANK_ACCOUNT, "ach", "6789", funding="bank_account", currency="usd"
    ),
    # Payoutkit's test token for FPX (Malaysia, MYR only): the `fpx` source type.
    "tok_fpx": TestSource(SourceType.FPX, "fpx", "0000", funding="fpx", currency="myr"),
}


class TransferData(Nested):
    destination: str
    amount: Int | None = None


class ChargeCreate(Params):
    amount: Int
    currency: str
    source: str | None = None
    description: str | None = None
    metadata: Metadata = None
    application_fee_amount: Int | None = None
    transfer_data: TransferData | None = None
    transfer_group: str | None = None
    on_behalf_of: str | None = None
    capture: Bool | None = None
    receipt_email: str | None = None
    statement_descriptor: str | None = None
    statement_descriptor_suffix: str | None = None


class ChargeUpdate(Params):
    description: str | None = None
    metadata: Metadata = None
    receipt_email: str | None = None
    transfer_group: str | None = None


def _test_source(token: str | None, currency: str, livemode: bool) -> TestSource:
    if token is None:
        raise InvalidRequest(
            "You must supply a source (a test token such as tok_visa).",
            param="source",
            code="parameter_missing",
        )
    found = TEST_SOURCES.get(token)
    if found is not None and livemode:
        raise test_id_in_livemode(token, "source")
    if found is None:
        raise ResourceMissing(f"No such token: '{token}'", param="source")
    if found.currency and found.currency != currency:
        raise InvalidRequest(
            f"The source {token} only accepts {found.currency}.", param="currency", code="invalid_currency"
        )
    return found


def _available_on(ctx: Ctx, owner: dict[str, Any], src: TestSource) -> int:
    if src.bypass_pending:
        return ctx.now
    delay = owner["settings"]["payouts"]["schedule"]["delay_days"]
    delay = max(delay, calendar.SETTLEMENT_DELAY_DAYS[src.source_type.value])
    return calendar.available_on(ctx.now, delay)


def _charge_object(ctx: Ctx, cid: str, p: ChargeCreate, src: TestSource, currency: str) -> dict[str, Any]:
    card = {
        "brand": src.brand.lower(),
        "country": "US",
        "exp_month": 12,
        "exp_year": 2030,
        "funding": src.funding,
        "last4": src.last4,
        "network": src.brand.lower(),
    }
    # Each method's details sit under the key that `type` names, with the fields Stripe's schema has.
    details: dict[str, Any] = {"type": "card", "card": card}
    if src.source_type is SourceType.BANK_ACCOUNT:
        ach = {
            "account_holder_type": "individual",
            "bank_name": "STRIPE TEST BANK",
            "country": "US",
            "fingerprint": None,
            "last4": src.last4,
            "routing_number": "110000000",
        }
        details = {"type": "ach_debit", "ach_debit": ach}
    elif src.source_type is SourceType.FPX:
        details = {"type": "fpx", "fpx": {"bank": "maybank2u", "transaction_id": None}}
    return {
        "id": cid,
        "object": "charge",
        "amount": p.amount,
        "amount_captured": p.amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": p.application_fee_amount,
        "balance_transaction": None,
        "billing_details": {"address": None, "email": None, "name": None, "phone": None},
        "calculated_statement_descriptor": p.statement_descriptor or "PAYOUTKIT",
        "captured": True,
        "created": ctx.now,
        "currency": currency,
        "customer": None,
        "description": p.description,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": ctx.livemode,
        "metadata": metadata_update({}, p.metadata),
        "on_behalf_of": p.on_behalf_of,
        "outcome": {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "payment_intent": None,
        "payment_method": new_id("card") if src.source_type is SourceType.CARD else new_id("src"),
        "payment_method_details": details,
        "receipt_email": p.receipt_email,
        "refunded": False,
        "refunds": {"object": "list", "data": [], "has_more": False, "url": f"/v1/charges/{cid}/refunds"},
        "source_transfer": None,
        "statement_descriptor": p.statement_descriptor,
        "statement_descriptor_suffix": p.statement_descriptor_suffix,
        "status": "succeeded",
        # `transfer` is absent (not null) unless the charge made one: Stripe's schema does not allow null.
        "transfer_data": None,
        "transfer_group": p.transfer_group,
    }


def create(conn: Connection, ctx: Ctx, p: ChargeCreate) -> dict[str, Any] | Refused:
    currency = check_currency(p.currency)
    amount = check_amount(p.amount, currency)
    if amount < MINIMUM_CHARGE:
        raise InvalidRequest(
            f"Amount must be at least {MINIMUM_CHARGE} in the currency's minor unit.",
            param="amount",
            code="amount_too_small",
        )
    if p.capture is False:
        raise InvalidRequest("Uncaptured charges are not supported; omit capture.", param="capture")
    app_fee = p.application_fee_amount or 0
    if app_fee < 0 or app_fee > amount:
        raise InvalidRequest(
            "The application fee must be between 0 and the charge amount.",
            param="application_fee_amount",
            code="parameter_invalid_integer",
        )
    destination = None
    if p.transfer_data is not None:
        if not ctx.is_platform:
            raise InvalidRequest(
                "A destination charge is made by the platform, without Stripe-Account.",
                param="transfer_data[destination]",
            )
        check_id(p.transfer_data.destination, ("acct",), "transfer_data[destination]", "account")
        destination = connected_account(
            conn, ctx, p.transfer_data.destination, param="transfer_data[destination]"
        ).id
        if p.transfer_data.amount is not None and p.application_fee_amount is not None:
            raise InvalidRequest(
                "Use either application_fee_amount or transfer_data[amount], not both.",
                param="transfer_data[amount]",
            )
    elif app_fee and ctx.is_platform:
        raise InvalidRequest(
            "An application fee needs a connected account: make a destination charge or use Stripe-Account.",
            param="application_fee_amount",
        )
    if p.on_behalf_of is not None:  # an account this key can see, in its mode
        check_id(p.on_behalf_of, ("acct",), "on_behalf_of", "account")
        accounts_service.visible_account(conn, ctx, p.on_behalf_of, param="on_behalf_of")
    transfer_amount = amount
    if p.transfer_data is not None and p.transfer_data.amount is not None:
        transfer_amount = check_amount(p.transfer_data.amount, currency, param="transfer_data[amount]")
        if transfer_amount > amount:
            raise InvalidRequest(
                "transfer_data[amount] cannot exceed the charge amount.", param="transfer_data[amount]"
            )
    src = _test_source(p.source, currency, ctx.livemode)
    cid = new_id("ch")
    charge = _charge_object(ctx, cid, p, src, currency)
    if src.decline is not None:
        code, decline_code, message = src.decline
        charge.update(
            status="failed",
            paid=False,
            captured=False,
            amount_captured=0,
            failure_code=code,
            failure_message=message,
            outcome={
                "network_status": "declined_by_network",
                "reason": decline_code,
                "risk_level": "normal",
                "seller_message": "The bank did not return any further details with this decline.",
                "type": "issuer_declined",
            },
        )
        objects.create(conn, charge, account_id=ctx.account_id, status="failed")
        emit_request(conn, ctx, "charge.failed", charge)
        return Refused(CardError(message, code=code, extra={"decline_code": decline_code, "charge": cid}))

    owner = accounts_service.account_data(conn, ctx.account_id)
    available_on = _available_on(ctx, owner, src)
    fee = ctx.state.settings.pricing.processing[src.source_type.value].fee_for(amount)
    platform_key = key(ctx, ctx.account_id, currency, src.source_type)
    booking = Charge(
        key=platform_key,
        amount=amount,
        processing_fee=fee,
        application_fee=app_fee,
        created=ctx.now,
        available_on=available_on,
        charge_id=cid,
        platform=ctx.platform_id,
        description=p.description,
        destination=destination,
        transfer_id=new_id("tr") if destination else None,
        payment_id=new_id("py") if destination else None,
        application_fee_id=new_id("fee") if app_fee else None,
        transfer_amount=transfer_amount if destination else 0,
    )
    entries = book_charge(booking)
    # Only funds that are available at once (bypassPending) or a dispute move available balances.
    moves_available = src.dispute or any(
        e.status is TxnStatus.AVAILABLE for e in entries if e.key.account.startswith("acct_")
    )
    mv = movement(conn, ctx, [e.key for e in entries], available=moves_available)
    mv.post(entries)
    charge["balance_transaction"] = mv.txn_for(ctx.account_id, cid)
    connected = destination or (None if ctx.is_platform else ctx.account_id)
    if booking.application_fee_id and connected:
        charge["application_fee"] = booking.application_fee_id
        objects.create(
            conn,
            {
                "id": booking.application_fee_id,
                "object": "application_fee",
                "account": connected,
                "amount": app_fee,
                "amount_refunded": 0,
                "application": ctx.platform_id,
                "balance_transaction": mv.txn_for(ctx.platform_id, booking.application_fee_id),
                "charge": booking.payment_id or cid,
                "created": ctx.now,
                "currency": currency,
                "fee_source": None,
                "livemode": ctx.livemode,
                "originating_transaction": cid,
                "refunded": False,
                "refunds": {
                    "object": "list",
                    "data": [],
                    "has_more": False,
                    "url": f"/v1/application_fees/{booking.application_fee_id}/refunds",
                },
            },
            account_id=ctx.platform_id,
        )
    transfer: dict[str, Any] | None = None
    if destination and booking.transfer_id and booking.payment_id:
        charge["transfer"] = booking.transfer_id
        charge["transfer_data"] = {
            "amount": p.transfer_data.amount if p.transfer_data else None,
            "destination": destination,
        }
        payment = _charge_object(ctx, booking.payment_id, p, src, currency)
        payment.update(
            amount=transfer_amount,
            amount_captured=transfer_amount,
            application_fee_amount=None,
            payment_method=None,
            payment_method_details=None,
            balance_transaction=mv.txn_for(destination, booking.payment_id),
            source_transfer=booking.transfer_id,
            description=None,
            metadata={},
            application_fee=charge["application_fee"],
        )
        objects.create(conn, payment, account_id=destination, parent_id=cid, status="succeeded")
        transfer = transfers_service.transfer_object(
            ctx,
            booking.transfer_id,
            transfer_amount,
            currency,
            destination,
            booking.payment_id,
            mv.txn_for(ctx.platform_id, booking.transfer_id),
            src.source_type.value,
            p.transfer_group,
            source_transaction=cid,
        )
        objects.create(conn, transfer, account_id=ctx.platform_id, parent_id=destination)
    dispute = _dispute(conn, ctx, charge, mv) if src.dispute else None
    mv.sync_reserves()
    objects.create(conn, charge, account_id=ctx.account_id, status="succeeded")
    emit_request(conn, ctx, "charge.succeeded", charge)
    if transfer is not None:
        emit_request(conn, ctx, "transfer.created", transfer)
    if dispute is not None:
        emit_request(conn, ctx, "charge.dispute.created", public_dispute(conn, dispute))
    return charge


def _dispute(conn: Connection, ctx: Ctx, charge: dict[str, Any], mv: Any) -> dict[str, Any]:
    dispute_id = new_id("dp")
    k = key(ctx, ctx.account_id, charge["currency"], _source_type(charge))
    fee = ctx.state.settings.pricing.dispute_fee
    written = mv.post(book_dispute(k, charge["amount"], fee, dispute_id=dispute_id, created=ctx.now))
    charge["disputed"] = True
    return objects.create(
        conn,
        {
            "id": dispute_id,
            "object": "dispute",
            "amount": charge["amount"],
            "balance_transactions": [written[0].id],
            "charge": charge["id"],
            "created": ctx.now,
            "currency": charge["currency"],
            "evidence": {},
            "evidence_details": {
                "due_by": ctx.now + 7 * 86400,
                "has_evidence": False,
                "past_due": False,
                "submission_count": 0,
            },
            "is_charge_refundable": False,
            "livemode": ctx.livemode,
            "metadata": {},
            "payment_intent": None,
            "reason": "fraudulent",
            "status": "needs_response",
        },
        account_id=ctx.account_id,
        parent_id=charge["id"],
        status="needs_response",
    )


def public_dispute(conn: Connection, stored: dict[str, Any]) -> dict[str, Any]:
    """The dispute as Stripe renders it: its balance transactions in full (they settle over time, so
    the stored document keeps their ids)."""
    ids = [t if isinstance(t, str) else t["id"] for t in stored["balance_transactions"]]
    rows = {r.id: r for r in conn.execute(select(txns).where(txns.c.id.in_(ids)))}
    return {**stored, "balance_transactions": [render_txn(rows[i]) for i in ids if i in rows]}


def _source_type(charge: dict[str, Any]) -> SourceType:
    kind = (charge.get("payment_method_details") or {}).get("type", "card")
    return {"card": SourceType.CARD, "ach_debit": SourceType.BANK_ACCOUNT, "fpx": SourceType.FPX}[kind]


def retrieve(conn: Connection, ctx: Ctx, p: Params, charge: str) -> dict[str, Any]:
    check_id(charge, ("ch", "py"), "charge", "charge")
    return owned(conn, ctx, charge, "charge", param="charge")


def modify(conn: Connection, ctx: Ctx, p: ChargeUpdate, charge: str) -> dict[str, Any]:
    obj = retrieve(conn, ctx, p, charge)
    before = copy.deepcopy(obj)
    for field in ("description", "receipt_email", "transfer_group"):
        if getattr(p, field) is not None:
            obj[field] = getattr(p, field)
    obj["metadata"] = metadata_update(obj["metadata"], p.metadata)
    objects.save(conn, obj)
    if obj != before:
        emit_request(conn, ctx, "charge.updated", obj, previous_attributes=previous_attributes(before, obj))
    return obj


def list_charges(conn: Connection, ctx: Ctx, p: ListParams) -> dict[str, Any]:
    return list_owned(conn, ctx, "charge", p, "/v1/charges")


# -- refunds ---------------------------------------------------------------------------------------


class RefundCreate(Params):
    charge: str
    amount: Int | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    metadata: Metadata = None
    reverse_transfer: Bool | None = None
    refund_application_fee: Bool | None = None


class RefundUpdate(Params):
    metadata: Metadata = None


class RefundList(ListParams):
    charge: str | None = None


def _refund_amount(p: RefundCreate, charge: dict[str, Any], remaining: int) -> int:
    """The amount `p` refunds of `charge`, of which `remaining` is left; refusals as Stripe's."""
    if charge["status"] != "succeeded":
        raise InvalidRequest("This charge did not succeed and cannot be refunded.", param="charge")
    if remaining <= 0:
        raise InvalidRequest(
            f"Charge {p.charge} has already been refunded.", param="charge", code="charge_already_refunded"
        )
    amount = remaining if p.amount is None else check_amount(p.amount, charge["currency"])
    if amount > remaining:
        raise InvalidRequest(
            f"Refund amount ({amount}) is greater than unrefunded amount on charge ({remaining})",
            param="amount",
            code="amount_too_large",
        )
    if charge.get("disputed"):
        raise InvalidRequest(
            f"Charge {p.charge} has been charged back; it cannot be refunded.",
            param="charge",
            code="charge_disputed",
        )
    return amount


def _refund_object(
    ctx: Ctx, p: RefundCreate, refund_id: str, amount: int, currency: str, txn: str
) -> dict[str, Any]:
    return {
        "id": refund_id,
        "object": "refund",
        "amount": amount,
        "balance_transaction": txn,
        "charge": p.charge,
        "created": ctx.now,
        "currency": currency,
        "metadata": metadata_update({}, p.metadata),
        "payment_intent": None,
        "reason": p.reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


def _record_refund(
    conn: Connection, ctx: Ctx, charge: dict[str, Any], before: dict[str, Any], refund: dict[str, Any]
) -> None:
    charge["refunds"]["data"].insert(0, refund)
    charge["refunds"]["data"] = charge["refunds"]["data"][:10]
    objects.save(conn, charge)
    stored = dict(refund)
    stored["livemode"] = ctx.livemode
    objects.create(conn, stored, account_id=ctx.account_id, parent_id=refund["charge"], status="succeeded")
    emit_request(conn, ctx, "refund.created", refund)
    emit_request(
        conn, ctx, "charge.refunded", charge, previous_attributes=previous_attributes(before, charge)
    )


def create_refund(conn: Connection, ctx: Ctx, p: RefundCreate) -> dict[str, Any]:
    """Refund a charge to the card it came from, or a payment that came by transfer to its sender.

    A connected account's payment (`py_`) came from the platform (a transfer, or a destination charge's
    transfer), not from a card: refunding it returns the funds to the platform by reversing that
    transfer, as Stripe does (the refund's `source_transfer_reversal`). Nothing goes to the outside.

    A platform's refund with `reverse_transfer` takes back the transfer, and with
    `refund_application_fee` gives back the fee, in proportion to the amount refunded: each refund
    carries what the refunds so far (that asked for it) entitle to, less what was already taken back
    by any path (`ledger.allocation`), so a full refund returns them exactly.
    """
    check_id(p.charge, ("ch", "py"), "charge", "charge")
    source_transfer = owned(conn, ctx, p.charge, "charge", param="charge").get("source_transfer")
    if source_transfer:
        return _refund_payment(conn, ctx, p, source_transfer)
    charge = owned(conn, ctx, p.charge, "charge", param="charge", for_update=True)
    before = copy.deepcopy(charge)
    amount = _refund_amount(p, charge, charge["amount"] - charge["amount_refunded"])
    transfer = None
    if p.reverse_transfer and charge.get("transfer"):
        found = objects.get(conn, charge["transfer"], for_update=True)
        transfer = found[0] if found else None
    if p.reverse_transfer and transfer is None:
        raise InvalidRequest(
            "reverse_transfer applies to destination charges only.", param="reverse_transfer"
        )
    payment = transfers_service.locked_payment(conn, transfer) if transfer is not None else None
    source_type = _source_type(charge)
    refund_id = new_id("re")
    k = key(ctx, ctx.account_id, charge["currency"], source_type)
    entries = book_refund(k, amount, refund_id=refund_id, created=ctx.now)
    fee_id = charge.get("application_fee") if p.refund_application_fee else None
    # The buckets: the owner's and the world's; the destination's and the platform's when a transfer
    # is reversed or a fee given back (the fee's account is the destination or the owner).
    keys = [e.key for e in entries]
    destination = (charge.get("transfer_data") or {}).get("destination")
    if destination and (transfer is not None or fee_id):
        keys.append(key(ctx, destination, charge["currency"], source_type))
    if transfer is not None or fee_id:
        keys.append(key(ctx, ctx.platform_id, charge["currency"], source_type))
    mv = movement(conn, ctx, keys)
    mv.post(entries)
    refund = _refund_object(
        ctx, p, refund_id, amount, charge["currency"], mv.txn_for(ctx.account_id, refund_id)
    )
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] == charge["amount"]
    if transfer is not None:
        state = objects.internal(conn, transfer["id"])
        basis = min(charge["amount"], int(state.get(REVERSAL_BASIS, 0)) + amount)
        objects.save_internal(conn, transfer["id"], {**state, REVERSAL_BASIS: basis})
        share = next_share(transfer["amount"], charge["amount"], basis, transfer["amount_reversed"])
        if share > 0:
            reversal = transfers_service.reverse(
                conn, ctx, mv, transfer, share, metadata={}, source_refund=refund_id, payment=payment
            )
            refund["transfer_reversal"] = reversal["id"]
    if fee_id:
        application_fees.refund_in_proportion(
            conn, ctx, mv, fee_id, progress=amount, whole=charge["amount"], source_type=source_type
        )
    mv.sync_reserves()
    _record_refund(conn, ctx, charge, before, refund)
    return refund


def _refund_payment(conn: Connection, ctx: Ctx, p: RefundCreate, transfer_id: str) -> dict[str, Any]:
    """The connected account refunds a payment it received by transfer: the transfer is reversed."""
    found = objects.get(conn, transfer_id, for_update=True)
    if found is None:
        raise InvalidRequest(f"The transfer of payment {p.charge} is gone.", param="charge")
    transfer = found[0]
    payment = owned(conn, ctx, p.charge, "charge", param="charge", for_update=True)
    before = copy.deepcopy(payment)
    remaining = min(
        payment["amount"] - payment["amount_refunded"], transfer["amount"] - transfer["amount_reversed"]
    )
    amount = _refund_amount(p, payment, remaining)
    if p.reverse_transfer:
        raise InvalidRequest(
            "This payment came by transfer from the platform: refunding it reverses that transfer, "
            "and reverse_transfer does not apply.",
            param="reverse_transfer",
        )
    source_type = transfer.get("source_type") or "card"
    mv = movement(
        conn,
        ctx,
        [
            key(ctx, ctx.platform_id, transfer["currency"], source_type),
            key(ctx, transfer["destination"], transfer["currency"], source_type),
        ],
    )
    refund_id = new_id("pyr")
    reversal = transfers_service.reverse(
        conn,
        ctx,
        mv,
        transfer,
        amount,
        metadata={},
        refund_application_fee=bool(p.refund_application_fee),
        payment_refund_id=refund_id,
        payment=payment,
    )
    refund = _refund_object(
        ctx, p, refund_id, amount, payment["currency"], mv.txn_for(ctx.account_id, refund_id)
    )
    refund["source_transfer_reversal"] = reversal["id"]
    mv.sync_reserves()
    _record_refund(conn, ctx, payment, before, refund)
    return refund


def retrieve_refund(conn: Connection, ctx: Ctx, p: Params, refund: str) -> dict[str, Any]:
    check_id(refund, ("re", "pyr"), "refund", "refund")
    return _public_refund(owned(conn, ctx, refund, "refund", param="refund"))


def _public_refund(obj: dict[str, Any]) -> dict[str, Any]:
    out = dict(obj)
    out.pop("livemode", None)
    return out


def _load_refund(conn: Connection, ctx: Ctx, refund_id: str) -> dict[str, Any] | None:
    found = objects.get(conn, refund_id)
    return None if found is None else _public_refund(found[0])


expand.register("re", _load_refund)
expand.register("pyr", _load_refund)


def modify_refund(conn: Connection, ctx: Ctx, p: RefundUpdate, refund: str) -> dict[str, Any]:
    check_id(refund, ("re", "pyr"), "refund", "refund")
    obj = owned(conn, ctx, refund, "refund", param="refund")
    before = _public_refund(obj)
    obj["metadata"] = metadata_update(obj["metadata"], p.metadata)
    updated = _public_refund(objects.save(conn, obj))
    if updated != before:
        emit_request(
            conn, ctx, "refund.updated", updated, previous_attributes=previous_attributes(before, updated)
        )
    return updated


def list_refunds(conn: Connection, ctx: Ctx, p: RefundList) -> dict[str, Any]:
    where = [resources.c.parent_id == p.charge] if p.charge else []
    return list_owned(
        conn, ctx, "refund", p, "/v1/refunds", *where, render=lambda r: _public_refund(dict(r.data))
    )


# -- disputes --------------------------------------------------------------------------------------


def retrieve_dispute(conn: Connection, ctx: Ctx, p: Params, dispute: str) -> dict[str, Any]:
    check_id(dispute, ("dp", "du"), "dispute", "dispute")
    return public_dispute(conn, owned(conn, ctx, dispute, "dispute", param="dispute"))


def list_disputes(conn: Connection, ctx: Ctx, p: ListParams) -> dict[str, Any]:
    def render(row: Any) -> dict[str, Any]:
        return public_dispute(conn, dict(row.data))

    return list_owned(conn, ctx, "dispute", p, "/v1/disputes", render=render)


def _load_dispute(conn: Connection, ctx: Ctx, dispute_id: str) -> dict[str, Any] | None:
    found = objects.get(conn, dispute_id)
    return None if found is None else public_dispute(conn, found[0])


expand.register("dp", _load_dispute)
expand.register("du", _load_dispute)
