"""Unknown query parameters are refused with 400 `unknown_parameter`, never ignored
(docs/errors.md): a filter the operation does not have would otherwise answer as if it had
been applied (`GET /events/?updated_since=…` returned the whole feed)."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import World
from tests.api.test_error_catalogue import _api_operations
from web.api.schema import ApiSchemaGenerator

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_a_filter_of_another_list_on_the_event_feed_is_refused_naming_it(world: World) -> None:
    response = world.client("own_partner").get(
        "/api/v1/events/", {"updated_since": "2030-01-01T00:00:00+09:00"}
    )
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "unknown_parameter"
    assert [error["field"] for error in body["errors"]] == ["updated_since"]
    assert "updated_since" in body["detail"]


def test_an_unknown_parameter_on_a_list_is_refused(world: World) -> None:
    response = world.client("own_partner").get("/api/v1/tenants/", {"foo": "bar"})
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_parameter"


def test_a_read_of_one_object_takes_no_parameters(world: World) -> None:
    response = world.client("own_partner").get(f"/api/v1/tenants/{world.tenant.pk}/?expand=1")
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_parameter"


def test_a_write_with_an_unknown_parameter_changes_nothing(world: World) -> None:
    before = world.tenant.name
    response = world.client("own_partner").patch(
        f"/api/v1/tenants/{world.tenant.pk}/?dry_run=true", {"name": "新しい名前"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_parameter"
    world.tenant.refresh_from_db()
    assert world.tenant.name == before


def test_pagination_and_documented_parameters_are_still_taken(world: World) -> None:
    client = world.client("own_partner")
    assert client.get("/api/v1/tenants/", {"page_size": 1, "cursor": ""}).status_code == 200
    assert client.get("/api/v1/events/", {"after": 0, "kind": "tenant.created"}).status_code == 200
    consents = f"/api/v1/tenants/{world.tenant.pk}/consents/"
    assert client.get(consents, {"paged": "true", "page_size": 5}).status_code == 200


def _route(pattern: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", pattern)


def test_every_operation_takes_exactly_the_query_parameters_its_schema_documents() -> None:
    schema = ApiSchemaGenerator().get_schema(request=None, public=True)
    for method, pattern, view in _api_operations():
        operation = schema["paths"].get(_route(pattern), {}).get(method.lower())
        if operation is None:
            continue
        documented = {
            parameter["name"]
            for parameter in operation.get("parameters", [])
            if parameter["in"] == "query"
        }
        assert view().query_names(method) == documented, (method, pattern)
