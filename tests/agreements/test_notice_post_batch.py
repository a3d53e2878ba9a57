"""Posting a notice notifies bound tenants set-based: constant queries per batch, same rows."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from agreements.enums import ConsentMode, LegalBasis
from agreements.selectors.consents.binding import binding_versions_for_tenants
from agreements.selectors.versions import tenants_to_notify
from agreements.services.notice_payloads import binding_facts, version_gate_from, version_payload
from agreements.services.version_articles import article_upsert
from agreements.services.version_drafts import version_draft_create
from agreements.services.versions import posting as posting_service
from agreements.services.versions.posting import notice_post
from agreements.services.versions.schedule import version_schedule
from core import clock, generations
from core.enums import EventKind
from core.models import Event, Outbox
from tenants.enums import Role
from tenants.models import Partner, WebhookEndpoint
from tenants.notify import Note, notify
from tenants.scope import Scope
from tests.agreements.version_fixtures import *  # noqa: F403 -- fixtures
from tests.factories.agreements import ContractFactory, VersionFactory
from tests.factories.tenants import (
    MembershipFactory,
    PartnerFactory,
    TenantFactory,
    UserFactory,
    WebhookEndpointFactory,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TODAY = date(2025, 3, 3)


@pytest.fixture(autouse=True)
def _today():
    with clock.frozen_at(TODAY):
        yield


@pytest.fixture
def scheduled(catalog, editor, publisher):
    """A scheduled, not yet posted revision of the Biz terms."""
    VersionFactory(
        document=catalog.biz_terms,
        label="2024-11-22",
        effective_on=date(2024, 11, 22),
        articles=[("本規約について", "本規約は本製品に適用されます。")],
    )
    draft = version_draft_create(
        scope=Scope.staff(editor), document=catalog.biz_terms, label="2025-04"
    )
    article_upsert(
        scope=Scope.staff(editor),
        version=draft,
        number=2,
        title="変更の掲示",
        body="1. 掲示します。",
    )
    return version_schedule(
        scope=Scope.staff(publisher),
        version=draft,
        notice_on=TODAY,
        effective_on=TODAY + timedelta(days=7),
        consent_mode=ConsentMode.DEEMED,
        legal_basis=LegalBasis.GENERAL_INTEREST,  # type (i): seven days' lead suffice (R2)
        rationale="掲示の時期を明記するため。",
        categories=[{"kind": "substantive", "title": "掲示時期の明記"}],
    )


def _bound(catalog, **tenant_fields):
    tenant = TenantFactory(**tenant_fields)
    ContractFactory(tenant=tenant, product=catalog.biz)
    return tenant


def _varied_tenants(catalog):
    """Tenants covering every branch of notify_tenant's recipients and endpoints."""
    partner = PartnerFactory()
    WebhookEndpointFactory(partner=partner, url="https://hooks.example/a")
    WebhookEndpointFactory(
        partner=partner,
        url="https://hooks.example/only-withdrawn",
        event_kinds=[EventKind.VERSION_WITHDRAWN],
    )
    WebhookEndpointFactory(partner=partner, url="https://hooks.example/off", is_active=False)
    other = PartnerFactory()
    WebhookEndpointFactory(partner=other, url="https://hooks.example/b")
    with_partner = _bound(catalog, partner=partner, locale="en")
    MembershipFactory(tenant=with_partner, user=UserFactory(email="Boss@Customer.example"))
    MembershipFactory(tenant=with_partner, role=Role.VIEWER)
    shared = _bound(catalog, partner=other, contact_email="boss@customer.example")
    MembershipFactory(tenant=shared, user=UserFactory(email="BOSS@customer.example"))
    MembershipFactory(tenant=shared)
    _bound(catalog, contact_email="")  # no partner, no admin, no contact: an event only
    MembershipFactory(tenant=_bound(catalog))
    TenantFactory()  # not bound: never told
    return partner


def _outbox_shape(key: str) -> list[tuple]:
    rows = Outbox.objects.filter(dedupe_key__contains=f":{key}:").order_by("tenant_id", "pk")
    return [
        (
            r.kind,
            r.channel,
            r.dedupe_key.replace(f":{key}:", ":*:"),
            r.recipient,
            r.locale,
            r.tenant_id,
            r.partner_id,
            r.webhook_endpoint_id,
            r.status,
            {k: v for k, v in r.payload.items() if k not in ("id", "event_id")},
            Event.objects.filter(pk=r.event_id).values_list("tenant_id", "kind").get(),
        )
        for r in rows
    ]


def _event_shape(kind: str, subject_id: int, exclude: set[int] = frozenset()) -> list[tuple]:
    return list(
        Event.objects.filter(kind=kind, subject_id=subject_id)
        .exclude(pk__in=exclude)
        .order_by("tenant_id")
        .values_list("tenant_id", "partner_id", "subject_type", "payload", "occurred_at")
    )


