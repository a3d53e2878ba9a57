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
from tenants.delivery.email import email_render
from tenants.enums import Role
from tenants.models import Membership
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
from tests.factories.tenants import MembershipFactory, PartnerFactory, TenantFactory

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


@pytest.fixture
def biz_contract():
    """A Biz contract: Biz 13.1 (1)–(5) are its grounds, without a prior demand to cure."""
    return make_contract(tenant=TenantFactory(partner=PartnerFactory()), product=biz_product())


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
def test_terminate_r14_without_demand_to_cure_but_with_notice(biz_contract, reason):
    contract = biz_contract
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
            reason=TerminationReason.LISTED_GROUNDS,
            note="利用料金の未払い",
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


# --- Per-product rulebooks: what an end means under each product's own terms ----------------


def _notice(termination, locale: str = "ja") -> tuple[str, str, str]:
    """The e-mail of a termination's notice as a recipient in `locale` gets it."""
    row = Outbox.objects.get(pk=termination.notice_outbox_id)
    row.locale = locale
    return email_render(row)


def _admin_tenant():
    tenant = TenantFactory(partner=PartnerFactory())
    MembershipFactory(tenant=tenant, role=Role.ADMIN)
    return tenant


def test_terminate_r14_biz_reason_cites_13_1_with_its_own_grounds():
    contract = make_contract(tenant=_admin_tenant(), product=biz_product())
    with clock.frozen_at(date(2024, 9, 10)):
        termination = termination_request(
            scope=staff_scope(),
            contract=contract,
            end_date=date(2024, 9, 20),
            reason="owner_antisocial_forces",
        )
    payload = Event.objects.get(kind=EventKind.TERMINATION).payload
    assert (payload["reason_article_ja"], payload["reason_article_en"]) == (
        "第13条第1項第5号",
        "Article 13(1)(v)",
    )
    _subject, text, _html = _notice(termination)
    assert "管理端末の所有者が反社会的勢力に該当し" in text
    assert "（利用規約第13条第1項第5号）" in text
    assert "役員" not in text
    _subject, text_en, _html = _notice(termination, "en")
    assert "owner of the managed devices" in text_en
    assert "(Terms, Article 13(1)(v))" in text_en


@pytest.mark.parametrize("reason", R14_REASONS)
def test_terminate_r14_idplus_refuses_biz_13_1_grounds(reason):
    contract = make_contract(tenant=_admin_tenant())
    with clock.frozen_at(date(2024, 9, 10)), pytest.raises(ValidationFailed) as refused:
        termination_request(
            scope=staff_scope(), contract=contract, end_date=date(2024, 9, 20), reason=reason
        )
    assert refused.value.code == "reason_not_in_terms"
    assert not contract.terminations.exists()


def test_terminate_r14_idplus_cites_14_2_never_biz_13():
    contract = make_contract(tenant=_admin_tenant())
    with clock.frozen_at(date(2024, 9, 10)):
        termination = termination_request(
            scope=staff_scope(),
            contract=contract,
            end_date=date(2024, 9, 20),
            reason=TerminationReason.LISTED_GROUNDS,
            note="利用料金の未払い",
        )
    payload = Event.objects.get(kind=EventKind.TERMINATION).payload
    assert (payload["reason_article_ja"], payload["reason_article_en"]) == (
        "第14条第2項",
        "Article 14(2)",
    )
    for locale in ("ja", "en"):
        _subject, text, html = _notice(termination, locale)
        for body in (text, html):
            cited = body.split("Contract details")[0].split("ご契約の詳細")[0]
            # No Biz article, in either spelling (a generated tenant name may contain "13").
            assert "第13条" not in cited
            assert "Article 13" not in cited
            assert "13.1" not in cited
            assert "利用料金を支払わないとき" not in cited
            assert "管理端末" not in cited
            # The reason people read, with the ground staff stated; never the code.
            assert "listed_grounds" not in body
            assert "利用料金の未払い" in body
    assert (
        "利用規約第14条第2項に定める解約事由（利用料金の未払い）に該当したため"
        in _notice(termination, "ja")[1]
    )
    # The accounts go under 14.2 itself (「アカウントを停止・削除し」), so 14.2 is cited for them.
    assert (
        "アカウントは削除され、以後は復旧できません（利用規約第14条第2項）"
        in (_notice(termination, "ja")[1])
    )


