from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest

from agreements.enums import (
    ContractStatus,
    DeletionKind,
    DeletionStatus,
    NonRenewalStatus,
    TerminationReason,
)
from agreements.models import DataDeletion, NonRenewalRequest
from agreements.selectors.contracts import contract_facts
from agreements.services.contracts.non_renewal import non_renewal_request, non_renewal_withdraw
from agreements.services.contracts.roll import contracts_roll_due
from agreements.services.deletions import deletion_request
from core import clock
from core.clock import TOKYO
from core.enums import EventKind
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import Event, Outbox
from tenants.enums import Role
from tests.factories.contracts import (
    biz_product,
    make_contract,
    partner_scope,
    tenant_scope,
)
from tests.factories.tenants import PartnerFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def contract():
    """ID+ from 2024-04-01 for 12 months: ends 2025-03-31, deadline 2025-02-28 (R11)."""
    return make_contract(tenant=TenantFactory(), start_date=date(2024, 4, 1))


@pytest.fixture
def portal(contract):
    return tenant_scope(contract.tenant)


def test_non_renewal_r11_on_deadline_day_accepted(contract, portal):
    with clock.frozen_at(date(2025, 2, 28)):
        request = non_renewal_request(scope=portal, contract=contract)
    assert (request.requested_on, request.end_date, request.deadline) == (
        date(2025, 2, 28),
        date(2025, 3, 31),
        date(2025, 2, 28),
    )
    assert (request.actor_kind, request.channel, request.actor_user) == (
        "user",
        "portal",
        portal.user,
    )
    event = Event.objects.get(kind=EventKind.NON_RENEWAL_RECEIVED)
    assert event.payload["end_date"] == "2025-03-31"
    assert event.payload["deadline"] == "2025-02-28"
    assert Outbox.objects.filter(event=event, channel="email").count() == 2  # admin + contact


def test_non_renewal_r11_day_after_refused_with_both_dates(contract, portal):
    with clock.frozen_at(date(2025, 3, 1)), pytest.raises(Conflict) as refused:
        non_renewal_request(scope=portal, contract=contract)
    error = refused.value
    assert error.code == "non_renewal_late"
    assert error.details["deadline"] == date(2025, 2, 28)
    assert error.details["next_possible_end"] == date(2026, 3, 31)
    assert "2025-02-28" in error.message
    assert "2026-03-31" in error.message
    assert NonRenewalRequest.objects.count() == 0


def test_non_renewal_r11_late_accepted_for_next_possible_end_when_asked(contract, portal):
    with clock.frozen_at(date(2025, 3, 1)):
        request = non_renewal_request(scope=portal, contract=contract, end_date=date(2026, 3, 31))
    assert (request.end_date, request.deadline) == (date(2026, 3, 31), date(2026, 2, 28))


def test_non_renewal_r11_late_with_current_end_still_refused(contract, portal):
    with clock.frozen_at(date(2025, 3, 15)), pytest.raises(Conflict) as refused:
        non_renewal_request(scope=portal, contract=contract, end_date=date(2025, 3, 31))
    assert refused.value.code == "non_renewal_late"


def test_non_renewal_r11_other_end_date_points_to_termination(contract, portal):
    with clock.frozen_at(date(2025, 1, 10)), pytest.raises(ValidationFailed) as refused:
        non_renewal_request(scope=portal, contract=contract, end_date=date(2025, 2, 15))
    assert refused.value.code == "non_renewal_not_period_end"
    assert refused.value.details["use"] == "termination"
    assert refused.value.details["next_possible_end"] == date(2025, 3, 31)
    assert "2025-03-31" in refused.value.message


@pytest.mark.parametrize(
    ("start", "months", "end", "deadline"),
    [
        (date(2024, 4, 1), 12, date(2025, 3, 31), date(2025, 2, 28)),
        (date(2025, 4, 1), 1, date(2025, 4, 30), date(2025, 3, 31)),
        (date(2025, 3, 1), 12, date(2026, 2, 28), date(2026, 1, 31)),
    ],
)
def test_non_renewal_r11_deadline_examples_from_design(start, months, end, deadline):
    contract = make_contract(tenant=TenantFactory(), start_date=start, term_months=months)
    scope = tenant_scope(contract.tenant)
    with clock.frozen_at(deadline + timedelta(days=1)), pytest.raises(Conflict) as refused:
        non_renewal_request(scope=scope, contract=contract)
    assert refused.value.details["deadline"] == deadline
    with clock.frozen_at(deadline):
        request = non_renewal_request(scope=scope, contract=contract)
    assert (request.end_date, request.deadline) == (end, deadline)


