"""Sandbox and live apart (docs/api.md, "Sandbox"): the isolation matrix's owned operations with
a sandbox key on live objects, live keys on sandbox objects, the feeds, the jobs and the clock."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from rest_framework.test import APIClient

from agreements.enums import ContractStatus
from agreements.jobs.sandbox import sandbox_advance, sandbox_run_day
from agreements.models import Contract, Product
from agreements.services.sandbox import sandbox_open
from core import clock, sandbox
from core.enums import EventKind
from core.models import Event
from tenants.models import Partner
from tenants.scope import Scope
from tests.api.conftest import World, key_client, open_sandbox
from tests.api.test_isolation_matrix import OPERATIONS, SPECS, _url

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_a_sandbox_key_reaches_no_live_object(world: World) -> None:
    _sandbox, raw, _products = open_sandbox(world)
    client = key_client(raw)
    reached = {}
    for op in OPERATIONS:
        spec = SPECS[(op.name, op.method)]
        if not spec.owned or op.method != "GET":
            continue
        response = client.get(_url(world, op, spec, "own_partner"))
        reached[op.id] = response.status_code
        assert world.tenant.name not in response.content.decode()
    assert reached
    assert set(reached.values()) == {404}, reached
    # Lists and feeds: nothing of the live partner's.
    assert client.get("/api/v1/tenants/").json()["results"] == []
    assert client.get("/api/v1/contracts/").json()["results"] == []
    assert client.get("/api/v1/events/").json()["results"] == []
    assert client.get("/api/v1/webhooks/").json()["results"] == []


def test_a_live_key_reaches_no_sandbox_object(world: World) -> None:
    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    tenant = client.post("/api/v1/tenants/", {"name": "砂場商事"}, format="json").json()
    contract = client.post(
        "/api/v1/contracts/",
        {
            "tenant": tenant["id"],
            "product": "optim-id-plus",
            "start_date": "2025-03-10",
            "billing_cycle": "annual",
        },
        format="json",
    ).json()
    hook = client.post(
        "/api/v1/webhooks/", {"url": "https://sandbox.example/hooks"}, format="json"
    ).json()
    # The sandbox's contract is on the sandbox's copy of the product, never the live one.
    assert Contract.objects.get(pk=contract["id"]).product.sandbox_id == sandbox_row.pk
    live = world.client("own_partner")
    for path in (
        f"/api/v1/tenants/{tenant['id']}/",
        f"/api/v1/tenants/{tenant['id']}/consents/",
        f"/api/v1/tenants/{tenant['id']}/ledger/",
        f"/api/v1/tenants/{tenant['id']}/invitations/",
        f"/api/v1/contracts/{contract['id']}/",
        f"/api/v1/webhooks/{hook['id']}/",
    ):
        assert live.get(path).status_code == 404, path
    sandbox_events = Event.objects.filter(partner_id=sandbox_row.pk)
    assert sandbox_events.exists()
    feed = {e["id"] for e in live.get("/api/v1/events/?page_size=100").json()["results"]}
    assert feed.isdisjoint(set(sandbox_events.values_list("pk", flat=True)))
    live_tenants = {t["id"] for t in live.get("/api/v1/tenants/").json()["results"]}
    assert tenant["id"] not in live_tenants
    # Live products are what a live key lists; the sandbox's copies stay out of it.
    codes = [p["code"] for p in live.get("/api/v1/products/").json()["results"]]
    assert len(codes) == len(set(codes)) == Product.objects.filter(sandbox__isnull=True).count()


def test_sandbox_endpoints_refuse_live_keys_and_sandbox_issue_refuses_sandbox_keys(
    world: World,
) -> None:
    _sandbox, raw, _products = open_sandbox(world)
    live = world.client("own_partner")
    refused = live.post(
        "/api/v1/sandbox/clock/advance/", {"to": "2025-04-01T09:00:00+09:00"}, format="json"
    )
    assert (refused.status_code, refused.json()["code"]) == (403, "sandbox_key_required")
    again = key_client(raw).post("/api/v1/sandbox/")
    assert (again.status_code, again.json()["code"]) == (403, "live_key_required")


def test_a_sandbox_run_far_ahead_leaves_live_contracts_alone(world: World) -> None:
    sandbox_row, _raw, _products = open_sandbox(world)
    far = date(2030, 1, 1)
    sandbox_run_day(sandbox_row.pk, far)
    world.contract.refresh_from_db()
    world.renewing.refresh_from_db()
    # The live non-renewal ends `renewing` on 2025-05-31: a live run in 2030 would end it.
    assert world.renewing.status == ContractStatus.ACTIVE
    assert world.contract.status == ContractStatus.ACTIVE


def test_a_live_request_beside_a_sandbox_request_sees_real_time(world: World) -> None:
    """The sandbox clock is per context: another thread meanwhile reads the service's clock."""
    inside = threading.Event()
    release = threading.Event()
    seen: dict[str, Any] = {}
    sandbox_instant = datetime(2031, 6, 1, tzinfo=clock.TOKYO)

    def sandbox_request() -> None:
        with sandbox.acting_for(999, sandbox_instant):
            seen["sandbox"] = clock.now()
            seen["sandbox_id"] = sandbox.current()
            inside.set()
            release.wait(5)

    thread = threading.Thread(target=sandbox_request)
    thread.start()
    assert inside.wait(5)
    seen["live"] = clock.now()
    seen["live_id"] = sandbox.current()
    release.set()
    thread.join(5)
    assert seen["sandbox"] == sandbox_instant
    assert seen["sandbox_id"] == 999
    assert seen["live"] == clock.now()  # the test's frozen clock, not the sandbox's
    assert seen["live"].year == 2025
    assert seen["live_id"] is None


