"""The status check (bench #3) and API-key authentication served from the cache: warm checks
cost no SQL, cold ones a fixed few statements, and every input of the answer that changes
shows at once (core/generations.py). A Redis outage costs speed, never a stale answer."""

from __future__ import annotations

import json
from datetime import date
from unittest import mock

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.models import ProductKey, TermsVersion
from agreements.services.contracts import contract_end
from agreements.services.product_keys import product_key_revoke
from agreements.services.versions.effective import version_apply_effective
from core import clock
from tenants.models import PartnerAPIKey
from tenants.scope import Scope
from tenants.services.keys import partner_key_revoke
from tests.api.conftest import TODAY, World
from tests.api.test_agreements_api import EVIDENCE

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _status(world: World, client=None, on: date = TODAY):
    with clock.frozen_at(on):
        return (client or world.client("product")).get(f"/api/v1/status/{world.tenant.pk}/")


def _counted(world: World, client, on: date = TODAY) -> tuple[dict, int]:
    with CaptureQueriesContext(connection) as captured:
        response = _status(world, client, on)
    assert response.status_code == 200, response.content
    return json.loads(response.content), len(captured)


def test_status_check_cold_is_one_statement_and_warm_none(world: World) -> None:
    client = world.client("product")
    cold, cold_queries = _counted(world, client)
    warm, warm_queries = _counted(world, client)
    # Cold: the key, one statement (the tenant's contracts for the product and the
    # per-document rows), and after the response the key's last-used stamp (at most once a
    # minute). Warm: nothing.
    assert cold_queries == 3
    assert warm_queries == 0
    assert warm == cold
    # Another tenant's first check: the key is warm, the answer cold.
    with CaptureQueriesContext(connection) as captured, clock.frozen_at(TODAY):
        other = client.get(f"/api/v1/status/{world.other_tenant.pk}/")
    assert other.status_code == 200
    assert len(captured) == 1


def test_an_answer_shows_at_once(world: World) -> None:
    before, _n = _counted(world, world.client("product"))
    assert before["versions"][0]["status"] == "no_answer"
    with clock.frozen_at(TODAY):
        answered = world.client("own_partner").post(
            f"/api/v1/tenants/{world.tenant.pk}/consents/",
            {"version": world.v2.pk, "answer": "rejected", "evidence": EVIDENCE},
            format="json",
        )
    assert answered.status_code == 201, answered.content
    after, _n = _counted(world, world.client("product"))
    assert after["versions"][0]["status"] == "rejected"
    assert "terms_rejected" in after["flags"]


def test_a_contract_ending_shows_at_once(world: World) -> None:
    before, _n = _counted(world, world.client("product"))
    assert before["contract_active"] is True
    with clock.frozen_at(TODAY):
        for contract in (world.contract, world.renewing):
            contract_end(
                contract=contract, end_date=TODAY, reason="non_payment", scope=Scope.system()
            )
    after, _n = _counted(world, world.client("product"))
    assert (after["contract_active"], after["allowed"]) == (False, False)


def test_a_version_taking_effect_shows_at_once(world: World) -> None:
    on = date(2025, 4, 1)
    before, _n = _counted(world, world.client("product"), on)
    assert before["versions"][0]["version"] == world.v1.pk
    with clock.frozen_at(on):
        assert version_apply_effective(version_id=world.v2.pk, today=on) == "superseded_previous"
    after, _n = _counted(world, world.client("product"), on)
    assert (after["versions"][0]["version"], after["versions"][0]["pending_version"]) == (
        world.v2.pk,
        None,
    )


def test_a_gating_policy_saved_shows_at_once(world: World) -> None:
    before, _n = _counted(world, world.client("product"))
    assert before["versions"][0]["gate_from"] is None
    version = TermsVersion.objects.get(pk=world.v2.pk)
    version.gating_enabled, version.gating_grace_days = True, 14
    version.gating_rationale = "個別契約第5条により提供を停止できる。"
    version.save(update_fields=["gating_enabled", "gating_grace_days", "gating_rationale"])
    after, _n = _counted(world, world.client("product"))
    assert after["versions"][0]["gate_from"] == "2025-04-15"


def test_a_revoked_product_key_is_refused_at_once(world: World) -> None:
    client = world.client("product")
    _counted(world, client)
    _counted(world, client)  # the key is cached now
    key = ProductKey.objects.get(product=world.product, revoked_at__isnull=True)
    product_key_revoke(scope=Scope.system(), key=key)
    assert _status(world, client).status_code == 401


