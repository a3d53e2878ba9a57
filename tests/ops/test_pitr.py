"""Point-in-time recovery with pgBackRest, on a PostgreSQL cluster of the test's own
(docs/operations.md, "Point-in-time recovery").

The cluster archives its WAL to a pgBackRest repository in the same temporary folder, gets the
project's schema by `manage.py migrate`, a full backup, then answers through the service: A,
a signed checkpoint, the target time T, B, a second checkpoint. The cluster is stopped, its
data folder set aside, and pgBackRest restores the backup and replays the archived WAL up to
T. A must be there and B not; `verify_ledger` must pass with the checkpoint signed before T,
and the one signed after T must fail (it names B's head, which the restore took away).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from prometheus_client.parser import text_string_to_metric_families

from agreements.ledger.keys import private_b64
from tests.jobs.faults.harness import _as_postgres, free_port, run, wait_for

PG_BINDIR = Path("/usr/lib/postgresql/15/bin")
PGBACKREST = shutil.which("pgbackrest")
STANZA = "terms"
REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "pgbackrest"
# Ledger rows besides the two answers: enough that the replay and verify_ledger have work.
SEED_TENANTS, SEED_ROWS = 100, 100

pytestmark = [
    pytest.mark.fault,
    pytest.mark.skipif(
        PGBACKREST is None or not (PG_BINDIR / "initdb").exists(),
        reason="needs pgbackrest and the PostgreSQL 15 server binaries "
        "(apt-get install pgbackrest postgresql-15; .ci/run installs them)",
    ),
]


@dataclass
class Cluster:
    """A PostgreSQL 15 cluster whose archive_command pushes to a pgBackRest repository."""

    root: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "pg"

    @property
    def config(self) -> Path:
        return self.root / "pgbackrest.conf"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/terms"

    def init(self) -> None:
        for name in ("repo", "log", "lock", "spool"):
            (self.root / name).mkdir()
        self.config.write_text(_pgbackrest_conf(self))
        if os.geteuid() == 0:  # the server and pgBackRest run as postgres (_as_postgres)
            run(["chown", "-R", "postgres:postgres", str(self.root)])
        run(
            _as_postgres(
                [
                    str(PG_BINDIR / "initdb"),
                    *("-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8"),
                    "--locale=C",
                    "--no-sync",
                ]
            )
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                # The machine does not crash during the test; only the replay is exercised.
                "fsync = off\n"
            )
            conf.write(_archiving_conf(self))
        self.start()
        self.pgbackrest("stanza-create")
        self.query("CREATE DATABASE terms", database="postgres")

    def start(self) -> None:
        run(
            _as_postgres(
                [
                    str(PG_BINDIR / "pg_ctl"),
                    *("-D", str(self.data), "-l", str(self.root / "pg.log")),
                    "-w",
                    "start",
                ]
            )
        )

    def stop(self) -> None:
        run(_as_postgres([str(PG_BINDIR / "pg_ctl"), "-D", str(self.data), "-w", "stop"]))

    def pgbackrest(self, *args: str) -> str:
        command = [str(PGBACKREST), f"--config={self.config}", f"--stanza={STANZA}", *args]
        return run(_as_postgres(command)).stdout

    def query(
        self, sql: str, params: tuple[object, ...] = (), *, database: str = "terms"
    ) -> list[tuple]:
        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user="postgres", dbname=database)
        conn.autocommit = True
        try:
            with conn.cursor() as cursor:
                cursor.execute(sql, params)
                return cursor.fetchall() if cursor.description else []
        finally:
            conn.close()


def _pgbackrest_conf(cluster: Cluster) -> str:
    """deploy/pgbackrest/pgbackrest.conf with its paths in the test's folder."""
    replace = {
        "repo1-path": cluster.root / "repo",
        "spool-path": cluster.root / "spool",
        "log-path": cluster.root / "log",
        "pg1-path": cluster.data,
        "repo1-cipher-pass": secrets.token_urlsafe(32),
    }
    lines = []
    for line in (DEPLOY / "pgbackrest.conf").read_text().splitlines():
        key = line.partition("=")[0]
        if key in replace:
            line = f"{key}={replace.pop(key)}"
        lines.append(line)
        if line == f"[{STANZA}]":
            lines += [f"pg1-port={cluster.port}", f"pg1-socket-path={cluster.root}"]
        if line == "[global]":
            lines.append(f"lock-path={cluster.root / 'lock'}")
    assert not replace, f"deploy/pgbackrest/pgbackrest.conf no longer sets {sorted(replace)}"
    return "\n".join(lines) + "\n"