def test_advance_concurrency_and_direction(world: World) -> None:
    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    start = sandbox_row.sandbox_now
    to = (start + timedelta(days=3)).isoformat()
    first = client.post("/api/v1/sandbox/clock/advance/", {"to": to}, format="json")
    assert first.status_code == 200, first.content
    assert first.json()["days"] == 3
    repeat = client.post("/api/v1/sandbox/clock/advance/", {"to": to}, format="json")
    assert repeat.json()["days"] == 0
    back = client.post("/api/v1/sandbox/clock/advance/", {"to": start.isoformat()}, format="json")
    assert (back.status_code, back.json()["code"]) == (409, "sandbox_clock_backwards")
    assert back.json()["sandbox_now"] == clock.api_instant(start + timedelta(days=3))
    clock_now = client.get("/api/v1/sandbox/clock/").json()
    assert clock_now["today"] == clock.business_date(start + timedelta(days=3)).isoformat()


@pytest.mark.django_db(transaction=True)
def test_two_advances_at_once_run_each_day_once() -> None:
    """The sandbox row is locked for the run: the second advance waits, then finds the clock
    already there; the renewal in between happens once."""
    from tests.factories.agreements import DocumentFactory, VersionFactory
    from tests.factories.contracts import idplus_product, make_contract
    from tests.factories.tenants import PartnerFactory, TenantFactory, make_partner_key

    start = date(2025, 3, 10)
    with clock.frozen_at(start):
        product = idplus_product()
        VersionFactory(document=DocumentFactory(product=product, slug="terms"))
        key, _raw = make_partner_key(PartnerFactory())
        sandbox_row, (sandbox_key, _sk), _pk = sandbox_open(scope=Scope.partner(key))
    copy = Product.objects.get(sandbox=sandbox_row, code=product.code)
    tenant = TenantFactory(partner=sandbox_row)
    contract = make_contract(tenant=tenant, product=copy, start_date=start, term_months=1)
    scope = Scope.partner(sandbox_key)
    to = datetime(2025, 4, 20, 9, tzinfo=clock.TOKYO)
    outcomes: list[Any] = []

    def advance() -> None:
        from django.db import connection

        try:
            with sandbox.acting_for(sandbox_row.pk, sandbox_row.sandbox_now):
                outcomes.append(sandbox_advance(scope=scope, to=to)[0].sandbox_now)
        except Exception as error:
            outcomes.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=advance) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert outcomes == [to, to]
    # One renewal (2025-04-10), not two, whatever the order.
    assert contract.periods.count() == 2
    assert Event.objects.filter(partner_id=sandbox_row.pk, kind="contract.renewed").count() == 1


