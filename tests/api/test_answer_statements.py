"""The consent answer over the API (bench #2): one transaction holding the answer and its
Idempotency-Key record, each statement once; the hot reads that do not change per request
(the key, the version, the partner's webhooks) come from the cache and follow every change
at once (core/generations.py)."""

from __future__ import annotations

import re
from datetime import date
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from redis.connection import AbstractConnection

from agreements.enums import VersionStatus
from agreements.ledger.verify import ledger_verify
from agreements.models import ConsentRecord, LedgerHead, TermsVersion
from core import generations, prepared
from core.enums import EventKind
from core.models import Event, IdempotencyRecord, Outbox
from tenants.models import WebhookEndpoint
from tests.api.conftest import World
from tests.api.test_agreements_api import EVIDENCE
from tests.api.test_prefetch import round_trips
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


_TABLE = re.compile(r'(?:FROM|JOIN|INTO)\s+"?([a-z]+_[a-z_]+)"?', re.IGNORECASE)


def _verbs(captured: CaptureQueriesContext) -> list[str]:
    """Each statement as its verb and the tables it touches: the tables a SELECT reads
    (sorted, subqueries included) and whether it locks; the tables an INSERT or an UPDATE
    writes; a WITH's inserts, in order, its updates and what it reads besides."""
    out = []
    for query in captured.captured_queries:
        sql = prepared.statement_of(query["sql"])  # a prepared one as written
        words = sql.split()
        verb = words[0].lstrip("(")  # a UNION's first SELECT is parenthesised
        if verb in ("INSERT", "UPDATE"):
            verb += " " + (words[2] if verb == "INSERT" else words[1]).strip('"')
        elif verb == "SELECT":
            verb += " " + "+".join(sorted(set(_TABLE.findall(sql))))
            if "FOR UPDATE" in sql:
                verb += " FOR UPDATE"
        elif verb == "WITH":
            inserted = re.findall(r'INSERT INTO\s+"?(\w+)"?', sql)
            updated = re.findall(r'UPDATE\s+"?(\w+)"?', sql)
            read = sorted(set(_TABLE.findall(sql)) - set(inserted))
            verb = f"WITH INSERT {'+'.join(inserted)}"
            verb += f" UPDATE {'+'.join(updated)}" if updated else ""
            verb += f" SELECT {'+'.join(read)}" if read else ""
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
        "SAVEPOINT",
        # the head lock, and the tenant in the partner's reach read with it
        "SELECT agreements_ledgerhead+tenants_tenant FOR UPDATE",
        # what the answer decides on, in one statement: the projection row (and its
        # version's date), every contract the document binds (bound now? owed, R4? the
        # binding version) and the end filed for each (non-renewal, termination)
        "SELECT agreements_consentstate+agreements_contract+agreements_nonrenewalrequest"
        "+agreements_termination+agreements_termsversion",
        # the ledger row, its evidence and the moved head, in one statement
        "WITH INSERT agreements_consentrecord+agreements_consentevidence"
        " UPDATE agreements_ledgerhead",
        "UPDATE agreements_consentstate",  # the projection (the notice opened the row)
        # the event and its outbox rows, the recipients (its admins, its contact address,
        # its further contacts: tenants.notify.tenant_recipients) chosen in the same statement
        "WITH INSERT core_event+core_outbox"
        " SELECT auth_user+tenants_membership+tenants_notificationcontact",
        "INSERT core_idempotencyrecord",
        "RELEASE",
    ], verbs
    assert IdempotencyRecord.objects.get(key="k-1").response_code == 201
    assert ledger_verify(tenant_ids=[tenant.pk]) == []


def test_a_first_answer_creates_the_head(world: World) -> None:
    tenant = TenantFactory(partner=world.partner)
    make_contract(tenant=tenant, product=world.product, start_date=date(2024, 4, 1))
    assert not LedgerHead.objects.filter(tenant=tenant).exists()
    response = _answer(world, tenant, "first")
    assert response.status_code == 201, response.content
    head = LedgerHead.objects.get(tenant=tenant)
    record = ConsentRecord.objects.get(tenant=tenant)
    assert (head.seq, head.hash) == (record.seq, record.hash) == (1, record.hash)
    assert ledger_verify(tenant_ids=[tenant.pk]) == []


@pytest.mark.parametrize("with_head", [True, False])
def test_another_partners_tenant_is_a_404_as_every_tenant_read_and_nothing_is_written(
    world: World, with_head: bool
) -> None:
    tenant = world.other_tenant
    if with_head:
        LedgerHead.objects.create(tenant=tenant)
    heads = LedgerHead.objects.count()
    events = Event.objects.count()
    outbox = Outbox.objects.count()
    status = world.client("own_partner").get(f"/api/v1/tenants/{tenant.pk}/consents/")
    answered = _answer(world, tenant, "other")
    assert (status.status_code, answered.status_code) == (404, 404)
    assert answered.json()["code"] == status.json()["code"]
    assert answered.json()["detail"] == status.json()["detail"]
    assert not ConsentRecord.objects.filter(tenant=tenant).exists()
    assert LedgerHead.objects.count() == heads
    assert (Event.objects.count(), Outbox.objects.count()) == (events, outbox)


