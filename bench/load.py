"""The one load generator: wrk when installed (C, does not bottleneck itself), else a raw asyncio
HTTP/1.1 client in a process of its own (`python -m bench.load SHAPE_JSON LIMITS_JSON`).

Both send the same requests, described by a `Shape`: method, URL, form body, Authorization header,
and optionally a list of connected accounts, each request carrying the next one as `Stripe-Account`
(round-robin; every wrk thread and every asyncio connection starts at its own offset, so the requests
in flight at once act as different accounts). Both count errors by ONE rule, `is_error`: a response
outside 2xx, or a transport failure (connect, read, write, timeout).

Every run is bounded in time (`Limits.duration`) and in requests (`Limits.max_requests`, enforced per
wrk thread by the script / per connection by the asyncio client). The time bound is the operative
one; the request cap is a safety bound. When it is hit, wrk still reports its full duration, so the
result is flagged `capped` and its rate is a lower bound.

`sequential()` measures one request at a time from this process (latency, not throughput).
"""

from __future__ import annotations

import asyncio
import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.servers import HOST, REPO, VENV_BIN

# Printed by the wrk script's done() and by the asyncio client: one JSON line after this marker.
MARK = "BENCHJSON "
OK = range(200, 300)  # a response is a success when its status is in here; anything else is an error
TIMEOUT = 10  # seconds one request may take before it counts as a (transport) error


def is_error(status: int) -> bool:
    """The one error rule for a response (transport failures are errors too)."""
    return status not in OK


@dataclass(frozen=True)
class Shape:
    """What every request of a load looks like."""

    url: str
    method: str = "GET"
    body: str = ""
    auth: str = ""
    accounts: tuple[str, ...] = ()  # if any: `Stripe-Account`, round-robin

    def headers(self) -> dict[str, str]:
        out = {"Authorization": self.auth} if self.auth else {}
        if self.body or self.method in {"POST", "PUT", "PATCH"}:
            out["Content-Type"] = "application/x-www-form-urlencoded"
        return out

    @property
    def target(self) -> str:
        parts = urlsplit(self.url)
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


@dataclass(frozen=True)
class Limits:
    concurrency: int = 32
    duration: float = 10.0
    max_requests: int = 1_000_000
    threads: int = 2
    tool: str = "auto"  # wrk, asyncio, or auto: wrk when installed


@dataclass(frozen=True)
class LoadResult:
    tool: str
    requests: int
    seconds: float
    errors: int  # by `is_error`: non-2xx responses and transport failures
    p50_ms: float
    p99_ms: float
    mean_ms: float
    capped: bool = False

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def have_wrk() -> bool:
    return shutil.which("wrk") is not None


def wrk_version() -> str:
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    text = (out.stdout or out.stderr).strip()
    return text.splitlines()[0].split(" Copyright")[0].strip() if text else "wrk"


def run_load(shape: Shape, limits: Limits) -> LoadResult:
    """Closed-loop load: `concurrency` keep-alive connections, until `duration` or `max_requests`."""
    tool = limits.tool if limits.tool != "auto" else ("wrk" if have_wrk() else "asyncio")
    if tool == "wrk":
        limits = replace(limits, threads=min(limits.threads, limits.concurrency))
        result = _wrk(shape, limits)
    else:
        result = _child(shape, limits)
    return replace(result, capped=result.requests >= limits.max_requests - limits.concurrency)


# -- wrk -------------------------------------------------------------------------------------------


def _lua(text: str) -> str:
    if not text.isascii():
        raise ValueError(f"wrk scripts carry ASCII only: {text!r}")
    return json.dumps(text)  # a JSON string of ASCII is a Lua string literal


def wrk_script(shape: Shape, *, threads: int, per_thread: int) -> str:
    """The Lua script for `wrk -s`: the shape's requests, the error rule, the cap, a JSON summary.

    Without accounts every request is the same: wrk's own (set in init), no `request()` per request."""
    headers = ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in shape.headers().items())
    accounts = ", ".join(_lua(a) for a in shape.accounts)
    per_request = (
        f"""
function request()
  counter = counter + 1
  local h = {{{headers}}}
  h["Stripe-Account"] = accounts[(counter % #accounts) + 1]
  return wrk.format(method, path, h, body)
end
"""
        if shape.accounts
        else ""
    )
    return f"""
local method, path = {_lua(shape.method)}, {_lua(shape.target)}
local body = {_lua(shape.body) if shape.body else "nil"}
local accounts = {{{accounts}}}
local threads, per_thread = {threads}, {per_thread}
local all_threads = {{}}
local counter = 0
handled, non2xx = 0, 0

function setup(thread)
  thread:set("thread_index", #all_threads)
  table.insert(all_threads, thread)
end

function init(args)
  counter = math.floor((thread_index or 0) * #accounts / threads)
  wrk.method, wrk.path, wrk.body = method, path, body
  for k, v in pairs({{{headers}}}) do wrk.headers[k] = v end
end
{per_request}
function response(status, headers, body)
  handled = handled + 1
  if status < {OK.start} or status >= {OK.stop} then non2xx = non2xx + 1 end
  if per_thread > 0 and handled >= per_thread then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local bad = 0
  for _, t in ipairs(all_threads) do bad = bad + t:get("non2xx") end
  local e = summary.errors
  io.write(string.format(
    '%s{{"requests": %d, "duration_us": %d, "transport": %d, "non2xx": %d, ' ..
    '"p50_us": %d, "p99_us": %d, "mean_us": %f}}\\n',
    {_lua(MARK)}, summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, bad,
    latency:percentile(50), latency:percentile(99), latency.mean))
end
"""


