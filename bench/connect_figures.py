"""The two front-end figures of issue 9: `python bench/connect_figures.py [--runs N] [--no-docs]`.

- The size of `payoutkit/static/connect.js` (the built bundle with every component): raw, and gzipped at
  level 6 (what most servers and CDNs use) and level 9.
- The time from mounting `balances` to the first balance painted, in Debian's headless Chromium
  (/usr/bin/chromium through Playwright, never a downloaded browser) on loopback: `payoutkit serve
  --simulated-clock` on a fresh SQLite file, a connected account with money, and the platform's page on
  another loopback origin whose backend creates the account session. Each run is a fresh page (connect.js
  from the browser's cache after the first, warm-up, run): the page calls loadConnectAndInitialize and
  create('balances') and appends the element at t0 (`performance.now()`); a MutationObserver on the
  component's shadow roots notes when the available amount first appears in them, and the next
  animation frame after that is the paint. The time includes everything a real mount does on loopback:
  the platform's backend creating the session (fetchClientSecret), the claim, and the component's reads.

Prints the figures and rewrites the `<!-- bench:connect -->` section of docs/benchmarks.md (not with
--no-docs). Starts everything on 127.0.0.1 and stops what it started by pid.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx

from bench.machine import describe, measured
from bench.results import replace_section
from bench.servers import HOST, REPO, SECRET_KEY, ServerProcess, _bin, free_port
from devtools.chromium import CHROMIUM, CHROMIUM_ARGS

BUNDLE = REPO / "payoutkit" / "static" / "connect.js"
DOCS = REPO / "docs" / "benchmarks.md"
PUBLISHABLE_KEY = "pk_test_bench" + "0123456789abcdefghijklmn"
SIZE_TARGET_KB = 30
PAINT_TARGET_MS = 150
AVAILABLE = 123_456  # $1,234.56: the figure the measurement waits for
DAY = 86_400
METHOD = " ".join(
    [
        "`payoutkit serve --simulated-clock` on SQLite. The time runs from `create('balances')` and its",
        "`appendChild` to the frame after the available amount appears in the component's shadow DOM;",
        "it includes the platform's backend creating the account session (`fetchClientSecret`), the",
        "claim and the component's reads. Produced by `bench/connect_figures.py` (`make bench`).",
    ]
)

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>bench</title>
<script src="%(payoutkit)s/v1.0/connect.js"></script></head>
<body><div id="mount"></div><script>
window.measure = (expected) => new Promise((resolve, reject) => {
  const fetchClientSecret = async () =>
    (await (await fetch("/session", {method: "POST"})).json()).client_secret;
  const load = window.loadConnectAndInitialize || ((p) => window.StripeConnect.init(p));
  const t0 = performance.now();
  const instance = load({publishableKey: %(publishable)s, fetchClientSecret});
  const element = instance.create("balances");
  element.setOnLoadError((e) => reject(new Error(JSON.stringify(e))));
  document.getElementById("mount").appendChild(element);
  const observed = new WeakSet();
  let done = false;
  const text = (root) => {
    let out = "";
    const walk = (node) => {
      if (node.nodeType === Node.TEXT_NODE) out += node.data;
      if (node.shadowRoot) { watch(node.shadowRoot); walk(node.shadowRoot); }
      for (const child of node.childNodes) walk(child);
    };
    walk(root);
    return out;
  };
  const check = () => {
    if (done || !text(element).includes(expected)) return;
    done = true;
    const shown = performance.now();
    requestAnimationFrame(() => setTimeout(() => {
      const requests = performance.getEntriesByType("resource")
        .filter((e) => e.startTime >= t0 && e.responseEnd <= shown)
        .map((e) => ({path: new URL(e.name).pathname, start: e.startTime - t0, end: e.responseEnd - t0}));
      resolve({shown: shown - t0, painted: performance.now() - t0, requests});
    }));
  };
  const observer = new MutationObserver(check);
  const watch = (root) => {
    if (observed.has(root)) return;
    observed.add(root);
    observer.observe(root, {subtree: true, childList: true, characterData: true});
  };
  watch(element);
  check();
  setTimeout(() => reject(new Error("no balance within 10 s")), 10000);
});
</script></body></html>"""


