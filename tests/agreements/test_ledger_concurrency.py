"""Concurrent answers on real PostgreSQL: one row for identical requests, one chain, no fork
(docs/ledger.md; docs/rules.md, consent truth table: "20 identical concurrent POSTs")."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from agreements.enums import Answer
from agreements.ledger.verify import ledger_verify
from agreements.models import ConsentRecord, LedgerHead
from agreements.services.consents.answers import consent_answer
from agreements.services.consents.effective import consents_apply_effective
from agreements.services.versions.effective import version_lock_for_apply
from core import clock
from tests.factories.consents import BEFORE, EFFECTIVE_ON, admin_scope, bound_tenant, posted_version

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row locks under real concurrency need PostgreSQL"
    ),
]


def run_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) in threads released together; each thread has its own connection."""
    barrier = threading.Barrier(count)
    results: list[Any] = [None] * count
    errors: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[index] = work(index)
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a worker hung (lock wait?)"
    if errors:
        raise errors[0]
    return results


def _seqs(tenant_id: int) -> list[int]:
    return list(
        ConsentRecord.objects.filter(tenant_id=tenant_id)
        .order_by("seq")
        .values_list("seq", flat=True)
    )


def test_ledger_concurrency_20_identical_answers_one_row_one_created() -> None:
    version = posted_version()
    tenant = bound_tenant(version.document).tenant
    scope = admin_scope(tenant)
    assert not LedgerHead.objects.filter(tenant=tenant).exists()  # the head is raced for too

    def work(_index: int) -> tuple[int, bool]:
        record, created = consent_answer(
            scope=scope, tenant=tenant, version=version, answer=Answer.ACCEPTED
        )
        return record.pk, created

    with clock.frozen_at(BEFORE):
        results = run_parallel(20, work)
    assert sorted(created for _pk, created in results) == [False] * 19 + [True]
    assert len({pk for pk, _created in results}) == 1
    assert _seqs(tenant.pk) == [1]
    assert ledger_verify() == []


def test_ledger_concurrency_two_documents_one_chain_no_fork() -> None:
    first = posted_version()
    second = posted_version()
    tenant = bound_tenant(first.document).tenant
    bound_tenant(second.document, tenant=tenant)
    scope = admin_scope(tenant)

    def work(index: int) -> int:
        version = (first, second)[index % 2]
        created = 0
        for answer in (Answer.ACCEPTED, Answer.REJECTED, Answer.ACCEPTED):
            created += consent_answer(scope=scope, tenant=tenant, version=version, answer=answer)[1]
        return created

    with clock.frozen_at(BEFORE):
        created = sum(run_parallel(8, work))
    seqs = _seqs(tenant.pk)
    assert created >= 6  # each document switched at least accept → reject → accept
    assert seqs == list(range(1, created + 1))
    head = LedgerHead.objects.get(tenant=tenant)
    assert (head.seq, head.hash) == (
        created,
        ConsentRecord.objects.get(tenant=tenant, seq=created).hash,
    )
    assert ledger_verify() == []


def test_ledger_concurrency_r3_deemed_job_racing_answers_never_deems_an_answered_tenant() -> None:
    version = posted_version()
    tenants = [bound_tenant(version.document).tenant for _ in range(12)]
    scopes = [admin_scope(t) for t in tenants]

    def work(index: int) -> object:
        if index == 0:
            return consents_apply_effective(version=version, today=EFFECTIVE_ON, batch_size=4)
        tenant = tenants[index - 1]
        return consent_answer(
            scope=scopes[index - 1], tenant=tenant, version=version, answer=Answer.ACCEPTED
        )[1]

    with clock.frozen_at(EFFECTIVE_ON):
        results = run_parallel(len(tenants) + 1, work)
    deemed = results[0]["deemed"]
    answers = list(
        ConsentRecord.objects.order_by("tenant_id", "seq").values_list("tenant_id", "answer")
    )
    by_tenant: dict[int, list[str]] = {}
    for tenant_id, answer in answers:
        by_tenant.setdefault(tenant_id, []).append(answer)
    # A deemed row only ever precedes the tenant's own accept (the job saw no answer yet).
    for rows in by_tenant.values():
        assert rows in (["accepted"], ["deemed", "accepted"])
    assert sum(rows == ["deemed", "accepted"] for rows in by_tenant.values()) == deemed
    assert len(by_tenant) == len(tenants)
    assert ledger_verify() == []


def test_ledger_concurrency_an_answer_does_not_wait_for_the_effective_date_job() -> None:
    """The job holds the version's row lock for its whole run and takes chain heads one batch
    at a time; an answer holds its tenant's head and, at commit, checks its rows' foreign key
    to that version. If the job's lock blocked that check, the answer would wait for the whole
    run while the run waits for the answer's head: a deadlock (seen under load)."""
    version = posted_version()
    tenant = bound_tenant(version.document).tenant
    scope = admin_scope(tenant)
    locked, released = threading.Event(), threading.Event()
    waited: list[float] = []

    def job() -> None:
        with transaction.atomic():
            assert version_lock_for_apply(version.pk, EFFECTIVE_ON) is not None
            locked.set()
            released.wait(timeout=15)

    def answer() -> None:
        assert locked.wait(timeout=15)
        started = time.monotonic()
        with clock.frozen_at(BEFORE):
            consent_answer(scope=scope, tenant=tenant, version=version, answer=Answer.ACCEPTED)
        waited.append(time.monotonic() - started)
        released.set()

    def work(index: int) -> None:
        try:
            (job if index == 0 else answer)()
        finally:
            released.set()

    run_parallel(2, work)
    assert len(waited) == 1
    assert waited[0] < 5, f"the answer waited {waited[0]:.1f} s for the job's version lock"
    assert _seqs(tenant.pk) == [1]
