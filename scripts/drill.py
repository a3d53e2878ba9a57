"""The fault drills at full size: `make drill` (10,000 renewal notices per fault by default).

Runs tests/jobs/faults against a real Celery worker on a throwaway PostgreSQL and Redis that
the drill starts itself, then prints the fault table (also written to var/fault-table-N.md).
`--items N` (or TERMS_FAULT_ITEMS) sets the batch; CI runs the same drills with 1,000.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--items", type=int, default=int(os.environ.get("TERMS_FAULT_ITEMS", "10000"))
    )
    parser.add_argument("pytest_args", nargs="*", help="extra pytest arguments, e.g. -k redis")
    args = parser.parse_args()
    # The worker SIGKILLs fire at about 10 %, 50 % and 90 % of the batch (see test_faults.py).
    env = {
        **os.environ,
        "TERMS_FAULT_ITEMS": str(args.items),
        "TERMS_FAULT_KILL_PERCENTS": os.environ.get("TERMS_FAULT_KILL_PERCENTS", "5,25,45"),
    }
    command = [
        sys.executable,
        "-m",
        "pytest",
        "tests/jobs/faults",
        "-m",
        "fault",
        "-q",
        *args.pytest_args,
    ]
    return subprocess.call(command, cwd=ROOT, env=env)  # noqa: S603 -- our own pytest, fixed arguments


if __name__ == "__main__":
    sys.exit(main())
