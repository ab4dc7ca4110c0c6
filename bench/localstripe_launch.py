"""Start localstripe (PyPI) bound to 127.0.0.1 only: `python bench/localstripe_launch.py PORT [--seed N]`.

`localstripe --port N` binds `::` (every interface, IPv4 and IPv6); the bench reaches 127.0.0.1 only, so
this runs the same aiohttp app (`localstripe.server.app`) with `host='127.0.0.1'`, from an empty store
(as `--from-scratch`), without its access log. Everything else is localstripe's own, including that it
pickles its whole store to disk on every write; only the file differs: `--pickle PATH` instead of the
hard-coded /tmp/localstripe.pickle, which any other localstripe on the machine would share (the same
`pickle.dump` of the same store, so the same cost).

`--seed N` first makes N payouts with localstripe's own model code, in this process, before it serves:
`Payout._api_create(amount='100', currency='eur')` is exactly what its `POST /v1/payouts` handler calls
with the SDK's form (`api_create`: `cls._api_create(**data)`), so each payout and its `payout.created`
event are stored as the HTTP API would have stored them, inside a running event loop (the event's
webhook task is scheduled and runs, as it does when served). The one difference is the store's
write-through: `Store.__setitem__` pickles the whole store to disk on every object stored (O(n²) for n
objects), so while seeding that dump is suspended and the store is saved once at the end, as its
`save_store_middleware` saves it after a request. Seeding 20,000 payouts by HTTP would take most of an
hour; this takes seconds. The store served afterwards is the same either way.

On stdout: one line `SEEDED {"payouts": N, "objects": …, "bytes": …, "seconds": …, "first": "po_…"}`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import pickle
import time

from aiohttp import web
from localstripe import resources  # type: ignore[import-untyped]
from localstripe.server import app  # type: ignore[import-untyped]

PICKLE = ["/tmp/localstripe.pickle"]  # where localstripe's Store.dump_to_disk writes (hard-coded there)
SUSPENDED = [False]  # while seeding: the write-through is skipped, the store saved once at the end


def _dump_to_disk(self: resources.Store) -> None:
    """localstripe's `Store.dump_to_disk`, line for line, to the file of this server."""
    if SUSPENDED[0]:
        return
    with open(PICKLE[0], "wb") as f:
        pickle.dump(self, f, protocol=pickle.HIGHEST_PROTOCOL)


async def _seed(count: int) -> str:
    store = resources.store
    first = ""
    SUSPENDED[0] = True
    try:
        for i in range(count):
            payout = resources.Payout._api_create(amount="100", currency="eur")
            first = first or payout.id
            if i % 1000 == 999:
                await asyncio.sleep(0)  # let the scheduled webhook tasks start, as between requests
        if count:
            await asyncio.sleep(1.1)  # _send_webhook sleeps 1 s, then finds no webhook registered
    finally:
        SUSPENDED[0] = False
    store.dump_to_disk()  # saved once, as after a request
    return first


def seed(count: int) -> dict[str, object]:
    started = time.perf_counter()
    first = asyncio.run(_seed(count))
    store = resources.store
    return {
        "payouts": sum(1 for k in store if k.startswith("payout:")),
        "objects": len(store),
        "bytes": os.path.getsize(PICKLE[0]),
        "seconds": round(time.perf_counter() - started, 2),
        "first": first,
    }


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--seed", type=int, default=0, help="payouts made in-process before serving")
    ap.add_argument("--pickle", default=PICKLE[0], help="the file localstripe saves its store to")
    args = ap.parse_args()
    PICKLE[0] = args.pickle
    resources.Store.dump_to_disk = _dump_to_disk  # the same code, to this server's file
    # Saved before serving even when empty, so the pickle is this server's store, never an older one.
    print("SEEDED " + json.dumps(seed(args.seed)), flush=True)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)