@pytest.mark.parametrize(
    ("reason", "label"),
    [
        ("non_payment", "利用料金を支払わないとき"),
        ("status_lost", "お客様としての地位が失われたとき、又は不明となったとき"),
        (
            "owner_antisocial_forces",
            "管理端末の所有者が反社会的勢力に該当し、お客様がその所有者との関係を直ちに解消しないとき",
        ),
    ],
)
def test_termination_reason_r14_labels_state_the_articles_own_grounds(reason, label):
    assert TerminationReason(reason).label == label
    assert "信用不安" not in TerminationReason(reason).label
    assert "役員" not in TerminationReason(reason).label


def test_contract_end_r14_no_backdated_staff_termination():
    contract = make_contract(tenant=_admin_tenant(), product=biz_product())
    with clock.frozen_at(date(2024, 9, 10)):
        with pytest.raises(ValidationFailed) as refused:
            contract_end(
                contract=contract,
                end_date=date(2024, 9, 9),
                reason="terms_violation",
                scope=staff_scope(),
            )
        assert refused.value.code == "end_date_in_past"
        with pytest.raises(ValidationFailed) as scheduled_in_past:
            termination_request(
                scope=staff_scope(),
                contract=contract,
                end_date=date(2024, 9, 1),
                reason="non_payment",
            )
        assert scheduled_in_past.value.code == "end_date_in_past"
        # Today (the day the notice is sent) is accepted.
        contract_end(
            contract=contract, end_date=date(2024, 9, 10), reason="non_payment", scope=staff_scope()
        )
    contract.refresh_from_db()
    assert (contract.ended_on, contract.end_reason) == (date(2024, 9, 10), "non_payment")
    # The claims window and deletion dates run from the real end, not an earlier one.
    facts = contract_facts(contract, date(2024, 9, 11))
    assert (facts.claims_window_closes, facts.primary_deletion_from) == (
        date(2024, 12, 10),
        date(2024, 10, 11),
    )


# R12: the settlement note names the end for what it is. A 2.4 end follows the customer's own
# refusal of the revised terms: it is not an end for the company's own cause (当社の事由).
SETTLEMENT_LABELS = {
    "terms_rejected": (
        "変更後の利用規約にご同意いただけなかったことによる終了（利用規約第2条第4項）のため",
        "As the contract ends because the revised terms were not accepted (Terms, Article 2(4))",
        "変更後の利用規約にご同意いただけなかったことによる終了（利用規約第2条第4項）のため",
    ),
    "service_discontinued": (
        "当社による提供の中止（利用規約第7条第2項）による終了のため",
        "As the contract ends because we discontinue the service (Terms, Article 7(2))",
        "当社による提供の中止（利用規約第7条第2項）による終了のため",
    ),
}


@pytest.mark.parametrize("reason", ["terms_rejected", "service_discontinued"])
def test_end_r12_biz_company_initiated_end_carries_settlement_due(reason, client):
    contract = make_contract(tenant=_admin_tenant(), product=biz_product())
    with clock.frozen_at(date(2024, 9, 10)):
        termination = termination_schedule(
            contract=contract, end_date=date(2024, 10, 31), reason=reason, scope=staff_scope()
        )
    payload = Event.objects.get(kind=EventKind.TERMINATION).payload
    assert (payload["settlement_due"], payload["billing_article_ja"]) == (True, "第7条第2項")
    assert contract_facts(contract, date(2024, 9, 10)).settlement_due is True
    _subject, text, _html = _notice(termination)
    assert "継続的にお支払いいただいた利用料は精算いたします（利用規約第7条第2項）" in text
    _subject, text_en, _html = _notice(termination, "en")
    assert "will be settled (Terms, Article 7(2))" in text_en
    label_ja, label_en, page_label = SETTLEMENT_LABELS[reason]
    assert label_ja in text
    assert label_en in text_en
    assert "当社の事由" not in text
    assert "on our side" not in text_en
    # The customer's contract page says the same.
    admin = Membership.objects.filter(tenant=contract.tenant, role=Role.ADMIN).first().user
    client.force_login(admin)
    with clock.frozen_at(date(2024, 9, 10)):
        page = client.get(f"/portal/contracts/{contract.pk}/").content.decode()
    assert page_label in page
    assert "当社の事由" not in page


