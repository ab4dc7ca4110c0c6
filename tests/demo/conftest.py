"""The demo as `make run` starts it: `payoutkit-demo` (python -m payoutkit_demo) on a fresh SQLite file
and free loopback ports, seeded on its first start, stopped by its pid (SIGINT, as Ctrl-C) at the end.

    start_demo(db, log)   a context manager: the running demo (both addresses answering), stopped after
    demo (module)         one seeded demo shared by a module's tests
    browser (module)      Debian's Chromium, headless, launched by path (never downloaded)
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
import stripe

from devtools.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.support.process import clean_env, free_port

DEMO = [sys.executable, "-m", "payoutkit_demo"]
PAYOUTKIT = [sys.executable, "-m", "payoutkit"]
# Seeding takes about 30 s on an idle machine; the suite shares two cores.
STARTUP_TIMEOUT = 240.0


@dataclass
class Demo:
    url: str  # the demo platform
    payoutkit: str  # Payoutkit's API
    database_url: str
    log: Path
    proc: subprocess.Popen[bytes]

    def keys(self) -> dict[str, object]:
        """`payoutkit keys --json`: the test secret key is shown again."""
        shown = subprocess.run(
            [*PAYOUTKIT, "keys", "--json", "--database-url", self.database_url],
            capture_output=True, text=True, env=clean_env(), timeout=120, check=True,
        )  # fmt: skip
        found: dict[str, object] = json.loads(shown.stdout)
        return found

    def client(self) -> stripe.StripeClient:
        secrets = self.keys()["test_secret_keys"]
        assert isinstance(secrets, list)
        session = requests.Session()
        session.trust_env = False
        return stripe.StripeClient(
            secrets[-1],
            base_addresses={"api": self.payoutkit},
            max_network_retries=0,
            http_client=stripe.RequestsClient(session=session),
        )


def _answers(url: str) -> bool:
    try:
        httpx.get(url, trust_env=False, timeout=2)
    except httpx.TransportError:
        return False
    return True


@contextmanager
def start_demo(database_url: str, log: Path, *extra: str) -> Iterator[Demo]:
    port, demo_port = free_port(), free_port()
    with log.open("ab") as out:
        argv = [*DEMO, "--port", str(port), "--demo-port", str(demo_port), "--database-url", database_url]
        proc = subprocess.Popen(
            [*argv, *extra],
            stdout=out, stderr=subprocess.STDOUT, env=clean_env(),
        )  # fmt: skip
    demo = Demo(f"http://127.0.0.1:{demo_port}", f"http://127.0.0.1:{port}", database_url, log, proc)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not _answers(demo.url):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.25)
        yield demo
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)  # as Ctrl-C: the demo stops Payoutkit too
        proc.wait(timeout=60)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    where = tmp_path_factory.mktemp("demo")
    with start_demo(f"sqlite:///{where / 'demo.db'}", where / "demo.log") as running:
        yield running


# -- the browser: Debian's Chromium, as tests/browser launches it ------------------------------------

os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