def bundle_sizes(path: Path = BUNDLE) -> dict[str, int]:
    data = path.read_bytes()
    return {
        "raw": len(data),
        "gzip6": len(gzip.compress(data, compresslevel=6, mtime=0)),
        "gzip9": len(gzip.compress(data, compresslevel=9, mtime=0)),
    }


# -- the servers -----------------------------------------------------------------------------------


@contextmanager
def payoutkit() -> Iterator[ServerProcess]:
    with tempfile.TemporaryDirectory(prefix="bench-connect-") as tmp:
        port = free_port(HOST)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PAYOUTKIT_", "DATABASE_URL"))}
        env.update(PAYOUTKIT_SECRET_KEY=SECRET_KEY, PAYOUTKIT_PUBLISHABLE_KEY=PUBLISHABLE_KEY)
        argv = [_bin("payoutkit"), "serve", "--host", HOST, "--port", str(port),
                "--database-url", f"sqlite:///{Path(tmp) / 'payoutkit.db'}", "--simulated-clock"]  # fmt: skip
        with ServerProcess("payoutkit", argv, ready_path="/v1.0/connect.js", env=env, port=port) as srv:
            yield srv


def seed(url: str) -> str:
    """A custom account on a manual schedule with a bank account and AVAILABLE available."""
    with httpx.Client(base_url=url, auth=(SECRET_KEY, ""), trust_env=False, timeout=60) as http:

        def post(path: str, data: dict[str, Any]) -> dict[str, Any]:
            response = http.post(path, data=data)
            response.raise_for_status()
            body: dict[str, Any] = response.json()
            return body

        account = post("/v1/accounts", {"type": "custom", "country": "US",
                                        "settings[payouts][schedule][interval]": "manual"})["id"]  # fmt: skip
        post(f"/v1/accounts/{account}/external_accounts", {"external_account": "btok_us_verified"})
        post("/v1/charges", {"amount": AVAILABLE, "currency": "usd", "source": "tok_visa",
                             "transfer_data[destination]": account})  # fmt: skip
        post("/v1/test_helpers/clock/advance", {"seconds": 7 * DAY})
        return str(account)


