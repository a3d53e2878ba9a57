"""consent_answer against the consent truth table (docs/rules.md), R3, R4, R6, R13; cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest

from agreements.enums import (
    ActorKind,
    Answer,
    CaseStatus,
    Channel,
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    TerminationReason,
    TerminationStatus,
    VersionStatus,
)
from agreements.ledger.rows import EvidenceInput
from agreements.ledger.verify import ledger_verify
from agreements.models import (
    ConsentEvidence,
    ConsentRecord,
    ConsentState,
    Contract,
    NoticeDelivery,
    TerminationCase,
    TermsDocument,
    TermsVersion,
)
from agreements.rules import TransitionNotAllowed
from agreements.services.consents.answers import consent_answer
from agreements.services.consents.cases import case_confirm, case_drop
from agreements.services.consents.effective import consents_apply_effective
from agreements.services.consents.projection import consent_states_open
from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import AuditEntry, Event
from tenants.enums import KeyScope, Role
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


@dataclass
class World:
    document: TermsDocument
    v1: TermsVersion
    v2: TermsVersion
    contract: Contract
    tenant: Tenant
    scope: Scope


def _world(mode: str = ConsentMode.DEEMED, *, partner: bool = False) -> World:
    # Optimal Biz: its terms contain the deemed-consent clause (R3, Biz 2.1).
    document = DocumentFactory(product=ProductFactory(code="optimal-biz"))
    v1 = VersionFactory(document=document)  # in force since 2024-01-01
    v2 = posted_version(document, mode=mode)
    tenant = TenantFactory(partner=PartnerFactory() if partner else None)
    contract = bound_tenant(document, tenant=tenant)
    with clock.frozen_at(date(2025, 3, 1)):
        consent_states_open(version=v2)
    return World(document, v1, v2, contract, tenant, admin_scope(tenant))


@pytest.fixture
def world() -> World:
    return _world()


def answer(
    w: World, value: str, *, on: date = BEFORE, scope: Scope | None = None, **kw: object
) -> tuple[ConsentRecord, bool]:
    with clock.frozen_at(on):
        return consent_answer(
            scope=scope or w.scope, tenant=w.tenant, version=w.v2, answer=value, **kw
        )


def apply_effective(w: World, on: date = EFFECTIVE_ON) -> dict[str, int]:
    if w.v2.posted_at is not None and not NoticeDelivery.objects.filter(tenant=w.tenant).exists():
        delivered(w.v2, w.tenant)  # R3: the notice reached the tenant (by post)
    with clock.frozen_at(on):
        return consents_apply_effective(version=w.v2, today=on)


def state(w: World) -> tuple[int, str, int | None]:
    s = ConsentState.objects.get(tenant=w.tenant, document=w.document)
    return s.version_id, s.status, s.record_id


def cases(w: World) -> list[tuple[int, str]]:
    return list(
        TerminationCase.objects.filter(tenant=w.tenant)
        .order_by("pk")
        .values_list("contract_id", "status")
    )


def events(w: World, kind: str) -> int:
    return Event.objects.filter(kind=kind, tenant_id=w.tenant.pk).count()


# --- Row 1: V scheduled, no answer --------------------------------------------------------


def test_truth_table_row1_scheduled_no_answer_accept_records_created(world: World) -> None:
    assert state(world) == (world.v2.pk, ConsentStatus.NO_ANSWER, None)
    record, created = answer(world, Answer.ACCEPTED)
    assert created is True
    assert (record.seq, record.answer, record.version_id) == (1, "accepted", world.v2.pk)
    assert state(world) == (world.v2.pk, ConsentStatus.ACCEPTED, record.pk)
    assert cases(world) == []
    assert events(world, EventKind.ANSWER_RECORDED) == 1


def test_consent_answer_r6_reject_opens_case(world: World) -> None:
    record, created = answer(world, Answer.REJECTED)
    assert created is True
    assert state(world) == (world.v2.pk, ConsentStatus.REJECTED, record.pk)
    case = TerminationCase.objects.get(tenant=world.tenant)
    assert (case.contract_id, case.version_id, case.rejection_id, case.status) == (
        world.contract.pk,
        world.v2.pk,
        record.pk,
        CaseStatus.OPEN,
    )
    assert events(world, EventKind.CASE_OPENED) == 1


@pytest.mark.parametrize(
    ("code", "opens"), [("optimal-biz", True), ("optim-id-plus", False)], ids=["biz", "idplus"]
)
def test_consent_answer_r6_reject_opens_a_case_only_where_the_rulebook_has_r6(
    code: str, opens: bool
) -> None:
    # Biz 2.4 lets the company discontinue for a rejection; the ID+ text available has no such
    # clause: the rejection is recorded (ledger row, projection, event) and opens no case.
    document = DocumentFactory(product=ProductFactory(code=code))
    VersionFactory(document=document)
    v2 = posted_version(document, mode=ConsentMode.EXPLICIT)
    contract = bound_tenant(document)
    tenant = contract.tenant
    with clock.frozen_at(date(2025, 3, 1)):
        consent_states_open(version=v2)
    with clock.frozen_at(BEFORE):
        record, created = consent_answer(
            scope=admin_scope(tenant), tenant=tenant, version=v2, answer=Answer.REJECTED
        )
    assert created is True
    assert record.answer == Answer.REJECTED
    state = ConsentState.objects.get(tenant=tenant, document=document)
    assert (state.status, state.record_id) == (ConsentStatus.REJECTED, record.pk)
    assert Event.objects.filter(kind=EventKind.ANSWER_RECORDED, tenant_id=tenant.pk).count() == 1
    assert TerminationCase.objects.filter(tenant=tenant).exists() is opens
    assert Event.objects.filter(kind=EventKind.CASE_OPENED, tenant_id=tenant.pk).exists() is opens


def test_consent_answer_r6_idplus_switch_to_accept_after_a_rejection_needs_no_case() -> None:
    document = DocumentFactory(product=ProductFactory(code="optim-id-plus"))
    VersionFactory(document=document)
    v2 = posted_version(document, mode=ConsentMode.EXPLICIT)
    tenant = bound_tenant(document).tenant
    with clock.frozen_at(date(2025, 3, 1)):
        consent_states_open(version=v2)
    scope = admin_scope(tenant)
    with clock.frozen_at(BEFORE):
        consent_answer(scope=scope, tenant=tenant, version=v2, answer=Answer.REJECTED)
        consent_answer(scope=scope, tenant=tenant, version=v2, answer=Answer.ACCEPTED)
    state = ConsentState.objects.get(tenant=tenant, document=document)
    assert state.status == ConsentStatus.ACCEPTED
    assert not TerminationCase.objects.filter(tenant=tenant).exists()


def test_consent_answer_r1_r6_reject_opens_case_per_bound_active_contract(world: World) -> None:
    second = bound_tenant(world.document, tenant=world.tenant)
    ContractFactory(tenant=world.tenant)  # another product: not bound by this document
    ended = bound_tenant(world.document, tenant=world.tenant)
    Contract.objects.filter(pk=ended.pk).update(
        status=ContractStatus.ENDED, ended_on=date(2025, 3, 1), end_reason="expired"
    )
    answer(world, Answer.REJECTED)
    assert cases(world) == [(world.contract.pk, "open"), (second.pk, "open")]


def test_consent_answer_r1_individual_rules_case_only_for_contract_with_option() -> None:
    option = OptionFactory(product=ProductFactory(code="optimal-biz"))
    document = DocumentFactory(product=option.product, kind="individual", option=option)
    v2 = posted_version(document)
    with_option = bound_tenant(document)
    ContractFactory(tenant=with_option.tenant, product=option.product)  # without the option
    with clock.frozen_at(BEFORE):
        consent_answer(
            scope=admin_scope(with_option.tenant),
            tenant=with_option.tenant,
            version=v2,
            answer=Answer.REJECTED,
        )
    assert list(TerminationCase.objects.values_list("contract_id", flat=True)) == [with_option.pk]


# --- Row 2: V scheduled, answered: switch ---------------------------------------------------


def test_truth_table_row2_switch_accept_to_reject_opens_case(world: World) -> None:
    answer(world, Answer.ACCEPTED)
    record, created = answer(world, Answer.REJECTED)
    assert created is True
    assert record.seq == 2
    assert state(world) == (world.v2.pk, ConsentStatus.REJECTED, record.pk)
    assert cases(world) == [(world.contract.pk, "open")]


def test_truth_table_row2_switch_reject_to_accept_drops_case(world: World) -> None:
    answer(world, Answer.REJECTED)
    record, created = answer(world, Answer.ACCEPTED)
    assert created is True
    assert state(world) == (world.v2.pk, ConsentStatus.ACCEPTED, record.pk)
    assert cases(world) == [(world.contract.pk, "dropped")]
    assert events(world, EventKind.CASE_DROPPED) == 1
    # Rejecting again opens a fresh case (the dropped one stays as history).
    answer(world, Answer.REJECTED)
    assert cases(world) == [(world.contract.pk, "dropped"), (world.contract.pk, "open")]


@pytest.mark.parametrize("value", [Answer.ACCEPTED, Answer.REJECTED])
def test_truth_table_row2_repeat_current_answer_returns_existing_record(
    world: World, value: str
) -> None:
    first, created = answer(world, value)
    assert created is True
    again, created_again = answer(world, value)
    assert created_again is False
    assert again.pk == first.pk
    assert ConsentRecord.objects.filter(tenant=world.tenant).count() == 1
    assert TerminationCase.objects.filter(tenant=world.tenant).count() == (
        1 if value == Answer.REJECTED else 0
    )
    assert events(world, EventKind.ANSWER_RECORDED) == 1


# --- Row 3: V effective, deemed mode, silent --------------------------------------------------


def test_truth_table_row3_deemed_accept_records_accepted(world: World) -> None:
    assert apply_effective(world)["deemed"] == 1
    assert state(world)[1] == ConsentStatus.DEEMED
    record, created = answer(world, Answer.ACCEPTED, on=AFTER)
    assert created is True
    assert record.answer == Answer.ACCEPTED
    assert state(world) == (world.v2.pk, ConsentStatus.ACCEPTED, record.pk)


def test_truth_table_row3_deemed_reject_refused_r13(world: World) -> None:
    apply_effective(world)
    with pytest.raises(TransitionNotAllowed) as refused:
        answer(world, Answer.REJECTED, on=AFTER)
    assert refused.value.code == "reject_after_effective_deemed"
    assert list(
        ConsentRecord.objects.filter(tenant=world.tenant).values_list("answer", flat=True)
    ) == ["deemed"]
    assert cases(world) == []


def test_truth_table_row3_silent_before_job_reject_refused_r3(world: World) -> None:
    """The effective date has passed but the job has not run yet: still no objection (R3)."""
    with pytest.raises(TransitionNotAllowed) as refused:
        answer(world, Answer.REJECTED, on=EFFECTIVE_ON)
    assert refused.value.code == "reject_after_effective_deemed"
    record, created = answer(world, Answer.ACCEPTED, on=EFFECTIVE_ON)
    assert (created, record.answer) == (True, "accepted")


def test_truth_table_row3_accepted_then_reject_after_effective_refused_r13(world: World) -> None:
    answer(world, Answer.ACCEPTED)
    with pytest.raises(TransitionNotAllowed) as refused:
        answer(world, Answer.REJECTED, on=AFTER)
    assert refused.value.code == "reject_after_effective_deemed"


# --- Row 4: V effective, explicit mode, no answer -----------------------------------------------


def test_truth_table_row4_explicit_outstanding_accept_records() -> None:
    w = _world(ConsentMode.EXPLICIT)
    assert apply_effective(w)["outstanding"] == 1
    assert state(w)[1] == ConsentStatus.OUTSTANDING
    record, created = answer(w, Answer.ACCEPTED, on=AFTER)
    assert created is True
    assert state(w) == (w.v2.pk, ConsentStatus.ACCEPTED, record.pk)


def test_truth_table_row4_explicit_outstanding_reject_opens_r6_case() -> None:
    w = _world(ConsentMode.EXPLICIT)
    apply_effective(w)
    record, created = answer(w, Answer.REJECTED, on=AFTER)
    assert created is True
    assert state(w) == (w.v2.pk, ConsentStatus.REJECTED, record.pk)
    assert cases(w) == [(w.contract.pk, "open")]


def test_truth_table_row4_explicit_silence_is_outstanding_before_the_job_r4() -> None:
    w = _world(ConsentMode.EXPLICIT)
    record, created = answer(w, Answer.REJECTED, on=AFTER)
    assert (created, record.answer) == (True, "rejected")
    assert cases(w) == [(w.contract.pk, "open")]


# --- Row 5: V effective, rejected, case not yet in effect ---------------------------------------


def test_truth_table_row5_effective_rejected_accept_drops_case(world: World) -> None:
    answer(world, Answer.REJECTED)
    apply_effective(world)
    assert state(world)[1] == ConsentStatus.REJECTED  # answers stand at the effective date
    record, created = answer(world, Answer.ACCEPTED, on=AFTER)
    assert created is True
    assert state(world) == (world.v2.pk, ConsentStatus.ACCEPTED, record.pk)
    assert cases(world) == [(world.contract.pk, "dropped")]


def test_truth_table_row5_effective_rejected_repeat_reject_is_noop(world: World) -> None:
    first, _ = answer(world, Answer.REJECTED)
    again, created = answer(world, Answer.REJECTED, on=AFTER)
    assert (again.pk, created) == (first.pk, False)


def test_truth_table_row5_confirmed_case_accept_drops_it_and_cancels_termination(
    world: World,
) -> None:
    answer(world, Answer.REJECTED)
    case = TerminationCase.objects.get(tenant=world.tenant)
    with clock.frozen_at(BEFORE):
        case_confirm(scope=Scope.staff(StaffFactory()), case=case)
    termination = world.contract.terminations.get()
    assert (termination.status, termination.end_date) == (
        TerminationStatus.SCHEDULED,
        date(2025, 4, 9),
    )
    answer(world, Answer.ACCEPTED, on=date(2025, 4, 5))  # effective, the end not yet reached
    case.refresh_from_db()
    termination.refresh_from_db()
    assert case.status == CaseStatus.DROPPED
    assert termination.status == TerminationStatus.CANCELLED


@pytest.mark.parametrize(
    ("case_status", "end_date"),
    [(CaseStatus.EFFECTIVE, date(2025, 4, 9)), (CaseStatus.CONFIRMED, date(2025, 4, 9))],
)
def test_truth_table_row5_case_in_effect_accept_refused_r6(
    world: World, case_status: str, end_date: date
) -> None:
    answer(world, Answer.REJECTED)
    TerminationCase.objects.filter(tenant=world.tenant).update(
        status=case_status, end_date=end_date
    )
    with pytest.raises(TransitionNotAllowed) as refused:
        answer(world, Answer.ACCEPTED, on=date(2025, 4, 10))  # the day after the end
    assert refused.value.code == "case_in_effect"


def test_truth_table_row5_confirmed_case_on_its_last_day_can_still_be_dropped_by_accept(
    world: World,
) -> None:
    answer(world, Answer.REJECTED)
    TerminationCase.objects.filter(tenant=world.tenant).update(
        status=CaseStatus.CONFIRMED, end_date=date(2025, 4, 10)
    )
    _record, created = answer(world, Answer.ACCEPTED, on=date(2025, 4, 10))
    assert created is True
    assert cases(world) == [(world.contract.pk, "dropped")]


# --- Who may answer -----------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["tenant_admin", "partner", "staff", "system"])
def test_consent_answer_r3_callers_never_record_deemed(who: str) -> None:
    w = _world(partner=True)
    scope = {
        "tenant_admin": w.scope,
        "partner": Scope.partner(make_partner_key(w.tenant.partner)[0]),
        "staff": Scope.staff(StaffFactory()),
        "system": Scope.system(),
    }[who]
    with pytest.raises(TransitionNotAllowed) as refused:
        answer(w, Answer.DEEMED, scope=scope)
    assert refused.value.code == "deemed_not_allowed_for_callers"
    assert not ConsentRecord.objects.exists()


def test_consent_answer_auth_partner_scope_only_own_tenants() -> None:
    w = _world(partner=True)
    other_partner_key, _ = make_partner_key(PartnerFactory())
    with pytest.raises(NotFound):
        answer(w, Answer.ACCEPTED, scope=Scope.partner(other_partner_key))
    direct = _world()  # a direct tenant: no partner reaches it
    with pytest.raises(NotFound):
        answer(direct, Answer.ACCEPTED, scope=Scope.partner(other_partner_key))
    assert not ConsentRecord.objects.exists()


def test_consent_answer_auth_partner_needs_write_scope() -> None:
    w = _world(partner=True)
    key, _ = make_partner_key(w.tenant.partner, scopes=[KeyScope.READ])
    with pytest.raises(PermissionDenied):
        answer(w, Answer.ACCEPTED, scope=Scope.partner(key))


def test_consent_answer_ledger_partner_records_api_channel_key_actor_and_evidence() -> None:
    w = _world(partner=True)
    key, _ = make_partner_key(w.tenant.partner)
    evidence = EvidenceInput(person_name="佐藤 花子", person_email="hanako@customer.example")
    record, created = answer(w, Answer.ACCEPTED, scope=Scope.partner(key), evidence=evidence)
    assert created is True
    assert (record.actor_kind, record.actor_ref, record.channel) == (
        ActorKind.PARTNER_KEY,
        f"key:{key.prefix}",
        Channel.API,
    )
    assert ConsentEvidence.objects.get(record=record).person_email == "hanako@customer.example"
    assert set(record.evidence_digests) == {"person_name", "person_email"}


def test_consent_answer_auth_tenant_viewer_permission_denied(world: World) -> None:
    with pytest.raises(PermissionDenied) as denied:
        answer(world, Answer.ACCEPTED, scope=admin_scope(world.tenant, role=Role.VIEWER))
    assert denied.value.code == "admin_required"


def test_consent_answer_auth_tenant_user_of_another_tenant_not_found(world: World) -> None:
    with pytest.raises(NotFound):
        answer(world, Answer.ACCEPTED, scope=admin_scope(TenantFactory()))


def test_consent_answer_auth_product_scope_cannot_answer(world: World) -> None:
    scope = Scope.product(
        product_id=world.document.product_id, key_id=None, scopes=("status:read",)
    )
    with pytest.raises(PermissionDenied):
        answer(world, Answer.ACCEPTED, scope=scope)


def test_consent_answer_ledger_tenant_admin_records_portal_channel(world: World) -> None:
    record, _ = answer(world, Answer.ACCEPTED)
    assert (record.actor_kind, record.actor_ref, record.channel) == (
        ActorKind.USER,
        f"tenant_user:{world.scope.user.pk}",
        Channel.PORTAL,
    )
    assert not AuditEntry.objects.exists()  # customers' own answers are ledger rows, not audit


def test_consent_answer_ledger_staff_on_behalf_records_console_channel_and_audit(
    world: World,
) -> None:
    staff = StaffFactory()
    record, _ = answer(world, Answer.ACCEPTED, scope=Scope.staff(staff))
    assert (record.actor_kind, record.actor_ref, record.channel) == (
        ActorKind.STAFF,
        f"staff:{staff.pk}",
        Channel.CONSOLE,
    )
    audit = AuditEntry.objects.get()
    assert (audit.actor_id, audit.object_id, audit.tenant_id) == (
        staff.pk,
        record.pk,
        world.tenant.pk,
    )


def test_consent_answer_truth_table_unknown_answer_is_validation_failed(world: World) -> None:
    with pytest.raises(ValidationFailed):
        answer(world, "maybe")


# --- Which version may be answered --------------------------------------------------------------


def test_consent_answer_r2_unposted_version_refused(world: World) -> None:
    TermsVersion.objects.filter(pk=world.v2.pk).update(posted_at=None)
    world.v2.refresh_from_db()
    with pytest.raises(Conflict) as refused:
        answer(world, Answer.ACCEPTED)
    assert refused.value.code == "version_not_posted"


def test_consent_answer_r2_draft_refused() -> None:
    document = DocumentFactory()
    draft = VersionFactory(document=document, status=VersionStatus.DRAFT, effective_on=None)
    contract = bound_tenant(document)
    with pytest.raises(Conflict) as refused:
        consent_answer(
            scope=admin_scope(contract.tenant),
            tenant=contract.tenant,
            version=draft,
            answer="accepted",
        )
    assert refused.value.code == "version_not_posted"


def test_consent_answer_r7_withdrawn_version_refused(world: World) -> None:
    TermsVersion.objects.filter(pk=world.v2.pk).update(status=VersionStatus.WITHDRAWN)
    world.v2.refresh_from_db()
    with pytest.raises(Conflict) as refused:
        answer(world, Answer.ACCEPTED)
    assert refused.value.code == "version_not_answerable"


def test_consent_answer_truth_table_only_the_latest_posted_version(world: World) -> None:
    with clock.frozen_at(BEFORE), pytest.raises(Conflict) as refused:
        consent_answer(scope=world.scope, tenant=world.tenant, version=world.v1, answer="accepted")
    assert refused.value.code == "version_not_latest"
    assert refused.value.details["latest_version_id"] == world.v2.pk


def test_consent_answer_r4_in_force_version_when_nothing_is_pending() -> None:
    document = DocumentFactory()
    v1 = VersionFactory(document=document, consent_mode=ConsentMode.EXPLICIT)
    # In force since 2024-01-01 on a contract that began before it: an answer is owed.
    contract = bound_tenant(document, start_date=date(2023, 4, 1))
    with clock.frozen_at(BEFORE):
        record, created = consent_answer(
            scope=admin_scope(contract.tenant),
            tenant=contract.tenant,
            version=v1,
            answer="accepted",
        )
    assert (created, record.version_id) == (True, v1.pk)
    assert ConsentState.objects.get(tenant=contract.tenant).status == ConsentStatus.ACCEPTED


def test_an_answer_to_a_version_in_force_before_the_contract_began_is_not_owed() -> None:
    # The tenant contracted on v1 (2024-04-01, after v1 took effect on 2024-01-01): nothing
    # is asked of it (status `owed: false`), so an answer is refused, not recorded (R4).
    document = DocumentFactory()
    v1 = VersionFactory(document=document, consent_mode=ConsentMode.EXPLICIT)
    contract = bound_tenant(document)
    with clock.frozen_at(BEFORE), pytest.raises(Conflict) as refused:
        consent_answer(
            scope=admin_scope(contract.tenant),
            tenant=contract.tenant,
            version=v1,
            answer="accepted",
        )
    assert refused.value.code == "answer_not_owed"
    assert refused.value.details["version_id"] == v1.pk
    assert not ConsentRecord.objects.exists()


def test_an_answer_stops_being_owed_once_an_end_before_the_effective_date_is_filed(
    world: World,
) -> None:
    # The contract is terminated to end before v2 takes effect: v2 never binds it, so the
    # status stops asking (`owed: false`) and an answer is refused like the status says.
    from agreements.selectors.consents.statuses import consent_status_for_tenant
    from agreements.services.contracts import termination_request

    with clock.frozen_at(BEFORE):
        termination_request(
            scope=Scope.system(), contract=world.contract, end_date=date(2025, 3, 20)
        )
        (item,) = consent_status_for_tenant(scope=Scope.system(), tenant=world.tenant)
        assert item.owed is False
        with pytest.raises(Conflict) as refused:
            consent_answer(
                scope=world.scope, tenant=world.tenant, version=world.v2, answer="accepted"
            )
    assert refused.value.code == "answer_not_owed"
    assert not ConsentRecord.objects.filter(tenant=world.tenant).exists()


def test_consent_answer_r1_unbound_tenant_refused(world: World) -> None:
    stranger = TenantFactory()
    with clock.frozen_at(BEFORE), pytest.raises(Conflict) as refused:
        consent_answer(
            scope=admin_scope(stranger), tenant=stranger, version=world.v2, answer="accepted"
        )
    assert refused.value.code == "not_bound"
    assert not ConsentRecord.objects.exists()


def test_consent_answer_ledger_one_valid_chain_across_documents(world: World) -> None:
    other = posted_version()
    bound_tenant(other.document, tenant=world.tenant)
    answer(world, Answer.ACCEPTED)
    with clock.frozen_at(BEFORE):
        consent_answer(scope=world.scope, tenant=world.tenant, version=other, answer="rejected")
    answer(world, Answer.REJECTED)
    assert list(
        ConsentRecord.objects.filter(tenant=world.tenant)
        .order_by("seq")
        .values_list("seq", flat=True)
    ) == [1, 2, 3]
    assert ledger_verify() == []


# --- R6 cases: confirm and drop -----------------------------------------------------------------


def _open_case(w: World) -> TerminationCase:
    answer(w, Answer.REJECTED)
    return TerminationCase.objects.get(tenant=w.tenant)


@pytest.mark.parametrize(
    ("confirmed_on", "end_date"),
    [
        # confirmation + 30 days is later than the effective date
        (date(2025, 3, 10), date(2025, 4, 9)),
        # the effective date is later: never end before the version takes effect
        (date(2025, 3, 1), date(2025, 4, 1)),
        # confirmed after the effective date: prospective only
        (date(2025, 5, 1), date(2025, 5, 31)),
    ],
)
def test_case_confirm_r6_end_date_is_later_of_effective_and_notice(
    world: World, confirmed_on: date, end_date: date
) -> None:
    case = _open_case(world)
    staff = StaffFactory()
    with clock.frozen_at(confirmed_on):
        confirmed = case_confirm(scope=Scope.staff(staff), case=case, note="確認済み")
    assert (confirmed.status, confirmed.end_date, confirmed.confirmed_by_id) == (
        CaseStatus.CONFIRMED,
        end_date,
        staff.pk,
    )
    termination = world.contract.terminations.get()
    assert (termination.reason, termination.end_date, termination.case_id) == (
        TerminationReason.TERMS_REJECTED,
        end_date,
        case.pk,
    )
    assert AuditEntry.objects.filter(action=AuditAction.CONFIRM, object_id=case.pk).count() == 1
    assert events(world, EventKind.CASE_CONFIRMED) == 1


@pytest.mark.parametrize("who", ["tenant_admin", "partner", "system"])
def test_case_confirm_r6_staff_only(who: str) -> None:
    w = _world(partner=True)
    case = _open_case(w)
    scope = {
        "tenant_admin": w.scope,
        "partner": Scope.partner(make_partner_key(w.tenant.partner)[0]),
        "system": Scope.system(),
    }[who]
    with clock.frozen_at(BEFORE), pytest.raises(PermissionDenied):
        case_confirm(scope=scope, case=case)
    with clock.frozen_at(BEFORE), pytest.raises(PermissionDenied):
        case_drop(scope=scope, case=case)
    case.refresh_from_db()
    assert case.status == CaseStatus.OPEN


def test_case_confirm_r6_only_open_cases(world: World) -> None:
    case = _open_case(world)
    staff = Scope.staff(StaffFactory())
    with clock.frozen_at(BEFORE):
        case_drop(scope=staff, case=case)
        with pytest.raises(Conflict) as refused:
            case_confirm(scope=staff, case=case)
    assert refused.value.code == "case_not_open"


def test_case_drop_r6_cancels_the_scheduled_termination(world: World) -> None:
    case = _open_case(world)
    staff = Scope.staff(StaffFactory())
    with clock.frozen_at(BEFORE):
        case_confirm(scope=staff, case=case)
        dropped = case_drop(scope=staff, case=case, note="継続利用を認める")
    assert dropped.status == CaseStatus.DROPPED
    assert "継続利用を認める" in dropped.note
    assert world.contract.terminations.get().status == TerminationStatus.CANCELLED
    assert AuditEntry.objects.filter(action=AuditAction.DROP, object_id=case.pk).count() == 1
    # The tenant's answer stands: staff chose not to discontinue.
    assert state(world)[1] == ConsentStatus.REJECTED
    with clock.frozen_at(BEFORE), pytest.raises(Conflict):
        case_drop(scope=staff, case=case)