def test_another_partners_tenant_is_a_404_whatever_the_body(world: World) -> None:
    client = world.client("own_partner")
    for tenant, expected in ((world.other_tenant, 404), (_tenant(world), 400)):
        for payload in (
            {"version": world.v2.pk, "answer": "accepted"},  # no evidence
            {"version": 999_999, "answer": "accepted", "evidence": EVIDENCE},  # no such version
            {"version": world.v2.pk, "answer": "accepted", "evidence": EVIDENCE, "x": 1},
        ):
            response = client.post(f"/api/v1/tenants/{tenant.pk}/consents/", payload, format="json")
            assert response.status_code == expected, (payload, response.content)


def test_the_binding_version_named_follows_the_versions_at_once(world: World) -> None:
    """The versions an answer may name as binding the tenant before the change (R4) are read
    from the cache under the terms' generation: a change to them is in the next answer."""

    def named(tenant) -> str:
        row = Event.objects.get(tenant_id=tenant.pk, kind=EventKind.ANSWER_RECORDED)
        return row.payload["binding_version_name"]

    first = _tenant(world)
    assert _answer(world, first, "b-1").status_code == 201
    assert named(first) == world.v1.display_name
    v1 = TermsVersion.objects.get(pk=world.v1.pk)
    v1.public_name = "旧規約"
    v1.save(update_fields=["public_name"])
    second = _tenant(world)
    assert _answer(world, second, "b-2").status_code == 201
    assert named(second) == "旧規約"


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


def test_a_warm_answer_reads_its_cached_terms_in_the_keys_round_trip(world: World) -> None:
    """The version, what an answer to it reads of the terms and the partner's webhooks are
    fetched with the key and its count (web/api/prefetch.py): a warm answer makes no other
    round trip while its transaction is open (its generation bump and the outbox's doorbell
    follow the commit: one round trip each)."""
    assert _answer(world, _tenant(world), "rt-warm").status_code == 201  # caches warm
    tenant = _tenant(world)
    with round_trips() as sent:
        response = _answer(world, tenant, "rt-1")
    assert response.status_code == 201, response.content
    assert sent[0] == 1


@pytest.mark.django_db(transaction=True)
def test_a_warm_answers_redis_round_trips_wait_for_its_commit(world: World) -> None:
    """With real commits: while the answer's transaction is open (its tenant's head locked),
    one round trip to Redis, the key's; the tenant's generation bump and the outbox's
    doorbell mark follow the commit, in one round trip."""
    assert _answer(world, _tenant(world), "rt-warm").status_code == 201
    tenant = _tenant(world)
    name = generations.tenant_generation(tenant.pk)
    before = generations.shared_get_many([name])
    in_transaction, after_commit = [0], [0]
    real = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):  # type: ignore[no-untyped-def]
        (in_transaction if connection.in_atomic_block else after_commit)[0] += 1
        return real(self, command, check_health)

    with mock.patch.object(AbstractConnection, "send_packed_command", counting):
        response = _answer(world, tenant, "rt-2")
    assert response.status_code == 201, response.content
    # The key's; after the commit the bump and the bell's mark in one (core/outbox.py)
    assert (in_transaction[0], after_commit[0]) == (0, 1 + 1)
    after = generations.shared_get_many([name])
    assert before is not None
    assert after is not None
    assert int(after.get(name) or 0) == int(before.get(name) or 0) + 1


def test_a_version_change_after_the_prefetch_is_still_seen(world: World) -> None:
    """What was fetched ahead is the cache under the terms' generation: a version withdrawn
    since the last answer is read again, not answered from the copy."""
    assert _answer(world, _tenant(world), "pf-warm").status_code == 201
    TermsVersion.objects.filter(pk=world.v2.pk).update(status=VersionStatus.WITHDRAWN)
    v2 = TermsVersion.objects.get(pk=world.v2.pk)
    v2.save(update_fields=["status"])  # the signal bumps the terms' generation
    refused = _answer(world, _tenant(world), "pf-after")
    assert refused.status_code in (404, 409), refused.content


def test_an_answer_staff_record_through_the_api_names_the_api_as_its_channel(world: World) -> None:
    """What was recorded says how it came (docs/ledger.md): a staff session on the REST API is the API,
    not the console."""
    tenant = _tenant(world)
    response = world.client("staff").post(
        f"/api/v1/tenants/{tenant.pk}/consents/",
        {"version": world.v2.pk, "answer": "accepted", "evidence": EVIDENCE},
        format="json",
    )
    assert response.status_code == 201, response.content
    record = ConsentRecord.objects.get(tenant=tenant)
    assert (record.actor_kind, record.channel) == ("staff", "api")
    assert response.json()["channel"] == "api"
