"""The consent answer over the API (bench #2): one transaction holding the answer and its
Idempotency-Key record, each statement once; the hot reads that do not change per request
(the key, the version, the partner's webhooks) come from the cache and follow every change
at once (core/generations.py)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.enums import VersionStatus
from agreements.models import ConsentRecord, LedgerHead, TermsVersion
from core.enums import EventKind
from core.models import IdempotencyRecord, Outbox
from tenants.models import WebhookEndpoint
from tests.api.conftest import World
from tests.api.test_agreements_api import EVIDENCE
from tests.factories.contracts import make_contract
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _tenant(world: World):
    tenant = TenantFactory(partner=world.partner)
    make_contract(tenant=tenant, product=world.product, start_date=date(2024, 4, 1))
    LedgerHead.objects.create(tenant=tenant)  # an existing chain, as for nearly every answer
    return tenant


def _answer(world: World, tenant, key: str, answer: str = "accepted"):
    client = world.client("own_partner")
    return client.post(
        f"/api/v1/tenants/{tenant.pk}/consents/",
        {"version": world.v2.pk, "answer": answer, "evidence": EVIDENCE},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def _verbs(captured: CaptureQueriesContext) -> list[str]:
    out = []
    for query in captured.captured_queries:
        words = query["sql"].split()
        verb = words[0].lstrip("(")  # a UNION's first SELECT is parenthesised
        if verb in ("INSERT", "UPDATE"):
            verb += " " + (words[2] if verb == "INSERT" else words[1]).strip('"')
        elif verb == "SELECT":
            verb += " " + next(w for w in words if w.startswith('"') and "_" in w).split(".")[
                0
            ].strip('"')
        out.append(verb)
    return out


def test_a_warm_answer_is_one_transaction_of_the_statements_it_needs(world: World) -> None:
    assert _answer(world, _tenant(world), "warm-up").status_code == 201  # caches warm
    tenant = _tenant(world)
    with CaptureQueriesContext(connection) as captured:
        response = _answer(world, tenant, "k-1")
    assert response.status_code == 201, response.content
    verbs = _verbs(captured)
    # The test's own transaction turns the answer's into a savepoint: one pair, one transaction.
    assert verbs.count("SAVEPOINT") == 1
    assert verbs == [
        "SELECT tenants_tenant",  # the tenant in the partner's reach
        "SAVEPOINT",
        "SELECT agreements_ledgerhead",  # the head lock
        "SELECT agreements_consentstate",  # the projection row
        "SELECT agreements_contract",  # a contract the document binds
        # whether an answer is owed: the contract's filed end, before the pending version
        # takes effect (an end before it means nothing is asked, R4)
        "SELECT agreements_nonrenewalrequest",
        "SELECT agreements_termination",
        "INSERT agreements_consentrecord",  # the ledger row
        "INSERT agreements_consentevidence",
        "UPDATE agreements_ledgerhead",
        "UPDATE agreements_consentstate",  # the projection (the notice opened the row)
        # whether the tenant is bound (ConsentState.bound): the version and a binding
        # contract, read again although the answer's checks saw them (to fold away, #17)
        "SELECT agreements_termsversion",
        "SELECT agreements_contract",
        "INSERT core_event",
        # the tenant's recipients: its admins' addresses and its notification contacts, one
        # UNION (tenants.notify.tenant_recipients)
        "SELECT tenants_membership",
        "INSERT core_outbox",
        "INSERT core_idempotencyrecord",
        "RELEASE",
    ], verbs
    assert IdempotencyRecord.objects.get(key="k-1").response_code == 201


def test_a_repeat_with_the_key_replays_and_writes_nothing(world: World) -> None:
    tenant = _tenant(world)
    first = _answer(world, tenant, "k-2")
    again = _answer(world, tenant, "k-2")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    other_body = _answer(world, tenant, "k-2", answer="rejected")
    assert other_body.status_code == 422
    assert ConsentRecord.objects.filter(tenant=tenant).count() == 1


def test_a_webhook_added_gets_the_next_event(world: World) -> None:
    _answer(world, _tenant(world), "w-1")  # the partner's endpoints are cached now
    added = WebhookEndpoint.objects.create(
        partner=world.partner, url="https://partner.example/new", secret="whsec_new"
    )
    tenant = _tenant(world)
    assert _answer(world, tenant, "w-2").status_code == 201
    answers = Outbox.objects.filter(
        tenant_id=tenant.pk, webhook_endpoint_id=added.pk, kind=EventKind.ANSWER_RECORDED
    )
    assert answers.count() == 1


def test_a_version_withdrawn_refuses_answers_at_once(world: World) -> None:
    assert _answer(world, _tenant(world), "v-1").status_code == 201  # v2 cached answerable
    version = TermsVersion.objects.get(pk=world.v2.pk)
    version.status = VersionStatus.WITHDRAWN
    version.save(update_fields=["status"])
    refused = _answer(world, _tenant(world), "v-2")
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "version_not_answerable"
