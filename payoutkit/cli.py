"""The `payoutkit` command: serve, migrate, keys."""

from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from payoutkit.config import Settings

if TYPE_CHECKING:
    from starlette.applications import Starlette

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Balances and payouts, Stripe-compatible.")
console = Console()

DatabaseOpt = Annotated[
    str | None, typer.Option("--database-url", help="sqlite:///file.db (default) or postgresql+psycopg://…")
]


# `serve --workers N`: what each of the N processes needs to build the same settings as the parent
# (the rest comes from the environment they inherit), as JSON in this variable.
SERVE_OPTIONS = "PAYOUTKIT_SERVE_OPTIONS"


@app.command()
def serve(  # noqa: PLR0913 (the command's options)
    host: Annotated[str, typer.Option(help="Address to bind; loopback unless told otherwise.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 4242,
    database_url: DatabaseOpt = None,
    simulated_clock: Annotated[
        bool, typer.Option("--simulated-clock", help="Test mode runs on a clock you advance.")
    ] = False,
    worker: Annotated[bool, typer.Option(help="Run the settlement worker (in one process).")] = True,
    access_log: Annotated[bool, typer.Option(help="Log one line per request (never headers).")] = False,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="API processes (PostgreSQL only above 1); one database.")
    ] = 1,
) -> None:
    """Start the API server (migrating the database first)."""
    import uvicorn

    from payoutkit.runtime import open_runtime
    from payoutkit.store.migrations import upgrade

    _logging()
    options = {"database_url": database_url, "host": host, "port": port, "worker": worker,
               "access_log": access_log, "simulated_clock": simulated_clock}  # fmt: skip
    settings = _serve_settings(options)
    if workers > 1 and _is_sqlite(settings.database_url):
        raise typer.BadParameter(
            "SQLite serializes writers, so one process is the design: serve it with --workers 1, "
            "or use PostgreSQL (--database-url postgresql+psycopg://…) for several processes.",
            param_hint="--workers",
        )
    upgrade(settings.database_url)  # once, in this process, before any server process starts
    runtime, boot = open_runtime(settings)
    _print_start(settings, boot.platform_id, boot.generated, boot.publishable, workers)
    if workers == 1:
        from payoutkit.api.app import create_app
        from payoutkit.runtime import tune_collector

        api = create_app(settings, runtime=runtime)
        tune_collector()
        uvicorn.run(api, host=host, port=port, log_level="warning", access_log=False, lifespan="on")
        return
    # N processes (uvicorn's supervisor: one socket, a dead process is replaced), each opening its own
    # runtime on the database this one has migrated and booted.
    runtime.db.dispose()
    os.environ[SERVE_OPTIONS] = json.dumps(options)
    uvicorn.run("payoutkit.cli:process_app", factory=True, workers=workers, host=host, port=port,
                log_level="warning", access_log=False, lifespan="on")  # fmt: skip


def _serve_settings(options: dict[str, Any]) -> Settings:
    """The settings of `serve`'s options and the environment (the same in every process of it)."""
    settings = Settings.from_env(
        database_url=options["database_url"], host=options["host"], port=options["port"]
    )
    return replace(settings, worker=options["worker"], access_log=options["access_log"],
                   simulated_clock=options["simulated_clock"] or settings.simulated_clock)  # fmt: skip


def _logging(*, migrating: bool = True) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if not migrating:  # a process of --workers N only reads the revision: alembic's lines say nothing
        logging.getLogger("alembic").setLevel(logging.WARNING)


def _is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def process_app() -> Starlette:
    """The app of one process of `serve --workers N` (uvicorn calls it in each process it starts): its
    own runtime and pool. The database is migrated and booted already; the worker runs in whichever
    process leads (payoutkit/worker.py `lead`)."""
    from payoutkit.api.app import create_app
    from payoutkit.runtime import open_runtime, tune_collector

    _logging(migrating=False)
    settings = _serve_settings(json.loads(os.environ[SERVE_OPTIONS]))
    runtime, _ = open_runtime(settings, migrate_new=False)
    api = create_app(settings, runtime=runtime)
    tune_collector()
    return api


