"""Posting opens the projection (R1); the effective date writes deemed rows (R3) or marks
non-responders outstanding (R4), in batches with a constant number of queries."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.enums import (
    ActorKind,
    Answer,
    Channel,
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    VersionStatus,
)
from agreements.ledger.verify import ledger_verify
from agreements.models import (
    ConsentRecord,
    ConsentState,
    Contract,
    LedgerHead,
    NoticeDelivery,
    TermsVersion,
)
from agreements.services.consents.answers import consent_answer
from agreements.services.consents.effective import consents_apply_effective
from agreements.services.consents.projection import consent_states_open
from core import clock
from tenants.models import Tenant
from tests.factories.agreements import (
    ContractFactory,
    DocumentFactory,
    OptionFactory,
    ProductFactory,
    VersionFactory,
)
from tests.factories.consents import (
    BEFORE,
    EFFECTIVE_ON,
    admin_scope,
    bound_tenant,
    chain_rows,
    delivered,
    posted_version,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _statements(captured: CaptureQueriesContext) -> int:
    return sum(
        1
        for q in captured.captured_queries
        if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    )


def _states(version: TermsVersion) -> dict[int, str]:
    return dict(
        ConsentState.objects.filter(document=version.document).values_list("tenant_id", "status")
    )


def _apply(version: TermsVersion, *, reach: bool = True, **kw: object) -> dict[str, int]:
    # R3: a tenant is deemed only once the notice reached it; by default it reached every
    # tenant with a contract for the product (by post, at the posting).
    if reach and version.posted_at is not None:
        tenants = Contract.objects.filter(product=version.document.product_id).values("tenant_id")
        known = NoticeDelivery.objects.filter(version=version).values("tenant_id")
        delivered(version, *Tenant.objects.filter(pk__in=tenants).exclude(pk__in=known))
    with clock.frozen_at(version.effective_on):
        return consents_apply_effective(version=version, today=version.effective_on, **kw)


# --- consent_states_open ------------------------------------------------------------------------


def test_consent_states_open_r1_bound_tenants_get_no_answer() -> None:
    version = posted_version()
    bound = [bound_tenant(version.document).tenant_id for _ in range(3)]
    ended = bound_tenant(version.document)
    Contract.objects.filter(pk=ended.pk).update(
        status=ContractStatus.ENDED, ended_on=date(2025, 2, 28), end_reason="expired"
    )
    ContractFactory()  # another product
    assert consent_states_open(version=version) == 3
    assert _states(version) == dict.fromkeys(bound, ConsentStatus.NO_ANSWER)
    assert set(
        ConsentState.objects.filter(document=version.document).values_list("version_id", flat=True)
    ) == {version.pk}


def test_consent_states_open_r1_individual_rules_only_with_the_option() -> None:
    option = OptionFactory()
    document = DocumentFactory(product=option.product, kind="individual", option=option)
    version = posted_version(document)
    with_option = bound_tenant(document)
    ContractFactory(product=option.product)  # the product without the option
    assert consent_states_open(version=version) == 1
    assert _states(version) == {with_option.tenant_id: ConsentStatus.NO_ANSWER}


def test_consent_states_open_r2_posting_moves_answers_to_the_new_version_idempotently() -> None:
    document = DocumentFactory()
    v1 = VersionFactory(document=document, consent_mode=ConsentMode.EXPLICIT)
    # A contract in force when v1 took effect (2024-01-01): an answer to v1 is owed.
    contract = bound_tenant(document, start_date=date(2023, 4, 1))
    with clock.frozen_at(BEFORE):
        consent_answer(
            scope=admin_scope(contract.tenant),
            tenant=contract.tenant,
            version=v1,
            answer="accepted",
        )
    v2 = posted_version(document)
    assert consent_states_open(version=v2) == 1
    state = ConsentState.objects.get(tenant=contract.tenant)
    assert (state.version_id, state.status, state.record_id) == (
        v2.pk,
        ConsentStatus.NO_ANSWER,
        None,
    )
    assert consent_states_open(version=v2) == 0


def test_consent_states_open_truth_table_only_the_latest_posted_version() -> None:
    document = DocumentFactory()
    v1 = VersionFactory(document=document)
    posted_version(document)
    bound_tenant(document)
    assert consent_states_open(version=v1) == 0
    assert not ConsentState.objects.exists()


def test_consent_states_open_r1_set_based_constant_queries() -> None:
    counts = []
    for size in (3, 30):
        version = posted_version(DocumentFactory())  # a product of its own per size
        for _ in range(size):
            bound_tenant(version.document)
        with CaptureQueriesContext(connection) as captured:
            assert consent_states_open(version=version) == size
        counts.append(_statements(captured))
    assert counts[0] == counts[1]


# --- consents_apply_effective: deemed mode (R3) --------------------------------------------------


def test_apply_effective_r3_deemed_rows_for_silent_bound_tenants_citing_the_notice() -> None:
    version = posted_version()
    silent = bound_tenant(version.document).tenant
    accepted = bound_tenant(version.document).tenant
    consent_states_open(version=version)
    with clock.frozen_at(BEFORE):
        consent_answer(
            scope=admin_scope(accepted), tenant=accepted, version=version, answer="accepted"
        )
    assert _apply(version) == {"deemed": 1, "outstanding": 0, "unnotified": 0, "batches": 1}
    row = ConsentRecord.objects.get(answer=Answer.DEEMED)
    assert row.tenant_id == silent.pk
    assert (row.actor_kind, row.actor_ref, row.channel) == (
        ActorKind.SYSTEM,
        "system",
        Channel.SYSTEM,
    )
    assert (row.version_id, row.notice_posted_at, row.version_body_hash) == (
        version.pk,
        version.posted_at,
        version.body_hash,
    )
    assert _states(version) == {
        silent.pk: ConsentStatus.DEEMED,
        accepted.pk: ConsentStatus.ACCEPTED,
    }
    assert ConsentState.objects.get(tenant=silent).record_id == row.pk
    assert ledger_verify() == []


def test_apply_effective_r3_only_contracts_active_on_the_effective_date() -> None:
    version = posted_version()
    ended_before = bound_tenant(version.document)
    Contract.objects.filter(pk=ended_before.pk).update(
        status=ContractStatus.TERMINATED,
        ended_on=EFFECTIVE_ON - timedelta(days=1),
        end_reason="customer_request",
    )
    ends_on_the_day = bound_tenant(version.document)
    Contract.objects.filter(pk=ends_on_the_day.pk).update(
        status=ContractStatus.TERMINATED, ended_on=EFFECTIVE_ON, end_reason="customer_request"
    )
    starts_later = bound_tenant(version.document, start_date=EFFECTIVE_ON + timedelta(days=1))
    assert _apply(version)["deemed"] == 1
    assert list(ConsentRecord.objects.values_list("tenant_id", flat=True)) == [
        ends_on_the_day.tenant_id
    ]
    assert not ConsentRecord.objects.filter(
        tenant_id__in=[ended_before.tenant_id, starts_later.tenant_id]
    ).exists()


def test_apply_effective_r3_without_a_posted_notice_writes_nothing() -> None:
    version = posted_version(posted=False)
    bound_tenant(version.document)
    assert _apply(version) == {"deemed": 0, "outstanding": 0, "unnotified": 0, "batches": 0}
    assert not ConsentRecord.objects.exists()


def test_apply_effective_r3_notice_posted_on_the_effective_date_is_too_late() -> None:
    version = posted_version(notice_on=EFFECTIVE_ON)
    bound_tenant(version.document)
    assert _apply(version)["deemed"] == 0


def test_apply_effective_r3_idempotent_second_run_writes_nothing() -> None:
    version = posted_version()
    for _ in range(3):
        bound_tenant(version.document)
    consent_states_open(version=version)
    assert _apply(version)["deemed"] == 3
    with CaptureQueriesContext(connection) as captured:
        assert _apply(version) == {"deemed": 0, "outstanding": 0, "unnotified": 0, "batches": 0}
    assert not any(q["sql"].startswith(("INSERT", "UPDATE")) for q in captured.captured_queries)
    assert ConsentRecord.objects.count() == 3


def test_apply_effective_r3_extends_existing_chains() -> None:
    version = posted_version()
    old = VersionFactory()
    tenant = bound_tenant(version.document).tenant
    chain_rows(tenant, old, 5)
    _apply(version)
    assert ConsentRecord.objects.get(answer=Answer.DEEMED).seq == 6
    assert LedgerHead.objects.get(tenant=tenant).seq == 6
    assert ledger_verify() == []


def test_apply_effective_r5_before_the_effective_date_does_nothing() -> None:
    version = posted_version()
    bound_tenant(version.document)
    with clock.frozen_at(BEFORE):
        assert consents_apply_effective(version=version, today=BEFORE)["batches"] == 0
    assert not ConsentRecord.objects.exists()


def test_apply_effective_r7_withdrawn_version_writes_nothing() -> None:
    version = posted_version(status=VersionStatus.WITHDRAWN)
    bound_tenant(version.document)
    assert _apply(version)["deemed"] == 0


def test_apply_effective_r3_constant_queries_per_batch() -> None:
    def queries(tenants: int, batch_size: int) -> tuple[int, dict[str, int]]:
        # The product is shared: the previous rounds' contracts end before this one.
        Contract.objects.update(
            status=ContractStatus.ENDED, ended_on=date(2024, 12, 31), end_reason="expired"
        )
        version = posted_version()
        delivered(version, *(bound_tenant(version.document).tenant for _ in range(tenants)))
        with CaptureQueriesContext(connection) as captured:
            counts = _apply(version, reach=False, batch_size=batch_size)
        assert counts["deemed"] == tenants
        return _statements(captured), counts

    one_small, counts = queries(2, batch_size=2)
    assert counts["batches"] == 1
    one_large, _ = queries(10, batch_size=10)
    assert one_small == one_large  # a batch costs the same whatever its size
    three, counts = queries(6, batch_size=2)
    assert counts["batches"] == 3
    per_batch = (three - one_small) // 2
    assert three == one_small + 2 * per_batch
    assert per_batch <= 9  # pinned exactly in test_effective_batches.py (new heads: 9)
    assert ledger_verify() == []


# --- consents_apply_effective: explicit mode (R4) ---------------------------------------------


def test_apply_effective_r4_explicit_non_responders_become_outstanding() -> None:
    version = posted_version(mode=ConsentMode.EXPLICIT)
    silent = bound_tenant(version.document).tenant
    never_opened = bound_tenant(version.document).tenant
    rejected = bound_tenant(version.document).tenant
    ConsentState.objects.all().delete()
    consent_states_open(version=version)
    ConsentState.objects.filter(tenant=never_opened).delete()
    with clock.frozen_at(BEFORE):
        consent_answer(
            scope=admin_scope(rejected), tenant=rejected, version=version, answer="rejected"
        )
    assert _apply(version) == {"deemed": 0, "outstanding": 2, "unnotified": 0, "batches": 1}
    assert _states(version) == {
        silent.pk: ConsentStatus.OUTSTANDING,
        never_opened.pk: ConsentStatus.OUTSTANDING,
        rejected.pk: ConsentStatus.REJECTED,
    }
    assert ConsentRecord.objects.filter(answer=Answer.DEEMED).count() == 0
    # Idempotent.
    assert _apply(version) == {"deemed": 0, "outstanding": 0, "unnotified": 0, "batches": 0}


# --- end to end with the versions service -------------------------------------------------------


def test_consent_flow_r2_r3_notice_answers_and_effective_date_through_versions_jobs() -> None:
    from agreements.services.versions.effective import versions_apply_effective
    from agreements.services.versions.posting import notices_post_due

    document = DocumentFactory(product=ProductFactory(code="optimal-biz"))
    VersionFactory(document=document)
    v2 = posted_version(document, posted=False)
    silent, accepting, rejecting = (bound_tenant(document).tenant for _ in range(3))
    with clock.frozen_at(date(2025, 3, 1)):
        assert notices_post_due(today=date(2025, 3, 1))["posted"] == 1
    v2.refresh_from_db()
    delivered(v2, silent)  # R3: the notice reached the silent tenant (by post)
    assert _states(v2) == dict.fromkeys(
        [silent.pk, accepting.pk, rejecting.pk], ConsentStatus.NO_ANSWER
    )
    with clock.frozen_at(BEFORE):
        for tenant, value in ((accepting, "accepted"), (rejecting, "rejected")):
            consent_answer(scope=admin_scope(tenant), tenant=tenant, version=v2, answer=value)
    with clock.frozen_at(EFFECTIVE_ON):
        assert versions_apply_effective(today=EFFECTIVE_ON)["effective"] == 1
        assert versions_apply_effective(today=EFFECTIVE_ON)["effective"] == 0
    assert _states(v2) == {
        silent.pk: ConsentStatus.DEEMED,
        accepting.pk: ConsentStatus.ACCEPTED,
        rejecting.pk: ConsentStatus.REJECTED,
    }
    deemed = ConsentRecord.objects.get(answer=Answer.DEEMED)
    assert (deemed.tenant_id, deemed.notice_posted_at) == (silent.pk, v2.posted_at)
    assert ledger_verify() == []
