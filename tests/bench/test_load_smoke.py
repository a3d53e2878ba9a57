"""CI smoke of `make load`: the whole service (gunicorn, worker, beat) under locust's mix for
a few seconds at a tiny size, then verify_ledger and reconcile, in a throwaway database."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
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
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.load",
            *("--tenants", "200", "--partners", "4", "--users", "6", "--seconds", "10"),
            *("--settle", "60", "--out", str(out)),
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    text = out.read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| ([a-z]+: [^|]+?) \| ([\d,]+) \| 0 \|", text, re.M))
    assert set(rows) <= set(ENDPOINTS)
    assert "api: status check" in rows  # the most frequent request always ran
    assert "verify_ledger: ledger OK" in text
    assert "reconcile: clean" in text
    assert "Result: pass." in text
