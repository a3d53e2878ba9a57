"""The backup-age gauge and what feeds it (docs/operations.md, "Back up"; alert
TermsBackupStale): scripts/backup.py records each dump, `--record-pgbackrest` records
pgBackRest's newest backup from its `info --output=json`, /metrics exports both.

The real pgBackRest and WAL archiving are exercised in test_pitr.py on a cluster of its own.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from core import clock
from core.models import BackupStatus
from terms_site.backups import BackupError, backup_succeeded, pgbackrest_record
from tests.ops.test_metrics import TOKEN, scrape, value

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

FULL_STOP = 1_775_000_000
DIFF_STOP = FULL_STOP + 86_400


def _backup(label: str, kind: str, stop: int, *, error: bool = False) -> dict:
    """One backup as `pgbackrest info --output=json` (2.45) describes it."""
    return {
        "label": label,
        "type": kind,
        "error": error,
        "timestamp": {"start": stop - 30, "stop": stop},
        "info": {"size": 41_892_183, "delta": 1_000, "repository": {"size": 9_173_734}},
        "archive": {"start": "000000010000000000000002", "stop": "000000010000000000000003"},
    }


def _info(*backups: dict, stanza: str = "terms") -> str:
    return json.dumps(
        [
            {
                "name": stanza,
                "backup": list(backups),
                "status": {
                    "code": 0 if backups else 2,
                    "message": "ok" if backups else "no valid backups",
                },
            }
        ]
    )


@pytest.fixture
def token(settings) -> str:
    settings.TERMS_METRICS_TOKEN = TOKEN
    return TOKEN


def test_pgbackrest_record_keeps_the_newest_complete_backup() -> None:
    info = _info(
        _backup("20260401-000000F", "full", FULL_STOP),
        _backup("20260402-000000F_20260402-000000D", "diff", DIFF_STOP),
        _backup("20260403-000000F_20260403-000000D", "diff", DIFF_STOP + 86_400, error=True),
    )
    stopped, detail = pgbackrest_record("terms", info)
    assert stopped == datetime.fromtimestamp(DIFF_STOP, tz=UTC)
    status = BackupStatus.objects.get(kind="pgbackrest")
    assert status.succeeded_at == stopped
    assert (
        status.info
        == detail
        == {
            "label": "20260402-000000F_20260402-000000D",
            "type": "diff",
            "bytes": 41_892_183,
            "repository_bytes": 9_173_734,
        }
    )


def test_an_older_record_never_moves_the_time_back() -> None:
    newer = clock.now()
    backup_succeeded(kind="dump", at=newer, info={"file": "b.dump"})
    backup_succeeded(kind="dump", at=newer - timedelta(days=1), info={"file": "a.dump"})
    status = BackupStatus.objects.get(kind="dump")
    assert (status.succeeded_at, status.info) == (newer, {"file": "b.dump"})


@pytest.mark.parametrize(
    ("info", "message"),
    [
        (_info(), "holds no complete backup of 'terms' (no valid backups)"),
        (_info(_backup("x", "full", FULL_STOP, error=True)), "holds no complete backup"),
        (_info(_backup("x", "full", FULL_STOP), stanza="other"), "has no stanza 'terms'"),
        ("pgBackRest 2.45", "not the JSON of `pgbackrest info`"),
        ('[{"name": "terms", "backup": [{"error": false}]}]', "not the JSON of `pgbackrest info`"),
    ],
)
def test_pgbackrest_record_refuses_what_is_not_a_complete_backup(info: str, message: str) -> None:
    with pytest.raises(BackupError) as raised:
        pgbackrest_record("terms", info)
    assert message in str(raised.value)
    assert not BackupStatus.objects.exists()


def test_metrics_export_the_last_success_of_each_kind_of_backup(client, token) -> None:
    samples = scrape(client)
    assert not [
        key
        for key in samples
        if key[0] == "terms_backup_last_success_timestamp_seconds" and dict(key[1])["kind"] != "wal"
    ]
    dumped = datetime(2026, 4, 1, 3, 0, tzinfo=UTC)
    backup_succeeded(kind="dump", at=dumped, info={})
    pgbackrest_record("terms", _info(_backup("20260401-000000F", "full", FULL_STOP)))
    samples = scrape(client)
    metric = "terms_backup_last_success_timestamp_seconds"
    assert value(samples, metric, kind="dump") == dumped.timestamp()
    assert value(samples, metric, kind="pgbackrest") == FULL_STOP
    assert value(samples, "terms_metrics_database_up", group="backups") == 1
