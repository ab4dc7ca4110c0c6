"""The store: every SQL statement of Payoutkit, behind named functions.

Use cases (`payoutkit/services/`) call the functions of the modules here — `store.payouts.open`,
`store.balances.lock_buckets`, … — with the unit of work's connection, typed here as `Tx`, and never
touch a table themselves (ruff's banned-api rules enforce it). Statements are built once, at import,
with bind parameters; only lists whose filters vary by request compose their WHERE per call
(`store/paging.py`).
"""

from __future__ import annotations

from sqlalchemy import Connection

# The connection of one unit of work (one transaction), as the layers above the store see it.
Tx = Connection

__all__ = ["Tx"]
