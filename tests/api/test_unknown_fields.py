"""Unknown members of a request body are refused with 400 `unknown_field`, never ignored
(docs/errors.md), by one check in the API's base view for every operation that takes a body
or takes none."""

from __future__ import annotations

import pytest

from tests.api.conftest import World
from web.api.schema import ApiSchemaGenerator

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _fields(response) -> list[str]:
    return sorted(error["field"] for error in response.json()["errors"])


def test_a_misspelt_top_level_field_is_refused_naming_it(world: World) -> None:
    response = world.client("own_partner").post(
        "/api/v1/tenants/", {"name": "株式会社テスト", "locle": "en"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_field"
    assert _fields(response) == ["locle"]
    assert "locle" in response.json()["detail"]


def test_an_unknown_nested_evidence_field_is_refused_with_its_dotted_name(world: World) -> None:
    response = world.client("own_partner").post(
        f"/api/v1/tenants/{world.tenant.pk}/consents/",
        {
            "version": world.v2.pk,
            "answer": "accepted",
            "evidence": {
                "person_name": "山田",
                "obtained_at": "2025-03-01T10:00:00+09:00",
                "method": "書面",
                "signature": "x",
            },
            "comment": "extra",
        },
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_field"
    assert _fields(response) == ["comment", "evidence.signature"]


def test_a_patch_with_an_unknown_field_changes_nothing(world: World) -> None:
    before = world.tenant.name
    response = world.client("own_partner").patch(
        f"/api/v1/tenants/{world.tenant.pk}/", {"name": "新しい名前", "nmae": "x"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_field"
    world.tenant.refresh_from_db()
    assert world.tenant.name == before


def test_an_operation_without_a_body_refuses_any_member(world: World) -> None:
    response = world.client("own_partner").post(
        f"/api/v1/webhooks/{world.webhook.pk}/rotate-secret/", {"keep": True}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "unknown_field"
    assert _fields(response) == ["keep"]


def test_an_operation_without_a_body_still_takes_an_empty_one(world: World) -> None:
    response = world.client("own_partner").post(
        f"/api/v1/webhooks/{world.webhook.pk}/rotate-secret/", {}, format="json"
    )
    assert response.status_code == 200


@pytest.mark.unit
def test_every_request_body_in_the_schema_forbids_additional_properties() -> None:
    schema = ApiSchemaGenerator().get_schema(request=None, public=True)
    open_bodies = []
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            for media in operation.get("requestBody", {}).get("content", {}).values():
                name = media["schema"]["$ref"].rsplit("/", 1)[1]
                if schema["components"]["schemas"][name].get("additionalProperties") is not False:
                    open_bodies.append(f"{method.upper()} {path}")
    assert open_bodies == []
