"""CPU time per request, by process, during a throughput run (Linux /proc): the web server's
workers, PostgreSQL, Redis and the load generator. Throughput on a shared two-core machine is
bounded by the CPU every process spends on a request, so this says where a figure's time goes
and which part of a gap to its baseline is the application's (bench/RESULTS.md)."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

_PROC = Path("/proc")
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def available() -> bool:
    return (_PROC / "self" / "stat").exists()


def _stat(pid: str) -> tuple[str, int, float] | None:
    """(command, parent pid, user + system seconds) of a process, None once it is gone."""
    try:
        text = (_PROC / pid / "stat").read_text()
    except OSError:
        return None
    name = text[text.index("(") + 1 : text.rindex(")")]
    fields = text[text.rindex(")") + 2 :].split()
    return name, int(fields[1]), (int(fields[11]) + int(fields[12])) / _TICKS


@dataclass
class Sample:
    """CPU seconds so far of each process of a part, by pid, and the load generator's."""

    parts: dict[str, dict[int, float]]
    load: float  # this process's waited-for children (wrk)


def sample(server_pid: int) -> Sample:
    parts: dict[str, dict[int, float]] = {"web workers": {}, "PostgreSQL": {}, "Redis": {}}
    for entry in _PROC.iterdir():
        if not entry.name.isdigit():
            continue
        found = _stat(entry.name)
        if found is None:
            continue
        name, parent, seconds = found
        if parent == server_pid:  # the server's workers (the arbiter itself idles)
            parts["web workers"][int(entry.name)] = seconds
        elif name.startswith("postgres"):
            parts["PostgreSQL"][int(entry.name)] = seconds
        elif name.startswith("redis-server"):
            parts["Redis"][int(entry.name)] = seconds
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return Sample(parts, children.ru_utime + children.ru_stime)


def per_request(before: Sample, after: Sample, requests: int) -> dict[str, float]:
    """Milliseconds of CPU per request in each part between two samples: what each process
    alive at the end spent since the first (from its start, if it started in between); a
    process that ended in between (a closed connection's backend) is left out, so a part may
    be a little under."""
    if requests <= 0:
        return {}
    spent = {
        part: sum(seconds - before.parts[part].get(pid, 0.0) for pid, seconds in pids.items())
        for part, pids in after.parts.items()
    }
    spent["load generator"] = after.load - before.load
    return {name: round(1000 * seconds / requests, 2) for name, seconds in spent.items()}


def describe(cpu: dict[str, float]) -> str:
    """'web workers 6.70, PostgreSQL 3.11, … ms CPU per request (total 10.3 without the load
    generator)'."""
    if not cpu:
        return "CPU per request not measured"
    server = sum(v for k, v in cpu.items() if k != "load generator")
    parts = ", ".join(f"{k} {v:.2f}" for k, v in cpu.items())
    return f"ms CPU per request: {parts} (the service's total {server:.2f})"
