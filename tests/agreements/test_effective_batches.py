"""The effective-date job batch by batch (bench: benchmark 4): a pinned number of queries per
batch whatever its mix, and each batch its own transaction, so an answer waits for one batch
at most, never for the whole run."""

from __future__ import annotations

import threading
import time
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.enums import Answer, ConsentStatus, ContractStatus, VersionStatus
from agreements.ledger.verify import ledger_verify
from agreements.models import ConsentRecord, ConsentState, Contract, TermsVersion
from agreements.services.consents import effective as effective_service
from agreements.services.consents.answers import consent_answer
from agreements.services.consents.effective import consents_apply_effective
from agreements.services.consents.projection import consent_states_open
from agreements.services.versions.effective import (
    version_apply_effective,
    version_take_effect,
    versions_consents_settle,
)
from core import clock
from tests.factories.agreements import VersionFactory
from tests.factories.consents import (
    EFFECTIVE_ON,
    admin_scope,
    bound_tenant,
    chain_rows,
    delivered,
    posted_version,
)

pytestmark = [pytest.mark.integration]

# Per batch, whatever its size and its mix of deemed and unnotified tenants: the notice's reach
# (two), the heads locked (one), the answers re-read under them (one), the deemed rows (their
# ids reserved, then one COPY), their heads (one UPDATE), the projection (one upsert). A tenant
# without a head yet adds one statement creating and locking it. Was 12 for a mixed batch (each
# half locked and re-read on its own, heads always inserted first) and every batch inside one
# transaction; then 7 with a multi-row INSERT, which cost the server several times the COPY.
PER_BATCH = 8
PER_BATCH_NEW_HEADS = 9


def _statements(captured: CaptureQueriesContext) -> int:
    return sum(
        1
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT", "BEGIN", "COMMIT"))
    )


def _mixed_round(tenants: int, batch_size: int, *, with_heads: bool) -> tuple[int, dict]:
    """Apply a fresh deemed-mode version over `tenants` bound tenants of whom every other one
    the notice reached (deemed) and the rest not (unnotified); returns statements, counts."""
    # The product is shared between rounds: the previous rounds' contracts end before this one.
    Contract.objects.update(
        status=ContractStatus.ENDED, ended_on=date(2024, 12, 31), end_reason="expired"
    )
    version = posted_version()
    made = [bound_tenant(version.document).tenant for _ in range(tenants)]
    delivered(version, *made[::2])
    if with_heads:
        old = VersionFactory()
        for tenant in made:
            chain_rows(tenant, old, 1)
    consent_states_open(version=version)
    with clock.frozen_at(EFFECTIVE_ON), CaptureQueriesContext(connection) as captured:
        counts = consents_apply_effective(
            version=version, today=EFFECTIVE_ON, batch_size=batch_size
        )
    assert counts["deemed"] == (tenants + 1) // 2
    assert counts["unnotified"] == tenants // 2
    return _statements(captured), counts


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("with_heads", "per_batch"), [(True, PER_BATCH), (False, PER_BATCH_NEW_HEADS)]
)
def test_effective_batches_queries_pinned_per_batch(with_heads: bool, per_batch: int) -> None:
    one_small, counts = _mixed_round(4, 4, with_heads=with_heads)
    assert counts["batches"] == 1
    one_large, _ = _mixed_round(12, 12, with_heads=with_heads)
    assert one_large == one_small  # a batch costs the same whatever its size
    three, counts = _mixed_round(12, 4, with_heads=with_heads)
    assert counts["batches"] == 3
    assert three - one_small == 2 * per_batch
    assert ledger_verify() == []


@pytest.mark.django_db
def test_effective_batches_second_run_and_settle_write_nothing() -> None:
    version = posted_version()
    made = [bound_tenant(version.document).tenant for _ in range(5)]
    delivered(version, *made[:3])
    consent_states_open(version=version)
    with clock.frozen_at(EFFECTIVE_ON):
        assert version_take_effect(version_id=version.pk, today=EFFECTIVE_ON) == "effective"
        assert TermsVersion.objects.get(pk=version.pk).consents_owed
        # A run cut short after the status change: the next run settles what is owed, once.
        settled = versions_consents_settle(today=EFFECTIVE_ON)
        assert (settled["deemed"], settled["unnotified"], settled["versions"]) == (3, 2, 1)
        assert not TermsVersion.objects.get(pk=version.pk).consents_owed
        assert versions_consents_settle(today=EFFECTIVE_ON)["versions"] == 0
        assert version_apply_effective(version_id=version.pk, today=EFFECTIVE_ON) is None
    assert ConsentRecord.objects.filter(version=version).count() == 3
    states = dict(ConsentState.objects.filter(version=version).values_list("tenant_id", "status"))
    assert sorted(states.values()) == sorted(
        [ConsentStatus.DEEMED] * 3 + [ConsentStatus.UNNOTIFIED] * 2
    )


