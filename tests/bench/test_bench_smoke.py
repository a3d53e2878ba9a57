"""CI smoke of `make bench`: every benchmark at a tiny size, in its own throwaway database.

Asserts that the harness runs end to end and reports one row per benchmark with a figure and
a verdict; the figures themselves are not checked (a shared CI machine times nothing useful).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.bench.harness import run_module

pytestmark = pytest.mark.integration

TINY = [
    "--tenants", "300",
    "--partners", "5",
    "--versions", "3",
    "--ledger-rows", "3000",
    "--contracts", "600",
    "--portal-users", "20",
    "--duration", "1",
    "--warmup", "0.3",
    "--rounds", "1",
    "--repeat", "1",
    "--connections", "4",
    "--load-tool", "python",
    "--post-limit", "0",
    "--fast-commit",
]  # fmt: skip


def test_bench_smoke_reports_one_row_per_benchmark(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    run_module("bench.run", *TINY, "--out", str(out), timeout=240)
    text = out.read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\d) \| (.+?) \| (.+?) \| .+ \| (pass|MISSED|—) \|$", text, re.M)
    assert sorted(number for number, *_ in rows) == [str(n) for n in range(1, 10)]
    for number, _what, figure, _verdict in rows:
        assert not figure.startswith("0 req/s"), (number, figure)
    for expected in ("Machine:", "PostgreSQL", "python -m bench.run", "shares the two cores"):
        assert expected in text
    assert "| 2 |" in text
    assert "warm" in text.split("| 2 |", 1)[1].split("\n", 1)[0]
    assert "; load " in text  # each row records the load at its start
    # Where a throughput figure's time goes: CPU per request by process, both sides and the
    # answer's floor (bench/cpu.py).
    details = text.split("Details:", 1)[1]
    for number in ("1", "2", "3"):
        line = next(x for x in details.splitlines() if x.startswith(f"- **{number}**"))
        assert line.count("ms CPU per request: web workers") == (3 if number == "2" else 2), line
        assert "ratio per round" in line, line  # the ratio: the median of the rounds' ratios
        # The answer beside its floor in process, request by request: immune to drift.
        assert ("interleaved request by request" in line) == (number == "2"), line

    # The scaled run: its own section, the per-request and per-tenant figures against the run
    # above (recorded beside the results file), every job's peak memory.
    run_module("bench.run", *TINY, "--scale", "2", "--out", str(out), timeout=240)
    both = out.read_text(encoding="utf-8")
    assert text.split("<!-- bench:end -->")[0] in both  # the unscaled section is kept
    section = both.split("<!-- scale:start -->", 1)[1].split("<!-- scale:end -->", 1)[0]
    assert "600 tenants" in section.replace(",", "")
    tens = re.findall(r"^\| 10 \| (.+?) \|", section, re.M)
    assert any("#2 consent answer per request" in what for what in tens), tens
    assert any("#3 status check per request" in what for what in tens), tens
    assert any("#4 apply-effective per tenant" in what for what in tens), tens
    assert any("#9 notice posting per tenant" in what for what in tens), tens
    assert any("peak memory of every job" in what for what in tens), tens
