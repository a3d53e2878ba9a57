"""Consent reads: statuses per bound document, the products' status check (R4, R6), the ledger."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.enums import (
    Answer,
    CaseStatus,
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    VersionStatus,
)
from agreements.models import Contract, TerminationCase, TermsVersion
from agreements.selectors.consents.bound import bound_documents, bound_tenants_q
from agreements.selectors.consents.ledger import ledger_for_tenant
from agreements.selectors.consents.status_check import (
    FLAG_CASE_CONFIRMED,
    FLAG_CONTRACT_INACTIVE,
    FLAG_OUTSTANDING,
    FLAG_REJECTED,
    tenant_is_allowed,
)
from agreements.selectors.consents.statuses import consent_status_for_tenant
from agreements.services import contracts as contract_services
from agreements.services.consents.answers import consent_answer
from agreements.services.consents.effective import consents_apply_effective
from agreements.services.consents.projection import consent_states_open
from core import clock
from core.errors import NotFound, PermissionDenied
from tenants.models import Tenant
from tenants.scope import Scope
from tests.factories.agreements import (
    ContractFactory,
    DocumentFactory,
    OptionFactory,
    ProductFactory,
    VersionFactory,
)
from tests.factories.consents import (
    AFTER,
    BEFORE,
    EFFECTIVE_ON,
    admin_scope,
    bound_tenant,
    delivered,
    posted_version,
)
from tests.factories.tenants import PartnerFactory, StaffFactory, TenantFactory, make_partner_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

STAFF = Scope.system()


def _answer(tenant: Tenant, version, value: str, on: date = BEFORE) -> None:
    with clock.frozen_at(on):
        consent_answer(scope=admin_scope(tenant), tenant=tenant, version=version, answer=value)


def _product_scope(product) -> Scope:
    return Scope.product(product_id=product.pk, key_id=None, scopes=("status:read",))


# --- bound_tenants_q / bound_documents (R1) ----------------------------------------------------


def test_bound_tenants_q_r1_contract_active_on_the_date() -> None:
    document = DocumentFactory()
    active = bound_tenant(document)
    ended = bound_tenant(document)
    Contract.objects.filter(pk=ended.pk).update(
        status=ContractStatus.ENDED, ended_on=date(2025, 3, 31), end_reason="expired"
    )
    later = bound_tenant(document, start_date=date(2025, 5, 1))

    def on(day: date | None) -> set[int]:
        return set(
            Tenant.objects.filter(bound_tenants_q(document=document, on_date=day)).values_list(
                "pk", flat=True
            )
        )

    assert on(date(2025, 3, 31)) == {active.tenant_id, ended.tenant_id}
    assert on(date(2025, 4, 1)) == {active.tenant_id}
    assert on(date(2025, 5, 1)) == {active.tenant_id, later.tenant_id}
    assert on(None) == {active.tenant_id, later.tenant_id}  # status active now


def test_bound_documents_r1_individual_rules_first_and_only_with_option() -> None:
    option = OptionFactory()
    base = DocumentFactory(product=option.product)
    rules_doc = DocumentFactory(product=option.product, kind="individual", option=option)
    other_option_doc = DocumentFactory(
        product=option.product, kind="individual", option=OptionFactory(product=option.product)
    )
    contract = bound_tenant(rules_doc)
    documents = bound_documents(tenant=contract.tenant, on_date=BEFORE)
    assert documents == [rules_doc, base]
    assert other_option_doc not in documents


# --- consent_status_for_tenant ---------------------------------------------------------------


def test_consent_status_for_tenant_truth_table_row1_pending_version_deadline_and_answers() -> None:
    document = DocumentFactory()
    v1 = VersionFactory(document=document)
    v2 = posted_version(document)
    tenant = bound_tenant(document).tenant
    consent_states_open(version=v2)
    with clock.frozen_at(BEFORE):
        (status,) = consent_status_for_tenant(scope=admin_scope(tenant), tenant=tenant)
    assert status.document == document
    assert (status.version, status.version_in_force, status.pending_version) == (v2, v1, v2)
    assert (status.effective_on, status.consent_mode, status.deadline) == (
        EFFECTIVE_ON,
        ConsentMode.DEEMED,
        date(2025, 3, 31),
    )
    assert status.status == ConsentStatus.NO_ANSWER
    assert status.allowed_answers == {Answer.ACCEPTED, Answer.REJECTED}


def test_consent_status_for_tenant_r6_rejected_shows_case_and_switch() -> None:
    v2 = posted_version()
    tenant = bound_tenant(v2.document).tenant
    _answer(tenant, v2, "rejected")
    with clock.frozen_at(BEFORE):
        (status,) = consent_status_for_tenant(scope=STAFF, tenant=tenant)
    assert status.status == ConsentStatus.REJECTED
    assert status.allowed_answers == {Answer.ACCEPTED}
    assert status.case is not None
    assert status.case.status == CaseStatus.OPEN
    assert status.record is not None
    assert status.record.answer == Answer.REJECTED


def test_consent_status_for_tenant_r3_deemed_after_effective_allows_only_accept() -> None:
    v2 = posted_version()
    tenant = bound_tenant(v2.document).tenant
    delivered(v2, tenant)  # R3: the notice reached it (by post)
    with clock.frozen_at(EFFECTIVE_ON):
        consents_apply_effective(version=v2, today=EFFECTIVE_ON)
    with clock.frozen_at(AFTER):
        (status,) = consent_status_for_tenant(scope=STAFF, tenant=tenant)
    assert status.status == ConsentStatus.DEEMED
    assert status.allowed_answers == {Answer.ACCEPTED}
    assert status.deadline is None


def test_consent_status_for_tenant_auth_another_callers_tenant_not_found() -> None:
    tenant = bound_tenant(posted_version().document).tenant
    with pytest.raises(NotFound):
        consent_status_for_tenant(scope=admin_scope(TenantFactory()), tenant=tenant)
    with pytest.raises(NotFound):
        consent_status_for_tenant(
            scope=Scope.partner(make_partner_key(PartnerFactory())[0]), tenant=tenant
        )


# --- tenant_is_allowed: the products' status check -------------------------------------------------


def _check(tenant: Tenant, product, on: date = AFTER, scope: Scope | None = None):
    with clock.frozen_at(on):
        return tenant_is_allowed(
            scope=scope or _product_scope(product), tenant=tenant, product=product
        )


def test_tenant_is_allowed_r4_accepted_tenant_is_allowed_with_binding_versions() -> None:
    document = DocumentFactory()
    v1 = VersionFactory(document=document)
    v2 = posted_version(document)
    contract = bound_tenant(document)
    consent_states_open(version=v2)
    _answer(contract.tenant, v2, "accepted")
    check = _check(contract.tenant, document.product, on=BEFORE)
    assert (check.allowed, check.contract_active, check.flags) == (True, True, ())
    assert check.contract_ids == (contract.pk,)
    (binding,) = check.versions
    assert (binding.version_id, binding.pending_version_id, binding.status) == (
        v1.pk,
        v2.pk,
        ConsentStatus.ACCEPTED,
    )


# R4: a gating policy a publisher set (rationale, grace period); the tests of the gate's
# mechanics use it, since without one `outstanding` never withholds the service.
GATED = {
    "gating_enabled": True,
    "gating_rationale": "個別契約第5条により、同意のないお客様への提供を停止できる。",
    "gating_grace_days": 7,
}
GATE_FROM = date(2025, 4, 8)  # EFFECTIVE_ON + 7 days


def test_tenant_is_allowed_r4_outstanding_is_not_allowed() -> None:
    v2 = posted_version(mode=ConsentMode.EXPLICIT, **GATED)
    tenant = bound_tenant(v2.document).tenant
    with clock.frozen_at(EFFECTIVE_ON):
        consents_apply_effective(version=v2, today=EFFECTIVE_ON)
    check = _check(tenant, v2.document.product)
    assert (check.allowed, check.flags) == (False, (FLAG_OUTSTANDING,))


def test_tenant_is_allowed_r4_outstanding_without_gating_policy_stays_allowed_flagged() -> None:
    """The seeds give no right to withhold the service from a silent customer: without a
    policy an outstanding tenant stays allowed, flagged, for the product to remind it."""
    v2 = posted_version(mode=ConsentMode.EXPLICIT)
    tenant = bound_tenant(v2.document).tenant
    with clock.frozen_at(EFFECTIVE_ON):
        consents_apply_effective(version=v2, today=EFFECTIVE_ON)
    check = _check(tenant, v2.document.product)
    assert (check.allowed, check.flags) == (True, (FLAG_OUTSTANDING,))
    assert [(b.status, b.gate_from) for b in check.versions] == [(ConsentStatus.OUTSTANDING, None)]


@pytest.mark.parametrize(
    ("on", "allowed"),
    [
        (EFFECTIVE_ON, True),  # the grace period starts on the effective date
        (date(2025, 4, 7), True),  # its last day
        (GATE_FROM, False),  # the first day after it
        (date(2025, 5, 1), False),
    ],
)
def test_tenant_is_allowed_r4_gating_policy_withholds_only_after_its_grace_period(
    on: date, allowed: bool
) -> None:
    v2 = posted_version(mode=ConsentMode.EXPLICIT, **GATED)
    tenant = bound_tenant(v2.document).tenant
    consent_states_open(version=v2)
    with clock.frozen_at(EFFECTIVE_ON):
        consents_apply_effective(version=v2, today=EFFECTIVE_ON)
    TermsVersion.objects.filter(pk=v2.pk).update(status=VersionStatus.EFFECTIVE)
    check = _check(tenant, v2.document.product, on=on)
    assert (check.allowed, check.flags) == (allowed, (FLAG_OUTSTANDING,))
    assert [b.gate_from for b in check.versions] == [GATE_FROM]


def test_tenant_is_allowed_r4_gating_policy_never_touches_an_answering_tenant() -> None:
    v2 = posted_version(mode=ConsentMode.EXPLICIT, **GATED)
    accepted = bound_tenant(v2.document).tenant
    consent_states_open(version=v2)
    _answer(accepted, v2, "accepted")
    TermsVersion.objects.filter(pk=v2.pk).update(status=VersionStatus.EFFECTIVE)
    with clock.frozen_at(EFFECTIVE_ON):
        consents_apply_effective(version=v2, today=EFFECTIVE_ON)
    check = _check(accepted, v2.document.product, on=date(2025, 5, 1))
    assert (check.allowed, check.flags) == (True, ())


def test_tenant_is_allowed_r6_rejected_stays_allowed_but_flagged() -> None:
    v2 = posted_version()
    tenant = bound_tenant(v2.document).tenant
    _answer(tenant, v2, "rejected")
    check = _check(tenant, v2.document.product, on=BEFORE)
    assert (check.allowed, check.flags) == (True, (FLAG_REJECTED,))
    TerminationCase.objects.update(status=CaseStatus.CONFIRMED, end_date=date(2025, 4, 9))
    check = _check(tenant, v2.document.product, on=BEFORE)
    assert (check.allowed, check.flags, check.case_end_date) == (
        True,
        (FLAG_REJECTED, FLAG_CASE_CONFIRMED),
        date(2025, 4, 9),
    )


def test_tenant_is_allowed_r13_inactive_contract_is_not_allowed() -> None:
    v2 = posted_version()
    contract = bound_tenant(v2.document)
    Contract.objects.filter(pk=contract.pk).update(
        status=ContractStatus.TERMINATED, ended_on=date(2025, 3, 31), end_reason="customer_request"
    )
    check = _check(contract.tenant, v2.document.product)
    assert (check.allowed, check.contract_active, check.flags) == (
        False,
        False,
        (FLAG_CONTRACT_INACTIVE,),
    )


def test_tenant_is_allowed_r1_individual_rules_count_only_with_their_option() -> None:
    option = OptionFactory()
    rules_doc = DocumentFactory(product=option.product, kind="individual", option=option)
    v2 = posted_version(rules_doc, mode=ConsentMode.EXPLICIT, **GATED)
    with_option = bound_tenant(rules_doc)
    without = ContractFactory(product=option.product)
    with clock.frozen_at(EFFECTIVE_ON):
        consents_apply_effective(version=v2, today=EFFECTIVE_ON)
    assert _check(with_option.tenant, option.product).allowed is False
    check = _check(without.tenant, option.product)
    assert (check.allowed, check.versions) == (True, ())


LATER_NOTICE, LATER_EFFECTIVE, DURING_V3 = date(2025, 5, 1), date(2025, 6, 1), date(2025, 5, 10)


def _explicit_v2_in_force_then_v3_posted(v3_mode: str = ConsentMode.DEEMED):
    """V2 (explicit, with a gating policy) took effect on EFFECTIVE_ON through the job; V3 is
    posted after it."""
    document = DocumentFactory()
    v1 = VersionFactory(document=document)
    v2 = posted_version(document, mode=ConsentMode.EXPLICIT, **GATED)
    silent = bound_tenant(document).tenant
    accepted = bound_tenant(document).tenant
    consent_states_open(version=v2)
    _answer(accepted, v2, "accepted")
    TermsVersion.objects.filter(pk=v1.pk).update(status=VersionStatus.SUPERSEDED)
    TermsVersion.objects.filter(pk=v2.pk).update(status=VersionStatus.EFFECTIVE)
    v2.refresh_from_db()
    with clock.frozen_at(EFFECTIVE_ON):
        consents_apply_effective(version=v2, today=EFFECTIVE_ON)
    newcomer = bound_tenant(document, start_date=date(2025, 4, 20)).tenant
    v3 = posted_version(
        document, mode=v3_mode, notice_on=LATER_NOTICE, effective_on=LATER_EFFECTIVE
    )
    with clock.frozen_at(LATER_NOTICE):
        consent_states_open(version=v3)
    return document, v3, silent, accepted, newcomer


def test_tenant_is_allowed_r4_outstanding_in_force_version_still_blocks_after_newer_posting() -> (
    None
):
    """The lost gate: posting V3 moves the projection to V3 (`no_answer`), but the tenant
    never answered the explicit V2 in force, so the product must keep blocking it."""
    document, _v3, silent, accepted, newcomer = _explicit_v2_in_force_then_v3_posted()
    check = _check(silent, document.product, on=DURING_V3)
    assert (check.allowed, check.flags) == (False, (FLAG_OUTSTANDING,))
    assert [b.status for b in check.versions] == [ConsentStatus.OUTSTANDING]
    # Who answered V2, or contracted after it took effect, owes nothing on it.
    assert _check(accepted, document.product, on=DURING_V3).allowed is True
    assert _check(newcomer, document.product, on=DURING_V3).allowed is True


def test_tenant_is_allowed_r4_accepting_the_newer_version_lifts_the_in_force_gate() -> None:
    document, v3, silent, _accepted, _newcomer = _explicit_v2_in_force_then_v3_posted()
    _answer(silent, v3, "accepted", on=DURING_V3)
    check = _check(silent, document.product, on=DURING_V3)
    assert (check.allowed, check.flags) == (True, ())
    assert [b.status for b in check.versions] == [ConsentStatus.ACCEPTED]


def test_tenant_is_allowed_r4_r6_rejecting_the_newer_version_keeps_the_gate_and_flags() -> None:
    document, v3, silent, _accepted, _newcomer = _explicit_v2_in_force_then_v3_posted()
    _answer(silent, v3, "rejected", on=DURING_V3)
    check = _check(silent, document.product, on=DURING_V3)
    assert (check.allowed, check.flags) == (False, (FLAG_OUTSTANDING, FLAG_REJECTED))


def test_tenant_is_allowed_r4_explicit_silence_blocks_on_the_effective_day_before_the_job() -> None:
    """The status check agrees with the job before it has run: an explicit version in force,
    a tenant bound on its effective date, no answer → outstanding (R4); under a gating policy
    it withholds the service once the grace period has run, job or no job."""
    document = DocumentFactory()
    VersionFactory(document=document, status=VersionStatus.SUPERSEDED)
    v2 = posted_version(document, mode=ConsentMode.EXPLICIT, **GATED)
    tenant = bound_tenant(document).tenant
    consent_states_open(version=v2)
    TermsVersion.objects.filter(pk=v2.pk).update(status=VersionStatus.EFFECTIVE)
    newcomer = bound_tenant(document, start_date=date(2025, 4, 5)).tenant
    check = _check(tenant, document.product, on=EFFECTIVE_ON)
    assert (check.allowed, check.flags) == (True, (FLAG_OUTSTANDING,))  # grace period
    check = _check(tenant, document.product, on=GATE_FROM)
    assert (check.allowed, check.flags) == (False, (FLAG_OUTSTANDING,))
    assert _check(newcomer, document.product, on=AFTER).allowed is True


def test_tenant_is_allowed_r4_status_check_is_one_query() -> None:
    option = OptionFactory()
    base = DocumentFactory(product=option.product)
    rules_doc = DocumentFactory(product=option.product, kind="individual", option=option)
    VersionFactory(document=base)
    posted_version(base)
    VersionFactory(document=rules_doc)
    contract = bound_tenant(rules_doc)
    with CaptureQueriesContext(connection) as captured:
        check = _check(contract.tenant, option.product)
    assert len(captured) == 1  # contracts and documents in one statement (status_sql.py)
    assert len(check.versions) == 2


def test_tenant_is_allowed_auth_product_scope_sees_only_its_product_and_tenants() -> None:
    v2 = posted_version()
    tenant = bound_tenant(v2.document).tenant
    other_product = ProductFactory()
    with pytest.raises(PermissionDenied) as refused:
        _check(tenant, v2.document.product, scope=_product_scope(other_product))
    assert refused.value.code == "product_not_allowed"
    with pytest.raises(NotFound):
        _check(TenantFactory(), v2.document.product)


# --- ledger_for_tenant -----------------------------------------------------------------------------


def test_ledger_for_tenant_ledger_chain_order_and_auth_scope() -> None:
    v2 = posted_version()
    tenant = bound_tenant(v2.document).tenant
    _answer(tenant, v2, "accepted")
    _answer(tenant, v2, "rejected")
    rows = list(ledger_for_tenant(scope=admin_scope(tenant), tenant=tenant))
    assert [(r.seq, r.answer) for r in rows] == [(1, "accepted"), (2, "rejected")]
    assert list(ledger_for_tenant(scope=Scope.staff(StaffFactory()), tenant=tenant)) == rows
    with pytest.raises(NotFound):
        ledger_for_tenant(scope=admin_scope(TenantFactory()), tenant=tenant)


# --- R4: answers owed only by contracts bound on the effective date ----------------------------


def test_consent_status_r4_a_2022_revision_is_not_pending_for_a_contract_from_2026() -> None:
    document = DocumentFactory()
    v2022 = posted_version(
        document,
        mode=ConsentMode.EXPLICIT,
        notice_on=date(2022, 4, 11),
        effective_on=date(2022, 4, 19),
        status=VersionStatus.EFFECTIVE,
    )
    tenant = bound_tenant(document, start_date=date(2026, 1, 5)).tenant
    with clock.frozen_at(date(2026, 2, 1)):
        (status,) = consent_status_for_tenant(scope=admin_scope(tenant), tenant=tenant)
        check = _check(tenant, document.product, on=date(2026, 2, 1))
    assert (status.version, status.version_in_force) == (v2022, v2022)
    assert status.owed is False
    assert status.status != ConsentStatus.OUTSTANDING
    assert (status.allowed_answers, status.deadline) == (frozenset(), None)
    assert (check.allowed, check.flags) == (True, ())


@pytest.mark.parametrize("end_via", ["non_renewal", "termination"])
def test_consent_status_r4_a_revision_effective_after_the_contract_ends_is_not_pending(
    end_via: str,
) -> None:
    document = DocumentFactory()
    VersionFactory(document=document)
    v2 = posted_version(document, mode=ConsentMode.EXPLICIT)  # effective 2025-04-01
    contract = bound_tenant(document, auto_renew=True, notice_months=1)
    tenant = contract.tenant
    consent_states_open(version=v2)
    with clock.frozen_at(date(2025, 2, 20)):
        if end_via == "non_renewal":
            contract_services.non_renewal_request(
                scope=admin_scope(tenant), contract=contract, end_date=None
            )
        else:
            contract_services.termination_request(
                scope=admin_scope(tenant), contract=contract, end_date=date(2025, 3, 20), note=""
            )
    with clock.frozen_at(BEFORE):
        (status,) = consent_status_for_tenant(scope=admin_scope(tenant), tenant=tenant)
    assert status.pending_version == v2
    assert status.owed is False
    assert (status.allowed_answers, status.deadline) == (frozenset(), None)


def test_consent_status_r4_a_contract_bound_on_the_effective_date_still_owes_it() -> None:
    document = DocumentFactory()
    VersionFactory(document=document)
    v2 = posted_version(document, mode=ConsentMode.EXPLICIT)
    tenant = bound_tenant(document, start_date=date(2025, 3, 1)).tenant
    with clock.frozen_at(BEFORE):
        (status,) = consent_status_for_tenant(scope=admin_scope(tenant), tenant=tenant)
    assert status.version == v2
    assert status.owed is True
    assert status.allowed_answers == {Answer.ACCEPTED, Answer.REJECTED}