def _archiving_conf(cluster: Cluster) -> str:
    """deploy/pgbackrest/postgresql-archiving.conf, pgBackRest called with the test's config."""
    shipped = (DEPLOY / "postgresql-archiving.conf").read_text()
    command = "archive_command = 'pgbackrest "
    assert command in shipped
    return shipped.replace(command, f"archive_command = '{PGBACKREST} --config={cluster.config} ")


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    root = Path(tempfile.mkdtemp(prefix="terms-pitr-"))
    root.chmod(0o755)
    made = Cluster(root)
    try:
        made.init()
        yield made
    finally:
        with contextlib.suppress(Exception):
            made.stop()
        shutil.rmtree(root, ignore_errors=True)


def _env(cluster: Cluster, key: str) -> dict[str, str]:
    """A production-like process on the throwaway cluster (debug only for the local paths)."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "TERMS_", "PYTEST", "DATABASE_URL", "REDIS_URL"))
        and name != "CELERY_BROKER_URL"
    }
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "terms_site.settings",
            "DJANGO_DEBUG": "true",
            "DATABASE_URL": cluster.url,
            "TERMS_VAR_DIR": str(cluster.root / "var"),
            "TERMS_LOG_FORMAT": "console",
            "TERMS_CHECKPOINT_KEY": key,
            # Checkpoints cover rows up to the moment they are signed (production waits 300 s
            # for answers still committing; here every writer has exited before).
            "TERMS_CHECKPOINT_SETTLE_SECONDS": "0",
        }
    )
    return env


def _python(env: dict[str, str], *args: str, check: bool = True) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{' '.join(args)} exited {done.returncode}:\n{done.stderr}")
    return done


def _server_now(cluster: Cluster) -> str:
    ((now,),) = cluster.query(
        "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00'"
    )
    return str(now)


def _backup_metrics(env: dict[str, str]) -> dict[str, float]:
    """terms_backup_last_success_timestamp_seconds per kind, as /metrics renders it."""
    rendered = _python(
        env,
        "-c",
        "import django; django.setup(); from terms_site.metrics import render_metrics; "
        "print(render_metrics().decode())",
    ).stdout
    return {
        sample.labels["kind"]: sample.value
        for family in text_string_to_metric_families(rendered)
        for sample in family.samples
        if sample.name == "terms_backup_last_success_timestamp_seconds"
    }


def test_pitr_restores_to_a_moment_between_two_answers_and_the_ledger_verifies(
    cluster: Cluster,
) -> None:
    key = private_b64(Ed25519PrivateKey.generate())
    env = _env(cluster, key)
    _python(env, "manage.py", "migrate", "--no-input", "-v", "0")
    _python(env, "-m", "tests.ops.pitr_writer", "seed", str(SEED_TENANTS), str(SEED_ROWS))
    cluster.pgbackrest("--type=full", "backup")

    # After the base backup, so only the archived WAL holds them.
    a = json.loads(_python(env, "-m", "tests.ops.pitr_writer", "answer", "accepted").stdout)
    before = cluster.root / "checkpoint-before.json"
    _python(env, "manage.py", "ledger_checkpoint", "--output", str(before))
    time.sleep(0.5)  # commit timestamps on either side of T differ by far more than a tick
    target = _server_now(cluster)
    time.sleep(0.5)
    b = json.loads(_python(env, "-m", "tests.ops.pitr_writer", "answer", "rejected").stdout)
    after = cluster.root / "checkpoint-after.json"
    _python(env, "manage.py", "ledger_checkpoint", "--output", str(after))
    assert (a["tenant_id"], a["seq"], b["seq"]) == (b["tenant_id"], 1, 2)
    # `check` switches to a new WAL segment and waits until it is archived: B is in the repo.
    checked_at = time.time()
    cluster.pgbackrest("check")
    (info,) = json.loads(cluster.pgbackrest("info", "--output=json"))
    (full,) = info["backup"]

    # What the backup timer runs after each backup (deploy/pgbackrest/), and what /metrics
    # then exports: the stop time of pgBackRest's newest backup, the last WAL archived.
    pgbackrest_env = {**env, "PGBACKREST_CONFIG": str(cluster.config)}
    pgbackrest_env["PGBACKREST_LOG_LEVEL_FILE"] = "off"
    recorded = _python(pgbackrest_env, "scripts/backup.py", "--record-pgbackrest")
    assert f"recorded pgBackRest backup {full['label']} (full)" in recorded.stdout
    ages = _backup_metrics(env)
    assert ages["pgbackrest"] == full["timestamp"]["stop"]
    assert checked_at - 1 <= ages["wal"] <= time.time()

    # The disaster: the cluster is gone. Its folder is set aside (an operator keeps it for
    # the investigation), and the restore writes into the configured, now empty, path.
    cluster.stop()
    cluster.data.rename(cluster.root / "pg.damaged")
    started = time.monotonic()
    cluster.pgbackrest("restore", "--type=time", f"--target={target}", "--target-action=promote")
    restored = time.monotonic()
    cluster.start()
    wait_for(
        lambda: cluster.query("SELECT NOT pg_is_in_recovery()")[0][0],
        timeout=60,
        what="the restored cluster to finish recovery and promote",
    )
    restore_seconds = time.monotonic() - started
    replay_seconds = time.monotonic() - restored

    rows = cluster.query(
        "SELECT id, seq, hash, answer FROM agreements_consentrecord WHERE tenant_id = %s "
        "ORDER BY seq",
        (a["tenant_id"],),
    )
    assert rows == [(a["id"], 1, a["hash"], "accepted")]  # A is there, B is not
    head = cluster.query(
        "SELECT seq, hash FROM agreements_ledgerhead WHERE tenant_id = %s", (a["tenant_id"],)
    )
    assert head == [(1, a["hash"])]
    ((ledger_rows,),) = cluster.query("SELECT count(*) FROM agreements_consentrecord")
    assert ledger_rows == SEED_TENANTS * SEED_ROWS + 1

    verified = _python(
        env, "manage.py", "verify_ledger", "--require-checkpoint", "--checkpoint", str(before)
    )
    assert (
        f"ledger OK: {ledger_rows} rows verified; 1 signed checkpoint hold; "
        f"the checkpoint in {before.name} holds"
    ) in verified.stdout
    # The checkpoint signed after T names B's head: the restore took B away, and the check
    # says so instead of passing (answers after the target must be obtained again).
    newer = _python(env, "manage.py", "verify_ledger", "--checkpoint", str(after), check=False)
    assert newer.returncode == 1
    assert "checkpoint 2: not_in_database" in newer.stderr
    assert f"checkpoint 2: tenant {a['tenant_id']}: missing signed seq 2" in newer.stderr

    figures = {
        "restore_seconds": round(restore_seconds, 2),
        "replay_seconds": round(replay_seconds, 2),
        "ledger_rows": ledger_rows,
        "backup_bytes": full["info"]["size"],
        "backup_repository_bytes": full["info"]["repository"]["size"],
        "backup_seconds": full["timestamp"]["stop"] - full["timestamp"]["start"],
    }
    out = REPO / "var"
    out.mkdir(exist_ok=True)
    (out / "pitr-figures.json").write_text(json.dumps(figures, indent=2) + "\n")
    print(f"PITR figures: {figures}")
