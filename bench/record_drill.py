"""Run `make drill` (the jobs engine's fault drills) and copy its fault table into the drill
section of bench/RESULTS.md, with the machine, the command and the time it took.

    .venv/bin/python -m bench.record_drill [--items 10000]

The drill itself (scripts/drill.py, tests/jobs/faults) writes its table to
var/fault-table-<items>.md; this only records it next to the benchmark and load figures.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from bench.run import REPO, RESULTS, machine, write_results

DRILL_START, DRILL_END = "<!-- drill:start -->", "<!-- drill:end -->"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.record_drill", description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    info = machine()
    started_at = datetime.now(UTC)
    started = time.perf_counter()
    command = ["make", "drill", f"TERMS_FAULT_ITEMS={args.items}"]
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
    minutes = (time.perf_counter() - started) / 60
    (REPO / "var").mkdir(exist_ok=True)
    (REPO / "var" / "drill-output.log").write_text(result.stdout + result.stderr)
    tables = sorted(
        (
            p
            for p in (REPO / "var").glob("fault-table-*.md")
            if p.stat().st_mtime >= started_at.timestamp() - 1
        ),
        key=lambda p: p.stat().st_mtime,
    )
    table = tables[-1].read_text(encoding="utf-8").strip() if tables else ""
    tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-5:])
    section = "\n".join(
        [
            DRILL_START,
            "## Fault drill (`make drill`)",
            "",
            f"Run {started_at:%Y-%m-%d %H:%M} UTC, {minutes:.1f} min, commit `{info['commit']}`, "
            f"on {info['cpu']} ({info['cores']} cores); load average at the start "
            f"{info['load_average']}. Command: `{' '.join(command)}` (scripts/drill.py: "
            f"tests/jobs/faults against a real Celery worker on a throwaway PostgreSQL and "
            f"Redis). Exit code {result.returncode}.",
            "",
            table or f"(no fault table was written; last lines of the output:)\n\n```\n{tail}\n```",
            "",
            DRILL_END,
        ]
    )
    write_results(section + "\n", args.out, (DRILL_START, DRILL_END))
    print(section)
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