@pytest.mark.django_db
def test_effective_batches_row_moved_on_by_a_newer_notice_is_left_there() -> None:
    version = posted_version()
    tenant = bound_tenant(version.document).tenant
    delivered(version, tenant)
    consent_states_open(version=version)
    with clock.frozen_at(EFFECTIVE_ON):
        version_take_effect(version_id=version.pk, today=EFFECTIVE_ON)
        # Between the status change and the batches, a newer revision is scheduled and its
        # notice moves the projection on.
        newer = VersionFactory(document=version.document, status=VersionStatus.SCHEDULED)
        ConsentState.objects.filter(tenant=tenant).update(version=newer)
        assert versions_consents_settle(today=EFFECTIVE_ON)["deemed"] == 1
    # R3: the deemed row records the silence at the effective date; the projection follows
    # the newer notice (R7).
    assert ConsentRecord.objects.get(tenant=tenant).answer == Answer.DEEMED
    assert ConsentState.objects.get(tenant=tenant).version_id == newer.pk


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="row locks under real concurrency need PostgreSQL"
)
def test_effective_batches_an_answer_waits_for_one_batch_not_the_run(monkeypatch) -> None:
    """A tenant of the first batch answers while that batch holds its head. Each batch is
    slowed to BATCH_SECONDS; the run takes BATCHES of them. The answer waits for the first
    batch to commit (less than one batch), and commits while the run goes on; had the run
    been one transaction it would have waited for all of it."""
    batch_seconds, batches, size = 0.5, 8, 3
    version = posted_version()
    made = [bound_tenant(version.document).tenant for _ in range(batches * size)]
    delivered(version, *made)
    consent_states_open(version=version)
    first = made[0]
    scope = admin_scope(first)
    locked = threading.Event()
    real_append = effective_service.append_cited

    def slow_append(**kwargs):
        records = real_append(**kwargs)
        locked.set()  # the batch holds its heads until it commits
        time.sleep(batch_seconds)
        return records

    monkeypatch.setattr(effective_service, "append_cited", slow_append)
    monkeypatch.setattr(effective_service, "BATCH_SIZE", size)
    timings: dict[str, float] = {}
    errors: list[BaseException] = []

    def job() -> None:
        try:
            version_apply_effective(version_id=version.pk, today=EFFECTIVE_ON)
            timings["job_done"] = time.monotonic()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    def answer() -> None:
        try:
            assert locked.wait(timeout=30)
            started = time.monotonic()
            consent_answer(scope=scope, tenant=first, version=version, answer=Answer.ACCEPTED)
            timings["answer_done"] = time.monotonic()
            timings["waited"] = timings["answer_done"] - started
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    with clock.frozen_at(EFFECTIVE_ON):
        threads = [threading.Thread(target=job), threading.Thread(target=answer)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
    assert not errors, errors
    print(f"answer waited {timings['waited']:.2f} s; one batch {batch_seconds} s, run {batches}")
    assert timings["waited"] < batch_seconds + 1.0, timings
    assert timings["answer_done"] < timings["job_done"] - batch_seconds, timings
    # The tenant was deemed in the first batch, then accepted (deemed mode after the date).
    assert list(
        ConsentRecord.objects.filter(tenant=first).order_by("seq").values_list("answer", flat=True)
    ) == [Answer.DEEMED, Answer.ACCEPTED]
    assert ConsentRecord.objects.filter(answer=Answer.DEEMED).count() == batches * size
    assert ledger_verify() == []


@pytest.mark.django_db
def test_r3_r7_effective_batch_moves_existing_rows_creates_missing_ones_leaves_moved_on_ones() -> (
    None
):
    """The projection write of a batch: a row of the version is moved (UPDATE), a tenant
    without a row gets one, a row a newer notice moved on is left there (R7); in one batch."""
    version = posted_version()
    kept, missing, moved_on = (bound_tenant(version.document).tenant for _ in range(3))
    delivered(version, kept, missing, moved_on)
    consent_states_open(version=version)
    ConsentState.objects.filter(tenant=missing).delete()
    with clock.frozen_at(EFFECTIVE_ON):
        version_take_effect(version_id=version.pk, today=EFFECTIVE_ON)
        newer = VersionFactory(document=version.document, status=VersionStatus.SCHEDULED)
        ConsentState.objects.filter(tenant=moved_on).update(version=newer)
        counts = consents_apply_effective(
            version=TermsVersion.objects.get(pk=version.pk), today=EFFECTIVE_ON, batch_size=10
        )
    assert (counts["deemed"], counts["batches"]) == (3, 1)
    rows = {
        s.tenant_id: s for s in ConsentState.objects.filter(tenant__in=[kept, missing, moved_on])
    }
    records = dict(ConsentRecord.objects.filter(version=version).values_list("tenant_id", "pk"))
    for tenant in (kept, missing):
        assert (rows[tenant.pk].version_id, rows[tenant.pk].status) == (
            version.pk,
            ConsentStatus.DEEMED,
        )
        assert rows[tenant.pk].record_id == records[tenant.pk]
        assert rows[tenant.pk].bound
    assert (rows[moved_on.pk].version_id, rows[moved_on.pk].status) == (
        newer.pk,
        ConsentStatus.NO_ANSWER,
    )
    assert ledger_verify() == []