def _wrk(shape: Shape, limits: Limits) -> LoadResult:
    per_thread = max(1, limits.max_requests // limits.threads)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-") as script:
        script.write(wrk_script(shape, threads=limits.threads, per_thread=per_thread))
        script.flush()
        seconds = max(1, round(limits.duration))
        argv = ["wrk", f"-t{limits.threads}", f"-c{limits.concurrency}", f"-d{seconds}s", "--timeout",
                f"{TIMEOUT}s", "-s", script.name, shape.url]  # fmt: skip
        out = subprocess.run(argv, capture_output=True, text=True, env={"PATH": "/usr/bin:/bin"},
                             timeout=limits.duration + 60, check=False)  # fmt: skip
    d = _summary("wrk", out)
    return LoadResult("wrk", d["requests"], d["duration_us"] / 1e6, d["transport"] + d["non2xx"],
                      d["p50_us"] / 1000, d["p99_us"] / 1000, d["mean_us"] / 1000)  # fmt: skip


def _summary(what: str, out: subprocess.CompletedProcess[str]) -> dict[str, float]:
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(MARK)), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"{what} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    d: dict[str, float] = json.loads(line[len(MARK) :])
    return d


# -- the asyncio client (a child process: `python -m bench.load`) ----------------------------------


def _child(shape: Shape, limits: Limits) -> LoadResult:
    python = VENV_BIN / "python"
    argv = [str(python if python.exists() else sys.executable), "-m", "bench.load",
            json.dumps(asdict(shape)), json.dumps(asdict(limits))]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=limits.duration + 60,
                         check=False)  # fmt: skip
    d = _summary("the asyncio load client", out)
    return LoadResult("asyncio", int(d["requests"]), d["seconds"], int(d["errors"]), d["p50_ms"], d["p99_ms"],
                      d["mean_ms"])  # fmt: skip


def build_requests(shape: Shape) -> list[bytes]:
    """The raw HTTP/1.1 requests of `shape`: one, or one per account (Content-Length included)."""
    data = shape.body.encode()
    head = [f"{shape.method} {shape.target} HTTP/1.1", f"Host: {urlsplit(shape.url).netloc}",
            "User-Agent: payoutkit-bench", *(f"{k}: {v}" for k, v in shape.headers().items())]  # fmt: skip
    if "Content-Type" in shape.headers():
        head.append(f"Content-Length: {len(data)}")
    extra = [[f"Stripe-Account: {a}"] for a in shape.accounts] or [[]]
    return [("\r\n".join(head + more) + "\r\n\r\n").encode() + data for more in extra]


async def read_response(reader: asyncio.StreamReader) -> int:
    """One response's status; its body is read and dropped (responses must carry a Content-Length)."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


class _Tally:
    def __init__(self, seconds: float) -> None:
        self.latencies: list[float] = []
        self.errors = 0
        self.deadline = time.monotonic() + seconds


async def _worker(i: int, shape: Shape, requests: list[bytes], per_conn: int, tally: _Tally) -> None:
    parts = urlsplit(shape.url)
    try:
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    except OSError:
        tally.errors += 1
        return
    try:
        for n in range(per_conn):
            if time.monotonic() >= tally.deadline:
                return
            t0 = time.perf_counter()
            writer.write(requests[(i + n) % len(requests)])
            status = await asyncio.wait_for(read_response(reader), TIMEOUT)
            tally.latencies.append(time.perf_counter() - t0)
            tally.errors += is_error(status)
    except (OSError, asyncio.IncompleteReadError, TimeoutError):
        tally.errors += 1
    finally:
        writer.close()


async def aload(shape: Shape, limits: Limits) -> dict[str, float]:
    """`concurrency` closed-loop connections until `duration` passes or each sent its share."""
    requests = build_requests(shape)
    per_conn = max(1, limits.max_requests // limits.concurrency)
    tally = _Tally(limits.duration)
    start = time.perf_counter()
    await asyncio.gather(*(_worker(i, shape, requests, per_conn, tally) for i in range(limits.concurrency)))
    lat = tally.latencies
    return {"requests": len(lat), "seconds": time.perf_counter() - start, "errors": tally.errors,
            "p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000,
            "mean_ms": statistics.fmean(lat) * 1000 if lat else 0.0}  # fmt: skip


# -- one request at a time -------------------------------------------------------------------------


@dataclass(frozen=True)
class SeqResult:
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    mean_ms: float


def sequential(port: int, path: str, headers: dict[str, str], *, count: int, max_seconds: float) -> SeqResult:
    """`count` GETs one after another on one keep-alive connection (bounded by `max_seconds`)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=TIMEOUT)
    times: list[float] = []
    errors = 0
    deadline = time.monotonic() + max_seconds
    try:
        while len(times) + errors < count and time.monotonic() < deadline:
            t0 = time.perf_counter()
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
            elapsed = time.perf_counter() - t0
            if is_error(resp.status):
                errors += 1
            else:
                times.append(elapsed)
    finally:
        conn.close()
    return SeqResult(len(times) + errors, errors, percentile(times, 50) * 1000, percentile(times, 99) * 1000,
                     (statistics.fmean(times) * 1000) if times else 0.0)  # fmt: skip


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


if __name__ == "__main__":
    shape_arg, limits_arg = sys.argv[1:3]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    s = json.loads(shape_arg)
    shape = Shape(**{**s, "accounts": tuple(s["accounts"])})
    result = asyncio.run(aload(shape, Limits(**json.loads(limits_arg))))
    print(MARK + json.dumps(result), flush=True)