def test_non_renewal_r11_deadline_is_a_tokyo_date(contract, portal):
    # 23:30 JST on the deadline is 14:30 UTC: still timely.
    with clock.frozen_at(datetime(2025, 2, 28, 23, 30, tzinfo=TOKYO)):
        non_renewal_request(scope=portal, contract=contract)
    other = make_contract(tenant=TenantFactory(), start_date=date(2024, 4, 1))
    # 00:10 JST on 2025-03-01 is still 2025-02-28 in UTC: already late.
    with clock.frozen_at(datetime(2025, 3, 1, 0, 10, tzinfo=TOKYO)), pytest.raises(Conflict):
        non_renewal_request(scope=tenant_scope(other.tenant), contract=other)


def test_non_renewal_r11_only_for_auto_renewing_contracts():
    contract = make_contract(tenant=TenantFactory(), product=biz_product())
    with clock.frozen_at(date(2024, 6, 1)), pytest.raises(Conflict) as refused:
        non_renewal_request(scope=tenant_scope(contract.tenant), contract=contract)
    assert refused.value.code == "not_auto_renewing"


def test_non_renewal_r11_one_active_request_per_contract(contract, portal):
    with clock.frozen_at(date(2025, 1, 5)):
        non_renewal_request(scope=portal, contract=contract)
        with pytest.raises(Conflict) as refused:
            non_renewal_request(scope=portal, contract=contract)
    assert refused.value.code == "non_renewal_exists"
    assert refused.value.details["end_date"] == date(2025, 3, 31)


def test_non_renewal_r11_viewer_and_other_callers_refused(contract):
    viewer = tenant_scope(contract.tenant, role=Role.VIEWER)
    with clock.frozen_at(date(2025, 1, 5)):
        with pytest.raises(PermissionDenied):
            non_renewal_request(scope=viewer, contract=contract)
        with pytest.raises(NotFound):
            non_renewal_request(scope=tenant_scope(TenantFactory()), contract=contract)
        with pytest.raises(NotFound):
            non_renewal_request(scope=partner_scope(), contract=contract)


def test_non_renewal_r11_partner_applies_for_its_tenant():
    partner = PartnerFactory()
    contract = make_contract(tenant=TenantFactory(partner=partner))
    scope = partner_scope(partner)
    with clock.frozen_at(date(2025, 2, 1)):
        request = non_renewal_request(scope=scope, contract=contract)
    assert (request.actor_kind, request.channel, request.actor_key) == (
        "partner_key",
        "api",
        scope.partner_key,
    )


def test_non_renewal_r11_applied_at_period_end_ends_contract(contract, portal):
    with clock.frozen_at(date(2025, 2, 1)):
        request = non_renewal_request(scope=portal, contract=contract)
    assert contracts_roll_due(today=date(2025, 3, 31))["ended_non_renewal"] == 0
    with clock.frozen_at(date(2025, 4, 1)):
        counts = contracts_roll_due(today=date(2025, 4, 1))
    assert counts == {"terminated": 0, "renewed": 0, "ended_non_renewal": 1, "expired": 0}
    contract.refresh_from_db()
    request.refresh_from_db()
    assert (contract.status, contract.ended_on, contract.end_reason) == (
        ContractStatus.ENDED,
        date(2025, 3, 31),
        TerminationReason.NON_RENEWAL,
    )
    assert request.status == NonRenewalStatus.APPLIED


def test_non_renewal_r11_for_next_end_lets_current_period_renew(contract, portal):
    with clock.frozen_at(date(2025, 3, 10)):
        non_renewal_request(scope=portal, contract=contract, end_date=date(2026, 3, 31))
    assert contracts_roll_due(today=date(2025, 4, 1))["renewed"] == 1
    assert contracts_roll_due(today=date(2026, 4, 1))["ended_non_renewal"] == 1
    contract.refresh_from_db()
    assert contract.ended_on == date(2026, 3, 31)


