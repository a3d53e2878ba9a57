"""The read replica (core/replica.py, docs/operations.md "Scale") against a real streaming
replica: a throwaway primary on a free port, a replica made with `pg_basebackup -R` before the
schema exists (so schema and data arrive by streaming), the project migrated and the API test
world written through the primary. The chosen views (status check, public pages, console
dashboard) then run their reads on the replica, everything else on the primary; writes are
refused by the replica and never sent there; a lagging or stopped replica sends the chosen
views back to the primary, logged once.

The Django side runs in subprocesses (tests/ops/replica_probe.py) with DATABASE_URL and
DATABASE_REPLICA_URL set, so the real settings build the `replica` alias and the router.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.jobs.faults.harness import (
    Postgres,
    _as_postgres,
    free_port,
    pg_bindir,
    run,
    wait_for,
)

pytestmark = [pytest.mark.integration, pytest.mark.fault]

REPO = Path(__file__).resolve().parents[2]


def _bin_missing() -> str | None:
    for name in ("initdb", "pg_ctl", "pg_basebackup", "postgres"):
        if not (pg_bindir() / name).exists():
            return f"PostgreSQL server binaries not found ({pg_bindir() / name})"
    return None


@dataclass
class Replica:
    root: Path
    primary: Postgres
    port: int

    @property
    def data(self) -> Path:
        return self.root / "replica"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/terms_fault"

    def create(self) -> None:
        run(
            _as_postgres(
                [
                    str(pg_bindir() / "pg_basebackup"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.primary.port),
                    "-U",
                    "postgres",
                    "-D",
                    str(self.data),
                    "-R",  # standby.signal and primary_conninfo: a streaming replica
                    "-X",
                    "stream",
                    "--no-sync",
                ]
            )
        )

    def _ctl(self, *args: str) -> None:
        cmd = [
            str(pg_bindir() / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "replica.log"),
        ]
        run(_as_postgres([*cmd, *args]))

    def start(self) -> None:
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c hot_standby=on"
        )
        self._ctl("-w", "-o", options, "start")

    def stop(self) -> None:
        self._ctl("-w", "-m", "fast", "stop")

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        probe = Postgres(self.root, port=self.port)
        return probe.query(sql)


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[Postgres, Replica]]:
    missing = _bin_missing()
    if missing:
        pytest.skip(missing)
    root = Path(tempfile.mkdtemp(prefix="terms-replica-"))
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    primary = Postgres(root / "primary")
    replica = Replica(root, primary, free_port())
    started: list[Any] = []
    try:
        primary.init()  # wal_level=replica and max_wal_senders=10 are PostgreSQL 15's defaults
        started.append(primary)
        assert primary.query("SHOW wal_level") == [("replica",)]
        replica.create()
        replica.start()
        started.append(replica)
        yield primary, replica
    finally:
        for server in reversed(started):
            with contextlib.suppress(RuntimeError):  # the test stopped it already
                server.stop()
        subprocess.run(["rm", "-rf", str(root)], check=False)


def _env(primary: Postgres, replica: Replica, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "TERMS_", "DJANGO_", "REDIS_", "CELERY_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="terms_site.settings",
        DJANGO_DEBUG="true",
        DATABASE_URL=primary.url,
        DATABASE_REPLICA_URL=replica.url,
        TERMS_VAR_DIR=str(replica.root / "var"),
        TERMS_LOG_FORMAT="console",
        DJANGO_ALLOWED_HOSTS="testserver",
        TERMS_REPLICA_CHECK_SECONDS="0",  # measure the lag for every block: no timing games
        PYTHONPATH=str(REPO),
    )
    env.update(extra)
    return env


def _probe(env: dict[str, str], phase: str, world: dict[str, Any] | None = None) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "tests.ops.replica_probe", phase],
        input=json.dumps(world or {}),
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _replayed(primary: Postgres, replica: Replica) -> bool:
    (lsn,) = primary.query("SELECT pg_current_wal_lsn()::text")[0]
    return replica.query(f"SELECT pg_last_wal_replay_lsn() >= '{lsn}'::pg_lsn")[0][0]


@pytest.fixture(scope="module")
def world(cluster: tuple[Postgres, Replica]) -> dict[str, Any]:
    primary, replica = cluster
    env = _env(primary, replica)
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=env,
        timeout=600,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    seeded = _probe(env, "seed")
    wait_for(lambda: _replayed(primary, replica), timeout=60, what="replica replay")
    # The schema and the rows reached the replica by streaming (it was copied before both).
    tenant = int(seeded["tenant"])
    assert replica.query(f"SELECT count(*) FROM tenants_tenant WHERE id = {tenant}") == [(1,)]  # noqa: S608 -- an int
    return seeded


def test_chosen_views_read_from_the_replica_and_writes_never_go_there(cluster, world) -> None:
    primary, replica = cluster
    result = _probe(_env(primary, replica), "reads", world)
    views = result["views"]
    assert {name: v["status"] for name, v in views.items()} == dict.fromkeys(views, 200)

    # The status check: one statement (contracts and documents) on the replica, also on the
    # key's first use in a minute, whose last-used stamp is written after the response: the
    # key's lookup and that stamp on the primary.
    assert views["status_first"]["counts"]["replica"] == 1
    assert views["status_first"]["counts"]["default"] == 2
    assert views["status"]["body"]["allowed"] is True
    assert views["status"]["counts"]["replica"] == 1
    assert views["status"]["body"] == views["status_first"]["body"]
    for name in ("terms_index", "notices", "dashboard", "dashboard_drill"):
        counts = views[name]["counts"]
        assert counts.get("replica", 0) >= 1, (name, counts)
        assert counts["replica"] > counts.get("default", 0) or name.startswith("dashboard"), (
            name,
            counts,
        )
    # Outside the chosen views nothing reads the replica, not even the lag check.
    assert views["documents_api_not_chosen"]["counts"].get("replica", 0) == 0
    assert views["documents_api_not_chosen"]["counts"].get("replica_lag_check", 0) == 0

    markers = result["markers"]
    assert markers["outside_block"] is False  # the primary
    assert (markers["block_alias"], markers["inside_block"]) == ("replica", True)
    assert markers["write_alias"] == "default"
    assert markers["auth_alias"] == "default"
    assert markers["write_counts"] == {"default": 1}
    assert markers["after_write_alias"] == "default"  # read-your-writes
    assert "read-only transaction" in markers["replica_write"], markers["replica_write"]
    assert result["log"] == []


def test_a_lagging_replica_is_not_read_and_unseen_rows_are_read_on_the_primary(
    cluster, world
) -> None:
    primary, replica = cluster
    replica.query("SELECT pg_wal_replay_pause()")
    try:
        # A tenant the replica does not have yet: 404 there, so the status check asks the
        # primary (the lag limit is set high here: only the re-read is under test).
        fresh = _probe(
            _env(primary, replica, TERMS_REPLICA_MAX_LAG_SECONDS="3600"), "fresh_tenant", world
        )
        status = fresh["views"]["status"]
        assert status["status"] == 200, status
        assert status["counts"]["replica"] >= 1
        assert status["counts"]["default"] >= 2  # the key, then the statement again

        lagging = _probe(
            _env(primary, replica, TERMS_REPLICA_MAX_LAG_SECONDS="1"), "lagging", world
        )
        for name in ("dashboard", "status"):
            view = lagging["views"][name]
            assert view["status"] == 200
            assert view["counts"].get("replica", 0) == 0, (name, view["counts"])
            assert view["counts"].get("default", 0) >= 1
        assert len(lagging["log"]) == 1, lagging["log"]
        assert "lagging" in lagging["log"][0]
    finally:
        replica.query("SELECT pg_wal_replay_resume()")
    wait_for(lambda: _replayed(primary, replica), timeout=60, what="replica replay")


def test_a_stopped_replica_leaves_the_status_check_answering_from_the_primary(
    cluster, world
) -> None:
    primary, replica = cluster
    replica.stop()
    result = _probe(_env(primary, replica), "down", world)
    views = result["views"]
    assert [v["status"] for v in views.values()] == [200, 200, 200, 200]
    assert all(v["counts"].get("replica", 0) == 0 for v in views.values())
    assert views["status"]["body"]["allowed"] is True
    # Four requests, one warning: logged once per interval, not per request.
    unusable = [line for line in result["log"] if line.startswith("db.replica_unusable")]
    assert len(unusable) == 1, result["log"]
    assert "OperationalError" in unusable[0]
