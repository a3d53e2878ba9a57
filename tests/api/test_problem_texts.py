"""The texts of the plumbing's problems (docs/api.md, Conventions and Errors): one text per
code, in the request's language wherever the problem is answered, each telling the caller
what to send."""

from __future__ import annotations

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from tests.api.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

EN = {"HTTP_ACCEPT_LANGUAGE": "en"}


@override_settings(TERMS_API_THROTTLE_RATE="1/hour")
def test_the_429_says_second_or_seconds_as_the_number_needs(world: World) -> None:
    from django.utils import translation

    from web.api.problems import throttled_wait_detail

    with translation.override("en"):
        assert throttled_wait_detail(1) == "Too many requests. Try again in 1 second."
        assert throttled_wait_detail(2) == "Too many requests. Try again in 2 seconds."
    client = world.client("own_partner")
    client.get("/api/v1/tenants/", **EN)
    refused = client.get("/api/v1/tenants/", **EN)
    assert refused.status_code == 429
    assert refused.json()["detail"].endswith(" seconds.")  # an hour's wait


def test_every_400_invalid_has_one_text(world: World) -> None:
    client = world.client("own_partner")
    by_serializer = client.post("/api/v1/tenants/", {"name": ""}, format="json", **EN)
    by_reference = client.get("/api/v1/documents/", {"product": "no-such-product"}, **EN)
    details = {
        r.json()["detail"] for r in (by_serializer, by_reference) if r.json()["code"] == "invalid"
    }
    assert [r.status_code for r in (by_serializer, by_reference)] == [400, 400]
    assert details == {"Invalid input. See errors."}


def test_a_bearer_credential_is_told_the_scheme_is_api_key(world: World) -> None:
    client = APIClient()
    response = client.get(
        "/api/v1/tenants/", HTTP_AUTHORIZATION=f"Bearer {world.partner_raw}", **EN
    )
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert "Api-Key" in response.json()["detail"]
    missing = client.get("/api/v1/tenants/", **EN)
    assert missing.json()["detail"] == "Authentication credentials were not provided."


@pytest.mark.parametrize("what", ["413", "415 latin-1", "json_too_deep"])
def test_refusals_before_any_view_follow_the_requests_language(world: World, what: str) -> None:
    client = world.client("own_partner")
    if what == "413":
        body, content_type = b"{" + b" " * (1024 * 1024 + 1) + b"}", "application/json"
    elif what == "415 latin-1":
        body, content_type = b"{}", "application/json; charset=latin-1"
    else:
        body, content_type = b"[" * 100 + b"]" * 100, "application/json"
    english = client.post("/api/v1/tenants/", data=body, content_type=content_type, **EN)
    assert english.status_code in (400, 413, 415)
    assert english["Content-Language"] == "en"
    assert "Accept-Language" in english["Vary"]
    assert english.json()["detail"].isascii()
    japanese = client.post(
        "/api/v1/tenants/", data=body, content_type=content_type, HTTP_ACCEPT_LANGUAGE="ja"
    )
    assert japanese["Content-Language"] == "ja"
    assert "\\u" not in japanese.content.decode()  # UTF-8, not escaped
    assert not japanese.json()["detail"].isascii()


def test_a_body_without_json_content_type_is_told_to_send_application_json(
    world: World,
) -> None:
    client = world.client("own_partner")
    plain = client.post("/api/v1/tenants/", data=b'{"name": "x"}', content_type="text/plain", **EN)
    assert plain.status_code == 415
    assert "Content-Type: application/json" in plain.json()["detail"]
    assert "text/plain" in plain.json()["detail"]
    none = client.generic("POST", "/api/v1/tenants/", b'{"name": "x"}', content_type="", **EN)
    assert none.status_code == 415
    assert "Content-Type: application/json" in none.json()["detail"]
