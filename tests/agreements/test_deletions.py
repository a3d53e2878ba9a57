from __future__ import annotations

import hashlib
from datetime import date

import pytest
from django.contrib.auth import get_user_model
from django.utils import translation

from agreements.enums import DeletionKind, DeletionStatus
from agreements.models import (
    ConsentEvidence,
    ConsentRecord,
    Contract,
    DataDeletion,
    TerminationCase,
)
from agreements.selectors.contracts import contract_facts
from agreements.services.consents import case_drop
from agreements.services.contracts.ends import contract_end
from agreements.services.contracts.non_renewal import non_renewal_request
from agreements.services.contracts.roll import contracts_roll_due
from agreements.services.contracts.succession import succession
from agreements.services.contracts.terminations import termination_request, termination_schedule
from agreements.services.deletions import (
    deletion_acknowledge,
    deletion_request,
    deletions_order_due,
    tenant_redact,
)
from core import clock
from core.enums import EventKind
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import Event, Outbox
from tenants.enums import Role
from tenants.models import Membership, Tenant
from tenants.scope import Scope
from tests.factories.agreements import VersionFactory
from tests.factories.contracts import (
    biz_product,
    idplus_product,
    make_contract,
    partner_scope,
    product_scope,
    staff_scope,
    tenant_scope,
)
from tests.factories.tenants import MembershipFactory, PartnerFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def deletions(contract: Contract) -> dict[str, tuple[str, date]]:
    return {d.kind: (d.status, d.due_on) for d in DataDeletion.objects.filter(contract=contract)}


@pytest.fixture
def ended():
    """A Biz contract that expired on 2025-03-31."""
    contract = make_contract(tenant=TenantFactory(), product=biz_product())
    contracts_roll_due(today=date(2025, 4, 1))
    contract.refresh_from_db()
    return contract


def test_r15_end_schedules_primary_and_backup_deletions(ended):
    assert deletions(ended) == {
        "primary": ("scheduled", date(2025, 5, 1)),
        "backup": ("scheduled", date(2026, 4, 1)),
    }
    payload = Event.objects.get(kind=EventKind.ENDED).payload
    assert (payload["primary_deletion_from"], payload["backup_purge_due"]) == (
        "2025-05-01",
        "2026-04-01",
    )


def test_r15_primary_deletion_follows_the_policy_setting(settings):
    settings.TERMS_DELETION_PRIMARY_ALLOWED = False
    contract = make_contract(tenant=TenantFactory(), product=biz_product())
    contracts_roll_due(today=date(2025, 4, 1))
    assert deletions(contract) == {"backup": ("scheduled", date(2026, 4, 1))}


def test_r15_deletion_request_at_cancellation_is_due_after_the_end():
    contract = make_contract(tenant=TenantFactory())
    portal = tenant_scope(contract.tenant)
    with clock.frozen_at(date(2025, 3, 20)):
        # Before the period end (03-31): an end on it after the deadline is refused (R11).
        termination_request(scope=portal, contract=contract, end_date=date(2025, 3, 30))
        deletion = deletion_request(scope=portal, contract=contract)
    # The later of the day after the end (03-31) and the request + 14 days (04-03).
    assert (deletion.kind, deletion.due_on, deletion.requested_on) == (
        "requested",
        date(2025, 4, 3),
        date(2025, 3, 20),
    )
    assert deletion.requested_by == portal.user


def test_r15_deletion_request_with_non_renewal_uses_the_period_end():
    contract = make_contract(tenant=TenantFactory())
    scope = partner_scope(PartnerFactory())
    contract.tenant.partner = scope.partner_key.partner
    contract.tenant.save()
    with clock.frozen_at(date(2025, 1, 10)):
        non_renewal_request(scope=scope, contract=contract)
        deletion = deletion_request(scope=scope, contract=contract)
    assert (deletion.due_on, deletion.requested_by_key) == (date(2025, 4, 1), scope.partner_key)


