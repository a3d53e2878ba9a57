"""Set-based jobs: the queries per batch do not grow with the batch (issue 6, item 5).

Each measurement runs a whole job over N due rows with a batch size of 64 and counts every
query (savepoints included). With a constant number per batch, 10 rows (one batch) cost one
batch, 100 rows (two batches) one more, and 1,000 rows (sixteen batches) fifteen more.
"""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.jobs import job_run_one
from agreements.models import Contract, ContractPeriod
from core import clock
from core.models import Delivery, Event, JobRun, Outbox, PlannedAction
from tenants.delivery.outbox import outbox_deliver_due
from tenants.models import Tenant
from tests.jobs.conftest import contracts_bulk, start_for_deadline_in, tenants_bulk

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TODAY = date(2025, 1, 10)
BATCH = 64
RESULTS: dict[str, dict[int, int]] = {}


def _wipe() -> None:
    Delivery.objects.all().delete()
    Outbox.objects.all().delete()
    Event.objects.all().delete()
    PlannedAction.objects.all().delete()
    JobRun.objects.all().delete()
    ContractPeriod.objects.all().delete()
    Contract.objects.all().delete()
    Tenant.objects.all().delete()


def _renewal_queries(product, count: int) -> int:
    _wipe()
    contracts_bulk(tenants_bulk(count), product, start=start_for_deadline_in(TODAY, 60))
    with clock.frozen_at(TODAY), CaptureQueriesContext(connection) as queries:
        counts = job_run_one("renewal_notices", TODAY)
    assert counts["sent"] == count
    assert Outbox.objects.count() == count
    return len(queries)


def _delivery_queries(product, count: int) -> int:
    _wipe()
    contracts_bulk(tenants_bulk(count), product, start=start_for_deadline_in(TODAY, 60))
    with clock.frozen_at(TODAY):
        job_run_one("renewal_notices", TODAY)
        with CaptureQueriesContext(connection) as queries:
            counts = outbox_deliver_due()
    assert counts == {"email.sent": count}
    return len(queries)


@pytest.mark.parametrize("measure", [_renewal_queries, _delivery_queries])
def test_queries_per_batch_constant_for_10_and_1000_due_rows(settings, id_plus, measure):
    settings.TERMS_JOB_BATCH_SIZE = BATCH
    settings.TERMS_OUTBOX_BATCH_SIZE = BATCH
    q10 = measure(id_plus, 10)  # 1 batch
    q100 = measure(id_plus, 100)  # 2 batches
    q1000 = measure(id_plus, 1000)  # 16 batches
    per_batch = q100 - q10
    RESULTS[measure.__name__] = {10: q10, 100: q100, 1000: q1000}
    print(f"\n{measure.__name__}: {RESULTS[measure.__name__]}, per batch {per_batch}")
    assert 0 < per_batch <= 20
    assert q1000 == q10 + 15 * per_batch  # fifteen more batches, nothing per row