def test_end_r12_biz_customer_end_and_idplus_company_end_carry_no_settlement():
    biz = make_contract(tenant=_admin_tenant(), product=biz_product())
    idplus = make_contract(tenant=_admin_tenant())
    with clock.frozen_at(date(2024, 9, 10)):
        termination_request(
            scope=tenant_scope(biz.tenant), contract=biz, end_date=date(2024, 10, 31)
        )
        termination = termination_schedule(
            contract=idplus,
            end_date=date(2024, 10, 31),
            reason="terms_rejected",
            scope=staff_scope(),
        )
    assert contract_facts(biz, date(2024, 9, 10)).settlement_due is False
    assert contract_facts(idplus, date(2024, 9, 10)).settlement_due is False
    _subject, text, _html = _notice(termination)
    assert "精算" not in text
    # ID+ 7.3: no proration, said on ID+ notices only.
    assert "原則として日割り計算を行いません（利用規約第7条第3項）" in text


def test_end_r12_biz_lump_sum_is_not_promised_a_settlement():
    """Biz 7.2 settles fees 月額等で継続的に支払われる: a 2.4 end of a contract paid as a lump
    sum promises no settlement, and says the order decides instead."""
    contract = make_contract(
        tenant=_admin_tenant(), product=biz_product(), billing_cycle="lump_sum"
    )
    with clock.frozen_at(date(2024, 9, 10)):
        termination = termination_schedule(
            contract=contract,
            end_date=date(2024, 10, 31),
            reason="terms_rejected",
            scope=staff_scope(),
        )
    assert contract_facts(contract, date(2024, 9, 10)).settlement_due is False
    _subject, text, _html = _notice(termination)
    assert "精算いたします" not in text
    assert "利用規約第7条第2項の精算の対象ではありません" in text
    _subject, text_en, _html = _notice(termination, "en")
    assert "will be settled" not in text_en
    assert "does not cover it" in text_en


def test_end_r15_idplus_end_schedules_no_biz_timetable():
    contract = make_contract(tenant=_admin_tenant())
    with clock.frozen_at(date(2024, 9, 10)):
        contract_end(
            contract=contract,
            end_date=date(2024, 9, 10),
            reason="terms_violation",
            scope=staff_scope(),
        )
    assert not contract.deletions.exists()
    facts = contract_facts(contract, date(2024, 9, 11))
    assert (facts.primary_deletion_from, facts.backup_purge_due) == (None, None)
    assert (facts.claims_window_closes, facts.liability_cap_jpy) == (None, None)
    event = Event.objects.get(kind=EventKind.TERMINATION)
    assert "backup_purge_due" not in event.payload
    row = Outbox.objects.filter(event=event).first()
    _subject, text, _html = email_render(row)
    assert (
        "終了日をもってアカウントは削除され、以後は復旧できません（利用規約第9条第1項、第9条第2項）"
        in text
    )
    assert "バックアップ" not in text
    assert "損害賠償" not in text


def test_end_r15_r16_biz_end_notice_has_the_timetable_and_the_two_limb_window():
    make_contract(tenant=_admin_tenant(), product=biz_product())
    contracts_roll_due(today=date(2025, 4, 1))  # no renewal in the Biz terms: expires 03-31
    event = Event.objects.get(kind=EventKind.ENDED)
    row = Outbox.objects.filter(event=event).first()
    _subject, text, _html = email_render(row)
    assert "終了しました（利用期間の満了）" in text
    assert (
        "2025年5月1日（木）以降、当社の判断で削除することがあります（利用規約第10条第3項）" in text
    )
    assert "1年間保有したのち、2026年4月1日（水）から順次削除します" in text
    assert (
        "損害の発生から3か月又は契約終了後3か月（2025年6月30日（月））のいずれか早い日までに、"
        "書面で行っていただく必要があります（利用規約第12条第3項）"
    ) in text
    assert "消去します" not in text
    assert "アカウントは削除" not in text
    row.locale = "en"
    _subject, text_en, _html = email_render(row)
    assert "(Mon, 30 Jun 2025), whichever comes first (Terms, Article 12(3))" in text_en