def test_r15_deletion_request_after_the_end_waits_the_grace_days(ended):
    with clock.frozen_at(date(2025, 4, 20)):
        deletion = deletion_request(scope=tenant_scope(ended.tenant), contract=ended)
    assert deletion.due_on == date(2025, 5, 4)
    facts = contract_facts(ended, date(2025, 4, 20))
    assert [(d.kind, d.due_on) for d in facts.deletions] == [
        ("primary", date(2025, 5, 1)),
        ("requested", date(2025, 5, 4)),
        ("backup", date(2026, 4, 1)),
    ]


def test_r15_deletion_request_repeated_returns_the_same_row(ended):
    portal = tenant_scope(ended.tenant)
    with clock.frozen_at(date(2025, 4, 20)):
        first = deletion_request(scope=portal, contract=ended)
    with clock.frozen_at(date(2025, 4, 25)):
        again = deletion_request(scope=portal, contract=ended)
    assert (again.pk, again.due_on) == (first.pk, date(2025, 5, 4))


@pytest.mark.parametrize(
    ("product", "language", "message"),
    [
        # Biz 10.3: at cancellation or after the end, cited.
        (
            "biz",
            "ja",
            "データ削除は、解約・更新しない旨の申込と同時、または利用期間の終了後に依頼できます"
            "（利用規約第10条第3項）。",
        ),
        (
            "biz",
            "en",
            "Data deletion can be requested together with a termination or non-renewal, or after "
            "the end of the usage period (Terms of Use, Article 10(3)).",
        ),
        # ID+: no deletion clause in the available text, so no Biz wording and no article.
        (
            "idplus",
            "ja",
            "データの削除は、契約の終了日が決まった後（解約・更新しない旨の申込の後）に依頼できます。",
        ),
        (
            "idplus",
            "en",
            "You can ask for your data to be deleted once the contract's end date is set (after a "
            "termination or non-renewal).",
        ),
    ],
)
def test_r15_deletion_request_without_a_known_end_refused_in_the_products_own_terms(
    product, language, message
):
    # No known end: a contract renewing by itself (ID+ 5.4; a Biz order with renewal), no
    # non-renewal or termination filed.
    if product == "biz":
        contract = make_contract(
            tenant=TenantFactory(), product=biz_product(), auto_renew=True, notice_months=1
        )
    else:
        contract = make_contract(tenant=TenantFactory(), product=idplus_product())
    with (
        clock.frozen_at(date(2024, 6, 1)),
        translation.override(language),
        pytest.raises(Conflict) as refused,
    ):
        deletion_request(scope=tenant_scope(contract.tenant), contract=contract)
    assert refused.value.code == "deletion_needs_end"
    assert str(refused.value.message) == message


def test_r15_deletion_request_only_by_the_tenants_callers(ended):
    with clock.frozen_at(date(2025, 4, 20)):
        with pytest.raises(PermissionDenied):
            deletion_request(scope=tenant_scope(ended.tenant, role=Role.VIEWER), contract=ended)
        with pytest.raises(NotFound):
            deletion_request(scope=tenant_scope(TenantFactory()), contract=ended)


def test_r15_order_due_orders_to_the_product_and_tells_the_tenant(ended):
    assert deletions_order_due(today=date(2025, 4, 30))["ordered"] == 0
    counts = deletions_order_due(today=date(2025, 5, 1))
    assert counts["ordered"] == 1
    assert deletions(ended)["primary"][0] == "ordered"
    order = Event.objects.get(
        kind=EventKind.DELETION_ORDERED, partner_id=None, payload__audience="product"
    )
    assert (order.payload["product_code"], order.payload["due_on"], order.payload["kind"]) == (
        "optimal-biz",
        "2025-05-01",
        "primary",
    )
    notice = Outbox.objects.get(kind=EventKind.DELETION_ORDERED)
    assert (notice.recipient, notice.payload["ordered_on"]) == (
        ended.tenant.contact_email,
        "2025-05-01",
    )
    assert deletions_order_due(today=date(2025, 5, 1))["ordered"] == 0
    assert Event.objects.filter(kind=EventKind.DELETION_ORDERED).count() == 2