def test_a_revoked_partner_key_is_refused_at_once(world: World) -> None:
    client = world.client("own_partner")
    path = f"/api/v1/tenants/{world.tenant.pk}/consents/"
    assert client.get(path).status_code == 200
    assert client.get(path).status_code == 200  # cached
    for key in PartnerAPIKey.objects.filter(partner=world.partner, revoked_at__isnull=True):
        partner_key_revoke(scope=Scope.system(), key=key)
    assert client.get(path).status_code == 401


def test_a_deactivated_partner_is_refused_at_once(world: World) -> None:
    client = world.client("own_partner")
    path = f"/api/v1/tenants/{world.tenant.pk}/consents/"
    assert client.get(path).status_code == 200
    world.partner.is_active = False
    world.partner.save(update_fields=["is_active"])
    assert client.get(path).status_code == 401


def test_during_a_redis_outage_the_database_answers(world: World) -> None:
    """A change no bump reached (written behind the services' back) is still seen while this
    process cannot trust Redis: the cache is not read at all."""
    client = world.client("product")
    _counted(world, client)
    TermsVersion.objects.filter(pk=world.v2.pk).update(label="renamed behind the cache")
    warm, warm_queries = _counted(world, client)
    assert warm_queries == 0
    assert warm["versions"][0]["pending_version_label"] != "renamed behind the cache"
    outage = caches["default"].outage
    outage.failed(ConnectionError("test outage"))
    try:
        during, queries = _counted(world, client)
    finally:
        outage.succeeded()
    assert during["versions"][0]["pending_version_label"] == "renamed behind the cache"
    # Nothing from the cache: the key from the database, then the status statement.
    assert queries == 2


def test_the_key_stamp_is_written_after_the_answer_and_once_a_minute(world: World) -> None:
    """The key's last-used stamp waits until the response is sent (core/after_response.py):
    the check's own reads come first (and may go to the replica: nothing written yet), and
    the copy of the key cached meanwhile already says it is fresh, so the next requests of
    the minute neither write nor ask Redis for the once-a-minute marker."""
    from agreements.selectors.consents.status_sql import STATUS_FUNCTION
    from tenants import auth as key_auth
    from tenants.keys import hash_key

    key = ProductKey.objects.get(hashed_key=hash_key(world.product_raw))
    assert key.last_used_at is None
    client = world.client("product")
    with CaptureQueriesContext(connection) as captured, clock.frozen_at(TODAY):
        first = client.get(f"/api/v1/status/{world.tenant.pk}/")
    assert first.status_code == 200
    statements = [q["sql"] for q in captured.captured_queries]
    assert len(statements) == 3
    assert [sql.split()[0] for sql in statements] == ["SELECT", "SELECT", "UPDATE"]
    assert "agreements_productkey" in statements[0]
    assert STATUS_FUNCTION in statements[1]  # the status check's one statement (status_sql.py)
    assert "last_used_at" in statements[2]
    key.refresh_from_db()
    assert key.last_used_at is not None

    markers = []
    real_add = key_auth.cache.add

    def counted_add(*args, **kwargs):
        markers.append(args[0])
        return real_add(*args, **kwargs)

    with mock.patch.object(key_auth.cache, "add", counted_add):
        for tenant in (world.tenant, world.other_tenant, world.tenant):
            with CaptureQueriesContext(connection) as captured, clock.frozen_at(TODAY):
                assert client.get(f"/api/v1/status/{tenant.pk}/").status_code == 200
            assert not [q for q in captured.captured_queries if "UPDATE" in q["sql"]]
    assert markers == []


def test_a_cached_key_with_an_old_stamp_asks_for_the_marker_once_a_minute(world: World) -> None:
    """The cached copy of a key keeps the stamp it was cached with: once that is a minute old,
    every request used to ask Redis for the once-a-minute marker (a round trip each) until the
    copy was stored again. Now one request per process per minute asks."""
    from datetime import timedelta

    from tenants import auth as key_auth

    client = world.client("product")
    first = clock.start_of_day(TODAY) + timedelta(hours=9)
    with clock.frozen_at(first):
        assert client.get(f"/api/v1/status/{world.tenant.pk}/").status_code == 200
    markers = []
    real_add = key_auth.cache.add

    def counted_add(*args, **kwargs):
        markers.append(args[0])
        return real_add(*args, **kwargs)

    later = first + timedelta(minutes=2)  # the cached copy's stamp is now two minutes old
    with mock.patch.object(key_auth.cache, "add", counted_add):
        for n, tenant in enumerate((world.tenant, world.other_tenant, world.tenant)):
            with clock.frozen_at(later + timedelta(seconds=n)):
                assert client.get(f"/api/v1/status/{tenant.pk}/").status_code == 200
        assert len(markers) == 1
        with clock.frozen_at(later + timedelta(minutes=1, seconds=5)):
            assert client.get(f"/api/v1/status/{world.tenant.pk}/").status_code == 200
        assert len(markers) == 2