def test_a_sandbox_delivery_backs_off_on_the_sandbox_clock(world: World) -> None:
    """A failed delivery of a sandbox's webhook is due again one backoff after the sandbox's
    instant, not after real time (which would make it due at once, every attempt in a burst)."""
    from core.enums import OutboxChannel, OutboxStatus
    from core.services import outbox_add
    from tenants.delivery.outbox import SendResult, _apply_result, claim, retry_delay

    sandbox_row, _raw, _products = open_sandbox(world)
    Partner.objects.filter(pk=sandbox_row.pk).update(sandbox_now=clock.now() + timedelta(days=400))
    sandbox_row.refresh_from_db()
    row = outbox_add(
        kind="test",
        channel=OutboxChannel.EMAIL,
        dedupe_key="sandbox-backoff",
        payload={},
        recipient="it@partner.example",
        partner_id=sandbox_row.pk,
    )
    assert row is not None
    (claimed,) = [r for r in claim(limit=50) if r.pk == row.pk]
    assert claimed.sandbox_clock == sandbox_row.sandbox_now
    _apply_result(claimed, SendResult(ok=False, error="connection refused"))
    assert claimed.status == OutboxStatus.FAILED
    assert claimed.next_attempt_at == sandbox_row.sandbox_now + retry_delay(1)


def test_an_idempotency_key_outlives_a_sandbox_advance(world: World) -> None:
    """Idempotency keys are kept for 24 hours of real time: a retry after the sandbox's clock
    moved on is still a replay, never a second tenant."""
    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    headers = {"HTTP_IDEMPOTENCY_KEY": "dup-K1"}
    first = client.post("/api/v1/tenants/", {"name": "冪等商事"}, format="json", **headers)
    assert first.status_code == 201, first.content
    to = (sandbox_row.sandbox_now + timedelta(days=2)).isoformat()
    assert (
        client.post("/api/v1/sandbox/clock/advance/", {"to": to}, format="json").status_code == 200
    )
    again = client.post("/api/v1/tenants/", {"name": "冪等商事"}, format="json", **headers)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]


def _revise(client: APIClient, effective_on: date) -> Any:
    """Post a simulated revision of the sandbox's ID+ base terms, asking explicit consent."""
    return client.post(
        "/api/v1/sandbox/revisions/",
        {
            "product": "optim-id-plus",
            "effective_on": effective_on.isoformat(),
            "consent_mode": "explicit",
        },
        format="json",
    )


def test_a_simulated_revision_is_at_most_a_year_ahead(world: World) -> None:
    """A revision pending for ever would block every later one (it cannot be withdrawn)."""
    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    today = clock.business_date(sandbox_row.sandbox_now)
    far = _revise(client, date(2999, 12, 31))
    assert (far.status_code, far.json()["code"]) == (400, "sandbox_revision_dates")
    near = _revise(client, today + timedelta(days=40))
    assert near.status_code == 201, near.content


def test_advancing_needs_an_instant_with_its_offset(world: World) -> None:
    """`to` is an RFC 3339 instant: a bare date or a time without a zone is refused."""
    _sandbox, raw, _products = open_sandbox(world)
    client = key_client(raw)
    for to in ("2030-01-01", "2030-01-01T09:00:00"):
        refused = client.post("/api/v1/sandbox/clock/advance/", {"to": to}, format="json")
        assert refused.status_code == 400, to
        assert refused.json()["errors"][0]["code"] == "offset_required", to


def test_an_impossible_instant_is_a_400_not_a_500(world: World) -> None:
    """Found by schemathesis: a well-formed but impossible time ("12:99") once raised."""
    _sandbox, raw, _products = open_sandbox(world)
    refused = key_client(raw).post(
        "/api/v1/sandbox/clock/advance/", {"to": "2024-01-01T12:99:00Z"}, format="json"
    )
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["code"] == "invalid"


