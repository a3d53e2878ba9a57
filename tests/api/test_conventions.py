"""Conventions every endpoint shares: keys, problem+json, pagination, throttling, idempotency."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.test import Client, override_settings
from django.urls import reverse
from rest_framework.test import APIClient

from core import clock
from core.enums import IdempotencyStatus
from core.models import IdempotencyRecord
from tenants.models import PartnerAPIKey, Tenant
from tests.api.conftest import make_staff
from tests.factories.tenants import TenantFactory, make_partner_key
from web.api.reference import _type

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PROBLEM = "application/problem+json"


def problem(response) -> dict:
    assert response["Content-Type"] == PROBLEM, response.content
    body = json.loads(response.content)
    assert {"type", "title", "status", "detail", "code", "errors"} <= set(body)
    assert body["status"] == response.status_code
    assert body["type"] == f"urn:optim-terms:problem:{body['code']}"
    return body


# --- authentication --------------------------------------------------------------------------


def test_missing_key_is_401_with_www_authenticate(anonymous_client: APIClient) -> None:
    response = anonymous_client.get("/api/v1/tenants/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Api-Key realm="terms-api"'
    assert problem(response)["code"] == "not_authenticated"


@pytest.mark.parametrize(
    "header",
    [
        "Api-Key tpk_deadbeef_not-a-real-key",
        "Api-Key tprd_deadbeef_not-a-real-key",
        "Api-Key tpk_" + "x" * 300,
    ],
)
def test_unknown_key_is_401(header: str) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/tenants/")
    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Api-Key realm="terms-api"'
    assert problem(response)["code"] == "authentication_failed"


def test_revoked_key_is_401(revoked_client: APIClient) -> None:
    response = revoked_client.get("/api/v1/tenants/")
    assert response.status_code == 401
    assert "WWW-Authenticate" in response
    assert problem(response)["code"] == "authentication_failed"


def test_key_use_is_recorded(partner) -> None:
    key, raw = make_partner_key(partner)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    assert client.get("/api/v1/tenants/").status_code == 200
    assert PartnerAPIKey.objects.get(pk=key.pk).last_used_at is not None


def test_read_only_key_cannot_write(read_only_client: APIClient) -> None:
    response = read_only_client.post("/api/v1/tenants/", {"name": "読み取り専用商事"})
    assert response.status_code == 403
    assert problem(response)["code"] == "missing_scope"
    assert not Tenant.objects.filter(name="読み取り専用商事").exists()


def test_product_key_cannot_use_partner_operations(product_client: APIClient) -> None:
    response = product_client.get("/api/v1/tenants/")
    assert response.status_code == 403
    assert problem(response)["code"] == "wrong_caller"


def test_other_partners_tenant_is_404(partner, other_partner_client: APIClient) -> None:
    tenant = TenantFactory(partner=partner)
    response = other_partner_client.get(f"/api/v1/tenants/{tenant.pk}/")
    assert response.status_code == 404
    assert problem(response)["code"] == "not_found"


def test_tenant_user_session_is_not_an_api_credential(db) -> None:
    from tests.factories.tenants import MembershipFactory

    client = APIClient()
    client.force_login(MembershipFactory().user)
    assert client.get("/api/v1/tenants/").status_code == 401


# --- errors ------------------------------------------------------------------------------------


def test_validation_error_lists_fields(partner_client: APIClient) -> None:
    response = partner_client.post(
        "/api/v1/tenants/", {"name": "", "contact_email": "not-an-email", "locale": "fr"}
    )
    assert response.status_code == 400
    body = problem(response)
    assert body["code"] == "invalid"
    assert {e["field"] for e in body["errors"]} == {"name", "contact_email", "locale"}


def test_service_field_error_is_reported(partner_client: APIClient) -> None:
    response = partner_client.post(
        "/api/v1/tenants/", {"name": "チェック商事", "corporate_number": "1234567890123"}
    )
    assert response.status_code == 400
    body = problem(response)
    assert body["code"] == "invalid"
    assert [e["field"] for e in body["errors"]] == ["corporate_number"]


def test_conflict_carries_code_and_field(partner, partner_client: APIClient) -> None:
    TenantFactory(partner=partner, external_ref="CUST-1")
    response = partner_client.post("/api/v1/tenants/", {"name": "重複", "external_ref": "CUST-1"})
    assert response.status_code == 409
    body = problem(response)
    assert body["code"] == "external_ref_taken"
    assert [e["field"] for e in body["errors"]] == ["external_ref"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": 123}, "name"),  # DRF would turn it into "123"
        ({"name": "x", "locale": ["ja"]}, "locale"),
        ({"name": "x", "corporate_number": 7000012050002}, "corporate_number"),  # no string
        ({"name": "x", "contact_email": True}, "contact_email"),
    ],
)
def test_wrong_json_types_are_refused(partner_client: APIClient, payload: dict, field: str) -> None:
    response = partner_client.post("/api/v1/tenants/", payload)
    assert response.status_code == 400
    assert [(e["field"], e["code"]) for e in problem(response)["errors"]] == [
        (field, "invalid_type")
    ]
    assert not Tenant.objects.exists()


def test_wrong_json_types_in_nested_objects_are_refused(partner_client: APIClient) -> None:
    response = partner_client.post(
        "/api/v1/webhooks/", {"url": "https://hooks.example/x", "event_kinds": ["notice.posted", 3]}
    )
    assert response.status_code == 400
    assert [e["field"] for e in problem(response)["errors"]] == ["event_kinds.1"]


def test_non_json_body_is_415(partner_client: APIClient) -> None:
    response = partner_client.post("/api/v1/tenants/", "name=x", content_type="text/plain")
    assert response.status_code == 415
    assert problem(response)["code"] == "unsupported_media_type"


def test_malformed_json_is_400(partner_client: APIClient) -> None:
    response = partner_client.post("/api/v1/tenants/", "{", content_type="application/json")
    assert response.status_code == 400
    assert problem(response)["code"] == "parse_error"


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ('{"name": "a", "name": "b"}', "name"),
        ('{"name": "a", "contact": {"email": "x@example.com", "email": "y@example.com"}}', "email"),
    ],
)
def test_a_member_named_twice_is_a_parse_error_naming_it(
    partner_client: APIClient, body: str, named: str
) -> None:
    """What was sent must not depend on who reads it: a duplicate member is refused, not
    resolved to the last one as Python's json would."""
    before = Tenant.objects.count()
    response = partner_client.post("/api/v1/tenants/", body, content_type="application/json")
    assert response.status_code == 400
    assert problem(response)["code"] == "parse_error"
    assert problem(response)["detail"].endswith(named)
    assert Tenant.objects.count() == before


