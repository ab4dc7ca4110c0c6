"""`check_ledger` finds a charge that gave back more to the outside than it took.

The ledger is built by the real server; the faulty refund is then written with the store's own write
path, booked as the engine used to book a connected account's refund of its `py_` payment (to the
card, as if the account had been charged), so the check is shown to catch exactly that.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import Engine

from tests.support.ledger import ledger_violations


@pytest.fixture
def ledger(database_url: str) -> Iterator[Engine]:
    from payoutkit.store.engines import make_engine

    engine = make_engine(database_url, pool_size=1)
    yield engine
    engine.dispose()


def book_refund_to_the_card(engine: Engine, account: str, charge_id: str, amount: int) -> None:
    """What the engine once did for `POST /v1/refunds charge=py_…`: the owner pays the card."""
    from payoutkit.ids import new_id
    from payoutkit.ledger.booking import book_refund
    from payoutkit.ledger.postings import BucketKey
    from payoutkit.store import resources as objects
    from payoutkit.store.balances import Locked, bucket_seqs, flush_moves, write_entries

    refund_id = new_id("re")
    entries = book_refund(BucketKey(account, False, "usd"), amount, refund_id=refund_id, created=0)
    with engine.begin() as conn:
        write_entries(conn, Locked(), bucket_seqs(conn, [e.key for e in entries]), entries)
        flush_moves(conn)
        objects.create(
            conn,
            {"id": refund_id, "object": "refund", "livemode": False, "created": 0, "amount": amount},
            account_id=account,
            parent_id=charge_id,
        )


def test_a_refund_of_a_destination_payment_to_the_card_is_caught(
    http: httpx.Client, database_url: str, ledger: Engine
) -> None:
    account = http.post("/v1/accounts", data={"type": "express"}).json()["id"]
    ch = http.post(
        "/v1/charges",
        data={
            "amount": 10_000,
            "currency": "usd",
            "source": "tok_bypassPending",
            "transfer_data[destination]": account,
        },
    ).json()
    payment = http.get(f"/v1/transfers/{ch['transfer']}").json()["destination_payment"]
    # The platform refunds the card in full: the charge is even with the outside.
    assert http.post("/v1/refunds", data={"charge": ch["id"]}).status_code == 200
    assert ledger_violations(database_url) == []

    # 10000 more to the card, from the account's payment: 20000 back for 10000 taken.
    book_refund_to_the_card(ledger, account, payment, 10_000)

    assert ledger_violations(database_url) == [
        f"charge {ch['id']}: 20000 went back to the outside for 10000 taken from it"
    ]


def test_a_refund_of_a_transfers_payment_to_the_card_is_caught(
    http: httpx.Client, database_url: str, ledger: Engine
) -> None:
    funded = http.post(
        "/v1/charges", data={"amount": 10_000, "currency": "usd", "source": "tok_bypassPending"}
    )
    assert funded.status_code == 200, funded.text
    account = http.post("/v1/accounts", data={"type": "custom"}).json()["id"]
    tr = http.post("/v1/transfers", data={"amount": 500, "currency": "usd", "destination": account}).json()
    assert ledger_violations(database_url) == []

    book_refund_to_the_card(ledger, account, tr["destination_payment"], 1)

    assert ledger_violations(database_url) == [
        f"charge {tr['destination_payment']}: 1 went back to the outside for 0 taken from it"
    ]