def test_a_simulated_revision_taking_effect_reaches_its_sandbox_only(world: World) -> None:
    """`version.effective` of a sandbox's revision is the sandbox's own event: never a
    staff-wide one (no partner), never in a live partner's feed."""
    from core.enums import EventKind

    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    today = clock.business_date(sandbox_row.sandbox_now)
    revision = _revise(client, today + timedelta(days=10)).json()
    to = f"{(today + timedelta(days=11)).isoformat()}T09:00:00+09:00"
    assert client.post("/api/v1/sandbox/clock/advance/", {"to": to}, format="json").status_code == (
        200
    )
    effective = Event.objects.filter(
        kind=EventKind.VERSION_EFFECTIVE, subject_id=revision["version"]
    )
    assert [e.partner_id for e in effective] == [sandbox_row.pk]
    live_feed = world.client("own_partner").get("/api/v1/events/?page_size=200").json()
    assert EventKind.VERSION_EFFECTIVE not in {e["kind"] for e in live_feed["results"]}
    other_feed = world.client("other_partner").get("/api/v1/events/?page_size=200").json()
    assert effective.first().pk not in {e["id"] for e in other_feed["results"]}
    sandbox_feed = client.get(f"/api/v1/events/?kind={EventKind.VERSION_EFFECTIVE}").json()
    assert [e["subject"]["id"] for e in sandbox_feed["results"]] == [revision["version"]]


def test_staff_event_feed_leaves_sandbox_events_out(world: World) -> None:
    """Staff lists leave sandboxes out: the staff feed has neither a sandbox partner's events
    nor the product's events about a sandbox tenant (they carry no partner); one by id stays
    open."""
    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    tenant = client.post("/api/v1/tenants/", {"name": "砂場商事"}, format="json").json()
    partner_event = Event.objects.filter(partner_id=sandbox_row.pk).order_by("pk").first()
    assert partner_event is not None
    product_event = Event.objects.create(
        kind=EventKind.DELETION_ORDERED,
        tenant_id=tenant["id"],
        partner_id=None,
        payload={"audience": "product"},
        occurred_at=clock.now(),
    )
    staff = world.client("staff")
    feed = staff.get("/api/v1/events/?page_size=200").json()
    ids = {e["id"] for e in feed["results"]}
    assert feed["next"] is None
    assert world.event.pk in ids
    assert partner_event.pk not in ids
    assert product_event.pk not in ids
    assert staff.get(f"/api/v1/events/{partner_event.pk}/").status_code == 200


def test_verify_says_a_sandbox_row_is_evidence_of_nothing_and_hides_its_date(world: World) -> None:
    """A partner's sandbox records through the live path; the public /verify/ page must not
    vouch for such a row as evidence, nor show the date its sandbox clock gave it."""
    from django.test import Client

    from tenants.models import Tenant
    from tests.factories.agreements import VersionFactory
    from tests.factories.consents import chain_rows

    _sandbox, raw, _products = open_sandbox(world)
    made = key_client(raw).post("/api/v1/tenants/", {"name": "砂場商事"}, format="json").json()
    [row] = chain_rows(Tenant.objects.get(pk=made["id"]), VersionFactory(), 1)
    [live] = chain_rows(world.tenant, VersionFactory(), 1)
    page = Client().get("/verify/", {"hash": row.hash}).content.decode()
    assert "試験用の記録です" in page
    assert "有効" not in page
    assert "記録日時" not in page
    live_page = Client().get("/verify/", {"hash": live.hash}).content.decode()
    assert "有効" in live_page
    assert "試験用の記録です" not in live_page


def _sandbox_contract(client: APIClient, name: str, today: date) -> tuple[Any, Any]:
    """A sandbox tenant named `name` and its ID+ contract begun 30 days ago, through the API
    (the two responses)."""
    tenant = client.post("/api/v1/tenants/", {"name": name}, format="json")
    assert tenant.status_code == 201, tenant.content
    contract = client.post(
        "/api/v1/contracts/",
        {
            "tenant": tenant.json()["id"],
            "product": "optim-id-plus",
            "start_date": (today - timedelta(days=30)).isoformat(),
            "billing_cycle": "annual",
            "amount_jpy": 120000,
        },
        format="json",
    )
    assert contract.status_code == 201, contract.content
    return tenant, contract


