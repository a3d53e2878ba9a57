from __future__ import annotations

import hashlib
from datetime import date

import pytest

from agreements.enums import ContractStatus, TerminationReason
from agreements.models import ConsentRecord, Contract, ContractPeriod, Termination
from agreements.services.contracts.create import contract_create
from agreements.services.contracts.ends import contract_end
from agreements.services.contracts.roll import contracts_roll_due
from agreements.services.contracts.succession import succession
from agreements.services.contracts.terminations import termination_request
from core import clock
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.models import AuditEntry
from tenants.models import Tenant
from tenants.scope import Scope
from tests.factories.agreements import VersionFactory
from tests.factories.contracts import (
    biz_product,
    device_auth_option,
    make_contract,
    partner_scope,
    staff_scope,
    tenant_scope,
)
from tests.factories.tenants import PartnerFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CONSENT = "承諾書 第2024-081号"


def _ledger(tenant: Tenant, count: int) -> None:
    version = VersionFactory()
    for seq in range(1, count + 1):
        ConsentRecord.objects.create(
            tenant=tenant,
            seq=seq,
            document=version.document,
            version=version,
            answer="accepted",
            actor_kind="user",
            actor_ref="user:1",
            channel="portal",
            recorded_at=clock.now(),
            version_body_hash=version.body_hash,
            prev_hash="0" * 64,
            hash=hashlib.sha256(f"{tenant.pk}:{seq}".encode()).hexdigest(),
        )


@pytest.fixture
def contract():
    return make_contract(tenant=TenantFactory(partner=PartnerFactory()), order_ref="PO-7")


def test_r19_succession_ends_the_contract_and_opens_one_for_the_successor(contract):
    successor_tenant = TenantFactory()
    staff = staff_scope()
    with clock.frozen_at(date(2024, 9, 1)):
        new = succession(
            scope=staff,
            contract=contract,
            successor_tenant=successor_tenant,
            written_consent_ref=CONSENT,
            on_date=date(2024, 9, 1),
        )
    contract.refresh_from_db()
    assert (contract.status, contract.ended_on, contract.end_reason) == (
        ContractStatus.TERMINATED,
        date(2024, 8, 31),
        TerminationReason.SUCCESSION,
    )
    termination = Termination.objects.get(contract=contract)
    assert (termination.reason, termination.written_consent_ref, termination.successor) == (
        "succession",
        CONSENT,
        new,
    )
    assert (new.tenant, new.predecessor, new.succession_consent_ref) == (
        successor_tenant,
        contract,
        CONSENT,
    )
    assert (new.product, new.auto_renew, new.notice_months, new.order_ref) == (
        contract.product,
        True,
        1,
        "PO-7",
    )
    # The successor steps into the running period (2024-04-01…2025-03-31).
    assert list(new.periods.values_list("seq", "start_date", "end_date", "status")) == [
        (1, date(2024, 9, 1), date(2025, 3, 31), "open")
    ]
    entry = AuditEntry.objects.get(action="succession")
    assert (entry.actor, entry.object_id, entry.data["written_consent_ref"]) == (
        staff.user,
        contract.pk,
        CONSENT,
    )


def test_r19_successor_renews_for_the_full_term_after_the_remainder(contract):
    with clock.frozen_at(date(2024, 9, 1)):
        new = succession(
            scope=staff_scope(),
            contract=contract,
            successor_tenant=TenantFactory(),
            written_consent_ref=CONSENT,
            on_date=date(2024, 9, 1),
        )
    assert contracts_roll_due(today=date(2025, 4, 1))["renewed"] == 1
    assert ContractPeriod.objects.get(contract=new, seq=2).end_date == date(2026, 3, 31)


def test_r19_succession_leaves_both_ledgers_untouched(contract):
    successor_tenant = TenantFactory()
    _ledger(contract.tenant, 3)
    _ledger(successor_tenant, 2)
    before = list(ConsentRecord.objects.order_by("pk").values())
    with clock.frozen_at(date(2024, 9, 1)):
        succession(
            scope=staff_scope(),
            contract=contract,
            successor_tenant=successor_tenant,
            written_consent_ref=CONSENT,
            on_date=date(2024, 9, 1),
        )
    assert list(ConsentRecord.objects.order_by("pk").values()) == before


