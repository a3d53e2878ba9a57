from __future__ import annotations

from datetime import date

import pytest

from agreements.enums import (
    STAFF_ONLY_REASONS,
    ContractStatus,
    TerminationReason,
    TerminationStatus,
)
from agreements.models import Contract, TerminationCase
from agreements.rules import end_status_for_reason
from agreements.selectors.contracts import contract_facts
from agreements.services.contracts.ends import contract_end
from agreements.services.contracts.roll import contracts_roll_due
from agreements.services.contracts.terminations import termination_request, termination_schedule
from core import clock
from core.enums import EventKind
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import AuditEntry, Event, Outbox
from tenants.enums import Role
from tenants.scope import Scope
from tests.factories.agreements import DocumentFactory, VersionFactory
from tests.factories.contracts import (
    biz_product,
    device_auth_option,
    idplus_product,
    make_contract,
    partner_scope,
    staff_scope,
    tenant_scope,
)
from tests.factories.tenants import PartnerFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

R14_REASONS = [
    TerminationReason.NON_PAYMENT,
    TerminationReason.TERMS_VIOLATION,
    TerminationReason.STATUS_LOST,
    TerminationReason.ANTISOCIAL_FORCES,
    TerminationReason.OWNER_ANTISOCIAL_FORCES,
]


@pytest.fixture
def contract():
    return make_contract(tenant=TenantFactory(partner=PartnerFactory()))


# --- R13: the customer's notice -----------------------------------------------------------


def test_termination_request_r13_customer_notice_scheduled_and_acknowledged(contract):
    portal = tenant_scope(contract.tenant)
    with clock.frozen_at(date(2024, 9, 10)):
        termination = termination_request(
            scope=portal, contract=contract, end_date=date(2024, 10, 15)
        )
    assert (termination.reason, termination.status, termination.end_date) == (
        "customer_request",
        "scheduled",
        date(2024, 10, 15),
    )
    assert (termination.channel, termination.actor_user) == ("portal", portal.user)
    event = Event.objects.get(kind=EventKind.TERMINATION)
    assert event.payload["end_date"] == "2024-10-15"
    # R16 is Biz 12.3: an ID+ notice gives no claims window (the Biz case has its own test).
    assert "claims_window_closes" not in event.payload
    assert termination.notice_outbox_id in set(
        Outbox.objects.filter(event=event).values_list("pk", flat=True)
    )
    # R12: no proration; the contract runs to its end date, then ends as terminated (R14).
    contracts_roll_due(today=date(2024, 10, 16))
    contract.refresh_from_db()
    assert (contract.status, contract.ended_on) == (ContractStatus.TERMINATED, date(2024, 10, 15))


def test_termination_request_r13_through_partner_records_the_key(contract):
    scope = partner_scope(contract.tenant.partner)
    with clock.frozen_at(date(2024, 9, 10)):
        termination = termination_request(
            scope=scope, contract=contract, end_date=date(2024, 9, 30)
        )
    assert (termination.channel, termination.actor_key) == ("api", scope.partner_key)


def test_termination_request_r13_end_date_in_the_past_refused(contract):
    with clock.frozen_at(date(2024, 9, 10)), pytest.raises(ValidationFailed) as refused:
        termination_request(
            scope=tenant_scope(contract.tenant), contract=contract, end_date=date(2024, 9, 9)
        )
    assert refused.value.code == "end_date_in_past"
    assert "2024-09-09" in refused.value.message
    assert "2024-09-10" in refused.value.message


def test_termination_request_r13_one_scheduled_termination_per_contract(contract):
    portal = tenant_scope(contract.tenant)
    with clock.frozen_at(date(2024, 9, 10)):
        termination_request(scope=portal, contract=contract, end_date=date(2024, 10, 31))
        with pytest.raises(Conflict) as refused:
            termination_request(scope=portal, contract=contract, end_date=date(2024, 11, 30))
    assert refused.value.details["end_date"] == date(2024, 10, 31)