def test_the_staff_dashboard_counts_no_sandbox_version(world: World) -> None:
    """Staff counts leave sandboxes out: a sandbox's revision, taken effect in its sandbox
    with its tenants' consent rows, is neither a dashboard row nor a drill-down."""
    from web.console.selectors import case_rows, dashboard_rows, live_versions

    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    today = clock.business_date(sandbox_row.sandbox_now)
    tenant, contract = _sandbox_contract(client, "砂場商事", today)
    revision = _revise(client, today + timedelta(days=10)).json()
    to = f"{(today + timedelta(days=11)).isoformat()}T09:00:00+09:00"
    advanced = client.post("/api/v1/sandbox/clock/advance/", {"to": to}, format="json")
    assert advanced.status_code == 200
    assert revision["version"] not in {row.version.pk for row in dashboard_rows()}
    assert not live_versions().filter(pk=revision["version"]).exists()
    assert world.v2.pk in {row.version.pk for row in dashboard_rows()}
    # Nor a staff list: contracts (console and API) and the rejection cases' queue.
    listed = world.client("staff").get("/api/v1/contracts/?page_size=200").json()
    staff_contracts = {c["id"] for c in listed["results"]}
    assert contract.json()["id"] not in staff_contracts
    from agreements.models import Contract, TerminationCase

    TerminationCase.objects.create(  # as a sandbox rejection opens one (R6)
        tenant_id=tenant.json()["id"],
        contract=Contract.objects.get(pk=contract.json()["id"]),
        version_id=revision["version"],
        status="open",
        opened_at=clock.now(),
    )
    cases = case_rows(status="", today=clock.today(), notice_days=30)
    assert tenant.json()["id"] not in {row["case"].tenant_id for row in cases}


def test_staff_deletion_and_delivery_lists_leave_sandboxes_out(world: World) -> None:
    """A sandbox's deletion orders and undeliverable messages are not on the staff's lists
    (console and API)."""
    from agreements.models import Contract, DataDeletion
    from core.enums import OutboxChannel, OutboxStatus
    from core.models import Outbox

    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    today = clock.business_date(sandbox_row.sandbox_now)
    tenant, made = _sandbox_contract(client, "砂場削除商事", today)
    deletion = DataDeletion.objects.create(  # as the sandbox's ended contract plans one (R15)
        contract=Contract.objects.get(pk=made.json()["id"]),
        tenant_id=tenant.json()["id"],
        kind="primary",
        due_on=today + timedelta(days=3),
    )
    failed = Outbox.objects.create(
        kind="answer.recorded",
        channel=OutboxChannel.WEBHOOK,
        dedupe_key="sandbox-dead-hook",
        tenant_id=tenant.json()["id"],
        partner_id=sandbox_row.pk,
        recipient="https://sandbox-hook.example/never",
        status=OutboxStatus.DEAD,
        next_attempt_at=clock.now(),
    )
    staff = world.client("staff")
    listed = staff.get("/api/v1/deletions/?page_size=200").json()["results"]
    assert deletion.pk not in {row["id"] for row in listed}
    assert "砂場削除商事" not in staff.get("/console/deletions/").content.decode()
    assert failed.recipient not in staff.get("/console/deliveries/").content.decode()


def test_the_staff_dashboards_upcoming_panel_lists_no_sandbox_revision(world: World) -> None:
    """A sandbox's scheduled revision is not among the live revisions to come, whatever the
    filter (its console page is a 404: it is not the service's)."""
    from web.console.selectors import upcoming

    sandbox_row, raw, _products = open_sandbox(world)
    client = key_client(raw)
    today = clock.business_date(sandbox_row.sandbox_now)
    revision = _revise(client, today + timedelta(days=20))
    assert revision.status_code == 201, revision.content
    version_id = revision.json()["version"]
    for partner in (None, "direct", str(world.partner.pk)):
        panel = upcoming(today=clock.today(), partner=partner)
        assert version_id not in {v.pk for v in panel.effective}
        assert version_id not in {v.pk for v in panel.notices}
    page = world.client("staff").get("/console/dashboard/")
    assert f"/console/versions/{version_id}/" not in page.content.decode()
