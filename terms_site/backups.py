"""Backup and restore of the PostgreSQL database with a manifest that outlives the database.

A backup is a `pg_dump --format=custom` file plus `<name>.manifest.json`: when, which commit,
the dump's checksum, the row count of every table and the ledger's chain heads, all read in
the very snapshot pg_dump copies (`pg_export_snapshot`), so they describe exactly that dump;
and a ledger checkpoint signed just before the snapshot (docs/ledger.md), so the manifest
carries signed heads that whoever holds the database cannot re-sign.

A restore goes only into an empty database, then proves the result: `verify_ledger` recomputes
every chain, the chain heads and row counts must equal the manifest's, and the manifest's
checkpoint must carry a valid signature, still be in the restored database and still match its
chains. Any difference is a non-zero exit (scripts/backup.py, scripts/restore.py;
`make backup`, `make restore FILE=…`).

Every successful backup is recorded in `BackupStatus` (one row per kind): the pg_dump ones
here, pgBackRest's from its `info --output=json` (`pgbackrest_record`), so /metrics can export
the age of the last backup without running a backup tool on every scrape.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction

from agreements.enums import CheckpointKind
from agreements.ledger.checkpoints import (
    checkpoint_create,
    checkpoint_document,
    document_verify_against_database,
)
from agreements.ledger.heads import chain_heads, compare_heads, heads_from_json, heads_to_json
from agreements.ledger.keys import CheckpointKeyInvalid, CheckpointKeyMissing
from core import clock
from core.models import BackupStatus

logger = logging.getLogger("terms.backup")

MANIFEST_FORMAT = "terms-backup/1"
LEDGER_TRIGGER = "ledger_immutable"
BASE_DIR = Path(__file__).resolve().parent.parent


class BackupError(Exception):
    """The backup or restore cannot proceed (exit code 2: nothing was changed)."""


def _failure(exc: BaseException) -> str:
    """One line for the operator: the exception class and its first line, no traceback."""
    first = (str(exc).strip().splitlines() or [""])[0]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__


# --- helpers -----------------------------------------------------------------------------------


def libpq_env(using: str = DEFAULT_DB_ALIAS) -> dict[str, str]:
    """pg_dump / pg_restore connection settings as libpq variables (the password never goes
    on a command line, where `ps` would show it)."""
    db = connections[using].settings_dict
    if connections[using].vendor != "postgresql":
        raise BackupError("backups need PostgreSQL (DATABASE_URL); the embedded SQLite is a file")
    env = {"PGDATABASE": str(db["NAME"])}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER")):
        if db.get(key):
            env[var] = str(db[key])
    if db.get("PASSWORD"):
        env["PGPASSWORD"] = str(db["PASSWORD"])
    if db.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = str(db["OPTIONS"]["sslmode"])
    return env


def _run(args: list[str], *, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    binary = shutil.which(args[0])
    if binary is None:
        raise BackupError(f"{args[0]} not found: install the PostgreSQL client (postgresql-client)")
    return subprocess.run(  # noqa: S603 -- fixed binaries, arguments are not shell-parsed
        [binary, *args[1:]],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def git_commit() -> str:
    """The running code's commit: the image's TERMS_GIT_COMMIT, else the checkout's HEAD."""
    if os.environ.get("TERMS_GIT_COMMIT", "unknown") != "unknown":
        return os.environ["TERMS_GIT_COMMIT"]
    git = shutil.which("git")
    if git and (BASE_DIR / ".git").exists():
        result = subprocess.run(  # noqa: S603 -- fixed arguments
            [git, "-C", str(BASE_DIR), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        if result.returncode == 0:
            return result.stdout.strip()
    return "unknown"


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def table_counts(using: str = DEFAULT_DB_ALIAS) -> dict[str, int]:
    """Rows per table of the current schema (exact counts, in the caller's snapshot)."""
    connection = connections[using]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' "
            "ORDER BY table_name"
        )
        tables = [row[0] for row in cursor.fetchall()]
        counts = {}
        for table in tables:
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = int(cursor.fetchone()[0])
    return counts


def applied_migrations(using: str = DEFAULT_DB_ALIAS) -> dict[str, str]:
    """The last applied migration per app, so a restore can tell how old the schema is."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT app, name FROM django_migrations WHERE id IN "
            "(SELECT MAX(id) FROM django_migrations GROUP BY app) ORDER BY app"
        )
        return dict(cursor.fetchall())


def user_relations(using: str = DEFAULT_DB_ALIAS) -> list[str]:
    """Tables, views, sequences … outside PostgreSQL's own schemas (empty for a new database)."""
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname || '.' || c.relname FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f') "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg\\_%' ORDER BY 1"
        )
        return [row[0] for row in cursor.fetchall()]


