"""A stateful model of the whole money flow, checked against the real server after every step.

Hypothesis drives random charges (card pending, `tok_bypassPending`, ACH `btok_us_verified`, the
dispute token `tok_createDispute`; direct charges on connected accounts with application fees and
destination charges with application fees or `transfer_data[amount]`, some `on_behalf_of`), refunds
(partial and full, refused exactly when more than what is left; reversing the transfer of a
destination charge and refunding the application fee or not), refunds of a connected account's
payments (`py_`, which reverse the transfer they came by, and may refund the fee), transfers (refused
exactly when the platform's available funds of that source type do not cover them), transfer
reversals (refused exactly when more than what is left), top-ups and clock advances, on one platform
with three connected accounts: custom and express (the platform is liable for their negative
balances) and standard (it is not).

Refunds and their parts: the model allocates a refund's share of the transfer and of the application
fee with exact fractions, `round_half_up(total * progress / whole)` less what was taken back already,
where progress is the sum of the refunds that asked for it; after each refund or reversal the
server's `amount_reversed` and the fee's `amount_refunded` must equal the model's, and once a charge's
refunds that asked for it reach its amount they are the whole transfer and the whole fee. What went
back to the outside never exceeds what the charge took (the model, and `check_ledger`'s invariant (g)).

`Model` is a pure-Python ledger: per account and source type, the available amount and the pending
funds with their `available_on`; fees and settlement dates come from the documented rules (card
2.9 % + 30 rounded half up, ACH 0.8 % capped at 5.00, `calendar.available_on`). After every step the
server's `/v1/balance` of every account must equal the model (per source type, and the platform's
`connect_reserved` = the sum of the liable accounts' negative available balances), and
`check_ledger` must find nothing.

Payouts: every connected account gets a schedule (manual or daily, switchable later) and maybe a US test
bank account (`btok_us_verified`, `…_noAccount` that fails in transit, `…_accountClosed` that is paid and
then returned a business day later, or the standard-only number 000888888883); more can be added, and an
errored one repaired. Rules make standard payouts (refused exactly when the schedule is not manual, the
destination is missing or errored, or the source type's available funds, or the account's available
total, do not cover them), instant payouts (the platform's pricing is set or removed by a rule; the model
computes the application fee to the platform and the processing fee, paid by the account or the platform
as `controller.fees.payer` says, refuses exactly as eligibility, the daily limit in the account's region
and the funds say, and predicts `instant_available` and its `net_available`), cancels and reversals (the
reversal a negative payout whose credit is pending until it arrives). The clock advance is replayed event
by event: settlement, each payout's steps on the simulated rail (submitted an hour after creation,
arriving at 00:00 UTC two business days later, instant ones 15 minutes later; a failure returns the funds
and fees and errors the bank account; a failed payout cancels its pending reversal) and, at each
midnight, the automatic payouts of daily accounts (the whole available balance per source type to the
default bank account). After every step each account's payouts must match the model's (status, amounts,
failure code, reversal links).

`debit_negative_balances` is switched off here (the model does not predict debits); it has its own
test below, `test_a_negative_balance_is_debited_once`.

Each Hypothesis example gets its own freshly migrated database and its own server (function-scoped
fixtures would be shared by all examples), driven over raw HTTP with httpx.

The machine lives in `tests/scenarios/ledger_machine/`: `model.py` (the oracle), `driver.py` (the
server, its databases and the HTTP calls), `rules.py` and `payout_rules.py` (the rules, preconditions
and invariants that tie the two together).
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from tests.conftest import CLOCK_START
from tests.scenarios.ledger_machine.driver import Backend
from tests.scenarios.ledger_machine.model import DAY, DISPUTE_FEE
from tests.scenarios.ledger_machine.rules import LedgerMachine
from tests.support import databases
from tests.support.ledger import assert_ledger_ok


@pytest.mark.parametrize("backend", databases.BACKENDS)
def test_the_ledger_follows_the_model(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    Backend.name = backend
    if backend == "sqlite":
        Backend.sqlite_template = request.getfixturevalue("sqlite_template")
        Backend.tmp_dir = tmp_path
    else:
        Backend.pg_cluster = request.getfixturevalue("pg_cluster")
        Backend.pg_template = request.getfixturevalue("pg_template")
    started = time.monotonic()
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25,
            stateful_step_count=40,
            deadline=None,
            database=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
    print(f"\n{backend}: {time.monotonic() - started:.1f}s")  # shown with -s


def test_a_negative_balance_is_debited_once(http: httpx.Client, database_url: str) -> None:
    """`debit_negative_balances`: the run at midnight debits the account's bank for its negative
    balance; the debit's credit is pending until it arrives, two business days later. The runs of the
    nights between must not debit the same shortfall again."""
    midnight = CLOCK_START - CLOCK_START % DAY
    account = http.post(
        "/v1/accounts", data={"type": "express", "settings[payouts][schedule][interval]": "manual"}
    ).json()
    assert account["settings"]["payouts"]["debit_negative_balances"] is True
    as_account = {"Stripe-Account": account["id"]}
    added = http.post(
        f"/v1/accounts/{account['id']}/external_accounts", data={"external_account": "btok_us_verified"}
    )
    assert added.status_code == 200, added.text
    disputed = http.post(
        "/v1/charges",
        data={"amount": 1_000, "currency": "usd", "source": "tok_createDispute"},
        headers=as_account,
    )
    assert disputed.status_code == 200, disputed.text
    # The dispute takes the amount and its fee at once; the charge's net (941) is pending until Monday.
    shortfall = 1_000 + DISPUTE_FEE
    assert http.get("/v1/balance", headers=as_account).json()["available"][0]["amount"] == -shortfall
    # Friday 00:00: the debit; it arrives Tuesday 00:00. Saturday, Sunday and Monday runs come between.
    advanced = http.post("/v1/test_helpers/clock/advance", data={"to": midnight + 5 * DAY})
    assert advanced.status_code == 200, advanced.text
    debits = http.get("/v1/payouts", headers=as_account).json()["data"]
    [debit] = debits
    assert (debit["amount"], debit["created"], debit["status"]) == (-shortfall, midnight + DAY, "paid")
    balance = http.get("/v1/balance", headers=as_account).json()
    assert balance["available"][0]["amount"] == 1_000 - (1_000 * 290 + 5_000) // 10_000 - 30
    assert_ledger_ok(database_url)