def test_unknown_method_on_a_shared_path_is_405(partner_client: APIClient) -> None:
    response = partner_client.put("/api/v1/tenants/", {})
    assert response.status_code == 405
    assert response["Allow"] == "GET, POST, OPTIONS"
    assert problem(response)["code"] == "method_not_allowed"


def test_errors_follow_accept_language(anonymous_client: APIClient) -> None:
    ja = problem(anonymous_client.get("/api/v1/tenants/", HTTP_ACCEPT_LANGUAGE="ja"))
    en = problem(anonymous_client.get("/api/v1/tenants/", HTTP_ACCEPT_LANGUAGE="en"))
    assert ja["code"] == en["code"] == "not_authenticated"
    assert en["detail"] == "Authentication credentials were not provided."


# --- pagination and filters --------------------------------------------------------------------


def test_cursor_pagination_walks_every_item_once(partner, partner_client: APIClient) -> None:
    ids = {TenantFactory(partner=partner).pk for _ in range(5)}
    TenantFactory()  # a direct tenant: not the partner's
    seen: list[int] = []
    url = "/api/v1/tenants/?page_size=2"
    while url:
        body = partner_client.get(url).json()
        seen += [t["id"] for t in body["results"]]
        url = body["next"]
    assert seen == sorted(ids)


@pytest.mark.parametrize(
    "cursor",
    [
        "!!!",  # not base64
        "cD1hYmM=",  # p=abc, unsigned
        "bz0xJnI9eA==",  # o=1&r=x, unsigned
        "aGVsbG8=",  # "hello": garbled, used to be read as the first page
        "cD0x",  # p=1: a well-formed but unsigned (forged) position
    ],
)
def test_a_forged_or_garbled_cursor_is_cursor_invalid(
    partner_client: APIClient, cursor: str
) -> None:
    response = partner_client.get(f"/api/v1/tenants/?cursor={cursor}")
    assert response.status_code == 400
    assert problem(response)["code"] == "cursor_invalid"
    assert problem(response)["errors"][0]["field"] == "cursor"


