"""Property-based tests of every operation against the live OpenAPI schema (schemathesis).

Runs in-process against the WSGI application and the test database: positive and negative
data (wrong types, NUL bytes, huge strings, missing fields), every response checked against
the schema (status documented, content type, body shape, headers) and never a 5xx.
CI: SCHEMATHESIS_EXAMPLES (20) examples per operation with a fixed SCHEMATHESIS_SEED;
`make schemathesis` runs a larger number.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from tests.api.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

# Requests sent per operation, reported at the end of the run (tests/api/conftest.py).
CALLS: Counter[str] = Counter()

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "20"))
SEED = int(os.environ.get("SCHEMATHESIS_SEED", "20250310"))
SCHEMA_PATH = "/api/v1/schema/?format=json"


def _config() -> schemathesis.Config:
    return schemathesis.Config.from_dict(
        {
            "seed": SEED,
            "generation": {"mode": "all", "max-examples": EXAMPLES, "allow-x00": True},
            "phases": {"stateful": {"enabled": False}},
            # Business rules (check digits, deadlines, the truth table) refuse some data the
            # schema allows, so "valid data must be accepted" does not hold for this API.
            "checks": {"positive_data_acceptance": {"enabled": False}},
        }
    )


@pytest.fixture
def world(module_world: World, today: Any) -> World:
    # One world for all operations, as a live service has one database: examples of one
    # operation may meet rows another one created.
    return module_world


@pytest.fixture(autouse=True)
def _unthrottled(settings: Any) -> None:
    # Fuzzing sends far more requests than a partner may; the throttle has its own test.
    settings.TERMS_API_THROTTLE_RATE = "1000000/min"


@pytest.fixture(autouse=True)
def _keep_the_test_connection() -> Iterator[None]:
    # The WSGI handler closes "old" connections around each request; inside the test's
    # transaction that would close it. Django's own test client disconnects the same hooks.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


# The schema the service serves, fetched from the application itself at collection time.
schema = schemathesis.openapi.from_wsgi(SCHEMA_PATH, WSGIHandler(), config=_config())


def _headers(case: Any, world: World) -> dict[str, str]:
    schemes = {name for req in case.operation.definition.raw.get("security", []) for name in req}
    if "PartnerApiKey" in schemes:
        return {"Authorization": f"Api-Key {world.partner_raw}"}
    if "ProductApiKey" in schemes:
        return {"Authorization": f"Api-Key {world.product_raw}"}
    return {}


def _real_ids(world: World) -> dict[str, int]:
    return {
        "tenant_id": world.tenant.pk,
        "membership_id": world.viewer.pk,
        "webhook_id": world.webhook.pk,
        "delivery_id": world.delivery.pk,
        "event_id": world.event.pk,
        "document_id": world.document.pk,
        "version_id": world.v2.pk,
        "contract_id": world.renewing.pk,
        "deletion_id": world.deletion.pk,
    }


@schema.parametrize()
@hypothesis_settings(
    max_examples=EXAMPLES,
    deadline=None,
    # One world per operation: examples may see each other's rows, which is what a live
    # service sees too; every check below holds whatever the state.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_api_conforms_to_its_schema(case: Any, world: World) -> None:
    # Half the generated integer ids point at real objects, so the success paths are fuzzed
    # too, not only the 404s.
    if case.path_parameters:
        real = _real_ids(world)
        for name, value in list(case.path_parameters.items()):
            if isinstance(value, int) and value % 2 == 0 and name in real:
                case.path_parameters[name] = real[name]
    CALLS[case.operation.label] += 1
    case.call_and_validate(headers=_headers(case, world))
