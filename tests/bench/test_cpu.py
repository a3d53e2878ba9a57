"""CPU per request by process (bench/cpu.py), as the throughput rows report it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from bench import cpu

pytestmark = pytest.mark.skipif(not cpu.available(), reason="needs Linux /proc")


def test_a_workers_cpu_is_counted_as_the_web_servers() -> None:
    """A child of this process stands for a server's worker: the CPU it burns between two
    samples is the web part, per request."""
    worker = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\nt=0\nfor i in range(30_000_000): t+=i\nsys.stdin.read()",
        ],
        stdin=subprocess.PIPE,
    )
    try:
        before = cpu.sample(os.getpid())
        time.sleep(1.5)  # the loop takes about a second of CPU
        after = cpu.sample(os.getpid())
    finally:
        worker.communicate(b"")
    spent = cpu.per_request(before, after, requests=100)
    assert spent["web workers"] > 2.0  # > 0.2 s of CPU over 100 requests
    assert set(spent) == {"web workers", "PostgreSQL", "Redis", "load generator"}
    # The load generator is this process's waited-for children: the worker, once reaped.
    assert cpu.per_request(after, cpu.sample(os.getpid()), requests=1)["load generator"] > 200


def test_described_with_the_services_total() -> None:
    text = cpu.describe(
        {"web workers": 6.7, "PostgreSQL": 3.1, "Redis": 0.3, "load generator": 1.0}
    )
    assert text == (
        "ms CPU per request: web workers 6.70, PostgreSQL 3.10, Redis 0.30, load generator 1.00 "
        "(the service's total 10.10)"
    )
    assert cpu.describe({}) == "CPU per request not measured"


def test_a_process_that_ended_between_the_samples_counts_nothing_not_less() -> None:
    """A backend whose connection closed during the run: before, every part was a sum over
    the processes alive at each sample, and such a run's PostgreSQL part came out negative."""
    worker = subprocess.Popen(
        [sys.executable, "-c", "t=0\nfor i in range(20_000_000): t+=i"],
    )
    time.sleep(0.8)
    before = cpu.sample(os.getpid())
    worker.wait()
    after = cpu.sample(os.getpid())
    assert cpu.per_request(before, after, requests=10)["web workers"] >= 0