def test_an_edited_cursor_is_cursor_invalid(partner, partner_client: APIClient) -> None:
    from base64 import b64decode, b64encode
    from urllib.parse import parse_qs, urlsplit

    for _ in range(3):
        TenantFactory(partner=partner)
    next_url = partner_client.get("/api/v1/tenants/?page_size=1").json()["next"]
    cursor = parse_qs(urlsplit(next_url).query)["cursor"][0]
    signed = b64decode(cursor).decode()
    edited = b64encode(signed.replace("p=", "p=9", 1).encode()).decode()
    response = partner_client.get("/api/v1/tenants/", {"cursor": edited, "page_size": 1})
    assert response.status_code == 400
    assert problem(response)["code"] == "cursor_invalid"
    assert (
        partner_client.get("/api/v1/tenants/", {"cursor": cursor, "page_size": 1}).status_code
        == 200
    )


def test_updated_since_returns_later_changes(partner, partner_client: APIClient) -> None:
    old = TenantFactory(partner=partner)
    Tenant.objects.filter(pk=old.pk).update(updated_at=clock.now() - timedelta(days=2))
    new = TenantFactory(partner=partner)
    since = (clock.now() - timedelta(days=1)).isoformat()
    response = partner_client.get("/api/v1/tenants/", {"updated_since": since})
    assert [t["id"] for t in response.json()["results"]] == [new.pk]


@pytest.mark.parametrize("path", ["/api/v1/tenants/", "/api/v1/contracts/"])
@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("2025-03-01T00:00:00", "タイムゾーン"),
        ("2025-03-01T00:00", "タイムゾーン"),
        ("2025-03-01", "日付だけ"),
    ],
)
def test_updated_since_without_an_offset_is_refused_as_obtained_at_is(
    partner_client: APIClient, path: str, value: str, says: str
) -> None:
    """An instant in a query is read as one in a body (evidence.obtained_at): with its
    offset, or refused with `offset_required` — a bare date included, whose detail says so."""
    body = problem(partner_client.get(path, {"updated_since": value}))
    assert body["status"] == 400
    [error] = body["errors"]
    assert (error["field"], error["code"]) == ("updated_since", "offset_required")
    assert says in error["message"]
    with_offset = partner_client.get(path, {"updated_since": "2025-03-01T00:00:00+09:00"})
    assert with_offset.status_code == 200


def test_list_query_count_is_constant(
    partner, partner_client: APIClient, django_assert_max_num_queries
) -> None:
    TenantFactory(partner=partner)
    with django_assert_max_num_queries(4) as one:
        partner_client.get("/api/v1/tenants/")
    for _ in range(3):
        TenantFactory(partner=partner)
    with django_assert_max_num_queries(len(one.captured_queries)):
        partner_client.get("/api/v1/tenants/")


# --- throttling ----------------------------------------------------------------------------


@override_settings(TERMS_API_THROTTLE_RATE="2/min")
def test_throttle_per_key_answers_429_with_retry_after(
    partner_client: APIClient, other_partner_client: APIClient
) -> None:
    assert partner_client.get("/api/v1/tenants/").status_code == 200
    assert partner_client.get("/api/v1/tenants/").status_code == 200
    response = partner_client.get("/api/v1/tenants/")
    assert response.status_code == 429
    retry = int(response["Retry-After"])
    assert 0 < retry <= 60
    assert problem(response)["retry_after"] == retry
    # Another key has its own bucket.
    assert other_partner_client.get("/api/v1/tenants/").status_code == 200


def test_throttle_uses_the_redis_cache() -> None:
    from django.core.cache import caches
    from django.core.cache.backends.redis import RedisCache

    from core.cache import FallbackRedisCache

    cache = caches["default"]
    # Redis, with this process's memory standing in only while Redis is down (core/cache.py).
    assert isinstance(cache, FallbackRedisCache)
    assert isinstance(cache, RedisCache)
    cache.ping()


# --- idempotency -------------------------------------------------------------------------------


