"""Load generation: wrk when installed (C, does not bottleneck itself), else a raw asyncio HTTP/1.1 client
in a separate process (`python -m bench.aload`). Every run is bounded in time (`duration`) and in
requests (`max_requests`, enforced per wrk thread by the script / per connection by the async client).
The time bound is the operative one; the request cap is a safety bound. When it is hit, wrk still
reports its full duration, so the result is flagged `capped` and its rate is a lower bound.

`sequential()` measures one request at a time from this process (latency, not throughput).
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace

from bench.servers import HOST, REPO, VENV_BIN

# Printed by the wrk script's done(): one JSON line after this marker.
MARK = "BENCHJSON "

WRK_SCRIPT = r"""
local max_per_thread = tonumber(os.getenv("BENCH_MAX_PER_THREAD") or "0")
local method = os.getenv("BENCH_METHOD") or "GET"
local body = os.getenv("BENCH_BODY")
local auth = os.getenv("BENCH_AUTH")
local done_here = 0
local non2xx = 0

function init(args)
  wrk.method = method
  if body and body ~= "" then
    wrk.body = body
    wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  end
  if auth and auth ~= "" then
    wrk.headers["Authorization"] = auth
  end
end

function response(status, headers, body)
  done_here = done_here + 1
  if max_per_thread > 0 and done_here >= max_per_thread then
    wrk.thread:stop()
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %f}\n',
    "BENCHJSON ", summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


@dataclass(frozen=True)
class LoadResult:
    tool: str
    requests: int
    seconds: float
    errors: int  # socket errors + non-2xx/3xx responses + timeouts
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


def run_load(url: str, *, method: str = "GET", body: str = "", auth: str = "", concurrency: int = 32,
             duration: float = 10.0, max_requests: int = 1_000_000, threads: int = 2,
             tool: str = "auto") -> LoadResult:  # fmt: skip
    """Closed-loop load: `concurrency` keep-alive connections, until `duration` or `max_requests`."""
    if tool == "auto":
        tool = "wrk" if have_wrk() else "asyncio"
    if tool == "wrk":
        threads = min(threads, concurrency)
        per_thread = max(1, max_requests // threads)
        result = _wrk(url, method, body, auth, concurrency, duration, per_thread, threads)
    else:
        per_conn = max(1, max_requests // concurrency)
        result = _async_client(url, method, body, auth, concurrency, duration, per_conn)
    return replace(result, capped=result.requests >= max_requests - concurrency)


def _wrk(url: str, method: str, body: str, auth: str, concurrency: int, duration: float, per_thread: int,
         threads: int) -> LoadResult:  # fmt: skip
    with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix="bench-wrk-") as script:
        script.write(WRK_SCRIPT)
        script.flush()
        env = {"BENCH_METHOD": method, "BENCH_BODY": body, "BENCH_AUTH": auth,
               "BENCH_MAX_PER_THREAD": str(per_thread), "PATH": "/usr/bin:/bin"}  # fmt: skip
        argv = ["wrk", f"-t{threads}", f"-c{concurrency}", f"-d{max(1, round(duration))}s",
                "--timeout", "10s", "-s", script.name, url]  # fmt: skip
        out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=duration + 60,
                             check=False)  # fmt: skip
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(MARK)), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    d = json.loads(line[len(MARK) :])
    errors = d["connect"] + d["read"] + d["write"] + d["status"] + d["timeout"]
    return LoadResult("wrk", d["requests"], d["duration_us"] / 1e6, errors,
                      d["p50_us"] / 1000, d["p99_us"] / 1000, d["mean_us"] / 1000)  # fmt: skip


def _async_client(url: str, method: str, body: str, auth: str, concurrency: int, duration: float,
                  per_conn: int) -> LoadResult:  # fmt: skip
    python = VENV_BIN / "python"
    argv = [str(python if python.exists() else sys.executable), "-m", "bench.aload", url, method, body, auth,
            str(concurrency), str(duration), str(per_conn)]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, cwd=REPO, timeout=duration + 60, check=False)
    line = next((ln for ln in out.stdout.splitlines() if ln.startswith(MARK)), None)
    if out.returncode != 0 or line is None:
        raise RuntimeError(f"bench.aload failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
    d = json.loads(line[len(MARK) :])
    return LoadResult("asyncio", d["requests"], d["seconds"], d["errors"], d["p50_ms"], d["p99_ms"],
                      d["mean_ms"])  # fmt: skip


@dataclass(frozen=True)
class SeqResult:
    requests: int
    errors: int
    p50_ms: float
    p99_ms: float
    mean_ms: float


def sequential(port: int, path: str, headers: dict[str, str], *, count: int, max_seconds: float) -> SeqResult:
    """`count` requests one after another on one keep-alive connection (bounded by `max_seconds`)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
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
            if resp.status == 200:
                times.append(elapsed)
            else:
                errors += 1
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


def warm_up(url: str, *, method: str = "GET", body: str = "", auth: str = "", seconds: float = 3.0,
            concurrency: int = 32, tool: str = "auto") -> None:  # fmt: skip
    run_load(url, method=method, body=body, auth=auth, concurrency=concurrency, duration=seconds,
             max_requests=50_000, tool=tool)  # fmt: skip
