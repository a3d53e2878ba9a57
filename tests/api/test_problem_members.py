"""Every problem body has the same members, whoever answers it: the views' error handler, the
body limits before any view, the method check of a shared path, unrouted paths, idempotency
refusals and the server-error handler (RFC 9457 plus `code`, `errors` and `instance`)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.api.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

MEMBERS = {"type", "title", "status", "detail", "code", "errors", "instance"}


def _check(response: Any, status: int, code: str, path: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert set(body) >= MEMBERS, sorted(MEMBERS - set(body))
    assert (body["status"], body["code"], body["instance"]) == (status, code, path)


def test_a_400_has_every_member(world: World) -> None:
    path = "/api/v1/tenants/"
    response = world.client("own_partner").post(path, {"name": ""}, format="json")
    _check(response, 400, "invalid", path)


def test_a_404_of_an_unrouted_path_has_every_member(world: World) -> None:
    path = "/api/v1/no-such-thing/"
    _check(world.client("own_partner").get(path), 404, "not_found", path)


def test_a_405_of_a_shared_path_has_every_member(world: World) -> None:
    path = "/api/v1/tenants/"
    _check(world.client("own_partner").delete(path), 405, "method_not_allowed", path)


def test_a_405_of_a_single_view_has_every_member(world: World) -> None:
    path = f"/api/v1/webhooks/{world.webhook.pk}/rotate-secret/"
    _check(world.client("own_partner").get(path), 405, "method_not_allowed", path)


def test_a_413_has_every_member(world: World, settings: Any) -> None:
    settings.TERMS_API_MAX_BODY_BYTES = 100
    path = "/api/v1/tenants/"
    response = Client().post(
        path, data='{"name": "' + "x" * 200 + '"}', content_type="application/json"
    )
    _check(response, 413, "payload_too_large", path)


def test_a_415_before_any_view_has_every_member(world: World) -> None:
    path = "/api/v1/tenants/"
    response = Client().post(path, data="{}", content_type="application/json; charset=utf-16")
    _check(response, 415, "unsupported_media_type", path)


def test_a_415_of_a_view_has_every_member(world: World) -> None:
    path = "/api/v1/tenants/"
    response = world.client("own_partner").post(path, data="name=x", content_type="text/plain")
    _check(response, 415, "unsupported_media_type", path)


def test_a_400_of_json_nested_too_deep_has_every_member(world: World) -> None:
    path = "/api/v1/tenants/"
    response = Client().post(path, data="[" * 100 + "]" * 100, content_type="application/json")
    _check(response, 400, "json_too_deep", path)


def test_a_401_has_every_member(world: World) -> None:
    path = "/api/v1/tenants/"
    _check(world.client("anonymous").get(path), 401, "not_authenticated", path)


@pytest.mark.parametrize("path", ["/api/v1/nope/", "/api/v1/tenants/abc/", "/api/v2/"])
def test_an_unrouted_api_path_is_a_problem_even_in_debug(client, settings, path) -> None:
    settings.DEBUG = True
    response = client.get(path)
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")
    assert response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_answers_refused_before_a_view_name_the_api_version(client) -> None:
    """405 of a path, an unrouted path and a 415 carry API-Version like every other answer."""
    from core import apiversions

    for response in (
        client.delete("/api/v1/tenants/"),
        client.get("/api/v1/nope/"),
        client.post("/api/v1/tenants/", "x", content_type="text/plain"),
    ):
        assert response["API-Version"] == apiversions.current(), response.status_code
