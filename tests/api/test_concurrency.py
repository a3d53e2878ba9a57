"""Twenty identical answers at once, through HTTP, on real PostgreSQL (docs/rules.md, consent truth table).

Each request runs in its own thread with its own database connection, released together by a
barrier, so the requests really overlap in the database.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connections

from agreements.ledger.verify import ledger_verify
from agreements.models import ConsentRecord, LedgerHead
from core.models import IdempotencyRecord
from tests.api.conftest import World, build_world

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

PARALLEL = 20
EVIDENCE = {
    "person_name": "山田 太郎",
    "obtained_at": "2025-03-09T14:05:00+09:00",
    "method": "partner portal checkbox",
}


@pytest.fixture
def committed_world(today: Any) -> World:
    return build_world()


def run_parallel(request: Callable[[], Any]) -> list[Any]:
    barrier = threading.Barrier(PARALLEL)
    results: list[Any] = [None] * PARALLEL
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = request()
        except BaseException as exc:  # surfaced below, in the test's thread
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(PARALLEL)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    return results


def _answer(world: World, headers: dict[str, str]) -> Callable[[], Any]:
    def post() -> Any:
        return world.client("own_partner").post(
            f"/api/v1/tenants/{world.tenant.pk}/consents/",
            {"version": world.v2.pk, "answer": "accepted", "evidence": EVIDENCE},
            format="json",
            **headers,
        )

    return post


def test_twenty_identical_answers_give_one_201_and_one_row(committed_world: World) -> None:
    world = committed_world
    responses = run_parallel(_answer(world, {}))
    assert Counter(r.status_code for r in responses) == {201: 1, 200: PARALLEL - 1}
    assert len({json.loads(r.content)["id"] for r in responses}) == 1
    assert ConsentRecord.objects.filter(tenant=world.tenant).count() == 1
    assert ledger_verify(tenant_ids=[world.tenant.pk]) == []


def test_twenty_answers_with_one_idempotency_key_give_one_row(committed_world: World) -> None:
    world = committed_world
    responses = run_parallel(_answer(world, {"HTTP_IDEMPOTENCY_KEY": "answer-2025-03-10"}))
    statuses = Counter(r.status_code for r in responses)
    # Each request either replays the first one's response or finds it still running.
    assert set(statuses) <= {201, 409}
    assert statuses[201] >= 1
    created = {r.content for r in responses if r.status_code == 201}
    assert len(created) == 1  # identical bodies
    in_flight = [json.loads(r.content)["code"] for r in responses if r.status_code == 409]
    assert set(in_flight) <= {"idempotency_in_flight"}
    assert ConsentRecord.objects.filter(tenant=world.tenant).count() == 1
    assert ledger_verify(tenant_ids=[world.tenant.pk]) == []
    assert IdempotencyRecord.objects.get(key="answer-2025-03-10").response_code == 201


def test_answers_racing_on_a_chain_that_exists_never_fork_it(committed_world: World) -> None:
    """The tenant is read with its head lock (one statement): a request that waited for the
    lock continues from the head the one before it left, never from the one it first saw."""
    world = committed_world
    LedgerHead.objects.create(tenant=world.tenant)
    turn = iter(range(PARALLEL))
    lock = threading.Lock()

    def post() -> Any:
        with lock:
            answer = ("accepted", "rejected")[next(turn) % 2]
        return world.client("own_partner").post(
            f"/api/v1/tenants/{world.tenant.pk}/consents/",
            {"version": world.v2.pk, "answer": answer, "evidence": EVIDENCE},
            format="json",
        )

    responses = run_parallel(post)
    assert {r.status_code for r in responses} <= {200, 201}
    created = sum(r.status_code == 201 for r in responses)
    assert created >= 2
    seqs = list(
        ConsentRecord.objects.filter(tenant=world.tenant)
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert seqs == list(range(1, created + 1))
    head = LedgerHead.objects.get(tenant=world.tenant)
    assert (head.seq, head.hash) == (
        created,
        ConsentRecord.objects.get(tenant=world.tenant, seq=created).hash,
    )
    assert ledger_verify(tenant_ids=[world.tenant.pk]) == []