def test_termination_request_r13_viewer_and_other_callers_refused(contract):
    with clock.frozen_at(date(2024, 9, 10)):
        with pytest.raises(PermissionDenied):
            termination_request(
                scope=tenant_scope(contract.tenant, role=Role.VIEWER),
                contract=contract,
                end_date=date(2024, 10, 31),
            )
        with pytest.raises(NotFound):
            termination_request(
                scope=partner_scope(), contract=contract, end_date=date(2024, 10, 31)
            )


def test_termination_request_period_end_reasons_are_not_terminations(contract):
    with clock.frozen_at(date(2024, 9, 10)), pytest.raises(ValidationFailed) as refused:
        termination_request(
            scope=staff_scope(), contract=contract, end_date=date(2025, 3, 31), reason="expired"
        )
    assert refused.value.code == "not_a_termination_reason"


# --- R14: staff terminations ----------------------------------------------------------------


@pytest.mark.parametrize("reason", R14_REASONS)
def test_terminate_r14_staff_reason_refused_for_partner(contract, reason):
    with clock.frozen_at(date(2024, 9, 10)), pytest.raises(PermissionDenied) as refused:
        termination_request(
            scope=partner_scope(contract.tenant.partner),
            contract=contract,
            end_date=date(2024, 9, 10),
            reason=reason,
        )
    assert refused.value.code == "staff_only_reason"
    assert not contract.terminations.exists()


def test_terminate_r14_staff_reason_refused_for_tenant_user(contract):
    with clock.frozen_at(date(2024, 9, 10)), pytest.raises(PermissionDenied):
        termination_request(
            scope=tenant_scope(contract.tenant),
            contract=contract,
            end_date=date(2024, 9, 10),
            reason=TerminationReason.NON_PAYMENT,
        )


@pytest.mark.parametrize("reason", R14_REASONS)
def test_terminate_r14_without_demand_to_cure_but_with_notice(contract, reason):
    staff = staff_scope()
    with clock.frozen_at(date(2024, 9, 10)):
        termination = termination_request(
            scope=staff, contract=contract, end_date=date(2024, 9, 10), reason=reason
        )
    notice = Outbox.objects.get(pk=termination.notice_outbox_id)
    assert (notice.kind, notice.tenant_id) == (EventKind.TERMINATION, contract.tenant_id)
    assert notice.payload["reason"] == reason
    assert notice.payload["end_date"] == "2024-09-10"
    assert (termination.channel, termination.actor_kind) == ("console", "staff")
    entry = AuditEntry.objects.get(object_type="agreements.termination")
    assert (entry.action, entry.actor) == ("terminate", staff.user)
    contracts_roll_due(today=date(2024, 9, 11))
    contract.refresh_from_db()
    assert (contract.status, contract.end_reason) == (ContractStatus.TERMINATED, reason)


def test_terminate_r14_refused_when_no_notice_can_be_delivered():
    contract = make_contract(tenant=TenantFactory(contact_email=""))  # no users, no partner
    with clock.frozen_at(date(2024, 9, 10)), pytest.raises(Conflict) as refused:
        termination_request(
            scope=staff_scope(),
            contract=contract,
            end_date=date(2024, 9, 30),
            reason=TerminationReason.TERMS_VIOLATION,
        )
    assert refused.value.code == "no_notice_recipient"
    assert not contract.terminations.exists()


def test_contract_end_r14_expired_leaves_ended(contract):
    with clock.frozen_at(date(2025, 4, 1)):
        ended = contract_end(
            contract=contract, end_date=date(2025, 3, 31), reason="expired", scope=Scope.system()
        )
    assert (ended.status, ended.ended_on, ended.end_reason) == (
        "ended",
        date(2025, 3, 31),
        "expired",
    )
    assert Event.objects.get(kind=EventKind.ENDED).payload["end_date"] == "2025-03-31"


@pytest.mark.parametrize("reason", [r for r in TerminationReason if r != "succession"])
def test_contract_end_r14_status_by_reason_and_every_end_has_a_termination(contract, reason):
    with clock.frozen_at(date(2024, 9, 10)):
        ended = contract_end(
            contract=contract, end_date=date(2024, 9, 10), reason=reason, scope=staff_scope()
        )
    expected = "ended" if reason in ("non_renewal", "expired") else "terminated"
    assert ended.status == expected == end_status_for_reason(reason)
    (termination,) = contract.terminations.all()
    assert (termination.reason, termination.status, termination.end_date) == (
        reason,
        TerminationStatus.EFFECTIVE,
        date(2024, 9, 10),
    )
    assert termination.notice_outbox_id is not None
    assert (
        AuditEntry.objects.filter(object_type="agreements.contract", action="terminate").count()
        == 1
    )


