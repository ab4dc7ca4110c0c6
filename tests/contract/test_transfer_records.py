"""The records of the transfers room mirror the stored documents exactly: every transfer, reversal,
destination payment (a `Charge`) and top-up that the API stores reads back as a record and writes back
unchanged."""

from __future__ import annotations

from typing import Any

import stripe
from sqlalchemy import select

from payoutkit.records.charges import Charge
from payoutkit.records.topups import Topup
from payoutkit.records.transfers import Transfer, TransferReversal
from payoutkit.store.engines import make_engine
from payoutkit.store.schema import resources
from tests.conftest import RunningServer
from tests.contract.helpers import acting_as, charge, fund_platform, new_account_id

RECORDS: dict[str, Any] = {"transfer": Transfer, "transfer_reversal": TransferReversal, "topup": Topup}


def test_stored_documents_read_back_as_records_unchanged(
    stripe_client: stripe.StripeClient, server: RunningServer
) -> None:
    fund_platform(stripe_client, 50_000)
    account = new_account_id(stripe_client)
    tr = stripe_client.v1.transfers.create(
        {"amount": 3000, "currency": "usd", "destination": account, "metadata": {"k": "v"}}
    )
    stripe_client.v1.transfers.reversals.create(tr.id, {"amount": 500})
    stripe_client.v1.refunds.create({"charge": tr.destination_payment, "amount": 700}, acting_as(account))
    ch = charge(stripe_client, 4000, transfer_data={"destination": account}, application_fee_amount=300)
    stripe_client.v1.refunds.create({"charge": ch["id"], "amount": 1000, "reverse_transfer": True})
    stripe_client.v1.topups.create({"amount": 900, "currency": "usd", "description": "in"})
    stripe_client.v1.topups.create({"amount": 900, "currency": "usd", "source": "btok_us_verified_noAccount"})

    engine = make_engine(server.settings.database_url, pool_size=1)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(resources.c.id, resources.c.object, resources.c.data)).all()
    finally:
        engine.dispose()
    seen = set()
    for row in rows:
        record: Any = RECORDS.get(row.object)
        if record is None and row.id.startswith("py_"):
            record = Charge
        if record is not None:
            assert record.from_doc(row.data).doc() == row.data, row.id
            seen.add(row.id.split("_")[0])
    assert seen == {"tr", "trr", "py", "tu"}
