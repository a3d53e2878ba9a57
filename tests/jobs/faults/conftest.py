from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.jobs.faults.harness import TABLE_HEADER, Row, Servers

# 1,000 in CI; `make drill` runs 10,000.
ITEMS = int(os.environ.get("TERMS_FAULT_ITEMS", "1000"))
ROWS: list[Row] = []


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """A PostgreSQL and a Redis of the drill's own, on free ports in a temporary folder."""
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is required for the fault drills (apt-get install redis-server)")
    root = Path(tempfile.mkdtemp(prefix="terms-fault-"))
    root.chmod(0o755)  # the postgres user runs the server inside it
    started = Servers.start(root)
    try:
        yield started
    finally:
        started.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def drill(servers: Servers) -> Servers:
    servers.reset()
    servers.seed(ITEMS)
    return servers


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # type: ignore[no-untyped-def]
    if not ROWS:
        return
    table = "\n".join([f"Fault drill, {ITEMS} renewal notices per fault", TABLE_HEADER])
    table += "\n" + "\n".join(row.line() for row in ROWS)
    terminalreporter.write_sep("-", "fault table")
    terminalreporter.write_line(table)
    out = Path(config.rootpath) / "var"
    out.mkdir(exist_ok=True)
    (out / f"fault-table-{ITEMS}.md").write_text(table + "\n", encoding="utf-8")
