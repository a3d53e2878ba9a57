"""A real pg_dump and pg_restore on the local PostgreSQL (docs/ledger.md, docs/operations.md).

The source is this run's test database with a few committed ledger rows; each restore goes
into a new, empty database that the test creates and drops.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from io import StringIO
from pathlib import Path

import psycopg2
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.db import connection

from agreements.ledger.checkpoints import statement_parse
from agreements.ledger.keys import private_b64
from agreements.models import LedgerCheckpoint
from core import clock
from core.models import BackupStatus
from terms_site.backups import backup, manifest_checkpoint_error
from tests.factories.agreements import VersionFactory
from tests.factories.tenants import TenantFactory
from tests.ops.conftest import append_rows

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(shutil.which("pg_dump") is None, reason="needs the PostgreSQL client"),
]

ROOT = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 4, 1, 10, 0, tzinfo=clock.TOKYO)
# The checkpoint signing key of the backup and restore runs (outside the database).
CHECKPOINT_KEY = private_b64(Ed25519PrivateKey.generate())


def _server() -> dict[str, str]:
    settings = connection.settings_dict
    return {
        "host": settings["HOST"] or "127.0.0.1",
        "port": str(settings["PORT"] or 5432),
        "user": settings["USER"] or "postgres",
        "password": settings["PASSWORD"] or "",
    }


def _url(name: str) -> str:
    s = _server()
    auth = f"{s['user']}:{s['password']}" if s["password"] else s["user"]
    return f"postgres://{auth}@{s['host']}:{s['port']}/{name}"


def _admin() -> psycopg2.extensions.connection:
    s = _server()
    conn = psycopg2.connect(
        dbname="postgres", host=s["host"], port=s["port"], user=s["user"], password=s["password"]
    )
    conn.autocommit = True
    return conn


def _run(
    script: str,
    *args: str,
    database: str,
    key: str = CHECKPOINT_KEY,
    stdin: str | None = None,
    **extra: str,
) -> subprocess.CompletedProcess[str]:
    env = {
        **{name: value for name, value in os.environ.items() if name != "DJANGO_SECRET_KEY"},
        "TERMS_CHECKPOINT_KEY": key,
        "DJANGO_SETTINGS_MODULE": "terms_site.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": _url(database),
        "TERMS_LOG_FORMAT": "console",
        **extra,
    }
    return subprocess.run(
        [sys.executable, str(ROOT / "scripts" / script), *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _snapshot(database: str) -> tuple[dict[str, int], list[tuple]]:
    """Row count of every table, and the ledger rows themselves."""
    s = _server()
    with (
        psycopg2.connect(
            dbname=database, host=s["host"], port=s["port"], user=s["user"], password=s["password"]
        ) as conn,
        conn.cursor() as cursor,
    ):
        cursor.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE'"
        )
        counts = {}
        for (table,) in cursor.fetchall():
            cursor.execute(f'SELECT COUNT(*) FROM "{table}"')  # noqa: S608 -- catalog names
            counts[table] = cursor.fetchone()[0]
        cursor.execute(
            "SELECT tenant_id, seq, prev_hash, hash, answer, recorded_at, evidence_digests::text "
            "FROM agreements_consentrecord ORDER BY tenant_id, seq"
        )
        rows = cursor.fetchall()
    conn.close()
    return counts, rows


@pytest.fixture
def empty_database() -> Iterator[str]:
    name = f"{connection.settings_dict['NAME']}_restore_{uuid.uuid4().hex[:6]}"
    admin = _admin()
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield name
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def source_backup(tmp_path) -> tuple[Path, dict, str]:
    """Three tenants' chains committed in the test database, dumped by scripts/backup.py."""
    version = VersionFactory(label="2025-04")
    for n, tenant in enumerate(TenantFactory.create_batch(3), start=1):
        append_rows(tenant, version, [T0 + timedelta(hours=h) for h in range(n + 1)])
    source = connection.settings_dict["NAME"]
    result = _run("backup.py", "--output-dir", str(tmp_path), database=source)
    assert result.returncode == 0, result.stderr
    (dump,) = tmp_path.glob("*.dump")
    manifest = json.loads(dump.with_name(dump.stem + ".manifest.json").read_text())
    return dump, manifest, source