def test_r15_staff_reminded_once_before_the_due_date(ended, settings):
    settings.TERMS_DELETION_REMINDER_DAYS = 7
    assert deletions_order_due(today=date(2025, 4, 23))["reminded"] == 0
    assert deletions_order_due(today=date(2025, 4, 24))["reminded"] == 1
    assert deletions_order_due(today=date(2025, 4, 25))["reminded"] == 0
    reminder = Outbox.objects.get(kind=EventKind.DELETION_REMINDER)
    assert reminder.recipient == "legal@optim.example"
    assert (reminder.payload["due_on"], reminder.payload["days_left"]) == ("2025-05-01", 7)


def test_r15_acknowledgement_is_the_completion_evidence(ended):
    deletions_order_due(today=date(2025, 5, 1))
    deletion = DataDeletion.objects.get(contract=ended, kind=DeletionKind.PRIMARY)
    scope = product_scope(biz_product())
    evidence = {"completed_at": "2025-05-02T08:00:00+09:00", "reference": "job-42"}
    with clock.frozen_at(date(2025, 5, 2)):
        acked = deletion_acknowledge(scope=scope, deletion=deletion, evidence=evidence)
    assert (acked.status, acked.ack_evidence, acked.acknowledged_by_id) == (
        DeletionStatus.ACKNOWLEDGED,
        evidence,
        scope.product_key_id,
    )
    done = Event.objects.get(kind=EventKind.DELETION_DONE)
    assert done.payload["acknowledged_on"] == "2025-05-02"
    with clock.frozen_at(date(2025, 5, 9)):
        # A retry with the same evidence (the instant in another offset) is the same record.
        again = deletion_acknowledge(
            scope=scope,
            deletion=deletion,
            evidence={**evidence, "completed_at": "2025-05-01T23:00:00+00:00"},
        )
    assert (again.pk, again.ack_evidence, again.acknowledged_at) == (
        acked.pk,
        evidence,
        acked.acknowledged_at,
    )
    assert Event.objects.filter(kind=EventKind.DELETION_DONE).count() == 1


def test_r15_a_second_acknowledgement_with_other_evidence_is_refused(ended):
    deletions_order_due(today=date(2025, 5, 1))
    deletion = DataDeletion.objects.get(contract=ended, kind=DeletionKind.PRIMARY)
    scope = product_scope(biz_product())
    evidence = {"completed_at": "2025-05-02T08:00:00+09:00", "reference": "job-42"}
    with clock.frozen_at(date(2025, 5, 2)):
        deletion_acknowledge(scope=scope, deletion=deletion, evidence=evidence)
    with clock.frozen_at(date(2025, 5, 9)), pytest.raises(Conflict) as refused:
        deletion_acknowledge(
            scope=scope, deletion=deletion, evidence={**evidence, "reference": "job-43"}
        )
    assert refused.value.code == "ack_evidence_differs"
    deletion.refresh_from_db()
    assert deletion.ack_evidence == evidence
    assert Event.objects.filter(kind=EventKind.DELETION_DONE).count() == 1


@pytest.mark.parametrize(
    ("completed_at", "code"),
    [
        ("2025-03-31T23:59:00+09:00", "completed_before_end"),  # on the end date itself
        ("2025-02-01T10:00:00+09:00", "completed_before_end"),
        ("2025-05-02T09:06:00+09:00", "completed_in_future"),  # beyond 5 minutes of skew
    ],
)
def test_r15_an_implausible_completion_time_is_refused(ended, completed_at, code):
    deletions_order_due(today=date(2025, 5, 1))
    deletion = DataDeletion.objects.get(contract=ended, kind=DeletionKind.PRIMARY)
    with clock.frozen_at(date(2025, 5, 2)), pytest.raises(ValidationFailed) as refused:
        deletion_acknowledge(
            scope=product_scope(biz_product()),
            deletion=deletion,
            evidence={"completed_at": completed_at},
        )
    assert refused.value.code == code
    deletion.refresh_from_db()
    assert deletion.status == DeletionStatus.ORDERED


