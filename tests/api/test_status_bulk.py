"""The bulk status check (GET /status/?tenants=…): per tenant exactly the single check's body,
the 404s of the single check listed in `not_found`, a fixed number of statements however
many tenants are cold, and the single check's cache shared both ways. The status answer's
split: the version in force and the pending version each with its own status."""

from __future__ import annotations

import json
from datetime import date

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from agreements.services.contracts import contract_end
from core import clock, generations
from tenants.scope import Scope
from tests.api.conftest import TODAY, World, make_product_key
from tests.api.test_agreements_api import EVIDENCE
from tests.factories.contracts import biz_product, make_contract
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _get(client, path: str):
    with clock.frozen_at(TODAY):
        return client.get(path)


def _mixed_world(world: World) -> list[int]:
    """Tenants in every state the check tells apart, and ids a single check answers 404."""
    with clock.frozen_at(TODAY):
        answered = world.client("own_partner").post(
            f"/api/v1/tenants/{world.tenant.pk}/consents/",
            {"version": world.v2.pk, "answer": "rejected", "evidence": EVIDENCE},
            format="json",
        )
        assert answered.status_code == 201, answered.content
        ended = TenantFactory(partner=world.partner)
        contract = make_contract(tenant=ended, product=world.product, start_date=date(2024, 4, 1))
        contract_end(contract=contract, end_date=TODAY, reason="non_payment", scope=Scope.system())
        biz_only = TenantFactory(partner=world.partner)
        make_contract(tenant=biz_only, product=biz_product(), start_date=date(2024, 4, 1))
    no_such_tenant = max(world.tenant.pk, world.other_tenant.pk, ended.pk, biz_only.pk) + 1000
    return [world.other_tenant.pk, biz_only.pk, world.tenant.pk, no_such_tenant, ended.pk]


def _singles(world: World, ids: list[int]) -> dict[int, tuple[int, dict]]:
    client = world.client("product")
    answers = {}
    for pk in ids:
        response = _get(client, f"/api/v1/status/{pk}/")
        answers[pk] = (response.status_code, json.loads(response.content))
    return answers


def _cold() -> None:
    """Every cached status check unreachable (as a change of the terms would make it)."""
    generations.generation_bump(generations.TERMS)


def _assert_same(bulk: dict, singles: dict[int, tuple[int, dict]], ids: list[int]) -> None:
    found = [pk for pk in ids if singles[pk][0] == 200]
    assert [item["tenant"] for item in bulk["results"]] == found  # the order asked
    assert bulk["results"] == [singles[pk][1] for pk in found]
    assert bulk["not_found"] == [pk for pk in ids if singles[pk][0] == 404]
    assert {singles[pk][0] for pk in ids} == {200, 404}


def test_bulk_answers_what_single_checks_answer_read_cold(world: World) -> None:
    ids = _mixed_world(world)
    _cold()
    singles = _singles(world, ids)
    _cold()
    response = _get(world.client("product"), f"/api/v1/status/?tenants={','.join(map(str, ids))}")
    assert response.status_code == 200, response.content
    _assert_same(json.loads(response.content), singles, ids)


def test_bulk_fills_the_cache_single_checks_read_and_back(world: World) -> None:
    ids = _mixed_world(world)
    _cold()
    client = world.client("product")
    bulk = json.loads(_get(client, f"/api/v1/status/?tenants={','.join(map(str, ids))}").content)
    with CaptureQueriesContext(connection) as captured:
        singles = _singles(
            world, [pk for pk in ids if pk in {r["tenant"] for r in bulk["results"]}]
        )
    # The single checks of the tenants found were served from what the bulk check cached
    # (a new client: its key is looked up once).
    assert len(captured) <= 2
    assert bulk["results"] == [answer for _status, answer in singles.values()]


def test_bulk_costs_one_statement_however_many_tenants_are_cold(world: World) -> None:
    ids = _mixed_world(world)
    client = world.client("product")
    _get(client, f"/api/v1/status/?tenants={ids[0]}")  # the key is cached now

    def counted(tenants: list[int]) -> int:
        _cold()
        with CaptureQueriesContext(connection) as captured:
            response = _get(client, f"/api/v1/status/?tenants={','.join(map(str, tenants))}")
        assert response.status_code == 200, response.content
        return len(captured)

    # One statement: the tenants' contracts for the product and the per-document rows of all.
    assert counted(ids[:1]) == 1
    assert counted(ids) == 1
    found = [
        item["tenant"]
        for item in _get(client, f"/api/v1/status/?tenants={ids[0]}").json()["results"]
    ]
    assert found == ids[:1]
    with CaptureQueriesContext(connection) as captured:
        warm = _get(client, f"/api/v1/status/?tenants={','.join(map(str, ids))}")
    # Warm: nothing for the tenants found; the ids a single check answers 404 are not cached
    # (nor are they by the single check): one statement, which finds no contract for them.
    assert warm.status_code == 200
    assert len(captured) == 1
    with CaptureQueriesContext(connection) as captured:
        warm = _get(client, f"/api/v1/status/?tenants={ids[0]},{ids[2]},{ids[4]}")
    assert warm.status_code == 200
    assert len(warm.json()["results"]) == 3
    assert len(captured) == 0