def _print_start(
    settings: Settings,
    platform: str,
    generated: dict[str, str],
    publishable: dict[bool, str | None],
    processes: int = 1,
) -> None:
    table = Table(title="Payoutkit", show_header=False)
    table.add_row("API", f"http://{settings.host}:{settings.port}")
    if processes > 1:
        worker = "the worker runs in one of them" if settings.worker else "no worker"
        table.add_row("Processes", f"{processes} ({worker})")
    table.add_row("Database", settings.database_url.split("@")[-1])
    table.add_row("Platform account", platform)
    table.add_row("Test publishable key", publishable.get(False) or "-")
    if "sk_test" in generated:
        table.add_row("Test secret key", generated["sk_test"])
    elif settings.secret_key:
        table.add_row("Test secret key", "from PAYOUTKIT_SECRET_KEY")
    else:
        table.add_row("Test secret key", "`payoutkit keys` shows it")
    if "sk_live" in generated:
        table.add_row("Live secret key (shown once)", generated["sk_live"])
    table.add_row("Clock", "simulated (test mode)" if settings.simulated_clock else "real")
    console.print(table)


@app.command()
def migrate(database_url: DatabaseOpt = None) -> None:
    """Run database migrations to the latest version."""
    from payoutkit.store.migrations import upgrade

    settings = Settings.from_env(database_url=database_url)
    upgrade(settings.database_url)
    console.print("[green]database is at the latest version[/green]")


@app.command()
def keys(
    database_url: DatabaseOpt = None,
    rotate: Annotated[
        bool, typer.Option("--rotate", help="Replace the test secret key; prints the new one.")
    ] = False,
    live: Annotated[bool, typer.Option("--live", help="With --rotate: rotate the live secret key.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the keys as one JSON object.")] = False,
) -> None:
    """Print the platform's publishable and test secret keys, or rotate a secret key.

    Test secret keys are shown again at any time (they are kept in clear: they move only test-mode
    money); live secret keys are shown once, when made, and stored as digests only."""
    from payoutkit.clock import SystemClock
    from payoutkit.runtime import open_runtime
    from payoutkit.services.platform import rotate_secret_key, test_secret_keys

    settings = Settings.from_env(database_url=database_url)
    state, boot = open_runtime(settings)
    if rotate:
        new = state.db.transaction(rotate_secret_key, boot.platform_id, live, SystemClock().now())
        console.print(f"Test publishable key: {boot.publishable.get(False)}")
        console.print(f"New {'live' if live else 'test'} secret key: {new}")
        console.print("The previous secret key no longer works (running servers refuse it within seconds).")
        state.db.dispose()
        return
    test_secrets = state.db.transaction(test_secret_keys, boot.platform_id)
    new_live = boot.generated.get("sk_live")
    state.db.dispose()
    if as_json:
        found = {
            "platform": boot.platform_id,
            "test_publishable_key": boot.publishable.get(False),
            "live_publishable_key": boot.publishable.get(True),
            "test_secret_keys": test_secrets,
        }
        typer.echo(json.dumps(found | ({"new_live_secret_key": new_live} if new_live else {})))
        return
    console.print(f"Platform account: {boot.platform_id}")
    console.print(f"Test publishable key: {boot.publishable.get(False)}")
    console.print(f"Live publishable key: {boot.publishable.get(True)}")
    for key in test_secrets:
        console.print(f"Test secret key: {key}")
    if not test_secrets:
        console.print("Test secret key: from PAYOUTKIT_SECRET_KEY, or made before test keys were kept "
                      "(payoutkit keys --rotate makes one that is)")  # fmt: skip
    if new_live:
        console.print(f"New live secret key (shown once): {new_live}")
    console.print("Live secret keys are stored hashed. To replace one: payoutkit keys --rotate --live")


def main() -> None:
    app()