# --- backup --------------------------------------------------------------------------------------


def backup(output_dir: Path, *, using: str = DEFAULT_DB_ALIAS) -> tuple[Path, Path]:
    """Dump the database and write its manifest; returns (dump, manifest).

    Raises BackupError when no backup was taken: the database is unreachable, pg_dump failed,
    the output folder cannot be written.
    """
    try:
        dump, manifest, started = _backup(output_dir, using=using)
    except (DatabaseError, OSError) as exc:
        raise BackupError(_failure(exc)) from exc
    try:
        backup_succeeded(
            kind="dump",
            at=started,
            info={"file": dump.name, "bytes": dump.stat().st_size},
            using=using,
        )
    except DatabaseError as exc:
        # The backup exists; only its record is missing, and the backup-age alert says so.
        logger.warning("backup.status_not_recorded", extra={"error": _failure(exc)})
    return dump, manifest


def _backup(output_dir: Path, *, using: str) -> tuple[Path, Path, datetime]:
    env = libpq_env(using)
    output_dir.mkdir(parents=True, exist_ok=True)
    started = clock.now()
    stem = f"terms-{started:%Y%m%dT%H%M%S%fZ}"
    dump, manifest = output_dir / f"{stem}.dump", output_dir / f"{stem}.manifest.json"
    partial = output_dir / f".{stem}.dump.partial"
    connection = connections[using]
    # Signed before the snapshot, so the dump holds the checkpoint row too. A missing key does
    # not stop the backup (the data matters more); the manifest says why it has no checkpoint.
    try:
        checkpoint: dict[str, Any] = checkpoint_document(
            checkpoint_create(kind=CheckpointKind.BACKUP, using=using)
        )
    except (CheckpointKeyMissing, CheckpointKeyInvalid) as exc:
        checkpoint = {"error": str(exc)}
    # One REPEATABLE READ snapshot for the counts, the heads and pg_dump: an append that
    # commits meanwhile is in none of them, so the manifest describes exactly the dump.
    with transaction.atomic(using=using):
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot(), current_setting('server_version')")
            snapshot, server_version = cursor.fetchone()
        heads = chain_heads(using=using)
        counts = table_counts(using)
        migrations = applied_migrations(using)
        result = _run(
            [
                "pg_dump",
                "--format=custom",
                f"--snapshot={snapshot}",
                "--no-password",
                f"--file={partial}",
            ],
            env=env,
        )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise BackupError(f"pg_dump failed: {result.stderr.strip()}")
    partial.chmod(0o600)  # the dump holds personal data (consent evidence, users)
    partial.rename(dump)
    data = {
        "format": MANIFEST_FORMAT,
        "created_at": started.isoformat(),
        "git_commit": git_commit(),
        "database": env["PGDATABASE"],
        "server_version": server_version,
        "pg_dump_version": _run(["pg_dump", "--version"], env={}).stdout.strip(),
        "dump": {"file": dump.name, "sha256": sha256_of(dump), "bytes": dump.stat().st_size},
        "ledger_heads": heads_to_json(heads),
        "checkpoint": checkpoint,
        "row_counts": counts,
        "migrations": migrations,
    }
    manifest.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    manifest.chmod(0o600)
    return dump, manifest, started


def backup_succeeded(
    *, kind: str, at: datetime, info: dict[str, Any], using: str = DEFAULT_DB_ALIAS
) -> None:
    """Record that a backup of `kind` succeeded at `at` (never moves the time backwards)."""
    with transaction.atomic(using=using):
        status = BackupStatus.objects.using(using).select_for_update().filter(kind=kind).first()
        if status is None:
            BackupStatus.objects.using(using).create(kind=kind, succeeded_at=at, info=info)
        elif at >= status.succeeded_at:
            status.succeeded_at, status.info = at, info
            status.save(update_fields=["succeeded_at", "info"])


