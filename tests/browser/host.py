"""The platform's own site, as a test serves it: a tiny HTTP server on loopback (another origin than
Payoutkit's) whose page loads `<payoutkit>/v1.0/connect.js` and whose backend creates account sessions
with the official `stripe` SDK and the platform's secret key, as a platform's backend does.

    GET  /            the host page: connect.js by a script tag; `window.host` mounts components
    GET  /npm         the same page built on the stock `@stripe/connect-js` loader from npm
    GET  /vendor/...  files of connect/node_modules (the npm loader, axe-core)
    POST /session     a new account session for `Host.account` with `Host.components`: {"client_secret"}

The page exposes `window.host`:

    host.init(options)         loadConnectAndInitialize({publishableKey, fetchClientSecret, ...options})
    host.mount(tag, {payout})  instance.create(tag) into #mount (payout-details: setPayout(payout))
    host.secrets               how many client secrets the page fetched
    host.errors                what setOnLoadError reported
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import stripe

REPO = Path(__file__).resolve().parents[2]
NODE_MODULES = REPO / "connect" / "node_modules"
# The stock loader's ES module build (@stripe/connect-js, as published on npm) and axe-core.
NPM_LOADER = NODE_MODULES / "@stripe" / "connect-js" / "dist" / "connect.esm.js"
AXE = NODE_MODULES / "axe-core" / "axe.min.js"

# Every feature of `balances` and `payouts` on: custom accounts' platforms own their losses, so
# `standard_payouts` and `edit_payout_schedule` are off unless the platform turns them on.
ALL_FEATURES = {
    "instant_payouts": True,
    "standard_payouts": True,
    "edit_payout_schedule": True,
}
ALL_COMPONENTS: dict[str, Any] = {
    "balances": {"enabled": True, "features": ALL_FEATURES},
    "payouts": {"enabled": True, "features": ALL_FEATURES},
    "payouts_list": {"enabled": True},
    "payout_details": {"enabled": True},
}

_PAGE_HEAD = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Platform dashboard</title>
<style>body {{ margin: 0; font-family: sans-serif; }} main {{ padding: 16px; }}</style>
<script src="{payoutkit}/v1.0/connect.js"></script>
</head>
<body>
<main>
<h1>Platform dashboard</h1>
<div id="mount"></div>
</main>
"""

_HOST_SCRIPT = """
const host = {
  secrets: 0, errors: [], loaderStarts: 0, closed: 0, instance: null, elements: [],
  async fetchClientSecret() {
    const response = await fetch("/session", {method: "POST"});
    if (!response.ok) throw new Error("the platform could not create a session: " + response.status);
    host.secrets += 1;
    return (await response.json()).client_secret;
  },
  init(options) {
    host.instance = host.load({
      publishableKey: %(publishable)s,
      fetchClientSecret: host.fetchClientSecret,
      ...(options || {}),
    });
    return true;
  },
  mount(tag, options) {
    const element = host.instance.create(tag);
    element.setOnLoadError((event) => host.errors.push(event));
    element.setOnLoaderStart(() => { host.loaderStarts += 1; });
    if (options && options.payout) {
      element.setPayout(options.payout);
      element.setOnClose(() => { host.closed += 1; });
    }
    window.performance.mark("host:mount");
    document.getElementById("mount").appendChild(element);
    host.elements.push(element);
    return element.tagName.toLowerCase();
  },
  unmountAll() {
    for (const element of host.elements) element.remove();
    host.elements = [];
  },
};
window.host = host;
"""

_SCRIPT_LOADER = """<script>
%(host)s
// connect.js by a script tag: its own loadConnectAndInitialize, else StripeConnect.init.
host.load = (params) => (window.loadConnectAndInitialize
  ? window.loadConnectAndInitialize(params)
  : window.StripeConnect.init(params));
</script>
</body>
</html>
"""

_NPM_LOADER = """<script type="module">
import {loadConnectAndInitialize} from "/vendor/connect-js/connect.esm.js";
%(host)s
host.load = loadConnectAndInitialize;
window.hostReady = true;
</script>
</body>
</html>
"""


@dataclass
class Host:
    """The platform's site. Tests set `account` and `components` before the page asks for a session."""

    payoutkit: str
    secret_key: str
    publishable_key: str
    account: str | None = None
    components: dict[str, Any] = field(default_factory=lambda: dict(ALL_COMPONENTS))
    url: str = ""
    sessions: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def page(self, *, npm: bool = False) -> str:
        script = _HOST_SCRIPT % {"publishable": json.dumps(self.publishable_key)}
        tail = (_NPM_LOADER if npm else _SCRIPT_LOADER) % {"host": script}
        return _PAGE_HEAD.format(payoutkit=self.payoutkit) + tail

    def create_session(self) -> dict[str, Any]:
        """An account session through the official SDK, as the platform's backend creates one."""
        assert self.account is not None, "the test sets host.account before the page loads"
        session = requests.Session()
        session.trust_env = False
        try:
            client = stripe.StripeClient(
                api_key=self.secret_key,
                base_addresses={"api": self.payoutkit, "connect": self.payoutkit},
                max_network_retries=0,
                http_client=stripe.RequestsClient(session=session),
            )
            created = client.v1.account_sessions.create(
                {"account": self.account, "components": self.components}  # type: ignore[typeddict-item]
            ).to_dict()
        finally:
            session.close()
        with self.lock:
            self.sessions.append(created)
        return created


def _handler(host: Host) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet
            return

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path in ("/", "/npm"):
                self._send(200, host.page(npm=path == "/npm").encode(), "text/html; charset=utf-8")
            elif path == "/vendor/connect-js/connect.esm.js":
                self._file(NPM_LOADER)
            elif path == "/vendor/axe.min.js":
                self._file(AXE)
            else:
                self._send(404, b"not found", "text/plain")

        def _file(self, file: Path) -> None:
            if not file.is_file():
                self._send(
                    404, f"{file} is missing: run `make test` (npm ci in connect/)".encode(), "text/plain"
                )
                return
            self._send(200, file.read_bytes(), "text/javascript; charset=utf-8")

        def do_POST(self) -> None:
            if self.path != "/session":
                self._send(404, b"not found", "text/plain")
                return
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            try:
                created = host.create_session()
            except stripe.StripeError as exc:
                self._send(500, json.dumps({"error": str(exc)}).encode(), "application/json")
                return
            self._send(
                200, json.dumps({"client_secret": created["client_secret"]}).encode(), "application/json"
            )

    return Handler


@contextmanager
def serve_host(host: Host) -> Iterator[Host]:
    """Serve `host` on 127.0.0.1 (a free port) in a thread until the block ends."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(host))
    server.daemon_threads = True
    host.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="host-page", daemon=True)
    thread.start()
    try:
        yield host
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