def test_bulk_takes_at_most_100_distinct_ids(world: World) -> None:
    client = world.client("product")
    many = ",".join(str(world.tenant.pk + i) for i in range(101))
    refused = _get(client, f"/api/v1/status/?tenants={many}")
    assert refused.status_code == 400
    assert refused.json()["errors"][0]["field"] == "tenants"
    repeated = ",".join([str(world.tenant.pk)] * 150)
    once = _get(client, f"/api/v1/status/?tenants={repeated}")
    assert once.status_code == 200
    assert [item["tenant"] for item in once.json()["results"]] == [world.tenant.pk]
    for bad in ("", "1,,2", "x", "-1", "1.5"):
        assert _get(client, f"/api/v1/status/?tenants={bad}").status_code == 400, bad


def test_bulk_a_product_sees_only_tenants_with_a_contract_for_it(world: World) -> None:
    _key, raw = make_product_key(biz_product())
    from tests.api.conftest import key_client

    biz = key_client(raw)
    ids = f"{world.tenant.pk},{world.other_tenant.pk}"
    answer = _get(biz, f"/api/v1/status/?tenants={ids}").json()
    assert answer == {"results": [], "not_found": [world.tenant.pk, world.other_tenant.pk]}
    # Another product's code is refused as the single check refuses it.
    other = _get(biz, f"/api/v1/status/?tenants={ids}&product=optim-id-plus")
    assert other.status_code == 403
    assert other.json()["code"] == "product_not_allowed"
    # Partner keys are not products: 403, and nothing of the tenants in the body.
    for caller in ("own_partner", "other_partner"):
        refused = _get(world.client(caller), f"/api/v1/status/?tenants={ids}")
        assert refused.status_code == 403
        assert world.tenant.name not in refused.content.decode()


def test_bulk_staff_name_the_product_and_see_tenants_without_contracts(world: World) -> None:
    ids = _mixed_world(world)
    staff = world.client("staff")
    assert _get(staff, f"/api/v1/status/?tenants={ids[0]}").status_code == 400
    answer = _get(staff, f"/api/v1/status/?tenants={','.join(map(str, ids))}&product=optim-id-plus")
    body = answer.json()
    # Staff reach every tenant that exists (the biz-only one: no contract for ID+).
    assert body["not_found"] == [ids[3]]
    biz_only = next(item for item in body["results"] if item["tenant"] == ids[1])
    assert biz_only["flags"][0] == "contract_inactive"


# --- The split status: the version in force and the pending one, each with its own status --------


def test_status_split_a_rejected_pending_version_leaves_the_version_in_force_alone(
    world: World,
) -> None:
    client = world.client("product")
    before = _get(client, f"/api/v1/status/{world.tenant.pk}/").json()["versions"][0]
    assert (before["version"], before["pending_version"]) == (world.v1.pk, world.v2.pk)
    assert (before["status"], before["pending_version_status"]) == ("no_answer", "no_answer")
    assert before["pending_version_effective_on"] == "2025-04-01"
    in_force = before["version_status"]
    with clock.frozen_at(TODAY):
        answered = world.client("own_partner").post(
            f"/api/v1/tenants/{world.tenant.pk}/consents/",
            {"version": world.v2.pk, "answer": "rejected", "evidence": EVIDENCE},
            format="json",
        )
    assert answered.status_code == 201, answered.content
    after = _get(client, f"/api/v1/status/{world.tenant.pk}/").json()["versions"][0]
    # The deprecated field mixes them; the new ones keep each version's own standing.
    assert after["status"] == "rejected"
    assert after["pending_version_status"] == "rejected"
    assert after["version_status"] == in_force != "rejected"


def test_status_split_without_a_pending_version(world: World) -> None:
    from agreements.services.versions.effective import version_apply_effective

    on = date(2025, 4, 1)
    with clock.frozen_at(on):
        assert version_apply_effective(version_id=world.v2.pk, today=on) == "superseded_previous"
        item = world.client("product").get(f"/api/v1/status/{world.tenant.pk}/").json()
    version = item["versions"][0]
    assert (version["version"], version["pending_version"]) == (world.v2.pk, None)
    assert version["pending_version_status"] is None
    assert version["pending_version_effective_on"] is None
    assert version["version_status"] == version["status"]


def test_schema_marks_the_mixed_status_deprecated(anonymous_client) -> None:
    schema = json.loads(anonymous_client.get("/api/v1/schema/?format=json").content)
    fields = schema["components"]["schemas"]["BindingVersionOutput"]["properties"]
    assert fields["status"].get("deprecated") is True
    assert not fields["version_status"].get("deprecated")
    assert not fields["pending_version_status"].get("deprecated")


def test_bulk_reads_tenant_by_tenant_where_the_database_has_no_lateral(world: World) -> None:
    """SQLite (`make run`) has neither LATERAL nor unnest: one portable statement per tenant,
    the same rows as the one PostgreSQL statement for all of them."""
    from unittest import mock

    from agreements.selectors.consents.status_sql import status_rows_many

    ids = _mixed_world(world)
    for any_tenant in (False, True):
        asked = {"tenant_ids": ids, "product_id": world.product.pk, "any_tenant": any_tenant}
        together = status_rows_many(**asked)
        with (
            mock.patch.object(connections["default"], "vendor", "sqlite"),
            CaptureQueriesContext(connection) as captured,
        ):
            apart = status_rows_many(**asked)
        assert apart == together
        assert len(captured) == len(ids)
        assert "LATERAL" not in captured[0]["sql"]
        assert sum(len(rows.documents) for rows in together.values()) > 0
        assert sum(len(rows.contracts) for rows in together.values()) > 0