def test_end_r13_customer_termination_end_notice_is_in_the_past_tense():
    contract = make_contract(tenant=_admin_tenant(), product=biz_product())
    with clock.frozen_at(date(2024, 9, 10)):
        termination_request(
            scope=tenant_scope(contract.tenant), contract=contract, end_date=date(2024, 10, 15)
        )
    contracts_roll_due(today=date(2024, 10, 16))
    events = Event.objects.filter(kind=EventKind.TERMINATION).order_by("pk")
    assert [e.payload.get("has_ended", False) for e in events] == [False, True]
    _subject, text, _html = email_render(Outbox.objects.filter(event=events[1]).first())
    assert "2024年10月15日（火）をもって終了しました" in text
    assert "2025年1月15日（水）" in text  # R16 window from the real end
    assert "2024年11月16日（土）以降" in text  # R15 primary deletion


# --- R11/R13: a customer's end at or after the period end is a non-renewal ---------------


def test_termination_request_r11_r13_end_at_period_end_after_deadline_refused_with_next_end(
    contract,
):
    with clock.frozen_at(date(2025, 3, 10)), pytest.raises(ValidationFailed) as refused:
        termination_request(
            scope=tenant_scope(contract.tenant), contract=contract, end_date=date(2025, 3, 31)
        )
    assert refused.value.code == "non_renewal_late"
    assert (refused.value.details["deadline"], refused.value.details["next_possible_end"]) == (
        date(2025, 2, 28),
        date(2026, 3, 31),
    )
    assert not contract.terminations.exists()


@pytest.mark.parametrize("end_date", [date(2025, 3, 31), date(2025, 6, 30)])
def test_termination_request_r11_r13_timely_end_at_or_after_period_end_is_a_non_renewal(
    contract, end_date
):
    with clock.frozen_at(date(2025, 2, 28)), pytest.raises(ValidationFailed) as refused:
        termination_request(
            scope=tenant_scope(contract.tenant), contract=contract, end_date=end_date
        )
    assert refused.value.code == "use_non_renewal"
    assert refused.value.details["period_end"] == date(2025, 3, 31)


def test_termination_request_r11_r13_day_before_period_end_is_a_termination(contract):
    with clock.frozen_at(date(2025, 3, 10)):
        termination = termination_request(
            scope=tenant_scope(contract.tenant), contract=contract, end_date=date(2025, 3, 30)
        )
    assert termination.end_date == date(2025, 3, 30)


def test_termination_request_r13_without_renewal_ends_at_period_end_anyway():
    contract = make_contract(tenant=TenantFactory(), product=biz_product())
    with clock.frozen_at(date(2025, 1, 10)), pytest.raises(ValidationFailed) as refused:
        termination_request(
            scope=tenant_scope(contract.tenant), contract=contract, end_date=date(2025, 4, 30)
        )
    assert (refused.value.code, refused.value.details["period_end"]) == (
        "ends_at_period_end",
        date(2025, 3, 31),
    )


@pytest.mark.parametrize("note", ["", "   ", ".", "- -"])
def test_terminate_r14_idplus_listed_grounds_needs_the_ground_stated(note):
    """ID+ 14.2's list of grounds is not in the available text: staff say which ground the
    customer fell under, and nothing is written without it."""
    contract = make_contract(tenant=_admin_tenant())
    with clock.frozen_at(date(2024, 9, 10)), pytest.raises(ValidationFailed) as refused:
        termination_request(
            scope=staff_scope(),
            contract=contract,
            end_date=date(2024, 9, 20),
            reason=TerminationReason.LISTED_GROUNDS,
            note=note,
        )
    assert (refused.value.code, refused.value.details.get("field")) == ("ground_required", "note")
    assert not contract.terminations.exists()
    assert not Event.objects.filter(kind=EventKind.TERMINATION).exists()