def test_notice_post_writes_what_the_per_tenant_path_wrote(catalog, scheduled) -> None:
    _varied_tenants(catalog)
    tenants = list(tenants_to_notify(document=scheduled.document))
    assert len(tenants) == 4
    # The path notice_post took before: one notification per tenant (under another key).
    payload = {**version_payload(scheduled), "gate_from": version_gate_from(scheduled)}
    for tenant in tenants:
        # Each tenant's own binding version (R4), read for that tenant alone.
        binding = binding_versions_for_tenants(
            document=scheduled.document, tenant_ids=[tenant.pk], before=scheduled.effective_on
        )[tenant.pk]
        notify(
            [
                Note(
                    kind=EventKind.NOTICE_POSTED,
                    tenant=tenant,
                    key="per-tenant",
                    payload={**payload, **binding_facts(binding)},
                    subject=scheduled,
                )
            ]
        )
    before = set(Event.objects.values_list("pk", flat=True))
    per_tenant_events = _event_shape(EventKind.NOTICE_POSTED, scheduled.pk)

    assert notice_post(version=scheduled)

    expected = _outbox_shape("per-tenant")
    got = _outbox_shape(f"version:{scheduled.pk}:posted")
    # posted_at is only in the payload of the batch (it is set before notifying).
    for row in (*expected, *got):
        row[9].pop("posted_at", None)
    assert got == expected
    # admin + contact (en) + one webhook; two addresses (one given twice) + webhook; none;
    # admin + contact. An address shared with another tenant is told once per tenant.
    assert len(got) == 3 + 3 + 0 + 2
    assert all(r[3] != "https://hooks.example/only-withdrawn" for r in got)
    batch_events = _event_shape(EventKind.NOTICE_POSTED, scheduled.pk, exclude=before)
    strip = [
        (t, p, s, {k: v for k, v in b.items() if k != "posted_at"}, o)
        for t, p, s, b, o in per_tenant_events
    ]
    assert [
        (t, p, s, {k: v for k, v in b.items() if k != "posted_at"}, o)
        for t, p, s, b, o in batch_events
    ] == strip
    # Webhook payloads point at the tenant's own new event.
    for row in Outbox.objects.filter(dedupe_key__startswith=f"{EventKind.NOTICE_POSTED}:version:"):
        if row.channel == "webhook":
            assert row.payload["id"] == row.event_id
            assert row.payload["data"]["tenant_id"] == row.tenant_id


def test_notify_second_run_queues_nothing(catalog, scheduled) -> None:
    _varied_tenants(catalog)
    assert notice_post(version=scheduled)
    queued = Outbox.objects.count()
    events = Event.objects.count()
    assert not notice_post(version=scheduled)  # posted_at set once: nothing at all
    assert (Outbox.objects.count(), Event.objects.count()) == (queued, events)
    # The notifier itself, run again for the same occurrence, queues no second message.
    tenants = list(tenants_to_notify(document=scheduled.document))
    key = f"version:{scheduled.pk}:posted"
    assert notify(
        Note(kind=EventKind.NOTICE_POSTED, tenant=t, key=key, payload={}, subject=scheduled)
        for t in tenants
    ).tenants == len(tenants)
    assert Outbox.objects.count() == queued


def _add_bound_tenants(catalog, partner, count: int) -> None:
    for index in range(count):
        tenant = _bound(catalog, partner=partner if index % 2 else None)
        MembershipFactory(tenant=tenant)


def _post_queries(scheduled) -> tuple[int, int]:
    """Queries and outbox rows for posting `scheduled` now, rolled back afterwards; cold, so
    every run counts the same reads (the partners' webhooks are cached between runs)."""
    for partner_id in Partner.objects.values_list("pk", flat=True):
        generations.generation_bump(generations.partner_generation(partner_id))
    with transaction.atomic():
        with CaptureQueriesContext(connection) as ctx:
            assert notice_post(version=scheduled)
        queued = Outbox.objects.filter(kind=EventKind.NOTICE_POSTED).count()
        transaction.set_rollback(True)
    return len(ctx.captured_queries), queued


def test_notice_post_queries_constant_per_batch(catalog, scheduled, monkeypatch) -> None:
    partner = PartnerFactory()
    WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example/a", secret="s")
    _add_bound_tenants(catalog, partner, 10)
    queries_10, queued_10 = _post_queries(scheduled)
    _add_bound_tenants(catalog, partner, 190)
    queries_200, queued_200 = _post_queries(scheduled)
    # admin + contact address per tenant, and one webhook per tenant of the partner (every
    # other tenant): the partner hears about each of its tenants.
    assert (queued_10, queued_200) == (10 * 2 + 5, 200 * 2 + 100)
    # One batch (1,000 tenants) costs the same for 10 tenants as for 200: was 7 per tenant.
    assert queries_200 == queries_10
    assert queries_10 <= 20, queries_10
    # In batches of 50, each of the three further batches adds the same few queries.
    monkeypatch.setattr(posting_service, "NOTIFY_BATCH_SIZE", 50)
    queries_4_batches, queued = _post_queries(scheduled)
    assert queued == queued_200
    assert queries_4_batches - queries_10 == 3 * PER_BATCH


# events, admins' addresses, outbox rows; and the batch's binding versions (R4): the
# versions in effect and the tenants' contracts (the answers too when a version in effect
# needed consent, not here). The partners' endpoints are read by the first batch only: later
# batches find them in the cache (tenants.notify._active_endpoints).
PER_BATCH = 5
