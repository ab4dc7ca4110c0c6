"""`payoutkit-demo` (what `make run` starts): Payoutkit on the simulated clock and the demo platform
beside it, seeded on first start. Ctrl-C stops both.

Payoutkit runs as its own process (`payoutkit serve --simulated-clock`, options not known here are
passed to it); the demo learns the platform's test keys from `payoutkit keys --json`, as a developer
copies them from a dashboard, and from then on talks to Payoutkit only over HTTP with the SDK.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Annotated

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from payoutkit_demo import seed as seeding
from payoutkit_demo.platform import DAY, Platform

app = typer.Typer(add_completion=False, help="Payoutkit and its demo platform, together.")
console = Console()
PAYOUTKIT = [sys.executable, "-m", "payoutkit"]
STARTUP_TIMEOUT = 60.0


def _history_start() -> int:
    """A new database's simulated clock starts 90 days ago at 09:00 UTC, so that the seeded history
    ends about now."""
    today = dt.datetime.now(dt.UTC).date()
    return calendar.timegm(today.timetuple()) - seeding.HISTORY_DAYS * DAY + 9 * 3600


def _keys(database_url: str, env: dict[str, str]) -> dict[str, str]:
    """The platform's test secret and publishable keys, as `payoutkit keys --json` prints them (and, on
    a new database, its live secret key, which is shown this once)."""
    shown = subprocess.run(
        [*PAYOUTKIT, "keys", "--json", "--database-url", database_url],
        capture_output=True, text=True, env=env, check=True, timeout=120,
    )  # fmt: skip
    keys = json.loads(shown.stdout)
    secret = (keys["test_secret_keys"] or [env.get("PAYOUTKIT_SECRET_KEY")])[-1]
    if not secret:
        raise typer.BadParameter("no test secret key can be shown again: run `payoutkit keys --rotate`")
    found = {"secret": str(secret), "publishable": str(keys["test_publishable_key"])}
    if keys.get("new_live_secret_key"):
        found["live"] = str(keys["new_live_secret_key"])
    return found


def _wait(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while True:
        if proc.poll() is not None:
            console.print(f"Payoutkit did not start:\n{log.read_text()}")
            raise typer.Exit(1)
        try:
            httpx.get(url + "/v1/balance", timeout=2, trust_env=False)
            return
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise typer.Exit(1) from None
            time.sleep(0.2)


def _seed(platform: Platform) -> None:
    started = time.monotonic()
    columns = (TextColumn("Seeding"), BarColumn(), TextColumn("{task.description}"), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("the marketplace", total=seeding.steps())
        seeding.seed(platform, lambda what: progress.update(task, advance=1, description=what))
    console.print(f"Seeded 7 accounts and {seeding.HISTORY_DAYS} days in {time.monotonic() - started:.1f} s")


def _print(payoutkit: str, demo: str, database_url: str, keys: dict[str, str]) -> None:
    table = Table(title="Payoutkit demo", show_header=False)
    table.add_row("Demo platform", demo)
    table.add_row("Payoutkit API", payoutkit)
    table.add_row("Database", database_url)
    table.add_row("Test secret key", keys["secret"])
    table.add_row("Test publishable key", keys["publishable"])
    if "live" in keys:
        table.add_row("Live secret key (shown once)", keys["live"])
    table.add_row("Keys again", "payoutkit keys")
    console.print(table)


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def run(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(help="Address both servers bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Payoutkit's port.")] = 4242,
    demo_port: Annotated[int, typer.Option(help="The demo platform's port.")] = 4243,
    database_url: Annotated[str | None, typer.Option(help="Payoutkit's database.")] = None,
    seed: Annotated[bool, typer.Option(help="Seed the marketplace when it has no accounts.")] = True,
) -> None:
    """Start Payoutkit (test mode, simulated clock) and the demo platform; Ctrl-C stops both."""
    import uvicorn

    from payoutkit_demo.app import create_app

    database_url = database_url or os.environ.get("DATABASE_URL") or "sqlite:///payoutkit.db"
    payoutkit = Payoutkit(database_url, host, port, [a for a in ctx.args if a != "--simulated-clock"])
    try:
        platform = payoutkit.start()
        if seed and platform.seed_state() == "started":
            platform = _start_over(payoutkit)
        if seed and not platform.accounts():
            _seed(platform)
        demo_url = f"http://{host}:{demo_port}"
        _print(payoutkit.url, demo_url, database_url, payoutkit.keys)
        console.print(f"Payoutkit's log: {payoutkit.log}. Ctrl-C stops both.")
        uvicorn.run(create_app(platform, demo_url), host=host, port=demo_port, log_level="warning")
    finally:
        payoutkit.stop()


class Payoutkit:
    """`payoutkit serve --simulated-clock` as the demo runs it: its own process, its output in a log."""

    def __init__(self, database_url: str, host: str, port: int, extra: list[str]) -> None:
        self.database_url = database_url
        self.url = f"http://{host}:{port}"
        self.serve = [*PAYOUTKIT, "serve", "--host", host, "--port", str(port),
                      "--database-url", database_url, "--simulated-clock", *extra]  # fmt: skip
        self.env = dict(os.environ, PAYOUTKIT_SIMULATED_CLOCK_START=str(_history_start()))
        self.log = Path(tempfile.gettempdir()) / f"payoutkit-demo-{port}.log"  # Payoutkit's own output
        self.keys: dict[str, str] = {}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Platform:
        """Start it (migrating a new database) and answer the platform, once Payoutkit answers."""
        with console.status("Starting Payoutkit"):
            self.keys = _keys(self.database_url, self.env)
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(self.serve, env=self.env, stdout=out, stderr=out)
        _wait(self.url, self.proc, self.log)
        return Platform(self.url, self.keys["secret"], self.keys["publishable"])

    def stop(self) -> None:
        """SIGTERM (Payoutkit finishes what it is doing), then SIGKILL if it is still there 30 s on."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=30)


def _start_over(payoutkit: Payoutkit) -> Platform:
    """The last seed of this database was interrupted, and a half-made marketplace would stay half made:
    a SQLite database is set aside (renamed, with its WAL, not deleted) and the demo starts on a new
    one; any other database is the operator's to drop."""
    path = _sqlite_file(payoutkit.database_url)
    if path is None:
        console.print(
            f"The demo's last seed of {payoutkit.database_url} was interrupted. Drop that database "
            "(or pass another --database-url) to seed it again, or start with --no-seed."
        )
        raise typer.Exit(1)
    payoutkit.stop()
    aside = path.with_name(f"{path.name}.interrupted-{int(time.time())}")
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{path}{suffix}").exists():
            Path(f"{path}{suffix}").rename(f"{aside}{suffix}")
    console.print(f"The last seed was interrupted: that database is kept as {aside}; starting over.")
    return payoutkit.start()


def _sqlite_file(database_url: str) -> Path | None:
    """The file of a `sqlite:///…` URL, or None for any other database (or SQLite in memory)."""
    scheme, sep, rest = database_url.partition(":///")
    path = rest.split("?", 1)[0]
    if not sep or scheme.split("+", 1)[0] != "sqlite" or not path or path.startswith(":memory:"):
        return None
    return Path(path)


def main() -> None:
    app()