def test_non_renewal_withdraw_r11_r15_on_deadline_renews_again(contract, portal):
    with clock.frozen_at(date(2025, 2, 1)):
        request = non_renewal_request(scope=portal, contract=contract)
        deletion = deletion_request(scope=portal, contract=contract)
    with clock.frozen_at(date(2025, 2, 28)):
        request = non_renewal_withdraw(scope=portal, request=request)
    assert request.status == NonRenewalStatus.WITHDRAWN
    deletion.refresh_from_db()
    assert deletion.status == DeletionStatus.CANCELLED
    # R15: the deletion request fell with the end it relied on, and the customer is told so.
    assert deletion.withdrawn_at is not None
    told = Event.objects.get(kind=EventKind.DELETION_WITHDRAWN)
    assert (told.payload["deletion_id"], told.payload["cause"]) == (
        deletion.pk,
        "non_renewal_withdrawn",
    )
    event = Event.objects.get(kind=EventKind.NON_RENEWAL_WITHDRAWN)
    assert event.payload["deletion_requests_cancelled"] == [deletion.pk]
    assert event.payload["cancelled_end_date"] == "2025-03-31"
    assert event.payload["renews_on"] == "2025-04-01"
    assert contracts_roll_due(today=date(2025, 4, 1))["renewed"] == 1
    assert not DataDeletion.objects.filter(kind=DeletionKind.PRIMARY).exists()


def test_non_renewal_withdraw_r11_after_deadline_refused(contract, portal):
    with clock.frozen_at(date(2025, 2, 1)):
        request = non_renewal_request(scope=portal, contract=contract)
    with clock.frozen_at(date(2025, 3, 1)), pytest.raises(Conflict) as refused:
        non_renewal_withdraw(scope=portal, request=request)
    assert refused.value.code == "non_renewal_withdraw_late"
    assert "2025-02-28" in refused.value.message
    assert "2025-03-31" in refused.value.message


def test_non_renewal_r11_facts_show_concrete_deadline_and_days_left(contract):
    facts = contract_facts(contract, date(2025, 2, 20))
    assert (facts.current_deadline, facts.non_renewal_deadline, facts.non_renewal_days_left) == (
        date(2025, 2, 28),
        date(2025, 2, 28),
        8,
    )
    assert (facts.non_renewal_end, facts.next_possible_end) == (
        date(2025, 3, 31),
        date(2026, 3, 31),
    )
    late = contract_facts(contract, date(2025, 3, 2))
    assert late.is_current_deadline_open is False
    assert (late.non_renewal_end, late.non_renewal_deadline) == (
        date(2026, 3, 31),
        date(2026, 2, 28),
    )
    assert (late.auto_renew_source, late.notice_source, late.notice_months) == ("terms", "terms", 1)


@pytest.mark.parametrize(
    ("start", "end", "deadline"),
    [
        # R11: the later of the two readings ((a) gives 04-29 and 02-27)
        (date(2024, 5, 31), date(2025, 5, 30), date(2025, 4, 30)),
        (date(2024, 3, 31), date(2025, 3, 30), date(2025, 2, 28)),
        # leap year: (b) 2024-02-29, (a) 02-28
        (date(2023, 3, 31), date(2024, 3, 30), date(2024, 2, 29)),
    ],
)
def test_non_renewal_r11_deadline_is_the_later_reading_at_month_ends(start, end, deadline):
    contract = make_contract(tenant=TenantFactory(), start_date=start, term_months=12)
    assert contract.periods.get().end_date == end
    scope = tenant_scope(contract.tenant)
    with clock.frozen_at(deadline + timedelta(days=1)), pytest.raises(Conflict) as refused:
        non_renewal_request(scope=scope, contract=contract)
    assert refused.value.details["deadline"] == deadline
    with clock.frozen_at(deadline):
        request = non_renewal_request(scope=scope, contract=contract)
    assert (request.end_date, request.deadline) == (end, deadline)
    assert contract_facts(contract, deadline).current_deadline == deadline
