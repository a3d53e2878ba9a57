"""A year replayed: `loaddemo --as-of` the first day, then `run_lifecycle` for every day after.

The story checked: the pending explicit revision takes effect on its date with reminders before
and the outstanding notice after; a deemed revision scheduled during the year is posted on its
notice date and takes effect with silent tenants deemed (citing the notice) and the rejecter's
case opened; auto-renewing contracts renew the day after their end, the one with a non-renewal
ends; deletions are ordered on R15's dates; every notice exists once and `reconcile` is clean.
"""

from __future__ import annotations

import itertools
import time
from collections import Counter
from datetime import date, timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from agreements.catalog import catalog_ensure
from agreements.demo import _revision
from agreements.enums import (
    Answer,
    CaseStatus,
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    DeletionStatus,
    LegalBasis,
    PeriodStatus,
    VersionStatus,
)
from agreements.jobs.reconcile import reconcile
from agreements.models import (
    ConsentRecord,
    ConsentState,
    Contract,
    ContractPeriod,
    DataDeletion,
    NonRenewalRequest,
    TerminationCase,
    TermsVersion,
)
from agreements.rules import (
    backup_purge_due,
    non_renewal_deadline,
    primary_deletion_from,
)
from agreements.services.consents import consent_answer
from agreements.services.version_articles import article_upsert
from core import clock
from core.enums import ActionStatus, EventKind
from core.models import Event, Outbox, PlannedAction
from tenants.models import Tenant
from tenants.scope import Scope

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

D0 = date(2026, 6, 15)
LAST = D0 + timedelta(days=365)
C_NOTICE = D0 + timedelta(days=30)
C_EFFECTIVE = D0 + timedelta(days=45)


def _replay(first: date, last: date) -> None:
    if last >= first:
        call_command("run_lifecycle", today=first, until=last, future=True, stdout=StringIO())


def _event_days(kind: str, **filters: object) -> list[date]:
    return sorted(
        clock.business_date(at)
        for at in Event.objects.filter(kind=kind, **filters).values_list("occurred_at", flat=True)
    )


def _edit(draft: TermsVersion, scope: Scope) -> None:
    last = draft.articles.order_by("-number").first()
    article_upsert(
        scope=scope,
        version=draft,
        number=(last.number if last else 0) + 1,
        title="サポート窓口",
        body="1. 当社は、サポート窓口の受付時間を当社ウェブサイトに掲示します。",
    )