def test_r19_succession_needs_the_written_consent(contract):
    with clock.frozen_at(date(2024, 9, 1)), pytest.raises(ValidationFailed) as refused:
        succession(
            scope=staff_scope(),
            contract=contract,
            successor_tenant=TenantFactory(),
            written_consent_ref="  ",
            on_date=date(2024, 9, 1),
        )
    assert refused.value.code == "written_consent_required"
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE


def test_r19_succession_not_to_the_same_tenant_nor_in_the_future(contract):
    with clock.frozen_at(date(2024, 9, 1)):
        with pytest.raises(ValidationFailed):
            succession(
                scope=staff_scope(),
                contract=contract,
                successor_tenant=contract.tenant,
                written_consent_ref=CONSENT,
                on_date=date(2024, 9, 1),
            )
        with pytest.raises(ValidationFailed) as refused:
            succession(
                scope=staff_scope(),
                contract=contract,
                successor_tenant=TenantFactory(),
                written_consent_ref=CONSENT,
                on_date=date(2024, 9, 2),
            )
    assert refused.value.code == "succession_in_future"


def test_r19_successor_without_the_prerequisite_is_flagged():
    tenant = TenantFactory()
    make_contract(tenant=tenant, product=biz_product())
    idplus = make_contract(tenant=tenant, options=[device_auth_option()])
    with clock.frozen_at(date(2024, 9, 1)):
        new = succession(
            scope=staff_scope(),
            contract=idplus,
            successor_tenant=TenantFactory(),
            written_consent_ref=CONSENT,
            on_date=date(2024, 9, 1),
        )
    assert new.prerequisite_flagged_at is not None


def test_r19_no_partner_or_portal_operation_moves_a_contract(contract):
    """Every service a partner or a tenant user can reach, tried against the contract."""
    partner = contract.tenant.partner
    other_tenant = TenantFactory(partner=partner)  # the same partner's other customer
    callers = [partner_scope(partner), tenant_scope(contract.tenant)]
    with clock.frozen_at(date(2024, 9, 1)):
        for scope in callers:
            with pytest.raises(PermissionDenied):
                succession(
                    scope=scope,
                    contract=contract,
                    successor_tenant=other_tenant,
                    written_consent_ref=CONSENT,
                    on_date=date(2024, 9, 1),
                )
            with pytest.raises(PermissionDenied):
                termination_request(
                    scope=scope,
                    contract=contract,
                    end_date=date(2024, 9, 1),
                    reason=TerminationReason.SUCCESSION,
                )
            with pytest.raises(PermissionDenied):
                contract_end(
                    contract=contract,
                    end_date=date(2024, 8, 31),
                    reason=TerminationReason.SUCCESSION,
                    scope=scope,
                )
        # The system scope is no person: it cannot give the company's written consent either.
        with pytest.raises(PermissionDenied):
            succession(
                scope=Scope.system(),
                contract=contract,
                successor_tenant=other_tenant,
                written_consent_ref=CONSENT,
                on_date=date(2024, 9, 1),
            )
        # A tenant user cannot open a contract anywhere; a partner only for its own tenants,
        # and a new contract is never a transfer: it has no predecessor.
        with pytest.raises(PermissionDenied):
            make_contract(tenant=other_tenant, scope=callers[1])
        with pytest.raises(NotFound):
            make_contract(tenant=TenantFactory(partner=PartnerFactory()), scope=callers[0])
        with pytest.raises(TypeError):
            contract_create(  # type: ignore[call-arg]
                scope=callers[0],
                tenant=other_tenant,
                product=contract.product,
                start_date=date(2024, 9, 1),
                billing_cycle="monthly",
                predecessor=contract,
            )
    contract.refresh_from_db()
    assert (contract.tenant.partner, contract.status) == (partner, ContractStatus.ACTIVE)
    assert Contract.objects.filter(predecessor__isnull=False).count() == 0
    assert not Termination.objects.exists()