def test_r15_a_completion_on_the_day_after_the_end_and_within_the_skew_is_accepted(ended):
    deletions_order_due(today=date(2025, 5, 1))
    deletion = DataDeletion.objects.get(contract=ended, kind=DeletionKind.PRIMARY)
    with clock.frozen_at(date(2025, 5, 2)):  # 09:00 JST
        acked = deletion_acknowledge(
            scope=product_scope(biz_product()),
            deletion=deletion,
            evidence={"completed_at": "2025-05-02T09:04:00+09:00"},
        )
    assert acked.status == DeletionStatus.ACKNOWLEDGED


def test_r15_acknowledgement_only_by_the_products_own_key(ended):
    deletions_order_due(today=date(2025, 5, 1))
    deletion = DataDeletion.objects.get(contract=ended, kind=DeletionKind.PRIMARY)
    with pytest.raises(NotFound):
        deletion_acknowledge(scope=product_scope(idplus_product()), deletion=deletion, evidence={})
    with pytest.raises(PermissionDenied):
        deletion_acknowledge(
            scope=product_scope(biz_product(), scopes=("status:read",)),
            deletion=deletion,
            evidence={},
        )
    for scope in (staff_scope(), tenant_scope(ended.tenant), partner_scope()):
        with pytest.raises(PermissionDenied):
            deletion_acknowledge(scope=scope, deletion=deletion, evidence={})


def test_r15_acknowledgement_before_the_order_refused(ended):
    deletion = DataDeletion.objects.get(contract=ended, kind=DeletionKind.PRIMARY)
    with pytest.raises(Conflict) as refused:
        deletion_acknowledge(scope=product_scope(biz_product()), deletion=deletion, evidence={})
    assert refused.value.code == "deletion_not_ordered"
    assert "2025-05-01" in refused.value.message


def _ledger_row(tenant: Tenant, seq: int) -> ConsentRecord:
    version = VersionFactory()
    record = ConsentRecord.objects.create(
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
        evidence_digests={"ip_address": "d" * 64},
        prev_hash="0" * 64,
        hash=hashlib.sha256(f"{tenant.pk}:{seq}".encode()).hexdigest(),
    )
    ConsentEvidence.objects.create(
        record=record,
        tenant=tenant,
        salt="s",
        person_name="山田太郎",
        person_email="taro@customer.example",
        ip_address="192.0.2.1",
        user_agent="Mozilla/5.0",
    )
    return record


def test_r15_backup_purge_redacts_the_tenants_personal_data(ended):
    tenant = ended.tenant
    only_here = MembershipFactory(tenant=tenant, role=Role.ADMIN).user
    shared = MembershipFactory(tenant=tenant, role=Role.VIEWER).user
    MembershipFactory(user=shared, tenant=TenantFactory())
    record = _ledger_row(tenant, 1)
    delivered = list(Outbox.objects.filter(tenant_id=tenant.pk, channel="email"))
    Outbox.objects.filter(pk__in=[row.pk for row in delivered]).update(status="sent")
    ledger_before = list(ConsentRecord.objects.values())
    before = deletions_order_due(today=date(2026, 3, 31))
    assert (before["ordered"], before["redacted"]) == (1, 0)  # the primary deletion only
    counts = deletions_order_due(today=date(2026, 4, 1))
    assert (counts["ordered"], counts["redacted"]) == (1, 1)

    tenant.refresh_from_db()
    only_here.refresh_from_db()
    shared.refresh_from_db()
    assert tenant.redacted_at is not None
    assert tenant.contact_email == ""
    assert not ConsentEvidence.objects.filter(tenant=tenant).exists()
    assert list(ConsentRecord.objects.values()) == ledger_before  # the ledger stays as it was
    assert ConsentRecord.objects.get(pk=record.pk).evidence_digests == {"ip_address": "d" * 64}
    assert (only_here.email, only_here.is_active, only_here.username) == (
        "",
        False,
        f"redacted-{only_here.pk}",
    )
    assert (shared.is_active, shared.email != "") == (True, True)
    assert not Membership.objects.filter(tenant=tenant).exists()
    assert Membership.objects.filter(user=shared).count() == 1
    assert DataDeletion.objects.get(contract=ended, kind="backup").redacted_at is not None
    assert delivered
    assert set(
        Outbox.objects.filter(pk__in=[r.pk for r in delivered]).values_list("recipient", flat=True)
    ) == {""}
    assert tenant_redact(tenant=tenant) == 0  # a second call changes nothing


