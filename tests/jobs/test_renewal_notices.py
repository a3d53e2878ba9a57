from __future__ import annotations

from datetime import date, timedelta

import pytest

from agreements.enums import NonRenewalStatus
from agreements.jobs import job_run_one
from agreements.models import NonRenewalRequest
from core import clock
from core.enums import ActionStatus, EventKind, JobRunStatus
from core.models import Event, JobRun, Outbox, PlannedAction
from tests.jobs.conftest import contracts_bulk, start_for_deadline_in, tenants_bulk

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TODAY = date(2025, 1, 10)


def _run(day: date) -> dict[str, int]:
    with clock.frozen_at(day):
        return job_run_one("renewal_notices", day)


def test_renewal_notice_r11_sent_once_60_days_before_deadline(id_plus):
    start = start_for_deadline_in(TODAY, 60)
    (contract,) = contracts_bulk(tenants_bulk(1), id_plus, start=start)

    first = _run(TODAY)
    second = _run(TODAY)

    assert (first["planned"], first["sent"]) == (1, 1)
    assert second.get("sent", 0) == 0
    assert second.get("planned", 0) == 0
    events = list(Event.objects.filter(kind=EventKind.RENEWAL_NOTICE))
    assert len(events) == 1
    payload = events[0].payload
    deadline = TODAY + timedelta(days=60)
    assert payload["deadline"] == deadline.isoformat()
    assert payload["contract_id"] == contract.pk
    assert payload["slot"] == "d60"
    assert Outbox.objects.filter(kind=EventKind.RENEWAL_NOTICE).count() == 1
    action = PlannedAction.objects.get(job="renewal_notices")
    assert (action.status, action.due_on) == (ActionStatus.DONE, TODAY)
    runs = list(JobRun.objects.filter(job="renewal_notices").values_list("status", flat=True))
    assert runs == [JobRunStatus.OK, JobRunStatus.OK]


def test_renewal_notice_r11_second_notice_14_days_before(id_plus):
    start = start_for_deadline_in(TODAY, 60)
    contracts_bulk(tenants_bulk(1), id_plus, start=start)
    _run(TODAY)
    _run(TODAY + timedelta(days=20))  # still the 60-day slot: nothing new
    _run(TODAY + timedelta(days=46))  # deadline - 14
    _run(TODAY + timedelta(days=50))

    slots = sorted(
        Event.objects.filter(kind=EventKind.RENEWAL_NOTICE).values_list("payload__slot", flat=True)
    )
    assert slots == ["d14", "d60"]


def test_renewal_notice_r11_none_once_non_renewal_filed(id_plus):
    start = start_for_deadline_in(TODAY, 60)
    (contract,) = contracts_bulk(tenants_bulk(1), id_plus, start=start)
    period = contract.periods.get()
    NonRenewalRequest.objects.create(
        contract=contract,
        tenant_id=contract.tenant_id,
        requested_on=TODAY,
        requested_at=clock.now(),
        end_date=period.end_date,
        deadline=TODAY + timedelta(days=60),
        status=NonRenewalStatus.ACTIVE,
        actor_kind="system",
        channel="system",
    )
    counts = _run(TODAY)
    assert counts.get("sent", 0) == 0
    assert not Event.objects.filter(kind=EventKind.RENEWAL_NOTICE).exists()


def test_renewal_notice_r11_filed_after_planning_sends_nothing(id_plus):
    """A non-renewal filed between planning and the effect: checked again in the effect."""
    from agreements.jobs.notice_jobs import RENEWAL_NOTICES

    start = start_for_deadline_in(TODAY, 30)
    (contract,) = contracts_bulk(tenants_bulk(1), id_plus, start=start)
    with clock.frozen_at(TODAY):
        assert RENEWAL_NOTICES.plan(TODAY) == 1
        NonRenewalRequest.objects.create(
            contract=contract,
            tenant_id=contract.tenant_id,
            requested_on=TODAY,
            requested_at=clock.now(),
            end_date=contract.periods.get().end_date,
            deadline=TODAY + timedelta(days=30),
            actor_kind="system",
            channel="system",
        )
        counts = job_run_one("renewal_notices", TODAY)
    assert counts["not_needed"] == 1
    assert not Event.objects.filter(kind=EventKind.RENEWAL_NOTICE).exists()
    assert PlannedAction.objects.get().result == {"outcome": "not_needed"}


def test_renewal_notice_not_for_contracts_without_auto_renewal(id_plus):
    start = start_for_deadline_in(TODAY, 60)
    contracts_bulk(tenants_bulk(1), id_plus, start=start, auto_renew=False)
    assert _run(TODAY).get("planned", 0) == 0


def test_lifecycle_tick_sends_notices_to_people_from_nine_jst(id_plus):
    from datetime import datetime

    from agreements.jobs import lifecycle_tick

    start = start_for_deadline_in(TODAY, 60)
    contracts_bulk(tenants_bulk(1), id_plus, start=start)
    with clock.frozen_at(datetime(2025, 1, 10, 8, 59, tzinfo=clock.TOKYO)):
        assert "renewal_notices.sent" not in lifecycle_tick()
    with clock.frozen_at(datetime(2025, 1, 10, 9, 0, tzinfo=clock.TOKYO)):
        assert lifecycle_tick()["renewal_notices.sent"] == 1


@pytest.mark.parametrize(
    ("code", "source", "basis", "end_notice", "not_said"),
    [
        # Biz: no renewal clause (the order decides); 5.3 makes the application the notice.
        (
            "optimal-biz",
            "order",
            "ご契約（注文書）の定めにより、更新しない旨の",
            "利用規約第5条第3項に定める所定の方法による利用終了のご通知",
            "利用規約第5条第5項",
        ),
        # ID+: renewal under its 5.5; no 5.3-style clause to name.
        ("optim-id-plus", "terms", "利用規約第5条第5項により、更新しない旨の", "", "第5条第3項"),
    ],
    ids=["biz", "idplus"],
)
def test_renewal_notice_r11_r13_cites_where_the_renewal_comes_from(
    db, code, source, basis, end_notice, not_said
):
    from tenants.delivery.email import email_render
    from tests.factories.contracts import biz_product, idplus_product

    product = biz_product() if code == "optimal-biz" else idplus_product()
    start = start_for_deadline_in(TODAY, 60)
    (contract,) = contracts_bulk(tenants_bulk(1), product, start=start)
    contract.auto_renew_source = source
    contract.save(update_fields=["auto_renew_source"])
    _run(TODAY)
    row = Outbox.objects.get(kind=EventKind.RENEWAL_NOTICE)
    _subject, text, html = email_render(row)
    for body in (text, html):
        assert basis in body
        assert not_said not in body
        if end_notice:
            assert end_notice in body
        else:
            assert "所定の方法による利用終了のご通知" not in body
