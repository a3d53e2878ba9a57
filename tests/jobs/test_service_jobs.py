"""Jobs whose effect is a foundation service: the planned action records it, once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from agreements.enums import (
    Answer,
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    DeletionStatus,
    PeriodStatus,
    VersionStatus,
)
from agreements.jobs import JOBS, job_run_one, lifecycle_run_day
from agreements.jobs.reconcile import reconcile
from agreements.models import ConsentRecord, ConsentState, ContractPeriod, DataDeletion
from core import clock
from core.enums import ActionStatus, EventKind
from core.models import Event, PlannedAction
from tests.factories.consents import (
    EFFECTIVE_ON,
    NOTICE_ON,
    bound_tenant,
    delivered,
    posted_version,
)
from tests.factories.contracts import biz_product
from tests.jobs.conftest import contracts_bulk, tenants_bulk

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _day(day: date, job: str | None = None) -> dict[str, dict[str, int]]:
    with clock.frozen_at(day):
        return lifecycle_run_day(day, only=job)


def test_notices_post_r2_on_notice_date_recorded_once():
    version = posted_version(posted=False)
    bound_tenant(version.document)
    assert _day(NOTICE_ON - timedelta(days=1), "notices_post")["notices_post"]["planned"] == 0
    first = _day(NOTICE_ON, "notices_post")["notices_post"]
    second = _day(NOTICE_ON, "notices_post")["notices_post"]
    version.refresh_from_db()
    assert version.posted_at is not None
    assert clock.business_date(version.posted_at) == NOTICE_ON
    assert (first["planned"], first["done"]) == (1, 1)
    assert second.get("planned", 0) == 0
    assert second.get("done", 0) == 0
    action = PlannedAction.objects.get(job="notices_post")
    assert (action.key, action.status) == (f"notices_post:termsversion:{version.pk}", "done")
    assert Event.objects.filter(kind=EventKind.NOTICE_POSTED).count() == 1


def test_versions_apply_r3_silent_tenants_deemed_citing_the_notice():
    version = posted_version(mode=ConsentMode.DEEMED)
    silent = bound_tenant(version.document).tenant
    delivered(version, silent)  # R3: the notice reached it (by post)
    _day(NOTICE_ON, "notices_post")  # already posted: nothing to do
    _day(EFFECTIVE_ON - timedelta(days=1), "versions_apply")
    version.refresh_from_db()
    assert version.status == VersionStatus.SCHEDULED
    _day(EFFECTIVE_ON, "versions_apply")
    _day(EFFECTIVE_ON, "versions_apply")
    version.refresh_from_db()
    assert version.status == VersionStatus.EFFECTIVE
    (deemed,) = ConsentRecord.objects.filter(tenant=silent, version=version)
    assert deemed.answer == Answer.DEEMED
    assert deemed.notice_posted_at == version.posted_at
    assert PlannedAction.objects.get(job="versions_apply").status == ActionStatus.DONE


def _reminder_labels(tenant_id: int) -> list[tuple[str, str]]:
    kinds = Event.objects.filter(
        tenant_id=tenant_id,
        kind__in=[EventKind.CONSENT_REMINDER, EventKind.CONSENT_OUTSTANDING],
    ).order_by("id")
    return [
        (kind, key.split(":")[2]) for kind, key in kinds.values_list("kind", "payload__notice_key")
    ]


def test_consent_reminders_r4_before_the_effective_date_then_the_outstanding_notice_only():
    """Without a gating policy the last day to answer is the day before the effective date:
    after the `outstanding` notice nothing reminds the tenant week after week (the weekly
    reminders had no end)."""
    version = posted_version(mode=ConsentMode.EXPLICIT)
    tenant = bound_tenant(version.document, term_months=36).tenant
    from agreements.services.consents import consent_states_open

    consent_states_open(version=version)
    for offset in range(-10, 60):
        _day(EFFECTIVE_ON + timedelta(days=offset))
    assert _reminder_labels(tenant.pk) == [
        (EventKind.CONSENT_REMINDER, "before7"),
        (EventKind.CONSENT_REMINDER, "before1"),
        (EventKind.CONSENT_OUTSTANDING, "outstanding"),
    ]
    assert ConsentState.objects.get(tenant=tenant).status == ConsentStatus.OUTSTANDING


def test_consent_reminders_r4_weekly_until_the_gating_policys_answer_deadline_then_none():
    """Under a gating policy the tenant may lose use from the effective date + the grace
    period: it is reminded weekly until the last day to answer, and not after it."""
    version = posted_version(
        mode=ConsentMode.EXPLICIT,
        gating_enabled=True,
        gating_rationale="回答のない利用を続けさせられない法的理由",
        gating_grace_days=21,  # deadline: E+20
    )
    tenant = bound_tenant(version.document, term_months=36).tenant
    from agreements.services.consents import consent_states_open

    consent_states_open(version=version)
    for offset in range(-10, 60):
        _day(EFFECTIVE_ON + timedelta(days=offset))
    assert _reminder_labels(tenant.pk) == [
        (EventKind.CONSENT_REMINDER, "before7"),
        (EventKind.CONSENT_REMINDER, "before1"),
        (EventKind.CONSENT_OUTSTANDING, "outstanding"),
        (EventKind.CONSENT_REMINDER, "week1"),
        (EventKind.CONSENT_REMINDER, "week2"),
    ]


def test_consent_reminders_r4_a_day_run_in_one_pass_reminds_no_contract_that_ended_yesterday():
    """The day's jobs in one pass (a replay, a sandbox advance): periods roll before the
    reminders look, so a contract whose last day was yesterday is not reminded this morning."""
    version = posted_version(mode=ConsentMode.EXPLICIT)
    # Last day E−2 (2025-03-30): on E−1 the 1-day reminder is due, and the contract has ended.
    ending = bound_tenant(version.document, start_date=date(2024, 3, 31), term_months=12).tenant
    staying = bound_tenant(version.document, term_months=36).tenant
    from agreements.services.consents import consent_states_open

    consent_states_open(version=version)
    for offset in range(-7, 0):
        _day(EFFECTIVE_ON + timedelta(days=offset))
    assert _reminder_labels(staying.pk) == [
        (EventKind.CONSENT_REMINDER, "before7"),
        (EventKind.CONSENT_REMINDER, "before1"),
    ]
    assert _reminder_labels(ending.pk) == [(EventKind.CONSENT_REMINDER, "before7")]


def test_consent_reminders_r4_never_ask_a_tenant_that_contracted_after_the_effective_date():
    """A tenant whose contract began after the revision took effect agreed to it by
    contracting (rules.answer_owed): the portal says no answer is needed, so no reminder may
    ask it for one, even with an unanswered row under a gating policy (a demo tenant was
    e-mailed to answer a 2022 revision by a 2022 deadline)."""
    version = posted_version(
        mode=ConsentMode.EXPLICIT,
        gating_enabled=True,
        gating_rationale="回答のない利用を続けさせられない法的理由",
        gating_grace_days=21,
    )
    owing = bound_tenant(version.document, term_months=36).tenant
    later = bound_tenant(
        version.document, term_months=36, start_date=EFFECTIVE_ON + timedelta(days=3)
    ).tenant
    from agreements.services.consents import consent_states_open

    consent_states_open(version=version)
    ConsentState.objects.update_or_create(
        tenant=later,
        document=version.document,
        defaults={"version": version, "status": ConsentStatus.OUTSTANDING},
    )
    for offset in range(-10, 30):
        _day(EFFECTIVE_ON + timedelta(days=offset))
    assert len(_reminder_labels(owing.pk)) == 5
    assert _reminder_labels(later.pk) == []
    # Staff's "remind now" asks the same tenants (the one rule of whom a reminder reaches).
    from agreements.services.consents.reminders import reminders_send

    with clock.frozen_at(EFFECTIVE_ON + timedelta(days=30)):
        now = reminders_send(version=version, now=clock.now(), key="remind:x:now", label="now")
    assert now.tenant_ids == [owing.pk]


@pytest.mark.parametrize(("gating", "gate"), [(False, None), (True, "2025-04-15")])
def test_consent_reminders_r4_payload_carries_gate_from_only_under_a_gating_policy(
    gating: bool, gate: str | None
):
    version = posted_version(
        mode=ConsentMode.EXPLICIT,
        gating_enabled=gating,
        gating_rationale="回答のない利用を続けさせられない法的理由" if gating else "",
        gating_grace_days=14 if gating else None,
    )
    tenant = bound_tenant(version.document, term_months=36).tenant
    from agreements.services.consents import consent_states_open

    consent_states_open(version=version)
    for offset in (-7, 0):
        _day(EFFECTIVE_ON + timedelta(days=offset))
    payloads = list(
        Event.objects.filter(
            tenant_id=tenant.pk,
            kind__in=[EventKind.CONSENT_REMINDER, EventKind.CONSENT_OUTSTANDING],
        )
        .order_by("id")
        .values_list("kind", "payload__gate_from")
    )
    assert payloads == [
        (EventKind.CONSENT_REMINDER, gate),
        (EventKind.CONSENT_OUTSTANDING, gate),
    ]


def test_contracts_roll_r10_renews_the_day_after_the_end(id_plus):
    (contract,) = contracts_bulk(tenants_bulk(1), id_plus, start=date(2024, 4, 1))
    _day(date(2025, 3, 31), "contracts_roll")
    assert contract.periods.count() == 1
    _day(date(2025, 4, 1), "contracts_roll")
    _day(date(2025, 4, 1), "contracts_roll")
    periods = list(contract.periods.order_by("seq").values_list("start_date", "end_date", "status"))
    assert periods == [
        (date(2024, 4, 1), date(2025, 3, 31), PeriodStatus.CLOSED),
        (date(2025, 4, 1), date(2026, 3, 31), PeriodStatus.OPEN),
    ]
    action = PlannedAction.objects.get(job="contracts_roll")
    assert (action.due_on, action.status) == (date(2025, 4, 1), ActionStatus.DONE)
    assert Event.objects.filter(kind=EventKind.RENEWED).count() == 1


def test_contracts_roll_r11_without_auto_renewal_ends_and_schedules_deletions(db):
    # R15's timetable is Biz 10.3: a product whose rulebook has it.
    (contract,) = contracts_bulk(
        tenants_bulk(1), biz_product(), start=date(2024, 4, 1), auto_renew=False
    )
    _day(date(2025, 4, 1))
    contract.refresh_from_db()
    assert (contract.status, contract.ended_on) == (ContractStatus.ENDED, date(2025, 3, 31))
    due = dict(DataDeletion.objects.filter(contract=contract).values_list("kind", "due_on"))
    assert due == {"primary": date(2025, 5, 1), "backup": date(2026, 4, 1)}
    # R15: the staff reminder 7 days before, the order on the day.
    _day(date(2025, 4, 23))
    assert not PlannedAction.objects.filter(job="deletion_reminders").exists()
    _day(date(2025, 4, 24))
    assert PlannedAction.objects.get(job="deletion_reminders").status == ActionStatus.DONE
    _day(date(2025, 5, 1))
    primary = DataDeletion.objects.get(contract=contract, kind="primary")
    assert primary.status == DeletionStatus.ORDERED
    assert PlannedAction.objects.get(job="deletions_order").status == ActionStatus.DONE


def test_job_run_twice_changes_nothing_the_second_time(id_plus):
    contracts_bulk(tenants_bulk(3), id_plus, start=date(2024, 4, 1))
    _day(date(2025, 4, 1))
    before = (
        ContractPeriod.objects.count(),
        Event.objects.count(),
        PlannedAction.objects.filter(status=ActionStatus.DONE).count(),
    )
    second = _day(date(2025, 4, 1))
    after = (
        ContractPeriod.objects.count(),
        Event.objects.count(),
        PlannedAction.objects.filter(status=ActionStatus.DONE).count(),
    )
    assert before == after
    assert all(not counts.get("done") for counts in second.values())
    with clock.frozen_at(date(2025, 4, 1)):
        assert [f.name for f in reconcile(today=date(2025, 4, 1)) if f.is_problem] == []


def test_every_job_is_registered():
    assert list(JOBS) == [
        "notices_post",
        "versions_apply",
        "consents_deem_reached",
        "contracts_roll",
        "terminations_effect",
        "consent_reminders",
        "scheduled_reminders",
        "renewal_notices",
        "r18_flags",
        "deletion_reminders",
        "deletions_order",
        "tenant_redact",
        "outbox_deliver",
        "termination_notices",
    ]
    assert job_run_one("outbox_deliver", date(2025, 1, 1)) == {}


def test_failing_subject_is_isolated_and_the_run_records_the_error(id_plus, monkeypatch):
    """One subject whose effect raises: the others are done, it is marked failed with its
    error, and the JobRun says so."""
    from agreements.jobs import notice_jobs
    from core.models import JobRun
    from tests.jobs.conftest import start_for_deadline_in

    today = date(2025, 1, 10)
    contracts = contracts_bulk(tenants_bulk(3), id_plus, start=start_for_deadline_in(today, 60))
    bad = contracts[1].pk
    real = notice_jobs._renewals_effect

    def effect(actions, day):
        if any(a.subject_id == bad for a in actions):
            raise RuntimeError("template broken for this one")
        return real(actions, day)

    monkeypatch.setattr(
        notice_jobs,
        "RENEWAL_NOTICES",
        notice_jobs.ActionJob("renewal_notices", notice_jobs._renewals_plan, effect),
    )
    monkeypatch.setitem(JOBS, "renewal_notices", notice_jobs.RENEWAL_NOTICES)
    with clock.frozen_at(today):
        counts = job_run_one("renewal_notices", today)
    assert (counts["sent"], counts["failed"]) == (2, 1)
    failed = PlannedAction.objects.get(status=ActionStatus.FAILED)
    assert failed.subject_id == bad
    assert "template broken" in failed.error
    run = JobRun.objects.get(job="renewal_notices")
    assert (run.status, run.counts["failed"]) == ("error", 1)


# --- What is due is decided once: the service acts on exactly the claimed subjects -------------


def test_contracts_roll_r10_service_acts_only_on_the_claimed_periods(id_plus):
    """An action held elsewhere (claimed by another worker) keeps its period out of this run."""
    from agreements.jobs.service_jobs import CONTRACTS_ROLL

    contracts = contracts_bulk(tenants_bulk(3), id_plus, start=date(2024, 4, 1))
    today = date(2025, 4, 1)
    with clock.frozen_at(today):
        assert CONTRACTS_ROLL.plan(today) == 3
        held = PlannedAction.objects.get(
            job="contracts_roll", subject_id=contracts[0].periods.get().pk
        )
        PlannedAction.objects.filter(pk=held.pk).update(
            status=ActionStatus.RUNNING,
            claimed_by="elsewhere",
            lease_until=clock.now() + timedelta(minutes=5),
        )
        counts = job_run_one("contracts_roll", today)
    assert (counts["done"], counts["service.renewed"]) == (2, 2)
    assert [c.periods.count() for c in contracts] == [1, 2, 2]


def test_contracts_roll_limit_bounds_each_batch_to_the_claimed_periods(id_plus, settings):
    settings.TERMS_JOB_BATCH_SIZE = 2
    contracts_bulk(tenants_bulk(5), id_plus, start=date(2024, 4, 1))
    counts = _day(date(2025, 4, 1), "contracts_roll")["contracts_roll"]
    # Three batches (2 + 2 + 1), each renewing exactly what it claimed.
    assert (counts["planned"], counts["done"], counts["service.renewed"]) == (5, 5, 5)
    assert counts.get("not_settled", 0) == 0


def test_contracts_roll_r10_catch_up_renews_every_missed_period_in_one_run(id_plus):
    (contract,) = contracts_bulk(tenants_bulk(1), id_plus, start=date(2024, 1, 1), months=1)
    today = date(2024, 5, 15)
    counts = _day(today, "contracts_roll")["contracts_roll"]
    assert (counts["planned"], counts["done"]) == (4, 4)
    assert contract.periods.filter(status=PeriodStatus.OPEN).get().start_date == date(2024, 5, 1)
    with clock.frozen_at(today):
        found = {f.name: f.count for f in reconcile(today=today)}
    assert (found["unplanned.contracts_roll"], found["planned_actions_not_done"]) == (0, 0)


def test_terminations_effect_r14_waits_for_an_earlier_period_end(id_plus):
    """A notice ending in the next period waits until the period before it has renewed."""
    from agreements.services.contracts.roll import terminations_due
    from agreements.services.contracts.terminations import termination_request
    from tests.factories.contracts import idplus_product, staff_scope

    # The rulebook's ID+ (its 14.2 is the staff ground used below).
    (contract,) = contracts_bulk(tenants_bulk(1), idplus_product(), start=date(2024, 4, 1))
    with clock.frozen_at(date(2025, 3, 1)):
        # A staff reason: a customer's end past the period end is a late non-renewal (R11).
        termination_request(
            scope=staff_scope(),
            contract=contract,
            end_date=date(2025, 6, 30),
            reason="listed_grounds",
            note="利用料金の未払い",
        )
    today = date(2025, 7, 5)
    assert not terminations_due(today).exists()  # period 1 (ends 2025-03-31) comes first
    _day(today, "terminations_effect")
    contract.refresh_from_db()
    assert contract.status == ContractStatus.ACTIVE
    _day(today)
    contract.refresh_from_db()
    assert (contract.status, contract.ended_on) == (ContractStatus.TERMINATED, date(2025, 6, 30))
    assert PlannedAction.objects.get(job="terminations_effect").status == ActionStatus.DONE


def test_deletions_order_r15_service_orders_only_the_claimed_deletions(db):
    from agreements.jobs.service_jobs import DELETIONS_ORDER

    # R15's timetable is Biz 10.3: a product whose rulebook has it.
    contracts_bulk(tenants_bulk(2), biz_product(), start=date(2024, 4, 1), auto_renew=False)
    _day(date(2025, 4, 1))
    today = date(2025, 5, 1)
    with clock.frozen_at(today):
        assert DELETIONS_ORDER.plan(today) == 2
        held = PlannedAction.objects.filter(job="deletions_order").order_by("id").first()
        PlannedAction.objects.filter(pk=held.pk).update(
            status=ActionStatus.RUNNING,
            claimed_by="elsewhere",
            lease_until=clock.now() + timedelta(minutes=5),
        )
        counts = job_run_one("deletions_order", today)
    assert (counts["done"], counts["service.ordered"]) == (1, 1)
    assert DataDeletion.objects.get(pk=held.subject_id).status == DeletionStatus.SCHEDULED
    assert DataDeletion.objects.filter(status=DeletionStatus.ORDERED).count() == 1


def test_termination_notices_check_counts_unsent_notices_until_delivered(id_plus):
    from agreements.services.contracts.terminations import termination_request
    from tests.factories.contracts import idplus_product, staff_scope

    # The rulebook's ID+ (its 14.2 is the staff ground used below).
    (contract,) = contracts_bulk(tenants_bulk(1), idplus_product(), start=date(2024, 4, 1))
    today = date(2025, 3, 1)
    with clock.frozen_at(today):
        # A staff reason: a customer's end on the period end is a late non-renewal (R11).
        termination_request(
            scope=staff_scope(),
            contract=contract,
            end_date=date(2025, 3, 31),
            reason="listed_grounds",
            note="利用料金の未払い",
        )
        assert job_run_one("termination_notices", today) == {"unsent": 1}
        owed = {f.name: f.count for f in reconcile(today=today)}["owed.termination_notices"]
        assert owed == 1
        job_run_one("outbox_deliver", today)
        assert job_run_one("termination_notices", today) == {"unsent": 0}
        assert [f.name for f in reconcile(today=today) if f.is_problem] == []
    assert not PlannedAction.objects.filter(job="termination_notices").exists()