def test_r15_redaction_waits_while_another_contract_is_active(ended):
    make_contract(tenant=ended.tenant, product=idplus_product(), start_date=date(2025, 6, 1))
    assert deletions_order_due(today=date(2026, 4, 1))["redacted"] == 0
    ended.tenant.refresh_from_db()
    assert ended.tenant.redacted_at is None
    assert get_user_model().objects.filter(is_active=False).count() == 0


def test_r15_succession_schedules_no_deletion():
    contract = make_contract(tenant=TenantFactory())
    successor_tenant = TenantFactory()
    with clock.frozen_at(date(2024, 9, 1)):
        succession(
            scope=staff_scope(),
            contract=contract,
            successor_tenant=successor_tenant,
            written_consent_ref="承諾書 2024-081",
            on_date=date(2024, 9, 1),
        )
    assert not DataDeletion.objects.exists()


def test_r15_staff_end_schedules_deletions_too():
    # The Biz 10.3 timetable; an ID+ contract gets none (tests/agreements/test_terminations.py).
    contract = make_contract(tenant=TenantFactory(), product=biz_product())
    with clock.frozen_at(date(2024, 9, 10)):
        contract_end(
            contract=contract,
            end_date=date(2024, 9, 10),
            reason="terms_violation",
            scope=Scope.system(),
        )
    assert deletions(contract) == {
        "primary": ("scheduled", date(2024, 10, 11)),
        "backup": ("scheduled", date(2025, 9, 11)),
    }


def test_r15_r6_requested_deletion_is_not_ordered_while_the_contract_is_still_active():
    """The customer asked for deletion "at cancellation" of a contract a confirmed R6 case
    was ending; staff then dropped the case, so the contract goes on. The due date passes
    with the contract active: nothing may be deleted."""
    contract = make_contract(tenant=TenantFactory())
    version = VersionFactory()
    case = TerminationCase.objects.create(
        tenant=contract.tenant,
        contract=contract,
        version=version,
        opened_at=clock.now(),
        status="confirmed",
        end_date=date(2025, 4, 20),
    )
    staff = staff_scope()
    with clock.frozen_at(date(2025, 3, 10)):
        termination_schedule(
            contract=contract,
            end_date=date(2025, 4, 20),
            reason="terms_rejected",
            scope=staff,
            case=case,
        )
        deletion = deletion_request(scope=tenant_scope(contract.tenant), contract=contract)
        case_drop(scope=staff, case=case)
    assert deletion.due_on == date(2025, 4, 21)
    with clock.frozen_at(date(2025, 4, 21)):
        contracts_roll_due(today=date(2025, 4, 21))
        assert deletions_order_due(today=date(2025, 4, 21))["ordered"] == 0
    contract.refresh_from_db()
    assert contract.status == "active"
    assert deletions(contract) == {"requested": ("scheduled", date(2025, 4, 21))}
    assert not Event.objects.filter(kind=EventKind.DELETION_ORDERED).exists()
    # Once the contract really ends, the standing request is ordered the day after the end.
    with clock.frozen_at(date(2025, 5, 1)):
        termination_request(
            scope=tenant_scope(contract.tenant), contract=contract, end_date=date(2025, 6, 30)
        )
    with clock.frozen_at(date(2025, 7, 1)):
        contracts_roll_due(today=date(2025, 7, 1))
        assert deletions_order_due(today=date(2025, 7, 1))["ordered"] == 1
    assert deletions(contract)["requested"] == ("ordered", date(2025, 4, 21))