def post_tenant(client: APIClient, body: dict, key: str | None = "key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/v1/tenants/", body, **headers)


def test_idempotent_repeat_returns_the_stored_response(partner_client: APIClient) -> None:
    first = post_tenant(partner_client, {"name": "冪等商事"})
    second = post_tenant(partner_client, {"name": "冪等商事"})
    assert first.status_code == second.status_code == 201
    assert second.content == first.content
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Tenant.objects.filter(name="冪等商事").count() == 1


def test_idempotency_key_with_another_body_is_422(partner_client: APIClient) -> None:
    assert post_tenant(partner_client, {"name": "冪等商事"}).status_code == 201
    response = post_tenant(partner_client, {"name": "別の商事"})
    assert response.status_code == 422
    assert problem(response)["code"] == "idempotency_key_reused"
    assert not Tenant.objects.filter(name="別の商事").exists()


def test_idempotency_key_in_flight_is_409(partner, partner_client: APIClient) -> None:
    first = post_tenant(partner_client, {"name": "冪等商事"})
    IdempotencyRecord.objects.filter(key="key-1").update(
        status=IdempotencyStatus.IN_FLIGHT, expires_at=clock.now() + timedelta(minutes=1)
    )
    response = post_tenant(partner_client, {"name": "冪等商事"})
    assert first.status_code == 201
    assert response.status_code == 409
    assert problem(response)["code"] == "idempotency_in_flight"


