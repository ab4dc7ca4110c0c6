"""Fallback load generator when wrk is not installed: asyncio streams speaking HTTP/1.1 keep-alive, in
its own process (httpx's per-request overhead made it the bottleneck at ~300 req/s on 2 cores).

`python -m bench.aload URL METHOD BODY AUTH CONCURRENCY SECONDS MAX_PER_CONNECTION` runs CONCURRENCY
closed-loop workers (each its own connection) until SECONDS pass or each worker has sent
MAX_PER_CONNECTION requests, then prints one `BENCHJSON {...}` line. Responses must carry a
Content-Length (uvicorn's do).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from urllib.parse import urlsplit

from bench.load import MARK, percentile


def build_request(url: str, method: str, body: str, auth: str) -> bytes:
    parts = urlsplit(url)
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    lines = [f"{method} {path} HTTP/1.1", f"Host: {parts.netloc}", "User-Agent: payoutkit-bench"]
    if auth:
        lines.append(f"Authorization: {auth}")
    data = body.encode()
    if data or method in {"POST", "PUT", "PATCH"}:
        lines += ["Content-Type: application/x-www-form-urlencoded", f"Content-Length: {len(data)}"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + data


async def read_response(reader: asyncio.StreamReader) -> int:
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


async def main(url: str, method: str, body: str, auth: str, concurrency: int, seconds: float,
               per_conn: int) -> dict[str, float]:  # fmt: skip
    parts = urlsplit(url)
    request = build_request(url, method, body, auth)
    latencies: list[float] = []
    errors = 0
    deadline = time.monotonic() + seconds

    async def worker() -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        try:
            for _ in range(per_conn):
                if time.monotonic() >= deadline:
                    return
                t0 = time.perf_counter()
                writer.write(request)
                status = await asyncio.wait_for(read_response(reader), 10)
                latencies.append(time.perf_counter() - t0)
                errors += status >= 400
        except (OSError, asyncio.IncompleteReadError, TimeoutError):
            errors += 1
        finally:
            writer.close()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - start
    return {
        "requests": len(latencies), "seconds": elapsed, "errors": errors,
        "p50_ms": percentile(latencies, 50) * 1000, "p99_ms": percentile(latencies, 99) * 1000,
        "mean_ms": sum(latencies) / len(latencies) * 1000 if latencies else 0.0,
    }  # fmt: skip


if __name__ == "__main__":
    url, method, body, auth, conc, secs, per = sys.argv[1:8]
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    result = asyncio.run(main(url, method, body, auth, int(conc), float(secs), int(per)))
    print(MARK + json.dumps(result), flush=True)