def call_command_json(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def test_backup_and_restore_into_an_empty_database_verifies_the_ledger_and_loses_nothing(
    source_backup, empty_database
) -> None:
    dump, manifest, source = source_backup
    source_counts, source_rows = _snapshot(source)
    # The manifest describes the dump: counts, heads, commit, schema state.
    assert manifest["format"] == "terms-backup/1"
    assert manifest["database"] == source
    assert manifest["dump"]["file"] == dump.name
    assert manifest["dump"]["bytes"] == dump.stat().st_size
    # The backup's own record is written after the snapshot, so the dump does not hold it.
    status = BackupStatus.objects.get(kind="dump")
    assert status.succeeded_at == datetime.fromisoformat(manifest["created_at"])
    assert status.info == {"file": dump.name, "bytes": manifest["dump"]["bytes"]}
    assert manifest["row_counts"] == {**source_counts, "core_backupstatus": 0}
    assert manifest["row_counts"]["agreements_consentrecord"] == 2 + 3 + 4
    assert manifest["row_counts"]["agreements_consentevidence"] == 3
    assert len(manifest["git_commit"]) in (40, len("unknown"))
    assert manifest["migrations"]["agreements"].startswith("0")
    assert manifest["ledger_heads"] == call_command_json("ledger_heads", "--json")["heads"]
    assert [head["seq"] for head in manifest["ledger_heads"]] == [2, 3, 4]
    assert oct(dump.stat().st_mode & 0o777) == "0o600"  # personal data inside
    # A checkpoint signed just before the snapshot: in the manifest and in the dump.
    statement = statement_parse(manifest["checkpoint"]["statement"])
    assert statement.heads_count == 3
    assert manifest["checkpoint"]["heads"] == manifest["ledger_heads"]
    assert LedgerCheckpoint.objects.get(number=statement.number).kind == "backup"

    result = _run("restore.py", str(dump), database=empty_database)
    assert result.returncode == 0, result.stderr
    assert "verify_ledger: ledger OK: 9 rows verified" in result.stdout
    assert "chain heads: 3 equal to the manifest" in result.stdout
    assert "checkpoint: signed, in the database and matching the chains" in result.stdout
    restored_counts, restored_rows = _snapshot(empty_database)
    assert restored_counts == {**source_counts, "core_backupstatus": 0}
    assert restored_rows == source_rows
    assert len(restored_rows) == 9


def test_restore_refuses_a_damaged_dump_and_a_database_that_is_not_empty(source_backup) -> None:
    dump, _manifest, source = source_backup
    before = _snapshot(source)
    result = _run("restore.py", str(dump), database=source)
    assert result.returncode == 2
    assert "is not empty" in result.stderr
    assert _snapshot(source) == before

    with dump.open("ab") as handle:
        handle.write(b"\0")
    result = _run("restore.py", str(dump), database=source)
    assert result.returncode == 2
    assert "SHA-256 differs" in result.stderr


def test_restore_fails_when_chain_heads_differ_from_the_manifest(
    source_backup, empty_database
) -> None:
    """The manifest is the outside record: a dump whose chains were rewritten must not pass."""
    dump, manifest, _source = source_backup
    manifest["ledger_heads"][1]["hash"] = "f" * 64
    dump.with_name(dump.stem + ".manifest.json").write_text(json.dumps(manifest))
    result = _run("restore.py", str(dump), database=empty_database)
    assert result.returncode == 1
    tenant_id = manifest["ledger_heads"][1]["tenant_id"]
    assert f"chain head mismatch: tenant {tenant_id}: expected seq 3 hash ffffffffffffffff" in (
        result.stderr
    )
    assert "restore FAILED verification (1 problems)" in result.stderr


def test_restore_fails_when_the_manifest_checkpoint_was_edited_or_signed_elsewhere(
    source_backup, empty_database
) -> None:
    """Whoever edits a manifest to match a rewritten dump cannot re-sign its checkpoint; a
    checkpoint signed with a key the restoring side does not trust proves nothing."""
    dump, manifest, _source = source_backup
    manifest_path = dump.with_name(dump.stem + ".manifest.json")
    manifest["checkpoint"]["heads"][1]["hash"] = "f" * 64
    manifest_path.write_text(json.dumps(manifest))
    result = _run("restore.py", str(dump), database=empty_database)
    assert result.returncode == 1
    assert "checkpoint mismatch: checkpoint 1: heads_altered" in result.stderr


def test_restore_refuses_a_checkpoint_from_an_untrusted_key(source_backup, empty_database) -> None:
    dump, _manifest, _source = source_backup
    other = private_b64(Ed25519PrivateKey.generate())
    result = _run("restore.py", str(dump), database=empty_database, key=other)
    assert result.returncode == 1
    assert "checkpoint mismatch: checkpoint 1: unknown_key" in result.stderr


def test_backup_without_a_signing_key_says_so_and_restore_does_not_pass_it(
    settings, tmp_path, empty_database
) -> None:
    version = VersionFactory(label="2025-04")
    append_rows(TenantFactory(), version, [T0])
    settings.DEBUG = False
    settings.TERMS_CHECKPOINT_KEY = ""
    settings.TERMS_CHECKPOINT_KEY_FILE = ""
    dump, manifest_path = backup(tmp_path)
    manifest = json.loads(manifest_path.read_text())
    assert "no checkpoint signing key" in (manifest_checkpoint_error(manifest) or "")
    result = _run("restore.py", str(dump), database=empty_database)
    assert result.returncode == 1
    assert "the backup carries no signed checkpoint: no checkpoint signing key" in result.stderr


# --- exit codes as docs/operations.md promises them: 2 = nothing taken / refused ------------------


def _refused(result: subprocess.CompletedProcess[str], message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr  # one line for the operator, not a stack


def test_backup_exits_2_without_configuration_or_database_and_writes_nothing(tmp_path) -> None:
    out = tmp_path / "backups"
    no_secret = _run("backup.py", "--output-dir", str(out), database="unused", DJANGO_DEBUG="false")
    _refused(no_secret, "backup failed: configuration: ImproperlyConfigured")
    missing = f"{connection.settings_dict['NAME']}_absent"
    unreachable = _run("backup.py", "--output-dir", str(out), database=missing)
    _refused(unreachable, "backup failed: OperationalError: connection to server")
    assert f'database "{missing}" does not exist' in unreachable.stderr
    assert not out.exists() or not any(out.iterdir())
    usage = _run("backup.py", "--info", "-", database="unused")
    _refused(usage, "--info goes with --record-pgbackrest")
    not_info = _run("backup.py", "--record-pgbackrest", "--info", "-", database=missing, stdin="?")
    _refused(not_info, "not recorded: not the JSON of `pgbackrest info`")


def test_restore_exits_2_on_a_damaged_manifest_or_an_unreachable_database(source_backup) -> None:
    dump, manifest, _source = source_backup
    manifest_path = dump.with_name(dump.stem + ".manifest.json")
    missing = f"{connection.settings_dict['NAME']}_absent"
    _refused(
        _run("restore.py", str(dump), database=missing),
        "restore refused: OperationalError: connection to server",
    )
    _refused(_run("restore.py", database=missing), "the following arguments are required: dump")
    _refused(
        _run("restore.py", str(dump), database=missing, DJANGO_DEBUG="false"),
        "restore refused: configuration: ImproperlyConfigured",
    )
    manifest_path.write_text(json.dumps({"format": manifest["format"], "dump": manifest["dump"]}))
    _refused(
        _run("restore.py", str(dump), database=missing),
        "restore refused: the manifest lacks ledger_heads, row_counts: it is damaged",
    )
    manifest_path.write_text("{")
    _refused(
        _run("restore.py", str(dump), database=missing),
        f"restore refused: the manifest {manifest_path.name} is damaged: JSONDecodeError",
    )