def test_idempotency_keys_are_scoped_to_the_caller(
    partner_client: APIClient, other_partner_client: APIClient
) -> None:
    assert post_tenant(partner_client, {"name": "A商事"}).status_code == 201
    response = post_tenant(other_partner_client, {"name": "A商事"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Tenant.objects.filter(name="A商事").count() == 2


def test_idempotency_record_expires_after_24_hours(partner_client: APIClient) -> None:
    assert (
        post_tenant(partner_client, {"name": "期限商事", "external_ref": "E1"}).status_code == 201
    )
    record = IdempotencyRecord.objects.get(key="key-1")
    assert record.expires_at - clock.now() > timedelta(hours=23, minutes=59)
    IdempotencyRecord.objects.filter(pk=record.pk).update(expires_at=clock.now())
    response = post_tenant(partner_client, {"name": "期限商事", "external_ref": "E1"})
    # Runs again: the second create meets the unique reference instead of a replay.
    assert response.status_code == 409
    assert "Idempotent-Replayed" not in response


def test_refusals_are_stored_too(partner, partner_client: APIClient) -> None:
    TenantFactory(partner=partner, external_ref="R1")
    first = post_tenant(partner_client, {"name": "x", "external_ref": "R1"})
    Tenant.objects.filter(external_ref="R1").update(external_ref="R2")
    second = post_tenant(partner_client, {"name": "x", "external_ref": "R1"})
    assert first.status_code == second.status_code == 409
    assert second["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize("key", ["", "a" * 256, "ключ"])
def test_malformed_idempotency_key_is_400(partner_client: APIClient, key: str) -> None:
    response = partner_client.post("/api/v1/tenants/", {"name": "x"}, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == 400
    assert problem(response)["errors"][0]["field"] == "Idempotency-Key"


def test_requests_without_a_key_are_not_recorded(partner_client: APIClient) -> None:
    assert post_tenant(partner_client, {"name": "鍵なし"}, key=None).status_code == 201
    assert IdempotencyRecord.objects.count() == 0


# --- schema and documentation ----------------------------------------------------------------


def test_schema_is_served_without_a_key(anonymous_client: APIClient) -> None:
    response = anonymous_client.get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert schema["openapi"].startswith("3.")
    assert set(schema["components"]["securitySchemes"]) == {
        "PartnerApiKey",
        "ProductApiKey",
        "StaffSession",
    }


def test_docs_page_lists_every_operation_of_the_schema(anonymous_client: APIClient) -> None:
    schema = anonymous_client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    response = anonymous_client.get("/api/v1/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    operations = [op for item in schema["paths"].values() for op in item.values()]
    assert operations
    assert [o["operationId"] for o in operations if f'id="op-{o["operationId"]}"' not in html] == []
    assert [
        name for name in schema["components"]["schemas"] if f'id="schema-{name}"' not in html
    ] == []
    assert [host for host in ("cdn.", "unpkg", "jsdelivr") if host in html] == []


def test_api_root_links(anonymous_client: APIClient) -> None:
    body = anonymous_client.get("/api/v1/").json()
    assert body["links"]["schema"].endswith("/api/v1/schema/")


# --- secrets shown once are never cached (a webhook secret once answered without no-store) ---------


def test_webhook_secret_answers_are_not_stored_by_any_cache(partner_client: APIClient) -> None:
    created = partner_client.post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example/terms", "event_kinds": []},
        HTTP_IDEMPOTENCY_KEY="hook-secret-1",
    )
    assert created.status_code == 201
    assert created.json()["secret"].startswith("whsec_")
    assert created["Cache-Control"] == "no-store"
    # A replay of the same request shows the same secret again: no-store too.
    replayed = partner_client.post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example/terms", "event_kinds": []},
        HTTP_IDEMPOTENCY_KEY="hook-secret-1",
    )
    assert replayed.json()["secret"] == created.json()["secret"]
    assert replayed["Cache-Control"] == "no-store"
    rotated = partner_client.post(f"/api/v1/webhooks/{created.json()['id']}/rotate-secret/")
    assert rotated.status_code == 200
    assert rotated.json()["secret"] != created.json()["secret"]
    assert rotated["Cache-Control"] == "no-store"
    # Answers without a secret keep the default.
    listed = partner_client.get("/api/v1/webhooks/")
    assert "no-store" not in listed.get("Cache-Control", "")


def test_the_admin_shows_no_stored_webhook_secret(partner_client: APIClient) -> None:
    created = partner_client.post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example/terms", "event_kinds": []},
        HTTP_IDEMPOTENCY_KEY="hook-secret-2",
    )
    record = IdempotencyRecord.objects.get(key="hook-secret-2")
    reader = Client()
    reader.force_login(make_staff(superuser=True))
    page = reader.get(reverse("admin:core_idempotencyrecord_change", args=[record.pk]))
    assert page.status_code == 200
    assert created.json()["secret"] not in page.content.decode()


@pytest.mark.parametrize("debug", [False, True])
def test_a_path_without_its_trailing_slash_is_the_same_operation(
    partner_client: APIClient, settings, debug: bool
) -> None:
    """No 301 (which a client may follow with a GET, turning a create into a list) and no
    debug-mode error: the path is served as if written with its slash."""
    settings.DEBUG = debug
    created = partner_client.post("/api/v1/tenants", {"name": "スラッシュなし商事"}, format="json")
    assert created.status_code == 201
    tenant = Tenant.objects.get(name="スラッシュなし商事")
    read = partner_client.get(f"/api/v1/tenants/{tenant.pk}")
    assert read.status_code == 200
    assert read.json()["id"] == tenant.pk


def test_an_unknown_api_path_without_a_slash_is_still_a_problem_404(
    partner_client: APIClient,
) -> None:
    response = partner_client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/problem+json")


@pytest.mark.unit
def test_the_api_reference_reads_openapi_3_1_nullable_types() -> None:
    assert _type({"type": ["string", "null"], "format": "date"}) == ("string (date) | null", None)
    assert _type({"type": ["array", "null"], "items": {"type": "integer"}}) == (
        "array of integer | null",
        None,
    )
    assert _type({"type": "string"}) == ("string", None)


@pytest.mark.parametrize("language", ["ja", "en"])
def test_every_405_says_one_text(partner_client: APIClient, language: str) -> None:
    """A path that serves several operations (one_path) and a path that serves one (DRF's own
    refusal) answered 405 in two different texts: one text, naming the method."""
    shared = problem(partner_client.put("/api/v1/tenants/", {}, HTTP_ACCEPT_LANGUAGE=language))
    single = problem(partner_client.delete("/api/v1/sandbox/clock/", HTTP_ACCEPT_LANGUAGE=language))
    root = problem(partner_client.delete("/api/v1/", HTTP_ACCEPT_LANGUAGE=language))
    for body in (shared, single, root):
        assert (body["status"], body["code"]) == (405, "method_not_allowed")
        assert body["title"] == shared["title"]
    assert shared["detail"] == single["detail"].replace("DELETE", "PUT")
    assert single["detail"] == root["detail"]
    assert "DELETE" in single["detail"]
