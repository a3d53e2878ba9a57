from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from agreements.db import ledger_trigger_disable_sql, ledger_trigger_enable_sql
from agreements.ledger.heads import ChainHead, chain_heads, compare_heads, daily_heads
from agreements.models import ConsentRecord
from core import clock
from terms_site.tasks import log_ledger_heads
from tests.factories.agreements import VersionFactory
from tests.factories.tenants import TenantFactory
from tests.ops.conftest import append_rows

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DAY = date(2025, 4, 2)
BEFORE = datetime(2025, 4, 1, 23, 59, tzinfo=clock.TOKYO)  # still in yesterday's head
AFTER = datetime(2025, 4, 2, 0, 0, tzinfo=clock.TOKYO)  # part of tomorrow's


@pytest.fixture
def chains():
    version = VersionFactory()
    first, second = TenantFactory(), TenantFactory()
    a = append_rows(first, version, [BEFORE - timedelta(hours=2), BEFORE, AFTER])
    b = append_rows(second, version, [AFTER])
    return first, second, a, b


def test_chain_heads_are_the_last_row_of_each_chain(chains) -> None:
    first, second, a, b = chains
    assert chain_heads() == [ChainHead(first.pk, 3, a[2].hash), ChainHead(second.pk, 1, b[0].hash)]


def test_daily_heads_stop_at_midnight_tokyo(chains) -> None:
    first, _second, a, _b = chains
    assert daily_heads(day=DAY) == [ChainHead(first.pk, 2, a[1].hash)]
    assert daily_heads(day=DAY + timedelta(days=1)) == chain_heads()


def test_command_prints_and_exports_heads(chains, tmp_path) -> None:
    first, _second, a, _b = chains
    out = StringIO()
    call_command("ledger_heads", stdout=out)
    lines = out.getvalue().splitlines()
    assert lines[1].split() == [str(first.pk), "3", a[2].hash]
    assert lines[-1] == "2 chains"
    export = tmp_path / "heads.json"
    call_command(
        "ledger_heads", "--as-of", "2025-04-02", "--output", str(export), stdout=StringIO()
    )
    data = json.loads(export.read_text())
    assert data["as_of"] == "2025-04-02"
    assert data["heads"] == [{"tenant_id": first.pk, "seq": 2, "hash": a[1].hash}]


def test_check_passes_for_a_grown_chain_and_fails_for_a_rewritten_one(chains, tmp_path) -> None:
    first, _second, a, _b = chains
    export = tmp_path / "heads.json"
    call_command(
        "ledger_heads", "--as-of", "2025-04-02", "--output", str(export), stdout=StringIO()
    )
    # Rows appended since the export do not matter: the old head is still in the chain.
    out = StringIO()
    call_command("ledger_heads", "--check", str(export), stdout=out)
    assert "1 recorded heads still in the ledger" in out.getvalue()

    # Someone with database access rewrites seq 2 (and everything after it, consistently).
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks before ALTER
        cursor.execute(ledger_trigger_disable_sql("postgresql"))
        ConsentRecord.objects.filter(tenant=first, seq=2).update(hash="e" * 64)
        cursor.execute(ledger_trigger_enable_sql("postgresql"))
    err = StringIO()
    with pytest.raises(CommandError, match="1 of 1 recorded chain heads are no longer"):
        call_command("ledger_heads", "--check", str(export), stdout=StringIO(), stderr=err)
    assert f"tenant {first.pk}: expected seq 2 hash {a[1].hash[:16]}" in err.getvalue()


def test_check_reads_a_backup_manifest(chains, tmp_path) -> None:
    _first, second, _a, _b = chains
    manifest = tmp_path / "terms.manifest.json"
    manifest.write_text(
        json.dumps({"ledger_heads": [{"tenant_id": second.pk, "seq": 1, "hash": "0" * 64}]})
    )
    with pytest.raises(CommandError):
        call_command("ledger_heads", "--check", str(manifest), stdout=StringIO(), stderr=StringIO())


def test_daily_task_logs_one_line_per_chain(chains, json_logs) -> None:
    first, _second, a, _b = chains
    with clock.frozen_at(DAY):
        assert log_ledger_heads() == 1
    lines = [json.loads(line) for line in json_logs.lines()]
    (head,) = [line for line in lines if line["event"] == "ledger.chain_head"]
    assert head["tenant_id"] == first.pk
    assert head["seq"] == 2
    assert head["hash"] == a[1].hash
    assert head["as_of"] == "2025-04-02"


def test_compare_heads_names_both_sides() -> None:
    mismatches = compare_heads(
        [ChainHead(1, 2, "a" * 64), ChainHead(2, 1, "b" * 64)],
        [ChainHead(1, 2, "a" * 64), ChainHead(3, 1, "c" * 64)],
    )
    assert [(m.tenant_id, m.expected, m.found) for m in mismatches] == [
        (2, ChainHead(2, 1, "b" * 64), None),
        (3, None, ChainHead(3, 1, "c" * 64)),
    ]
