"""The ledger's invariants as a test assertion: `assert_ledger_ok(server.settings.database_url)`.

Opens its own engine on the server's database (the server keeps its own), runs
`payoutkit.store.invariants.check_ledger` in one read transaction and disposes the engine, so
nothing is left open between steps (ResourceWarning is an error in this suite).
"""

from __future__ import annotations


def ledger_violations(database_url: str) -> list[str]:
    from payoutkit.store.engines import READONLY, make_engine
    from payoutkit.store.invariants import check_ledger

    engine = make_engine(database_url, pool_size=1)
    try:
        with engine.connect().execution_options(**{READONLY: True}) as conn, conn.begin():
            return check_ledger(conn)
    finally:
        engine.dispose()


def assert_ledger_ok(database_url: str) -> None:
    violations = ledger_violations(database_url)
    assert not violations, "ledger invariants violated:\n  " + "\n  ".join(violations)