def test_contract_end_makes_the_scheduled_termination_effective(contract):
    with clock.frozen_at(date(2024, 9, 10)):
        scheduled = termination_request(
            scope=tenant_scope(contract.tenant), contract=contract, end_date=date(2024, 9, 10)
        )
        contract_end(
            contract=contract,
            end_date=date(2024, 9, 10),
            reason="customer_request",
            scope=staff_scope(),
        )
    (termination,) = contract.terminations.all()
    assert (termination.pk, termination.status) == (scheduled.pk, TerminationStatus.EFFECTIVE)


def test_contract_end_only_privileged_and_not_in_the_future(contract):
    with clock.frozen_at(date(2024, 9, 10)):
        with pytest.raises(PermissionDenied):
            contract_end(
                contract=contract,
                end_date=date(2024, 9, 10),
                reason="customer_request",
                scope=tenant_scope(contract.tenant),
            )
        with pytest.raises(ValidationFailed) as refused:
            contract_end(
                contract=contract, end_date=date(2024, 9, 11), reason="expired", scope=staff_scope()
            )
    assert refused.value.code == "end_in_future"
    contract_end(
        contract=contract, end_date=date(2024, 9, 10), reason="expired", scope=staff_scope()
    )
    with pytest.raises(Conflict):
        contract_end(
            contract=contract, end_date=date(2024, 9, 10), reason="expired", scope=staff_scope()
        )


# --- R6: termination_schedule for a confirmed rejection -------------------------------------


def _case(contract: Contract) -> TerminationCase:
    version = VersionFactory(document=DocumentFactory(product=contract.product))
    return TerminationCase.objects.create(
        tenant=contract.tenant,
        contract=contract,
        version=version,
        opened_at=clock.now(),
        status="confirmed",
        end_date=date(2024, 10, 10),
    )


def test_termination_schedule_r6_terms_rejected_is_never_retroactive(contract):
    case = _case(contract)
    with clock.frozen_at(date(2024, 9, 10)):
        with pytest.raises(ValidationFailed):
            termination_schedule(
                contract=contract,
                end_date=date(2024, 9, 9),
                reason="terms_rejected",
                scope=staff_scope(),
                case=case,
            )
        termination = termination_schedule(
            contract=contract,
            end_date=date(2024, 10, 10),
            reason="terms_rejected",
            scope=staff_scope(),
            case=case,
        )
    assert (termination.case, termination.status, termination.end_date) == (
        case,
        "scheduled",
        date(2024, 10, 10),
    )
    assert Outbox.objects.get(pk=termination.notice_outbox_id).payload["reason"] == "terms_rejected"
    contracts_roll_due(today=date(2024, 10, 11))
    case.refresh_from_db()
    contract.refresh_from_db()
    assert (contract.status, contract.end_reason) == ("terminated", "terms_rejected")
    assert (case.status, case.closed_at is not None) == ("effective", True)


