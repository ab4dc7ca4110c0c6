"""The state machine: Hypothesis chooses the steps (charges, refunds, transfers, top-ups, clock
advances here; payouts in `payout_rules`), each performed on the server through the driver and booked
into the model; after every step the invariants compare the server with the model.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from tests.scenarios.ledger_machine.driver import observed
from tests.scenarios.ledger_machine.model import (
    BANK,
    CARD,
    CONNECTED,
    DISPUTE_FEE,
    PLATFORM,
    TOKENS,
    ModelCharge,
    ModelTransfer,
    Pricing,
    processing_fee,
    proportional,
)
from tests.scenarios.ledger_machine.payout_rules import FIRST_BANKS, PRICES, PayoutRules

# Swarm testing: each example enables a random subset of these rules (charges and clock advances are
# always on), so that some examples are long runs of a few operations, where the rarer interleavings
# (a liable account with nothing else going on, say) are far likelier than in a uniform mix.
OPTIONAL_RULES = ("destination_charge", "refund", "refund_payment", "transfer", "reverse_transfer", "top_up")
# Groups of payout rules, each enabled in most examples (a payout's story takes several steps).
PAYOUT_RULES = (
    "payouts",  # standard payouts, cancels and reversals
    "instant_payouts",  # instant payouts and the platform's pricing
    "payout_settings",  # more bank accounts, repairs, schedule changes
)
ADVANCES = [3_600, 86_400 - 1, 86_400, 2 * 86_400, 3 * 86_400, 4 * 86_400, 7 * 86_400]


class LedgerMachine(PayoutRules, RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.charges: list[ModelCharge] = []
        self.transfers: list[ModelTransfer] = []
        self.enabled: frozenset[str] = frozenset(OPTIONAL_RULES + PAYOUT_RULES)

    # -- rules ---------------------------------------------------------------------------------------

    @initialize(
        enabled=st.sets(st.sampled_from(OPTIONAL_RULES)).map(frozenset),
        payouts=st.fixed_dictionaries({g: st.sampled_from([True, True, True, False]) for g in PAYOUT_RULES}),
    )
    def choose_rules(self, enabled: frozenset[str], payouts: dict[str, bool]) -> None:
        self.enabled = enabled | {g for g, on in payouts.items() if on}

    @initialize(
        schedules=st.fixed_dictionaries(
            {kind: st.sampled_from(["manual", "manual", "daily"]) for kind in CONNECTED}
        ),
        banks=st.fixed_dictionaries({kind: st.sampled_from([None, *FIRST_BANKS]) for kind in CONNECTED}),
        funds=st.fixed_dictionaries(
            {kind: st.sampled_from([0, 5_000, 60_000, 60_000]) for kind in CONNECTED}
        ),
        pricing=st.one_of(PRICES, PRICES, st.none()),
    )
    def set_up_payouts(
        self,
        schedules: dict[str, str],
        banks: dict[str, str | None],
        funds: dict[str, int],
        pricing: Pricing | None,
    ) -> None:
        """Each connected account's schedule, maybe a first bank account (its default) and funds
        available at once; maybe the platform's instant pricing."""
        if pricing is not None:
            self.set_pricing(pricing)
        for kind in CONNECTED:
            self.set_schedule(kind, schedules[kind])
            bank = banks[kind]
            if bank is not None:
                self.add_bank(kind, bank, default=False)
            if funds[kind]:
                self.direct_charge(kind, "tok_bypassPending", funds[kind], None)

    @rule(
        owner=st.sampled_from([PLATFORM, *CONNECTED]),
        token=st.sampled_from(list(TOKENS)),
        amount=st.integers(50, 100_000),
        # Percent of the amount taken as application fee; 97 and more leave a negative net on a card.
        fee_share=st.none() | st.sampled_from([10, 97, 100]) | st.integers(0, 100),
    )
    def direct_charge(self, owner: str, token: str, amount: int, fee_share: int | None) -> None:
        """A charge on the platform, or on a connected account (with an application fee, maybe)."""
        source_type, pending, disputed = TOKENS[token]
        data: dict[str, Any] = {"amount": amount, "currency": "usd", "source": token}
        app_fee = 0
        if owner != PLATFORM and fee_share is not None:
            app_fee = amount * fee_share // 100
            data["application_fee_amount"] = app_fee
        charge = self.post("/v1/charges", data, owner)
        m = self.model
        on = m.available_on(owner, pending, source_type)
        m.credit(owner, source_type, amount - processing_fee(source_type, amount) - app_fee, on)
        if app_fee:
            m.credit(PLATFORM, source_type, app_fee, on)
        if disputed:
            m.available[(owner, source_type)] -= amount + DISPUTE_FEE
        m.sync_reserves()
        self.charges.append(
            ModelCharge(
                charge["id"],
                owner,
                amount,
                source_type,
                disputed,
                application_fee=app_fee,
                fee_account=owner,
            )
        )

    @precondition(lambda self: "destination_charge" in self.enabled)
    @rule(
        destination=st.sampled_from(list(CONNECTED)),
        token=st.sampled_from(list(TOKENS)),
        amount=st.integers(50, 100_000),
        fee_share=st.integers(0, 100),
        # What the platform keeps: an application fee (the share) or transfer_data[amount] (the rest).
        split=st.sampled_from(["application_fee", "application_fee", "transfer_amount"]),
        on_behalf_of=st.booleans(),
    )
    def destination_charge(
        self, destination: str, token: str, amount: int, fee_share: int, split: str, on_behalf_of: bool
    ) -> None:
        source_type, pending, disputed = TOKENS[token]
        data: dict[str, Any] = {
            "amount": amount,
            "currency": "usd",
            "source": token,
            "transfer_data[destination]": self.ids[destination],
        }
        if on_behalf_of:
            data["on_behalf_of"] = self.ids[destination]
        app_fee, transferred = 0, amount
        if split == "application_fee":
            app_fee = amount * fee_share // 100
            data["application_fee_amount"] = app_fee
        else:
            transferred = max(1, amount * fee_share // 100)
            data["transfer_data[amount]"] = transferred
        charge = self.post("/v1/charges", data)
        m = self.model
        on = m.available_on(PLATFORM, pending, source_type)
        m.credit(PLATFORM, source_type, amount - processing_fee(source_type, amount), on)
        m.credit(PLATFORM, source_type, -transferred, on)
        if app_fee:
            m.credit(PLATFORM, source_type, app_fee, on)
        m.credit(destination, source_type, transferred - app_fee, on)
        if disputed:
            m.available[(PLATFORM, source_type)] -= amount + DISPUTE_FEE
        m.sync_reserves()
        transfer = ModelTransfer(charge["transfer"], destination, transferred, source_type)
        model_charge = ModelCharge(
            charge["id"],
            PLATFORM,
            amount,
            source_type,
            disputed,
            transfer=transfer,
            application_fee=app_fee,
            fee_account=destination,
        )
        transfer.charge = model_charge
        self.transfers.append(transfer)
        self.charges.append(model_charge)

    @precondition(
        lambda self: (
            "refund" in self.enabled and any(not c.disputed and c.refunded < c.amount for c in self.charges)
        )
    )
    @rule(
        data=st.data(),
        how_much=st.sampled_from(["full", "part", "part", "any"]),
        reverse_transfer=st.booleans(),
        refund_application_fee=st.booleans(),
    )
    def refund(
        self, data: st.DataObject, how_much: str, reverse_transfer: bool, refund_application_fee: bool
    ) -> None:
        """The charge's owner refunds it, partly or fully, maybe more than is left (refused)."""
        refundable = [c for c in self.charges if not c.disputed and c.refunded < c.amount]
        charge = data.draw(st.sampled_from(refundable), label="charge")
        remaining = charge.amount - charge.refunded
        top = charge.amount if how_much == "any" else remaining
        amount = remaining if how_much == "full" else data.draw(st.integers(1, top), label="amount")
        params: dict[str, Any] = {"charge": charge.id}
        if how_much != "full":
            params["amount"] = amount
        t = charge.transfer if reverse_transfer else None
        if t is not None:
            params["reverse_transfer"] = "true"
        if refund_application_fee:
            params["refund_application_fee"] = "true"
        response = self.call("/v1/refunds", params, charge.owner)
        if amount > remaining:
            self.refused(response, ("amount_too_large", "amount"))
            return
        assert response.status_code == 200, response.text
        m = self.model
        m.available[(charge.owner, charge.source_type)] -= amount
        charge.refunded += amount
        assert charge.refunded <= charge.amount  # never more back to the card than it paid
        if t is not None:
            charge.reversal_basis = min(charge.amount, charge.reversal_basis + amount)
            share = max(0, proportional(t.amount, charge.amount, charge.reversal_basis) - t.reversed)
            m.reverse(t, share)
            assert (response.json()["transfer_reversal"] is not None) == (share > 0), response.text
        if refund_application_fee:
            m.give_back_fee(charge, amount)
        m.sync_reserves()
        self.check_parts(charge.transfer, charge)

    @precondition(lambda self: "refund_payment" in self.enabled and bool(self.transfers))
    @rule(data=st.data(), whole=st.booleans(), refund_application_fee=st.booleans())
    def refund_payment(self, data: st.DataObject, whole: bool, refund_application_fee: bool) -> None:
        """A connected account refunds the payment (`py_`) a transfer brought it: the transfer is
        reversed, to the platform; nothing goes to a card."""
        t = data.draw(st.sampled_from(self.transfers), label="transfer")
        if t.payment is None:
            t.payment = self.get(f"/v1/transfers/{t.id}")["destination_payment"]
        remaining = t.amount - t.reversed
        amount = remaining if whole else data.draw(st.integers(1, t.amount), label="amount")
        params: dict[str, Any] = {"charge": t.payment}
        if not whole:
            params["amount"] = amount
        if refund_application_fee:
            params["refund_application_fee"] = "true"
        response = self.call("/v1/refunds", params, t.destination)
        if remaining == 0:
            self.refused(response, ("charge_already_refunded", "charge"))
            return
        if amount > remaining:
            self.refused(response, ("amount_too_large", "amount"))
            return
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["source_transfer_reversal"] is not None, body
        m = self.model
        m.reverse(t, amount)
        if refund_application_fee and t.charge is not None:
            m.give_back_fee(t.charge, amount)
        m.sync_reserves()
        self.check_parts(t, t.charge)

    @precondition(lambda self: "transfer" in self.enabled)
    @rule(
        destination=st.sampled_from(list(CONNECTED)),
        source_type=st.sampled_from([CARD, BANK]),
        amount=st.integers(1, 50_000),
    )
    def transfer(self, destination: str, source_type: str, amount: int) -> None:
        m = self.model
        covered = amount <= m.available[(PLATFORM, source_type)]
        response = self.call(
            "/v1/transfers",
            {
                "amount": amount,
                "currency": "usd",
                "destination": self.ids[destination],
                "source_type": source_type,
            },
        )
        if not covered:
            assert response.status_code == 400, response.text
            assert response.json()["error"]["code"] == "balance_insufficient"
            return
        assert response.status_code == 200, response.text
        m.available[(PLATFORM, source_type)] -= amount
        m.available[(destination, source_type)] += amount
        m.sync_reserves()
        self.transfers.append(ModelTransfer(response.json()["id"], destination, amount, source_type))

    @precondition(lambda self: "reverse_transfer" in self.enabled and bool(self.transfers))
    @rule(data=st.data(), whole=st.booleans(), refund_application_fee=st.booleans())
    def reverse_transfer(self, data: st.DataObject, whole: bool, refund_application_fee: bool) -> None:
        t = data.draw(st.sampled_from(self.transfers), label="transfer")
        remaining = t.amount - t.reversed
        amount = remaining if whole else data.draw(st.integers(1, t.amount), label="amount")
        params: dict[str, Any] = {} if whole else {"amount": amount}
        if refund_application_fee:
            params["refund_application_fee"] = "true"
        response = self.call(f"/v1/transfers/{t.id}/reversals", params)
        if remaining == 0 or amount > remaining:
            assert response.status_code == 400, response.text
            return
        assert response.status_code == 200, response.text
        m = self.model
        m.reverse(t, amount)
        if refund_application_fee and t.charge is not None:
            m.give_back_fee(t.charge, amount)
        m.sync_reserves()
        self.check_parts(t, t.charge)

    @precondition(lambda self: "top_up" in self.enabled)
    @rule(account=st.sampled_from([PLATFORM, *CONNECTED]), amount=st.integers(1, 100_000))
    def top_up(self, account: str, amount: int) -> None:
        self.post("/v1/topups", {"amount": amount, "currency": "usd"}, account)
        self.model.available[(account, BANK)] += amount
        self.model.sync_reserves()

    @rule(seconds=st.sampled_from(ADVANCES))
    def advance_clock(self, seconds: int) -> None:
        clock = self.post("/v1/test_helpers/clock/advance", {"seconds": seconds})
        self.payouts_moved = True
        assert clock["now"] == self.model.now + seconds
        self.model.advance(seconds)
        self.identify_automatic_payouts()

    # -- after every step ------------------------------------------------------------------------------

    @invariant()
    def balances_match_the_model(self) -> None:
        for account in self.ids:
            assert observed(self.get("/v1/balance", account)) == self.model.balance(account), account

    @invariant()
    def payouts_match_the_model(self) -> None:
        """Every payout as the model has it. Only payout requests and clock advances change payouts, so
        the lists are read after those only (after anything else the balances would show a stray
        payout)."""
        m = self.model
        if not self.payouts_moved:
            return
        self.payouts_moved = False
        for account in CONNECTED:
            if not any(b.account == account for b in m.banks):
                continue  # no bank account has ever been added: no payout can have been made
            expected = {p.id: self.view(p) for p in m.payouts if p.account == account}
            assert None not in expected
            assert {po["id"]: self.served(po) for po in self.list_all("/v1/payouts", account)} == expected, (
                account
            )

    @invariant()
    def ledger_is_consistent(self) -> None:
        from payoutkit.store.engines import READONLY
        from payoutkit.store.invariants import check_ledger

        with self.ledger.connect().execution_options(**{READONLY: True}) as conn, conn.begin():
            violations = check_ledger(conn)
        assert not violations, violations
