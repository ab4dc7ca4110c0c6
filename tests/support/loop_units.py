"""Running units the way the server does: on an event loop with PostgreSQL's loop units started."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from payoutkit.runtime import Runtime
from payoutkit.store.db import Database


def on_loop(runtime: Runtime, main: Callable[[Database], Awaitable[Any]]) -> Any:
    """Run `main(db)` on a fresh event loop with the loop units started (`Database.start_loop_units`,
    as the server's lifespan does), and stop them after."""

    async def wrapped() -> Any:
        db = runtime.db
        await db.start_loop_units()
        try:
            return await main(db)
        finally:
            await db.stop_loop_units()

    return anyio.run(wrapped)