# --- restore -------------------------------------------------------------------------------------


@dataclass
class RestoreReport:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def manifest_for(dump: Path) -> Path:
    return dump.with_name(dump.name.removesuffix(".dump") + ".manifest.json")


def restore(dump: Path, manifest_path: Path, *, using: str = DEFAULT_DB_ALIAS) -> RestoreReport:
    """Restore `dump` into the (empty) configured database and check it against the manifest.

    Raises BackupError before touching the database when the manifest does not match the dump
    (or cannot be read), the database is unreachable or not empty; otherwise returns what
    the checks found.
    """
    try:
        env, manifest = _restore_preflight(dump, manifest_path, using=using)
    except (DatabaseError, OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BackupError(_failure(exc)) from exc
    try:
        return _restore(dump, manifest, env=env, using=using)
    except DatabaseError as exc:
        # pg_restore may have run: the database is no longer empty, so this is not a refusal.
        return RestoreReport(problems=[f"verification could not finish: {_failure(exc)}"])


def _restore_preflight(
    dump: Path, manifest_path: Path, *, using: str
) -> tuple[dict[str, str], dict[str, Any]]:
    env = libpq_env(using)
    if not dump.is_file():
        raise BackupError(f"no such dump: {dump}")
    if not manifest_path.is_file():
        raise BackupError(f"no manifest next to the dump: {manifest_path}")
    try:
        manifest = json.loads(manifest_path.read_text())
    except ValueError as exc:
        raise BackupError(f"the manifest {manifest_path.name} is damaged: {_failure(exc)}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
        found = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise BackupError(f"unknown manifest format {found!r}")
    missing = [key for key in ("dump", "ledger_heads", "row_counts") if key not in manifest]
    if missing:
        raise BackupError(f"the manifest lacks {', '.join(missing)}: it is damaged")
    if sha256_of(dump) != manifest["dump"]["sha256"]:
        raise BackupError("the dump's SHA-256 differs from its manifest: the file is damaged")
    existing = user_relations(using)
    if existing:
        raise BackupError(
            f"database {env['PGDATABASE']!r} is not empty ({len(existing)} relations, e.g. "
            f"{', '.join(existing[:3])}); restore only into a new, empty database"
        )
    connections[using].close()  # pg_restore gets the database to itself
    return env, manifest


def _restore(
    dump: Path, manifest: dict[str, Any], *, env: dict[str, str], using: str
) -> RestoreReport:
    result = _run(
        [
            "pg_restore",
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "--single-transaction",
            "--no-password",
            f"--dbname={env['PGDATABASE']}",
            str(dump),
        ],
        env=env,
    )
    report = RestoreReport()
    if result.returncode != 0:
        report.problems.append(f"pg_restore failed: {result.stderr.strip()}")
        return report
    report.notes.append(f"restored {dump.name} (commit {manifest.get('git_commit')})")

    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("verify_ledger", stdout=out, stderr=err)
        report.notes.append(f"verify_ledger: {out.getvalue().strip()}")
    except (CommandError, SystemExit) as exc:
        report.problems.append(f"verify_ledger failed: {exc} {err.getvalue().strip()}".strip())

    expected = heads_from_json(manifest["ledger_heads"])
    mismatches = compare_heads(expected, chain_heads(using=using))
    report.problems.extend(f"chain head mismatch: {mismatch}" for mismatch in mismatches)
    if not mismatches:
        report.notes.append(f"chain heads: {len(expected)} equal to the manifest")

    checkpoint_problems = _checkpoint_problems(manifest, using=using)
    report.problems.extend(checkpoint_problems)
    if "statement" in manifest.get("checkpoint", {}) and not checkpoint_problems:
        report.notes.append("checkpoint: signed, in the database and matching the chains")

    counts = table_counts(using)
    for table in sorted(set(manifest["row_counts"]) | set(counts)):
        want, have = manifest["row_counts"].get(table), counts.get(table)
        if want != have:
            report.problems.append(f"row count of {table}: manifest {want}, restored {have}")
    if counts == manifest["row_counts"]:
        report.notes.append(f"row counts: {len(counts)} tables equal to the manifest")

    if not _ledger_trigger_present(using):
        report.problems.append(f"the ledger's {LEDGER_TRIGGER} trigger is missing after restore")
    return report


def manifest_checkpoint_error(manifest: dict[str, Any]) -> str | None:
    """Why a manifest carries no signed checkpoint (None when it does, or predates them)."""
    checkpoint = manifest.get("checkpoint")
    if isinstance(checkpoint, dict) and "error" in checkpoint:
        return str(checkpoint["error"])
    return None


def _checkpoint_problems(manifest: dict[str, Any], *, using: str) -> list[str]:
    if "checkpoint" not in manifest:
        return []  # a backup taken before checkpoints existed: the heads above still hold
    error = manifest_checkpoint_error(manifest)
    if error is not None:
        return [f"the backup carries no signed checkpoint: {error}"]
    return [
        f"checkpoint mismatch: {problem}"
        for problem in document_verify_against_database(manifest["checkpoint"], using=using)
    ]


def _ledger_trigger_present(using: str) -> bool:
    with connections[using].cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_trigger WHERE tgname = %s AND NOT tgisinternal",
            [LEDGER_TRIGGER],
        )
        return int(cursor.fetchone()[0]) == 1


def manifest_summary(manifest: dict[str, Any]) -> str:
    return (
        f"{manifest['dump']['file']}: {sum(manifest['row_counts'].values())} rows in "
        f"{len(manifest['row_counts'])} tables, {len(manifest['ledger_heads'])} ledger chains, "
        f"commit {manifest['git_commit']}"
    )


# --- pgBackRest ----------------------------------------------------------------------------------


def pgbackrest_info(stanza: str) -> str:
    """`pgbackrest --stanza=… info --output=json` (its configuration: /etc/pgbackrest or the
    PGBACKREST_* environment, as for the backup itself)."""
    result = _run(["pgbackrest", f"--stanza={stanza}", "--output=json", "info"], env={})
    if result.returncode != 0:
        raise BackupError(f"pgbackrest info failed: {result.stderr.strip()}")
    return result.stdout


def pgbackrest_last_backup(info_json: str, stanza: str) -> tuple[datetime, dict[str, Any]]:
    """The newest complete backup of `stanza` in pgBackRest's `info --output=json`: when it
    stopped, and what to keep about it."""
    try:
        stanzas = json.loads(info_json)
        entries = [item for item in stanzas if item.get("name") == stanza]
        backups = [
            item for entry in entries for item in entry.get("backup") or [] if not item["error"]
        ]
        newest = max(backups, key=lambda item: int(item["timestamp"]["stop"]), default=None)
        stopped = int(newest["timestamp"]["stop"]) if newest else 0
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        raise BackupError(f"not the JSON of `pgbackrest info`: {_failure(exc)}") from exc
    if not entries:
        raise BackupError(f"pgBackRest's info has no stanza {stanza!r}")
    if newest is None:
        message = entries[0].get("status", {}).get("message", "")
        raise BackupError(f"pgBackRest holds no complete backup of {stanza!r} ({message})")
    info = newest.get("info", {})
    return datetime.fromtimestamp(stopped, tz=UTC), {
        "label": newest.get("label"),
        "type": newest.get("type"),
        "bytes": info.get("size"),
        "repository_bytes": info.get("repository", {}).get("size"),
    }


def pgbackrest_record(
    stanza: str, info_json: str | None = None, *, using: str = DEFAULT_DB_ALIAS
) -> tuple[datetime, dict[str, Any]]:
    """Record pgBackRest's newest backup as the `pgbackrest` kind of BackupStatus; reads
    `pgbackrest info` itself unless its JSON is given (a pipe from the database host)."""
    stopped, info = pgbackrest_last_backup(info_json or pgbackrest_info(stanza), stanza)
    try:
        backup_succeeded(kind="pgbackrest", at=stopped, info=info, using=using)
    except DatabaseError as exc:
        raise BackupError(f"cannot record it: {_failure(exc)}") from exc
    return stopped, info
