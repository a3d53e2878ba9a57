"""PgBouncer in transaction mode in front of the test database (docs/operations.md,
"Connections"): a real PgBouncer started here on a free port, a pool of 2 server connections
and 6 Django processes at once, each answering, checking status, verifying the ledger (the
iterator path), checking migrations and running the effective-date job.

Needs the `pgbouncer` binary (Debian package `pgbouncer`, installed by .ci/run); skipped with
the reason when it is missing.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings

from agreements.enums import Answer, VersionStatus
from agreements.models import ConsentRecord
from core import clock
from tests.factories.consents import BEFORE, bound_tenant, delivered, posted_version
from tests.factories.tenants import MembershipFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REPO = Path(__file__).resolve().parents[2]
CLIENTS = 6
POOL_SIZE = 2
ROUNDS = 3


def _pgbouncer() -> str | None:
    path = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])
    return shutil.which("pgbouncer", path=path)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Bouncer:
    def __init__(self, binary: str, root: Path, db: dict) -> None:
        self.port = _free_port()
        self.root = root
        root.chmod(0o777)  # pgbouncer refuses root and runs as nobody: it writes its log here
        (root / "userlist.txt").write_text(f'"{db["USER"]}" ""\n')
        (root / "pgbouncer.ini").write_text(
            "[databases]\n"
            f"* = host={db['HOST']} port={db['PORT']}\n"
            "[pgbouncer]\n"
            f"listen_addr = 127.0.0.1\nlisten_port = {self.port}\nunix_socket_dir =\n"
            f"auth_type = trust\nauth_file = {root / 'userlist.txt'}\n"
            f"admin_users = {db['USER']}\n"
            f"pool_mode = transaction\ndefault_pool_size = {POOL_SIZE}\n"
            "min_pool_size = 0\nreserve_pool_size = 0\nmax_client_conn = 200\n"
            f"logfile = {root / 'pgbouncer.log'}\npidfile = {root / 'pgbouncer.pid'}\n"
        )
        for name in ("userlist.txt", "pgbouncer.ini"):
            (root / name).chmod(0o644)
        command = [binary, str(root / "pgbouncer.ini")]
        if os.geteuid() == 0:
            command[1:1] = ["-u", "nobody"]
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"pgbouncer exited: {self.process.stdout.read()}")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise RuntimeError("pgbouncer did not listen within 15 s")

    def admin(self, command: str, user: str) -> list[dict]:
        import psycopg2
        import psycopg2.extras

        conn = psycopg2.connect(host="127.0.0.1", port=self.port, user=user, dbname="pgbouncer")
        conn.autocommit = True  # the admin console has no transactions
        try:
            with conn.cursor(cursor_factory=psycopg2.extras.RealDictCursor) as cursor:
                cursor.execute(command)
                return [dict(row) for row in cursor.fetchall()]
        finally:
            conn.close()

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


def _run_clients(spec: dict, phase: str, memberships: list, env: dict) -> list[dict]:
    clients = [
        subprocess.Popen(
            [
                sys.executable,
                str(REPO / "tests" / "ops" / "pgbouncer_client.py"),
                json.dumps({**spec, "phase": phase, "mine": m.pk}),
            ],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for m in memberships
    ]
    results = []
    for client in clients:
        out, err = client.communicate(timeout=300)
        assert client.returncode == 0, f"{phase}: {err[-3000:]}"
        results.append(json.loads(out.strip().splitlines()[-1]))
    return results


def test_the_service_works_through_pgbouncer_in_transaction_mode() -> None:
    binary = _pgbouncer()
    if binary is None:
        pytest.skip("pgbouncer is not installed (Debian: apt-get install pgbouncer; .ci/run does)")
    db = settings.DATABASES["default"]
    version = posted_version()
    contracts = [bound_tenant(version.document) for _ in range(CLIENTS)]
    memberships = [MembershipFactory(tenant=c.tenant) for c in contracts]
    delivered(version, *[c.tenant for c in contracts])  # the notice reached them (R3)
    # Not under pytest's tmp_path: its parents are private to this user, and pgbouncer, which
    # refuses to run as root, writes its log as nobody.
    root = Path(tempfile.mkdtemp(prefix="terms-pgbouncer-"))
    bouncer = Bouncer(binary, root, db)
    try:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "terms_site.settings",
            "DJANGO_DEBUG": "true",
            "DATABASE_URL": f"postgres://{db['USER']}@127.0.0.1:{bouncer.port}/{db['NAME']}",
            "DATABASE_POOLER": "transaction",
            "DJANGO_CONN_MAX_AGE": "60",
            "PYTHONPATH": str(REPO),
        }
        spec = {
            "version": version.pk,
            "memberships": [m.pk for m in memberships],
            "answer_at": (clock.start_of_day(BEFORE) + timedelta(hours=10)).isoformat(),
            "effective_on": version.effective_on.isoformat(),
            "rounds": ROUNDS,
        }
        started = time.monotonic()
        # Two phases, each with every client at once: answers and reads, then the job (an
        # answer after the effective date would be a different rule, not a pooling question).
        answers = _run_clients(spec, "answers", memberships, env)
        jobs = _run_clients(spec, "lifecycle", memberships, env)
        elapsed = time.monotonic() - started
        stats = {row["database"]: row for row in bouncer.admin("SHOW STATS", db["USER"])}
        pools = [p for p in bouncer.admin("SHOW POOLS", db["USER"]) if p["database"] == db["NAME"]]
    finally:
        bouncer.stop()
        shutil.rmtree(root, ignore_errors=True)

    # Every operation went through, several times, from more clients than server connections.
    assert [r["answers_created"] for r in answers] == [1] * CLIENTS  # repeats created nothing
    assert {r["status_checks"] for r in answers} == {CLIENTS * ROUNDS}
    assert {(r["verified"], r["migrate_checks"]) for r in answers} == {(ROUNDS, ROUNDS)}
    # application_name travels through PgBouncer (the clients are scripts, named by file).
    assert {r["application_name"] for r in jobs} == {"terms-pgbouncer_client"}
    # Through PgBouncer, and never more than the pool's server connections.
    transactions = int(stats[db["NAME"]]["total_xact_count"])
    assert transactions > CLIENTS * ROUNDS * 5
    assert pools
    assert all(
        int(p["sv_active"]) + int(p["sv_idle"]) + int(p["sv_used"]) <= POOL_SIZE for p in pools
    )
    # The effective-date job ran exactly once whoever claimed it: one accepted row per tenant,
    # the version in force, an intact ledger.
    version.refresh_from_db()
    assert version.status == VersionStatus.EFFECTIVE
    for contract in contracts:
        rows = ConsentRecord.objects.filter(tenant=contract.tenant, version=version)
        assert [r.answer for r in rows] == [Answer.ACCEPTED]
    from agreements.ledger.verify import ledger_verify

    assert ledger_verify() == []
    print(
        f"\npgbouncer: {CLIENTS} clients, pool {POOL_SIZE}, {transactions} transactions "
        f"in {elapsed:.1f} s"
    )
