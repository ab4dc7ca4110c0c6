"""The state machine's payout rules: bank accounts and schedules, standard and instant payouts, the
platform's instant pricing, cancels and reversals; each checks the server's answer against the model's
prediction and books it. `rules.LedgerMachine` brings them in with the other rules.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import precondition, rule

from tests.scenarios.ledger_machine.driver import Driver
from tests.scenarios.ledger_machine.model import (
    BANK,
    BANKS,
    CARD,
    CONNECTED,
    PLATFORM_PAYS_FEES,
    REVERSAL_WINDOW,
    STANDARD_SUBMIT,
    ModelBank,
    ModelPayout,
    Pricing,
    Refusal,
    arrival_of,
    local_day,
)

# The platform's instant payout pricing (a maximum below the minimum is raised to it), or none.
PRICES = st.tuples(
    st.sampled_from([0, 50, 150, 275, 1_000]),
    st.sampled_from([0, 50, 120]),
    st.none() | st.sampled_from([0, 200, 1_500]),
)
PRICINGS = st.none() | PRICES
# A payout's amount as a share of what is available, in percent (101: one more than all of it).
SHARES = st.sampled_from([10, 50, 100, 101]).map(str)
# A connected account's first bank account: mostly one that works.
FIRST_BANKS = ["btok_us_verified", "btok_us_verified", "btok_us_verified", *BANKS]


class PayoutRules(Driver):
    """Rules only: `rules.LedgerMachine` is the RuleBasedStateMachine that runs them."""

    enabled: frozenset[str]

    def destination(self, data: st.DataObject, account: str, to_default: bool) -> ModelBank | None:
        """A bank account of `account` to name as `destination`, or None for its default."""
        banks = [b for b in self.model.banks if b.account == account]
        if to_default or not banks:
            return None
        return data.draw(st.sampled_from(banks), label="destination")

    @precondition(lambda self: "payout_settings" in self.enabled)
    @rule(
        data=st.data(),
        account=st.sampled_from(list(CONNECTED)),
        change=st.sampled_from(["add_bank", "repair_bank", "schedule"]),
    )
    def payout_settings(self, data: st.DataObject, account: str, change: str) -> None:
        """Add a bank account (maybe as the default), repair an errored one (updating its details lets
        payouts go to it again), or switch the schedule between manual and daily."""
        errored = [b for b in self.model.banks if b.account == account and b.errored]
        if change == "repair_bank" and errored:
            bank = data.draw(st.sampled_from(errored), label="bank")
            updated = self.post(
                f"/v1/accounts/{self.ids[account]}/external_accounts/{bank.id}",
                {"account_holder_name": f"Holder {len(self.model.payouts)}"},
            )
            assert updated["status"] == "new", updated
            bank.errored = False
        elif change == "schedule":
            self.set_schedule(account, "daily" if self.model.schedules[account] == "manual" else "manual")
        else:
            name = data.draw(st.sampled_from(list(BANKS)), label="bank")
            self.add_bank(account, name, default=data.draw(st.booleans(), label="default"))

    @precondition(lambda self: "payouts" in self.enabled)
    @rule(
        data=st.data(),
        account=st.sampled_from(list(CONNECTED)),
        source_type=st.sampled_from([CARD, CARD, BANK]),
        amount=SHARES | SHARES | st.integers(1, 60_000),
        to_default=st.booleans(),
    )
    def standard_payout(
        self, data: st.DataObject, account: str, source_type: str, amount: int | str, to_default: bool
    ) -> None:
        """A standard payout by API: refused exactly when the schedule is not manual, there is no
        usable destination, or the source type's available funds do not cover it."""
        m = self.model
        available = m.available[(account, source_type)]
        value = amount if isinstance(amount, int) else max(1, available * min(100, int(amount)) // 100)
        value += amount == "101"
        named = self.destination(data, account, to_default)
        params: dict[str, Any] = {"amount": value, "currency": "usd", "source_type": source_type}
        if named is not None:
            params["destination"] = named.id
        bank = named or m.defaults.get(account)
        response = self.call_payouts("/v1/payouts", params, account)
        refusal: Refusal | None = None
        if m.schedules[account] != "manual":
            refusal = ("payouts_not_allowed", "method")
        elif bank is None:
            refusal = (None, "destination")
        elif bank.errored:
            refusal = ("bank_account_unusable", "destination")
        elif value > min(available, m.total_available(account)):
            # Never more than the source type holds, nor than the account's total: a payout does not
            # take the account below zero.
            refusal = ("balance_insufficient", "amount")
        if refusal is not None or bank is None:
            self.refused(response, refusal)
            return
        assert response.status_code == 200, response.text
        p = ModelPayout(
            response.json()["id"],
            account,
            source_type,
            value,
            "standard",
            m.now,
            arrival_of(m.now, "standard"),
            bank,
            bank.failure,
        )
        self.opened(response.json(), p)

    @precondition(lambda self: "instant_payouts" in self.enabled)
    @rule(pricing=PRICINGS)
    def set_instant_pricing(self, pricing: Pricing | None) -> None:
        self.set_pricing(pricing)

    @precondition(lambda self: "instant_payouts" in self.enabled)
    @rule(
        data=st.data(),
        account=st.sampled_from(list(CONNECTED)),
        amount=st.sampled_from(["net", "net+1"]) | SHARES | st.integers(1, 40_000),
        to_default=st.booleans(),
    )
    def instant_payout(self, data: st.DataObject, account: str, amount: int | str, to_default: bool) -> None:
        """An instant payout: refused exactly as eligibility, the daily limit and the funds say; it
        costs the account its amount, the platform's fee and (when it pays its own fees) the
        processing fee, which the platform pays otherwise."""
        m = self.model
        refused, remaining = m.instant_terms(account)
        card = min(m.available[(account, CARD)], m.total_available(account))
        if isinstance(amount, int):
            value = amount
        elif amount in ("net", "net+1"):  # what `net_available` says fits, or one more
            value = max(1, m.largest_instant(account, max(0, min(card, remaining))) + (amount == "net+1"))
        else:
            value = max(1, card * min(100, int(amount)) // 100) + (amount == "101")
        named = self.destination(data, account, to_default)
        params: dict[str, Any] = {"amount": value, "currency": "usd", "method": "instant"}
        if named is not None:
            params["destination"] = named.id
        bank = named or m.defaults.get(account)
        response = self.call_payouts("/v1/payouts", params, account)
        refusal: Refusal | None = None
        if bank is None:
            refusal = (None, "destination")
        elif bank.errored:
            refusal = ("bank_account_unusable", "destination")
        elif not bank.instant:
            refusal = ("instant_payouts_unsupported", "method")
        elif refused:
            refusal = ("instant_payouts_config_disabled", None)
        elif value > remaining:
            refusal = ("instant_payouts_limit_exceeded", "amount")
        elif m.instant_cost(account, value) > card:
            refusal = ("balance_insufficient", "amount")
        if refusal is not None or bank is None:
            self.refused(response, refusal)
            return
        assert response.status_code == 200, response.text
        application, processing = m.instant_fees(value)
        p = ModelPayout(
            response.json()["id"],
            account,
            CARD,
            value,
            "instant",
            m.now,
            arrival_of(m.now, "instant"),
            bank,
            bank.failure,
            application_fee=application,
            processing_fee=processing,
            platform_pays=PLATFORM_PAYS_FEES[account],
        )
        m.instant_volume[(account, local_day(m.now))] += value
        self.opened(response.json(), p)

    @precondition(
        lambda self: "payouts" in self.enabled and any(p.status == "pending" for p in self.model.payouts)
    )
    @rule(data=st.data(), pending=st.booleans())
    def cancel_payout(self, data: st.DataObject, pending: bool) -> None:
        """Only a pending standard payout made by API (a reversal too) can be canceled."""
        m = self.model
        candidates = [p for p in m.payouts if p.status == "pending"] if pending else []
        p = data.draw(st.sampled_from(candidates or m.payouts), label="payout")
        response = self.call_payouts(f"/v1/payouts/{p.id}/cancel", {}, p.account)
        if p.automatic or p.method == "instant" or p.status != "pending":
            self.refused(response, ("payout_not_cancelable", "payout"))
            return
        assert response.status_code == 200, response.text
        assert response.json()["status"] == "canceled"
        p.status = "canceled"
        m.give_back(p)
        m.sync_reserves()

    @precondition(
        lambda self: (
            "payouts" in self.enabled and any(p.status in ("in_transit", "paid") for p in self.model.payouts)
        )
    )
    @rule(data=st.data(), reversible=st.booleans())
    def reverse_payout(self, data: st.DataObject, reversible: bool) -> None:
        """A liable platform reverses an in-transit or paid standard payout (once, within 90 days of
        its arrival): a negative payout that credits the account when it arrives."""
        m = self.model
        candidates = [
            p
            for p in m.payouts
            if p.status in ("in_transit", "paid") and p.amount > 0 and m.liable[p.account]
        ]
        p = data.draw(st.sampled_from((candidates if reversible else []) or m.payouts), label="payout")
        ok = (
            p.amount > 0
            and p.method == "standard"
            and p.reversed_by is None
            and p.status in ("in_transit", "paid")
            and p.arrival >= m.now - REVERSAL_WINDOW
        )
        if ok and m.liable[p.account] and p.failure_time() == m.now + STANDARD_SUBMIT:
            # The payout would fail at the very moment its reversal is submitted: which of the two
            # steps the server takes first (and so whether the failure cancels the reversal) is
            # not defined.
            return
        response = self.call_payouts(f"/v1/payouts/{p.id}/reverse", {}, p.account)
        if not m.liable[p.account]:
            assert response.status_code == 403, response.text
            return
        if not ok:
            self.refused(response, ("payout_not_reversible", "payout"))
            return
        assert response.status_code == 200, response.text
        reversal = ModelPayout(
            response.json()["id"],
            p.account,
            p.source_type,
            -p.amount,
            "standard",
            m.now,
            arrival_of(m.now, "standard"),
            p.bank,
            p.bank.failure,
            original=p,
        )
        p.reversed_by = reversal
        self.opened(response.json(), reversal)
