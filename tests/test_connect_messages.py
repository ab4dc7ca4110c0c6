"""The embedded components name every balance transaction type the ledger can book, in every locale.

The payout details list the transactions a payout settled, by `type`. A type the ledger books with no
message in `connect/src/messages.ts` would be shown humanized in English whatever the reader's locale.
The types are found in the ledger's source: every string constant in `payoutkit/ledger/` that is one
of the `type` values of Stripe's balance transaction schema (the official OpenAPI subset), so a type
added to the ledger without its messages fails here.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import payoutkit
from tests.support.openapi import load_spec

ROOT = Path(payoutkit.__file__).resolve().parent.parent
MESSAGES = ROOT / "connect" / "src" / "messages.ts"
LOCALES = {"enUS": "en-US", "frFR": "fr-FR", "deDE": "de-DE", "jaJP": "ja-JP"}  # en-GB falls back to en-US


def stripe_types() -> set[str]:
    schemas = load_spec()["components"]["schemas"]
    return set(schemas["balance_transaction"]["properties"]["type"]["enum"])


def ledger_types() -> set[str]:
    wanted = stripe_types()
    found: set[str] = set()
    for path in (ROOT / "payoutkit" / "ledger").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and node.value in wanted:
                found.add(str(node.value))
    return found


def catalogue(name: str) -> set[str]:
    text = MESSAGES.read_text()
    start = re.search(rf"^const {name}(: Catalogue)? = \{{$", text, re.M)
    assert start, f"no catalogue {name} in {MESSAGES}"
    body = text[start.end() : text.index("\n};\n", start.end())]
    return set(re.findall(r"^\s+(txn_[a-z_]+):", body, re.M))


def test_the_ledger_books_the_types_it_is_known_to_book() -> None:
    # The finder works: these are booked by charges, payouts and their returns, and transfers.
    assert {"charge", "payout", "payout_failure", "payout_cancel", "transfer", "stripe_fee"} <= ledger_types()


def test_every_type_the_ledger_books_has_a_message_in_every_locale() -> None:
    keys = {f"txn_{t}" for t in ledger_types()}
    for name, locale in LOCALES.items():
        missing = sorted(keys - catalogue(name))
        assert not missing, f"{locale} has no message for {missing} (connect/src/messages.ts)"
