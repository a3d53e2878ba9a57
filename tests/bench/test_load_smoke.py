"""CI smoke of `make load`: the whole service (gunicorn, worker, beat) under locust's mix for
a few seconds at a tiny size, then verify_ledger and reconcile, in a throwaway database."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.bench.harness import run_module

pytestmark = pytest.mark.integration

ENDPOINTS = (
    "api: consent answer",
    "api: consent status",
    "api: list tenants",
    "api: status check",
    "console: dashboard",
    "portal: answer (+ receipt)",
    "portal: home",
    "portal: review",
)


def test_load_smoke_has_no_errors_and_a_clean_ledger(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    run_module(
        "bench.load",
        *("--tenants", "200", "--partners", "4", "--users", "6", "--seconds", "10"),
        *("--settle", "60", "--out", str(out)),
        timeout=300,
    )
    text = out.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| ([a-z]+: [^|]+?) \| ([\d,]+) \| 0 \|", text, re.M))
    assert set(rows) <= set(ENDPOINTS)
    assert "api: status check" in rows  # the most frequent request always ran
    assert "verify_ledger: ledger OK" in text
    assert "reconcile: clean" in text
    assert "Result: pass." in text
