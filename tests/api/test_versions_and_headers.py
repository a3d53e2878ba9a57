"""API versions, deprecation headers, Location, ETag, rate-limit headers, X-Request-ID, the
429's language and the schema's links (docs/api.md, Conventions and Versions)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

from core import apiversions
from tenants.models import Partner
from tenants.scope import Scope
from tenants.services.keys import partner_key_issue
from tests.api.conftest import World, key_client, make_staff
from tests.factories.tenants import make_partner_key
from web.api import apiversion
from web.api.schema import ApiSchemaGenerator

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TWO_VERSIONS = (
    apiversions.ApiVersion("2026-06-01", ("an older one",)),
    *apiversions.VERSIONS,
)


# --- API-Version ----------------------------------------------------------------------------------


def test_every_response_names_the_version_used(partner_client: APIClient) -> None:
    response = partner_client.get("/api/v1/tenants/")
    assert response["API-Version"] == apiversions.current()
    refused = APIClient().get("/api/v1/tenants/")
    assert refused.status_code == 401
    assert refused["API-Version"] == apiversions.current()


def test_a_key_records_the_current_version_when_issued(partner: Partner) -> None:
    key, _raw = partner_key_issue(
        scope=Scope.staff(make_staff(superuser=True)), partner=partner, name="k", scopes=["read"]
    )
    assert key.api_version == apiversions.current()


def test_a_key_is_answered_in_its_pinned_version_unless_the_header_asks(
    partner: Partner, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(apiversions, "VERSIONS", TWO_VERSIONS)
    key, raw = make_partner_key(partner)
    key.api_version = "2026-06-01"
    key.save(update_fields=["api_version"])
    client = key_client(raw)
    assert client.get("/api/v1/tenants/")["API-Version"] == "2026-06-01"
    asked = client.get("/api/v1/tenants/", HTTP_API_VERSION=apiversions.current())
    assert asked["API-Version"] == apiversions.current()


def test_a_key_pinned_to_a_version_no_longer_served_gets_the_current_one(
    partner: Partner,
) -> None:
    key, raw = make_partner_key(partner)
    key.api_version = "2020-01-01"
    key.save(update_fields=["api_version"])
    assert key_client(raw).get("/api/v1/tenants/")["API-Version"] == apiversions.current()


def test_an_unknown_version_is_400_with_the_supported_ones(partner_client: APIClient) -> None:
    response = partner_client.get("/api/v1/tenants/", HTTP_API_VERSION="2019-01-01")
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "api_version_unknown"
    assert problem["supported_versions"] == list(apiversions.supported())


# --- Deprecation and Sunset ---------------------------------------------------------------------


def test_a_deprecated_operation_answers_with_deprecation_and_sunset(
    partner_client: APIClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    since = datetime(2026, 12, 1, tzinfo=UTC)
    sunset = datetime(2027, 6, 1, tzinfo=UTC)
    monkeypatch.setitem(
        apiversion.DEPRECATIONS,
        "web.api.products.ProductListApi",
        apiversion.Deprecation(since=since, sunset=sunset),
    )
    response = partner_client.get("/api/v1/products/")
    assert response.status_code == 200
    assert response["Deprecation"] == f"@{int(since.timestamp())}"
    assert response["Sunset"] == "Tue, 01 Jun 2027 00:00:00 GMT"
    assert 'rel="deprecation"' in response["Link"]
    assert 'rel="sunset"' in response["Link"]
    # Everything else is not deprecated.
    assert "Deprecation" not in partner_client.get("/api/v1/documents/")
    schema = ApiSchemaGenerator().get_schema(request=None, public=True)
    assert schema["paths"]["/api/v1/products/"]["get"]["deprecated"] is True
    assert "deprecated" not in schema["paths"]["/api/v1/documents/"]["get"]


@pytest.mark.unit
def test_docs_say_what_is_deprecated_and_list_every_version() -> None:
    doc = (Path(__file__).resolve().parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
    flowing = " ".join(doc.split())
    assert ("nothing is deprecated today" in flowing) == (not apiversion.DEPRECATIONS)
    for view in apiversion.DEPRECATIONS:
        assert view.rsplit(".", 1)[-1] in doc, view
    changelog = doc[doc.index("### Changelog") :]
    for version in apiversions.VERSIONS:
        assert f"- **{version.name}**" in changelog, version.name


# --- Location on 201 -------------------------------------------------------------------------------


def test_every_201_names_a_location(world: World) -> None:
    client = world.client("own_partner")
    created = {}
    tenant = client.post("/api/v1/tenants/", {"name": "場所商事"})
    created["tenant"] = (tenant, f"/api/v1/tenants/{tenant.json()['id']}/")
    contract = client.post(
        "/api/v1/contracts/",
        {
            "tenant": world.tenant.pk,
            "product": "optim-id-plus",
            "start_date": "2025-04-01",
            "billing_cycle": "annual",
            "amount_jpy": 120000,
        },
    )
    created["contract"] = (contract, f"/api/v1/contracts/{contract.json()['id']}/")
    answer = client.post(
        f"/api/v1/tenants/{world.tenant.pk}/consents/",
        {
            "version": world.v2.pk,
            "answer": "accepted",
            "evidence": {
                "person_name": "山田 太郎",
                "obtained_at": "2025-03-09T14:05:00+09:00",
                "method": "書面",
            },
        },
    )
    created["answer"] = (answer, f"/api/v1/tenants/{world.tenant.pk}/ledger/")
    invitation = client.post(
        f"/api/v1/tenants/{world.tenant.pk}/invitations/",
        {"email": "new@customer.example", "role": "viewer"},
    )
    created["invitation"] = (
        invitation,
        f"/api/v1/tenants/{world.tenant.pk}/invitations/{invitation.json()['id']}/",
    )
    webhook = client.post("/api/v1/webhooks/", {"url": "https://hooks.example/t"})
    created["webhook"] = (webhook, f"/api/v1/webhooks/{webhook.json()['id']}/")
    termination = client.post(
        f"/api/v1/contracts/{world.contract.pk}/terminations/", {"end_date": "2025-03-25"}
    )
    created["termination"] = (termination, f"/api/v1/contracts/{world.contract.pk}/")
    deletion = client.post(f"/api/v1/contracts/{world.renewing.pk}/deletions/")
    created["deletion"] = (deletion, f"/api/v1/contracts/{world.renewing.pk}/")
    non_renewal = client.post(f"/api/v1/contracts/{contract.json()['id']}/non-renewal/", {})
    created["non_renewal"] = (non_renewal, f"/api/v1/contracts/{contract.json()['id']}/")
    for name, (response, location) in created.items():
        assert response.status_code == 201, (name, response.content)
        assert response["Location"] == location, name
        assert client.get(location).status_code == 200, name


# --- ETag on terms versions ------------------------------------------------------------------


@pytest.mark.parametrize("suffix", ["", "diff/"])
def test_versions_answer_304_to_their_current_etag(world: World, suffix: str) -> None:
    client = world.client("own_partner")
    url = f"/api/v1/versions/{world.v2.pk}/{suffix}"
    first = client.get(url)
    etag = first["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    again = client.get(url, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag
    weak = client.get(url, HTTP_IF_NONE_MATCH=f'"other", W/{etag}')
    assert weak.status_code == 304
    stale = client.get(url, HTTP_IF_NONE_MATCH='"0000"')
    assert stale.status_code == 200
    assert stale.json() == first.json()
    # Another language is another representation.
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en", HTTP_IF_NONE_MATCH=etag)
    assert english.status_code == 200
    assert english["ETag"] != etag
    assert "Accept-Language" in first["Vary"]


def test_a_changed_version_has_another_etag(world: World) -> None:
    client = world.client("own_partner")
    url = f"/api/v1/versions/{world.v2.pk}/"
    before = client.get(url)["ETag"]
    world.v2.label = "2025-04-01 改"
    world.v2.save(update_fields=["label"])
    after = client.get(url, HTTP_IF_NONE_MATCH=before)
    assert after.status_code == 200
    assert after["ETag"] != before


# --- rate limits ----------------------------------------------------------------------------


@override_settings(TERMS_API_THROTTLE_RATE="3/min")
def test_ratelimit_headers_count_down_and_429_has_retry_after(partner_client: APIClient) -> None:
    first = partner_client.get("/api/v1/tenants/")
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("3", "2")
    assert first["RateLimit-Policy"] == "3;w=60"
    assert 0 < int(first["RateLimit-Reset"]) <= 60
    assert partner_client.get("/api/v1/tenants/")["RateLimit-Remaining"] == "1"
    assert partner_client.get("/api/v1/tenants/")["RateLimit-Remaining"] == "0"
    refused = partner_client.get("/api/v1/tenants/")
    assert refused.status_code == 429
    assert refused["RateLimit-Remaining"] == "0"
    assert int(refused["Retry-After"]) == refused.json()["retry_after"]


@override_settings(TERMS_API_THROTTLE_RATE="1/min")
@pytest.mark.parametrize(
    ("language", "expected", "foreign"),
    [
        ("ja", "秒後に再試行してください", re.compile(r"[A-Za-z]")),
        ("en", "Try again in", re.compile(r"[ぁ-んァ-ン一-龯]")),
    ],
)
def test_the_429_detail_is_in_one_language(
    partner_client: APIClient, language: str, expected: str, foreign: re.Pattern[str]
) -> None:
    partner_client.get("/api/v1/tenants/")
    refused = partner_client.get("/api/v1/tenants/", HTTP_ACCEPT_LANGUAGE=language)
    assert refused.status_code == 429
    detail = refused.json()["detail"]
    assert expected in detail
    assert not foreign.search(detail), detail
    assert str(refused.json()["retry_after"]) in detail


# --- X-Request-ID ----------------------------------------------------------------------------


def test_x_request_id_is_echoed_or_generated(partner_client: APIClient) -> None:
    echoed = partner_client.get("/api/v1/tenants/", HTTP_X_REQUEST_ID="partner-trace-0001")
    assert echoed["X-Request-ID"] == "partner-trace-0001"
    generated = partner_client.get("/api/v1/tenants/")
    assert generated["X-Request-ID"]
    assert generated["X-Request-ID"] != partner_client.get("/api/v1/tenants/")["X-Request-ID"]


# --- the schema ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def schema() -> dict:
    return ApiSchemaGenerator().get_schema(request=None, public=True)


@pytest.mark.unit
def test_schema_links_created_objects_to_their_reads(schema: dict) -> None:
    tenant = schema["paths"]["/api/v1/tenants/"]["post"]["responses"]["201"]["links"]
    assert tenant["GetTenant"] == {
        "operationId": "tenants_retrieve",
        "parameters": {"tenant_id": "$response.body#/id"},
    }
    assert tenant["GetTenantStatus"]["operationId"] == "status_retrieve"
    contract = schema["paths"]["/api/v1/contracts/"]["post"]["responses"]["201"]["links"]
    assert contract["GetContract"] == {
        "operationId": "contracts_retrieve",
        "parameters": {"contract_id": "$response.body#/id"},
    }


@pytest.mark.unit
def test_schema_documents_the_headers(schema: dict) -> None:
    create = schema["paths"]["/api/v1/tenants/"]["post"]
    assert "Location" in create["responses"]["201"]["headers"]
    for name in (
        "API-Version",
        "X-Request-ID",
        "RateLimit-Limit",
        "RateLimit-Remaining",
        "RateLimit-Reset",
    ):
        assert name in create["responses"]["201"]["headers"], name
    assert "Retry-After" in create["responses"]["429"]["headers"]
    assert "API-Version" in [p["name"] for p in create["parameters"]]
    version = schema["paths"]["/api/v1/versions/{version_id}/"]["get"]
    assert "ETag" in version["responses"]["200"]["headers"]
    assert "304" in version["responses"]


def test_a_malformed_x_request_id_is_replaced(partner_client: APIClient) -> None:
    response = partner_client.get("/api/v1/tenants/", HTTP_X_REQUEST_ID="bad id\twith spaces")
    assert re.fullmatch(r"[0-9a-f]{32}", response["X-Request-ID"])


@override_settings(TERMS_API_THROTTLE_RATE="1/min")
def test_the_unauthenticated_root_has_ratelimit_headers_too(anonymous_client: APIClient) -> None:
    first = anonymous_client.get("/api/v1/")
    assert (first["RateLimit-Limit"], first["RateLimit-Remaining"]) == ("1", "0")
    refused = anonymous_client.get("/api/v1/")
    assert refused.status_code == 429
    assert refused["RateLimit-Remaining"] == "0"
    assert refused["Retry-After"]


# --- answers made before any view: the HTTPS redirect, a database that cannot answer -------------

CONVENTION_HEADERS = (
    "API-Version",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
)


@override_settings(SECURE_SSL_REDIRECT=True, TERMS_API_THROTTLE_RATE="5/min")
def test_the_https_redirect_carries_the_api_version_and_the_budget(
    partner_client: APIClient,
) -> None:
    """Production answers plain http with a 301 to https, made before any API middleware ran:
    it had neither `API-Version` nor `RateLimit-*`. It names both, and counts nothing."""
    redirect = partner_client.get("/api/v1/tenants/", HTTP_API_VERSION="2026-12-01")
    assert redirect.status_code == 301
    assert redirect["Location"] == "https://testserver/api/v1/tenants/"
    assert [name for name in CONVENTION_HEADERS if name not in redirect] == []
    assert redirect["API-Version"] == "2026-12-01"
    assert (redirect["RateLimit-Limit"], redirect["RateLimit-Remaining"]) == ("5", "5")
    anonymous = APIClient().get("/api/v1/")
    assert anonymous.status_code == 301
    assert [name for name in CONVENTION_HEADERS if name not in anonymous] == []


@pytest.mark.parametrize("where", ["view", "middleware"])
def test_a_503_of_a_database_that_cannot_answer_carries_the_headers(
    partner_client: APIClient, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    """The database-down 503 (web/errors.py), raised in an operation or in a middleware
    before it, names the API version and the budget as every API answer does."""
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.db import OperationalError

    from web.api.tenants import TenantListApi

    def down(*args: object, **kwargs: object) -> None:
        raise OperationalError("the database is down")

    if where == "view":
        monkeypatch.setattr(TenantListApi, "get", down)
    else:
        monkeypatch.setattr(SessionMiddleware, "process_request", down)
    partner_client.raise_request_exception = False
    response = partner_client.get("/api/v1/tenants/")
    assert response.status_code == 503, response.content
    assert response.json()["code"] == "service_unavailable"
    assert response["Retry-After"] == "5"
    assert [name for name in CONVENTION_HEADERS if name not in response] == []
