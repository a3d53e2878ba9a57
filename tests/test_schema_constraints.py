"""The database enforces the invariants it can (docs/ledger.md, docs/rules.md R7)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import DatabaseError

from agreements.enums import ActorKind, Answer, Channel, ConsentStatus, VersionStatus
from agreements.ledger.append import entry_for
from agreements.ledger.rows import GENESIS_HASH, chained_row
from agreements.models import ConsentRecord, ConsentState, ContractPeriod, LedgerHead
from core.models import PlannedAction
from tests.factories.agreements import ContractFactory, DocumentFactory, VersionFactory
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _record(tenant, version, seq: int, answer: str = Answer.ACCEPTED) -> ConsentRecord:
    """A row built as the ledger builds it, inserted directly: the database is under test."""
    entry = entry_for(
        version,
        answer=answer,
        actor_kind=ActorKind.SYSTEM,
        actor_ref="system",
        channel=Channel.SYSTEM,
        at=datetime(2025, 1, 1, tzinfo=UTC),
        body_hash=version.body_hash,
    )
    return ConsentRecord.objects.create(
        **chained_row(entry, tenant_id=tenant.pk, seq=seq, prev_hash=GENESIS_HASH)
    )


def test_r7_one_scheduled_version_per_document() -> None:
    document = DocumentFactory()
    VersionFactory(document=document, status=VersionStatus.SCHEDULED, effective_on=date(2030, 1, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        VersionFactory(
            document=document, status=VersionStatus.SCHEDULED, effective_on=date(2030, 2, 1)
        )


def test_version_status_must_be_known() -> None:
    with pytest.raises(IntegrityError), transaction.atomic():
        VersionFactory(status="published")


def test_ledger_seq_is_unique_per_tenant() -> None:
    tenant = TenantFactory()
    version = VersionFactory()
    _record(tenant, version, 1)
    with pytest.raises(IntegrityError), transaction.atomic():
        _record(tenant, version, 1, Answer.REJECTED)


def test_one_consent_state_per_tenant_and_document() -> None:
    tenant = TenantFactory()
    version = VersionFactory()
    ConsentState.objects.create(
        tenant=tenant, document=version.document, version=version, status=ConsentStatus.NO_ANSWER
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentState.objects.create(
            tenant=tenant, document=version.document, version=version, status=ConsentStatus.ACCEPTED
        )


def test_one_open_period_per_contract() -> None:
    contract = ContractFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        ContractPeriod.objects.create(
            contract=contract,
            tenant=contract.tenant,
            seq=2,
            start_date=date(2025, 4, 1),
            end_date=date(2026, 3, 31),
        )


def test_planned_action_keys_are_unique() -> None:
    PlannedAction.objects.create(
        job="renew",
        key="renew:1:2025-03-31",
        subject_type="contract",
        subject_id=1,
        due_on=date(2025, 4, 1),
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        PlannedAction.objects.create(
            job="renew",
            key="renew:1:2025-03-31",
            subject_type="contract",
            subject_id=1,
            due_on=date(2025, 4, 1),
        )


def test_ledger_head_one_per_tenant() -> None:
    tenant = TenantFactory()
    LedgerHead.objects.create(tenant=tenant)
    with pytest.raises(IntegrityError), transaction.atomic():
        LedgerHead.objects.create(tenant=tenant)


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger under test is PostgreSQL's"
)
def test_ledger_trigger_refuses_update_and_delete() -> None:
    record = _record(TenantFactory(), VersionFactory(), 1)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).update(answer=Answer.REJECTED)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(pk=record.pk).delete()
    record.refresh_from_db()
    assert record.answer == Answer.ACCEPTED


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the key is PostgreSQL's")
@pytest.mark.parametrize("forge", ["another_document", "no_such_version"])
def test_a_ledger_row_cites_a_version_of_the_document_it_names(forge: str) -> None:
    """One key for both (migration 0027): a row naming one document while citing another's
    version, or a version that does not exist, is refused as the deferred key is checked."""
    tenant = TenantFactory()
    version = VersionFactory()
    entry = entry_for(
        version,
        answer=Answer.ACCEPTED,
        actor_kind=ActorKind.SYSTEM,
        actor_ref="system",
        channel=Channel.SYSTEM,
        at=datetime(2025, 1, 1, tzinfo=UTC),
        body_hash=version.body_hash,
    )
    row = chained_row(entry, tenant_id=tenant.pk, seq=1, prev_hash=GENESIS_HASH)
    if forge == "another_document":
        row["document_id"] = DocumentFactory().pk
    else:
        row["version_id"] = version.pk + 10_000
    with pytest.raises(IntegrityError), transaction.atomic():
        _insert_checked(row)


def _insert_checked(row: dict) -> None:
    """Insert and check the deferred keys now (the test's transaction never commits)."""
    ConsentRecord.objects.create(**row)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the key is PostgreSQL's")
def test_a_ledger_row_of_its_versions_document_is_accepted() -> None:
    tenant = TenantFactory()
    _record(tenant, VersionFactory(), 1)
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert ConsentRecord.objects.filter(tenant=tenant).count() == 1