def test_contract_end_r6_r14_other_end_closes_the_live_cases_of_the_contract():
    """A contract that ends for another reason (here: expiry at period end, before the
    confirmed case's date) leaves no case to decide: open and confirmed cases are closed
    as dropped, and the confirmed case's termination is cancelled, not made effective."""
    contract = make_contract(tenant=TenantFactory(), product=biz_product())  # no auto-renewal
    confirmed = _case(contract)
    confirmed.end_date = date(2025, 4, 20)
    confirmed.save(update_fields=["end_date"])
    with clock.frozen_at(date(2025, 3, 10)):
        termination = termination_schedule(
            contract=contract,
            end_date=date(2025, 4, 20),
            reason="terms_rejected",
            scope=staff_scope(),
            case=confirmed,
        )
    opened = TerminationCase.objects.create(
        tenant=contract.tenant,
        contract=contract,
        version=VersionFactory(document=confirmed.version.document, status="superseded"),
        opened_at=clock.now(),
    )
    with clock.frozen_at(date(2025, 4, 1)):
        assert contracts_roll_due(today=date(2025, 4, 1))["expired"] == 1
    contract.refresh_from_db()
    termination.refresh_from_db()
    assert (contract.status, contract.end_reason) == ("ended", "expired")
    assert termination.status == TerminationStatus.CANCELLED
    assert {
        pk: (status, closed is not None)
        for pk, status, closed in TerminationCase.objects.values_list("pk", "status", "closed_at")
    } == {confirmed.pk: ("dropped", True), opened.pk: ("dropped", True)}
    opened.refresh_from_db()
    assert opened.note == "契約が別の事由で終了したため終了"


def test_termination_schedule_refused_for_customers(contract):
    with clock.frozen_at(date(2024, 9, 10)), pytest.raises(PermissionDenied):
        termination_schedule(
            contract=contract,
            end_date=date(2024, 10, 10),
            reason="terms_rejected",
            scope=tenant_scope(contract.tenant),
        )


def test_staff_only_reasons_cover_the_r14_list():
    assert set(R14_REASONS) <= STAFF_ONLY_REASONS


# --- R18: ending the prerequisite -----------------------------------------------------------


def test_r18_ending_biz_flags_idplus_option_to_staff_and_tenant():
    tenant = TenantFactory()
    biz = make_contract(tenant=tenant, product=biz_product())
    option = device_auth_option(idplus_product(), biz_product())
    idplus = make_contract(tenant=tenant, options=[option])
    unrelated = make_contract(tenant=TenantFactory(), product=biz_product())
    with clock.frozen_at(date(2024, 9, 10)) as moment:
        contract_end(
            contract=biz, end_date=date(2024, 9, 10), reason="non_payment", scope=staff_scope()
        )
    idplus.refresh_from_db()
    unrelated.refresh_from_db()
    assert idplus.prerequisite_flagged_at == moment
    assert unrelated.prerequisite_flagged_at is None
    event = Event.objects.get(kind=EventKind.OPTION_PREREQUISITE_LOST)
    assert (event.tenant_id, event.payload["contract_id"]) == (tenant.pk, idplus.pk)
    assert event.payload["prerequisite_ended_on"] == "2024-09-10"
    staff_mail = Outbox.objects.get(kind=EventKind.OPTION_PREREQUISITE_LOST, tenant_id=None)
    assert staff_mail.recipient == "legal@optim.example"
    assert staff_mail.payload["option_code"] == "device-auth"
    assert Outbox.objects.filter(
        kind=EventKind.OPTION_PREREQUISITE_LOST, tenant_id=tenant.pk
    ).exists()
    facts = contract_facts(idplus, date(2024, 9, 11))
    assert facts.prerequisite_flagged_at == idplus.prerequisite_flagged_at


def test_r18_another_active_biz_contract_keeps_the_option_unflagged():
    tenant = TenantFactory()
    first = make_contract(tenant=tenant, product=biz_product())
    make_contract(tenant=tenant, product=biz_product())
    idplus = make_contract(tenant=tenant, options=[device_auth_option()])
    with clock.frozen_at(date(2024, 9, 10)):
        contract_end(
            contract=first, end_date=date(2024, 9, 10), reason="expired", scope=staff_scope()
        )
    idplus.refresh_from_db()
    assert idplus.prerequisite_flagged_at is None
    assert not Event.objects.filter(kind=EventKind.OPTION_PREREQUISITE_LOST).exists()


def test_r18_biz_expiring_in_the_roll_job_flags_the_option():
    tenant = TenantFactory()
    make_contract(tenant=tenant, product=biz_product())
    idplus = make_contract(
        tenant=tenant, options=[device_auth_option()], start_date=date(2024, 5, 1)
    )
    counts = contracts_roll_due(today=date(2025, 4, 1))
    assert counts["expired"] == 1
    idplus.refresh_from_db()
    assert idplus.status == "active"
    assert idplus.prerequisite_flagged_at is not None
