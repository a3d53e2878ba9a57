"""The backup-age gauge of /metrics (docs/operations.md, "Back up"; alert TermsBackupStale).

`terms_backup_last_success_timestamp_seconds{kind}`: when each kind of backup last succeeded —
`dump` and `pgbackrest` from BackupStatus (written by scripts/backup.py), `wal` from
PostgreSQL's own `pg_stat_archiver` (the last WAL segment archived: how far a point-in-time
recovery could reach now). A kind that never succeeded has no series.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from django.db import connection
from prometheus_client.core import GaugeMetricFamily

from core.models import BackupStatus


def backup_families() -> Iterator[GaugeMetricFamily]:
    last = GaugeMetricFamily(
        "terms_backup_last_success_timestamp_seconds",
        "Unix time of the last successful backup per kind (dump, pgbackrest; wal: the last "
        "WAL segment archived)",
        labels=["kind"],
    )
    for kind, at in BackupStatus.objects.order_by("kind").values_list("kind", "succeeded_at"):
        last.add_metric([kind], at.timestamp())
    archived = _wal_archived_at()
    if archived is not None:
        last.add_metric(["wal"], archived.timestamp())
    yield last


def _wal_archived_at() -> datetime | None:
    """When PostgreSQL last archived a WAL segment (None: archiving off, or not PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_archived_time FROM pg_stat_archiver")
        row = cursor.fetchone()
    return row[0] if row else None
