"""A known key's request in one Redis round trip (web/api/prefetch.py): the key, its count in
the throttle and the status check's answer fetched together; a refusal takes its count back; a
value this process never saw authenticate fetches and counts nothing; a change made during the
request is never hidden by what was fetched ahead."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from unittest import mock

import pytest
from django.core.cache import caches
from django.test import override_settings
from redis.connection import AbstractConnection

from agreements.models import ProductKey
from agreements.services.product_keys import product_key_revoke
from core import clock, generations
from tenants.scope import Scope
from tests.api.conftest import TODAY, World, key_client

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@contextmanager
def round_trips() -> Iterator[list[int]]:
    """How many times this process wrote to Redis (one write per round trip: a pipeline's
    commands go in one)."""
    sent = [0]
    real = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):  # type: ignore[no-untyped-def]
        sent[0] += 1
        return real(self, command, check_health)

    with mock.patch.object(AbstractConnection, "send_packed_command", counting):
        yield sent


def _status(client, tenant_id: int):  # type: ignore[no-untyped-def]
    with clock.frozen_at(TODAY):
        return client.get(f"/api/v1/status/{tenant_id}/")


@override_settings(TERMS_API_THROTTLE_RATE="50/min")
def test_a_warm_status_check_is_one_redis_round_trip_counted_once(world: World) -> None:
    client = world.client("product")
    first = _status(client, world.tenant.pk)  # cold: the key and the answer are read and cached
    assert first.status_code == 200
    with round_trips() as sent:
        warm = _status(client, world.tenant.pk)
    assert warm.status_code == 200
    assert warm.json() == first.json()
    assert sent[0] == 1
    # Counted once, not once ahead and once by the throttle.
    assert int(first["RateLimit-Remaining"]) - int(warm["RateLimit-Remaining"]) == 1


def test_a_warm_partner_request_reads_its_key_and_counts_in_one_round_trip(world: World) -> None:
    client = world.client("own_partner")
    assert client.get("/api/v1/tenants/").status_code == 200
    with round_trips() as sent:
        again = client.get(f"/api/v1/tenants/{world.tenant.pk}/")
    assert again.status_code == 200
    # One for the key and the count; the tenant read itself is SQL, not Redis.
    assert sent[0] == 1


@override_settings(TERMS_API_THROTTLE_RATE="5/min")
def test_a_known_key_refused_before_the_throttle_gets_its_count_back(world: World) -> None:
    client = world.client("product")
    assert _status(client, world.tenant.pk)["RateLimit-Remaining"] == "4"
    # Counted ahead, then refused by the key check (a product key on a partner operation).
    refused = client.get("/api/v1/tenants/")
    assert (refused.status_code, refused.json()["code"]) == (403, "wrong_caller")
    assert refused["RateLimit-Remaining"] == "4"
    assert _status(client, world.tenant.pk)["RateLimit-Remaining"] == "3"


@override_settings(TERMS_API_THROTTLE_RATE="5/min")
def test_a_known_key_revoked_is_refused_and_counts_nothing(world: World) -> None:
    client = world.client("product")
    assert _status(client, world.tenant.pk).status_code == 200  # known to this process now
    key = ProductKey.objects.get(product=world.product, revoked_at__isnull=True)
    product_key_revoke(scope=Scope.staff(world.staff), key=key)
    refused = _status(client, world.tenant.pk)
    assert refused.status_code == 401
    backend = caches["default"]
    window = backend.sliding_window_peek(
        f"throttle:api:product-key:{key.pk}:window", now=clock.now().timestamp(), window=60
    )
    assert window.count == 1  # the first check only


@override_settings(TERMS_API_THROTTLE_RATE="5/min")
def test_a_wrong_secret_behind_a_known_prefix_is_counted_nowhere(world: World) -> None:
    client = world.client("product")
    assert _status(client, world.tenant.pk)["RateLimit-Remaining"] == "4"
    prefix = world.product_raw.rsplit("_", 1)[0]
    forged = key_client(f"{prefix}_not-the-secret")
    with round_trips() as sent:
        refused = _status(forged, world.tenant.pk)
    assert refused.status_code == 401
    assert sent[0] >= 1  # it was looked up the slow way, not fetched ahead as the key
    assert _status(client, world.tenant.pk)["RateLimit-Remaining"] == "3"


@override_settings(TERMS_API_THROTTLE_RATE="5/min")
def test_the_limit_holds_with_counts_made_ahead(world: World) -> None:
    client = world.client("product")
    codes = [_status(client, world.tenant.pk).status_code for _ in range(6)]
    assert codes == [200, 200, 200, 200, 200, 429]


def test_a_bump_during_the_request_is_not_hidden_by_what_was_fetched_ahead() -> None:
    name = f"gen:test-ahead:{id(object())}"
    generations.generation_bump(name)
    before = generations.shared_get_many([name])
    assert before is not None
    generations.fetched_ahead([name], dict(before))
    assert generations.shared_get_many([name]) == before  # served from what was fetched
    generations.generation_bump(name)
    after = generations.shared_get_many([name])
    assert after is not None
    assert after[name] == before[name] + 1
    generations.forget_ahead()


def test_keys_not_fetched_ahead_are_read_from_redis() -> None:
    name = f"gen:test-ahead:{id(object())}"
    generations.fetched_ahead(["something-else"], {})
    generations.generation_bump(name)  # forgets what was fetched
    generations.fetched_ahead(["something-else"], {})
    found = generations.shared_get_many([name, "something-else"])
    assert found is not None
    assert found.get(name) == 1
    generations.forget_ahead()


def test_a_bump_forgets_only_what_depends_on_its_generation() -> None:
    """An answer bumps its tenant's generation before it reads the partner's webhooks: the
    webhooks fetched ahead stay good (their lookup names another generation), while a lookup
    naming the bumped one goes back to Redis and sees the new number."""
    tenant_gen, partner_gen = (f"gen:test-ahead:{id(object())}:{n}" for n in (1, 2))
    for name in (tenant_gen, partner_gen):
        generations.generation_bump(name)
    before = generations.shared_get_many([tenant_gen, partner_gen])
    assert before is not None
    generations.fetched_ahead([tenant_gen, partner_gen], dict(before))
    generations.generation_bump(tenant_gen)
    with round_trips() as sent:
        kept = generations.shared_get_many([partner_gen])
    assert (kept, sent[0]) == ({partner_gen: before[partner_gen]}, 0)
    with round_trips() as sent:
        moved = generations.shared_get_many([tenant_gen, partner_gen])
    assert sent[0] == 1
    assert moved == {tenant_gen: before[tenant_gen] + 1, partner_gen: before[partner_gen]}
    generations.forget_ahead()