@contextmanager
def host_page(payoutkit_url: str, account: str) -> Iterator[str]:
    """The platform's page and its backend (POST /session: an account session for `account`)."""
    page = PAGE % {"payoutkit": payoutkit_url, "publishable": json.dumps(PUBLISHABLE_KEY)}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return

        def _send(self, body: bytes, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            self._send(page.encode(), "text/html; charset=utf-8")

        def do_POST(self) -> None:
            data = {"account": account, "components[balances][enabled]": "true"}
            response = httpx.post(
                payoutkit_url + "/v1/account_sessions", auth=(SECRET_KEY, ""), trust_env=False, data=data
            )
            response.raise_for_status()
            self._send(
                json.dumps({"client_secret": response.json()["client_secret"]}).encode(), "application/json"
            )

    server = ThreadingHTTPServer((HOST, 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)


# -- the measurement -------------------------------------------------------------------------------


PHASE_LABELS = (
    ("session", "the platform's backend creating the session (`fetchClientSecret`)"),
    ("claim", "the claim (`POST /embedded/v1/claim`, with its CORS preflight)"),
    ("reads", "the component's reads (`GET /embedded/v1/account` and `/balance`, in parallel)"),
    ("render", "rendering, after the last answer"),
)
PHASES = (
    ("session", ("/session",)),
    ("claim", ("/embedded/v1/claim",)),
    ("reads", ("/embedded/v1/account", "/embedded/v1/balance")),
)


def phases(run: dict[str, Any]) -> dict[str, float]:
    """Where one mount's time went (ms): the platform's backend making the session, the claim, the
    component's reads (each step from the end of the one before), then rendering until shown."""
    out: dict[str, float] = {}
    last = 0.0
    for name, paths in PHASES:
        ends = [r["end"] for r in run["requests"] if r["path"] in paths]
        if ends:
            out[name] = max(ends) - last
            last = max(ends)
    out["render"] = run["shown"] - last
    return out


def measure_mounts(runs: int) -> list[dict[str, Any]]:
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    from playwright.sync_api import sync_playwright

    if not CHROMIUM.is_file():
        raise SystemExit(f"{CHROMIUM} is missing: `make test` (or apt-get install chromium) installs it")
    with payoutkit() as srv, host_page(srv.url, seed(srv.url)) as host, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(locale="en-US")
            expected = "$1,234.56"
            times = []
            for i in range(runs + 1):
                page = context.new_page()
                page.goto(host)
                got: dict[str, Any] = page.evaluate("e => window.measure(e)", expected)
                page.close()
                got["phases"] = phases(got)
                if i:  # the first run warms the browser's cache and the server
                    times.append(got)
                    steps = ", ".join(f"{k} {v:.0f}" for k, v in got["phases"].items())
                    print(f"  run {i}/{runs}: painted {got['painted']:.1f} ms ({steps})")
            return times
        finally:
            browser.close()


def _median_phase(times: list[dict[str, Any]], key: str) -> float:
    """The median of one phase over the runs (the phases' medians need not add up to the total's)."""
    return statistics.median(t["phases"].get(key, 0.0) for t in times)


def _spread(values: list[float]) -> str:
    return f"{min(values):.0f}-{max(values):.0f}"


def section(sizes: dict[str, int], times: list[dict[str, Any]], machine: dict[str, str]) -> str:
    painted = [t["painted"] for t in times]
    shown = [t["shown"] for t in times]
    chromium = machine.get("Chromium", "?")
    lines = [
        "| Figure | Value | Target |",
        "|---|---:|---:|",
        f"| `connect.js` gzipped (level 6) | **{sizes['gzip6'] / 1024:.1f} KB** ({sizes['gzip6']:,} bytes) | "
        f"under {SIZE_TARGET_KB} KB |",
        f"| `connect.js` gzipped (level 9) | {sizes['gzip9'] / 1024:.1f} KB ({sizes['gzip9']:,} bytes) | |",
        f"| `connect.js` raw (minified) | {sizes['raw'] / 1024:.1f} KB ({sizes['raw']:,} bytes) | |",
        f"| mount `balances` → first balance painted (median of {len(painted)}) | "
        f"**{statistics.median(painted):.0f} ms** (min-max {_spread(painted)} ms) | "
        f"under {PAINT_TARGET_MS} ms |",
        f"| mount `balances` → balance in the DOM (median) | {statistics.median(shown):.0f} ms "
        f"(min-max {_spread(shown)} ms) | |",
        *(f"| … of which {label} | {_median_phase(times, key):.0f} ms | |" for key, label in PHASE_LABELS),
        "",
        measured(machine, keys=("CPU",))
        + f" ({machine.get('Cores', '?')}; load average {machine.get('Load', '?')} while measuring, "
        f"the machine being shared), {chromium}, headless, on loopback; " + METHOD,
    ]
    return "\n".join(lines)


def chromium_version() -> str:
    try:
        out = subprocess.run(
            [str(CHROMIUM), "--version"], capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return "Chromium ?"
    return out.stdout.strip().split(" built on")[0]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--runs", type=int, default=15, help="measured mounts (after one warm-up)")
    ap.add_argument("--no-docs", action="store_true", help="print only; leave docs/benchmarks.md alone")
    ap.add_argument("--docs-path", type=Path, default=DOCS)
    args = ap.parse_args(argv)
    if not BUNDLE.is_file():
        raise SystemExit(f"{BUNDLE} is missing: build connect/ first (make test or make run builds it)")
    sizes = bundle_sizes()
    print(f"connect.js: {sizes['raw']:,} bytes raw, {sizes['gzip6']:,} gzip -6, {sizes['gzip9']:,} gzip -9")
    before = os.getloadavg()[0]
    times = measure_mounts(args.runs)
    load = f"{before:.1f} → {os.getloadavg()[0]:.1f}"
    machine = {**describe(None), "Chromium": chromium_version(), "Load": load}
    body = section(sizes, times, machine)
    print(body)
    if not args.no_docs:
        replace_section(args.docs_path, "connect", body, "connect.js: size and time to first balance")
        print(f"updated {args.docs_path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