def test_a_year_replayed_day_by_day(capsys):
    started = time.monotonic()
    call_command("loaddemo", "--as-of", D0.isoformat(), stdout=StringIO())
    catalog = catalog_ensure()
    tenants = {t.name: t for t in Tenant.objects.all()}
    shoji, gakuen = tenants["株式会社デモ商事"], tenants["デモ学園"]
    b = TermsVersion.objects.get(status=VersionStatus.SCHEDULED)
    # Silent and still bound (an active contract for the product): the ones to remind (R1, R4).
    b_silent = set(
        ConsentState.objects.filter(
            version=b,
            status=ConsentStatus.NO_ANSWER,
            tenant__contracts__product=b.document.product,
            tenant__contracts__status=ContractStatus.ACTIVE,
        ).values_list("tenant_id", flat=True)
    )
    active_at_start = {
        c.pk: c.periods.get(status=PeriodStatus.OPEN).end_date
        for c in Contract.objects.filter(status=ContractStatus.ACTIVE)
    }
    non_renewal = NonRenewalRequest.objects.get(status="active")

    # --- the pending explicit revision B: reminders, then effective on its date (R4, R5) -----
    _replay(D0 + timedelta(days=1), b.effective_on - timedelta(days=1))
    b.refresh_from_db()
    assert b.status == VersionStatus.SCHEDULED
    _replay(b.effective_on, b.effective_on)
    b.refresh_from_db()
    assert b.status == VersionStatus.EFFECTIVE
    outstanding = set(
        ConsentState.objects.filter(version=b, status=ConsentStatus.OUTSTANDING).values_list(
            "tenant_id", flat=True
        )
    )
    assert outstanding
    assert outstanding <= b_silent
    assert (
        set(
            Event.objects.filter(kind=EventKind.CONSENT_OUTSTANDING).values_list(
                "tenant_id", flat=True
            )
        )
        == outstanding
    )
    assert _event_days(EventKind.CONSENT_OUTSTANDING) == [b.effective_on] * len(outstanding)
    # 7 and 1 days before: the silent tenants were reminded on both days.
    before = Counter(
        _event_days(EventKind.CONSENT_REMINDER, occurred_at__lt=clock.start_of_day(b.effective_on))
    )
    assert before == {
        b.effective_on - timedelta(days=7): len(b_silent),
        b.effective_on - timedelta(days=1): len(b_silent),
    }

    # --- a deemed revision C scheduled during the year (R2, R3, R6) ---------------------------
    users = get_user_model().objects
    staff = {
        "editor": users.get(username="staff-editor"),
        "publisher": users.get(username="staff-publisher"),
    }
    scheduled_on = D0 + timedelta(days=20)
    _replay(b.effective_on + timedelta(days=1), scheduled_on)
    c = _revision(
        catalog=catalog,
        staff=staff,
        label=f"{C_EFFECTIVE.isoformat()}-year",
        drafted_on=scheduled_on,
        notice_on=C_NOTICE,
        effective_on=C_EFFECTIVE,
        mode=ConsentMode.DEEMED,
        # Type (i): 15 days' lead suffice; a type-(ii) change would need 30 (R2).
        legal_basis=LegalBasis.GENERAL_INTEREST,
        rationale="サポート窓口の案内を明確にする変更であり、お客様の一般の利益に適合する。",
        categories=[{"kind": "editorial", "title": "サポート窓口の案内"}],
        edit=_edit,
    )
    _replay(scheduled_on + timedelta(days=1), C_NOTICE)
    c.refresh_from_db()
    assert c.posted_at is not None
    assert clock.business_date(c.posted_at) == C_NOTICE  # posted by the job on its notice date
    posted_to = set(
        Event.objects.filter(kind=EventKind.NOTICE_POSTED, subject_id=c.pk).values_list(
            "tenant_id", flat=True
        )
    )
    assert shoji.pk in posted_to
    assert gakuen.pk in posted_to
    with clock.frozen_at(C_NOTICE + timedelta(days=2)):
        for tenant, answer in ((shoji, Answer.ACCEPTED), (gakuen, Answer.REJECTED)):
            membership = tenant.memberships.get(role="admin")
            consent_answer(
                scope=Scope.tenant_user(membership), tenant=tenant, version=c, answer=answer
            )
    _replay(C_NOTICE + timedelta(days=1), C_EFFECTIVE)
    c.refresh_from_db()
    assert c.status == VersionStatus.EFFECTIVE
    deemed = ConsentRecord.objects.filter(version=c, answer=Answer.DEEMED)
    deemed_tenants = set(deemed.values_list("tenant_id", flat=True))
    assert deemed_tenants == posted_to - {shoji.pk, gakuen.pk}
    assert {row.notice_posted_at for row in deemed} == {c.posted_at}  # citing the notice (R3)
    assert {clock.business_date(row.recorded_at) for row in deemed} == {C_EFFECTIVE}
    case = TerminationCase.objects.get(tenant=gakuen, version=c)
    assert case.status == CaseStatus.OPEN  # the rejecter's case waits for staff (R6)

    # --- the rest of the year ----------------------------------------------------------------
    _replay(C_EFFECTIVE + timedelta(days=1), LAST)

    # Auto-renewing contracts renew the day after each period end (R10, R11); the one with a
    # non-renewal ends at its period end instead.
    renewed_on = Counter(
        (e.subject_id, e.payload["period_start"], clock.business_date(e.occurred_at))
        for e in Event.objects.filter(kind=EventKind.RENEWED)
    )
    assert all(n == 1 for n in renewed_on.values())  # one notice per renewal
    for _contract_id, _key, day in renewed_on:
        assert _key == day.isoformat()
    renewals = 0
    for contract in Contract.objects.filter(pk__in=active_at_start):
        periods = list(contract.periods.order_by("seq"))
        for previous, following in itertools.pairwise(periods):
            assert following.start_date == previous.end_date + timedelta(days=1)
            if following.start_date > D0:
                renewals += 1
                assert (contract.pk, following.start_date.isoformat(), following.start_date) in (
                    renewed_on
                )
        if contract.status == ContractStatus.ACTIVE and contract.auto_renew:
            assert periods[-1].end_date >= LAST
    assert renewals >= 3
    ended = Contract.objects.get(pk=non_renewal.contract_id)
    assert (ended.status, ended.end_reason, ended.ended_on) == (
        ContractStatus.ENDED,
        "non_renewal",
        non_renewal.end_date,
    )
    assert _event_days(EventKind.ENDED, subject_id=ended.pk) == [
        non_renewal.end_date + timedelta(days=1)
    ]

    # Deletions are ordered on R15's dates (the primary data the day after the month after
    # the end, backups one year on), and the staff reminder came 7 days before.
    deletions = DataDeletion.objects.filter(due_on__gt=D0, due_on__lte=LAST).exclude(
        status=DeletionStatus.CANCELLED
    )
    assert deletions.exists()
    for deletion in deletions.select_related("contract"):
        end = deletion.contract.ended_on
        expected = primary_deletion_from(end=end) if deletion.kind == "primary" else None
        if deletion.kind == "backup":
            expected = backup_purge_due(end=end)
        if expected is not None:
            assert deletion.due_on == expected
        assert deletion.status == DeletionStatus.ORDERED
        assert clock.business_date(deletion.ordered_at) == deletion.due_on
        assert Outbox.objects.filter(
            dedupe_key=f"{EventKind.DELETION_REMINDER}:deletion:{deletion.pk}:reminder:staff"
        ).exists()
        reminded = PlannedAction.objects.get(job="deletion_reminders", subject_id=deletion.pk)
        assert clock.business_date(reminded.done_at) == deletion.due_on - timedelta(days=7)

    # Renewal notices: 60 and 14 days before each deadline in the year, once each (R11).
    notices = Counter(
        (e.payload["contract_id"], e.payload["period_end"], e.payload["slot"])
        for e in Event.objects.filter(kind=EventKind.RENEWAL_NOTICE)
    )
    assert notices
    assert all(n == 1 for n in notices.values())
    for period in ContractPeriod.objects.filter(
        contract__auto_renew=True, end_date__gt=D0 + timedelta(days=130), end_date__lt=LAST
    ).select_related("contract"):
        if NonRenewalRequest.objects.filter(contract=period.contract).exists():
            continue
        deadline = non_renewal_deadline(
            end=period.end_date, notice_months=period.contract.notice_months
        )
        for slot, days in (("d60", 60), ("d14", 14)):
            key = (period.contract_id, period.end_date.isoformat(), slot)
            assert notices[key] == 1, key
            sent = Event.objects.get(
                kind=EventKind.RENEWAL_NOTICE,
                payload__contract_id=period.contract_id,
                payload__period_end=period.end_date.isoformat(),
                payload__slot=slot,
            )
            assert clock.business_date(sent.occurred_at) == deadline - timedelta(days=days)

    # Every notice exists once, everything planned is done, nothing is owed (reconcile).
    assert not PlannedAction.objects.exclude(status=ActionStatus.DONE).exists()
    with clock.frozen_at(LAST):
        problems = [f for f in reconcile(today=LAST) if f.is_problem]
    assert problems == []
    elapsed = time.monotonic() - started
    with capsys.disabled():
        print(
            f"\nyear replayed in {elapsed:.1f}s: {Event.objects.count()} events, "
            f"{PlannedAction.objects.count()} planned actions, {renewals} renewals"
        )
