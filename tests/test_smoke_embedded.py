"""The path a newcomer takes first: `make run`'s embedded default must keep working.

Starts the service as scripts/run.sh does (SQLite, filesystem broker, one worker running
beat), checks that pages and the API answer and that beat's heartbeat goes through the
worker into the database, then stops everything.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT

pytestmark = pytest.mark.smoke


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, *, key: str | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url)  # noqa: S310 -- loopback only
    if key is not None:
        request.add_header("Authorization", f"Api-Key {key}")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:  # noqa: S310 -- loopback only
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(0.5)
    pytest.fail(f"timed out after {timeout}s waiting for {what}")


@pytest.fixture
def embedded_env(tmp_path: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE"}
        and not k.startswith("TERMS_TEST")
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "terms_site.settings",
            "DJANGO_DEBUG": "true",
            "TERMS_VAR_DIR": str(tmp_path / "var"),
            "TERMS_HEARTBEAT_SECONDS": "2",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def test_embedded_default_serves_pages_and_runs_beat_through_the_worker(
    embedded_env, tmp_path
) -> None:
    python = sys.executable
    celery = str(Path(python).with_name("celery"))
    run = lambda *args: subprocess.run(  # noqa: E731
        [python, "manage.py", *args],
        cwd=REPO_ROOT,
        env=embedded_env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    run("migrate", "--no-input", "-v0")
    demo = run("loaddemo")
    assert b"Logins" in demo.stdout

    port = _free_port()
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [
            celery,
            "-A",
            "terms_site",
            "worker",
            "-B",
            "--pool=solo",
            "-l",
            "info",
            "-s",
            str(tmp_path / "beat-schedule"),
        ],
        cwd=REPO_ROOT,
        env=embedded_env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    web = subprocess.Popen(
        [python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
        cwd=REPO_ROOT,
        env=embedded_env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def _up():
            try:
                return _get(f"{base}/healthz")[0] == 200
            except OSError:
                return False

        _wait_for(_up, 60, "the web server")
        assert _get(f"{base}/admin/login/")[0] == 200
        assert _get(f"{base}/api/v1/")[0] == 200

        db_path = tmp_path / "var" / "db.sqlite3"

        def _beat_seen():
            with sqlite3.connect(db_path) as conn:
                rows = conn.execute("SELECT name FROM core_heartbeat").fetchall()
            return {"beat", "worker"} <= {name for (name,) in rows}

        _wait_for(_beat_seen, 90, "beat's heartbeat task to run on the worker")
        # The ledger stays append-only after every migration (SQLite drops a table's triggers
        # when a migration copies the table to alter a column).
        with sqlite3.connect(db_path) as conn:
            triggers = conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger'"
                " AND tbl_name = 'agreements_consentrecord'"
            ).fetchall()
        assert {name for (name,) in triggers} == {"ledger_no_update", "ledger_no_delete"}
        status, body = _get(f"{base}/readyz")
        assert status == 200, body

        # The products' status check runs hand-written SQL: its portable form must serve here.
        product_key = next(
            line.split()[-1]
            for line in demo.stdout.decode().splitlines()
            if "Optimal Biz (product)" in line
        )
        with sqlite3.connect(db_path) as conn:
            (tenant_id,) = conn.execute(
                "SELECT c.tenant_id FROM agreements_contract c"
                " JOIN agreements_product p ON p.id = c.product_id"
                " WHERE p.code = 'optimal-biz' AND c.status = 'active' ORDER BY c.id LIMIT 1"
            ).fetchone()
        status, body = _get(f"{base}/api/v1/status/{tenant_id}/", key=product_key)
        assert status == 200, body[:2000]
        assert json.loads(body)["allowed"] is True
    finally:
        for proc in (web, worker):
            proc.send_signal(signal.SIGTERM)
        for proc in (web, worker):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
        log.close()
    assert b"beat: Starting" in (tmp_path / "worker.log").read_bytes()
