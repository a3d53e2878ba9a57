"""HTTP load generators for the throughput benchmarks: wrk (preferred) or a Python fallback.

Both take a list of prepared requests and spread them over the connections so that no two
connections send the same request in one run (a POST that writes a row per tenant stays a
real write). Both report requests, errors, req/s and latency percentiles; they run on the
same two cores as the server, which every figure states.
"""

from __future__ import annotations

import http.client
import json
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Req:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None


@dataclass
class LoadResult:
    tool: str
    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    # ms of CPU per request by process (bench/cpu.py), when the run measured it
    cpu_ms: dict[str, float] = field(default_factory=dict)
    # req/s of each round, in round order, when this is the median of alternating rounds
    rounds: tuple[float, ...] = ()

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_available() -> bool:
    return shutil.which("wrk") is not None


def _lua_string(value: str) -> str:
    """A Lua long-bracket literal: taken verbatim, whatever the content."""
    level = 0
    while f"]{'=' * level}]" in value:
        level += 1
    eq = "=" * level
    return f"[{eq}[{value}]{eq}]"


LUA_CHUNK = 2000  # entries per Lua function: a function may hold at most 65,536 constants


def _lua_script(reqs: list[Req]) -> str:
    lines = ["local reqs = {}"]
    for first in range(0, len(reqs), LUA_CHUNK):
        lines.append("do local function fill()")
        for n, req in enumerate(reqs[first : first + LUA_CHUNK], start=first + 1):
            headers = ", ".join(
                f"[ {_lua_string(k)} ] = {_lua_string(v)}" for k, v in sorted(req.headers.items())
            )
            body = _lua_string(req.body) if req.body is not None else "nil"
            lines.append(
                f"reqs[{n}] = {{{_lua_string(req.method)}, {_lua_string(req.path)}, "
                f"{{{headers}}}, {body}}}"
            )
        lines.append("end fill() end")
    lines.append(
        """
local counter = 0
function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
end
function init(args)
  nthreads = tonumber(args[1])
  built = {}
  for k = tid + 1, #reqs, nthreads do
    local r = reqs[k]
    local headers = {}
    for name, value in pairs(r[3]) do headers[name] = value end
    built[#built + 1] = wrk.format(r[1], r[2], headers, r[4])
  end
  if #built == 0 then
    local r = reqs[1]
    built[1] = wrk.format(r[1], r[2], r[3], r[4])
  end
  i = 0
end
function request()
  i = i + 1
  return built[((i - 1) % #built) + 1]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"connect":%d,"read":%d,"write":%d,'
    .. '"status":%d,"timeout":%d,"p50":%d,"p95":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
"""
    )
    return "\n".join(lines)


def run_wrk(
    base_url: str, reqs: list[Req], *, connections: int, seconds: float, threads: int = 2
) -> LoadResult:
    threads = max(1, min(threads, connections))
    with tempfile.TemporaryDirectory(prefix="bench-wrk-") as tmp:
        script = Path(tmp) / "requests.lua"
        script.write_text(_lua_script(reqs), encoding="utf-8")
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{max(1, round(seconds))}s",
            "--timeout",
            "30s",
            "-s",
            str(script),
            base_url,
            "--",
            str(threads),
        ]
        out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 120)
    for line in out.stdout.splitlines():
        if line.startswith("WRKJSON "):
            data = json.loads(line.removeprefix("WRKJSON "))
            errors = sum(data[k] for k in ("connect", "read", "write", "status", "timeout"))
            return LoadResult(
                tool="wrk",
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                errors=errors,
                p50_ms=data["p50"] / 1000,
                p95_ms=data["p95"] / 1000,
                p99_ms=data["p99"] / 1000,
                statuses={"non_2xx_3xx": data["status"]},
            )
    raise RuntimeError(f"wrk gave no summary: {out.stdout[-500:]} {out.stderr[-500:]}")


def run_python(base_url: str, reqs: list[Req], *, connections: int, seconds: float) -> LoadResult:
    """Threads with one keep-alive connection each; request k goes to connection k % C."""
    host_port = base_url.split("://", 1)[1].rstrip("/")
    host, _, port = host_port.partition(":")
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    errors = 0
    lock = threading.Lock()
    start_barrier = threading.Barrier(connections + 1)
    deadline = [0.0]

    def worker(index: int) -> None:
        nonlocal errors
        mine = reqs[index::connections] or reqs[:1]
        conn = http.client.HTTPConnection(host, int(port or 80), timeout=30)
        local_lat: list[float] = []
        local_status: Counter[str] = Counter()
        local_errors = 0
        start_barrier.wait()
        n = 0
        while time.perf_counter() < deadline[0]:
            req = mine[n % len(mine)]
            n += 1
            began = time.perf_counter()
            try:
                body = req.body.encode("utf-8") if req.body is not None else None
                conn.request(req.method, req.path, body=body, headers=req.headers)
                response = conn.getresponse()
                response.read()
                local_status[str(response.status)] += 1
                if response.status >= 400:
                    local_errors += 1
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException):
                local_errors += 1
                local_status["exception"] += 1
                conn.close()
                conn = http.client.HTTPConnection(host, int(port or 80), timeout=30)
            local_lat.append(time.perf_counter() - began)
        conn.close()
        with lock:
            latencies.extend(local_lat)
            statuses.update(local_status)
            errors += local_errors

    workers = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(connections)]
    for thread in workers:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + seconds
    start_barrier.wait()
    for thread in workers:
        thread.join(timeout=seconds + 60)
    elapsed = time.perf_counter() - began
    ordered = sorted(latencies) or [0.0]

    def pct(p: float) -> float:
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    return LoadResult(
        tool="python",
        requests=len(latencies),
        seconds=elapsed,
        errors=errors,
        p50_ms=round(statistics.median(ordered) * 1000, 2),
        p95_ms=round(pct(95), 2),
        p99_ms=round(pct(99), 2),
        statuses=dict(statuses),
    )


def run(
    base_url: str,
    reqs: list[Req],
    *,
    connections: int,
    seconds: float,
    tool: str = "auto",
) -> LoadResult:
    if tool == "wrk" or (tool == "auto" and wrk_available()):
        return run_wrk(base_url, reqs, connections=connections, seconds=seconds)
    return run_python(base_url, reqs, connections=connections, seconds=seconds)
