"""Input edges of the API: bodies too large or nested too deep get problem+json on every route,
never a traceback or an HTML page (docs/security.md, threat 3)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from tests.api.conftest import key_client
from tests.factories.tenants import PartnerFactory, make_partner_key
from web.api.limits import json_depth_exceeds

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PROBLEM = "application/problem+json"
DEEP = ("[" * 2000 + "]" * 2000).encode()  # 4 KB: Python's JSON decoder recurses past its limit


def _routes(patterns: list[Any], prefix: str = "") -> list[str]:
    found = []
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            found += _routes(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern) and route.startswith("api/"):
            found.append(route)
    return found


def _path(route: str) -> str:
    """A concrete path for a route: every converter becomes 1."""
    parts = []
    for piece in route.split("<"):
        parts.append(piece.split(">", 1)[1] if ">" in piece else piece)
    return "/" + "1".join(parts)


# Every route under /api/ from the URL configuration (a new endpoint is covered by itself), and
# one nobody routes.
API_PATHS = [*sorted({_path(r) for r in _routes(get_resolver().url_patterns)}), "/api/v1/nowhere/"]


@pytest.fixture
def partner_client(db) -> APIClient:
    client = key_client(make_partner_key(PartnerFactory())[1])
    client.raise_request_exception = False  # what a real caller sees
    return client


def _assert_problem(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:200]
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)


@pytest.mark.parametrize("path", API_PATHS)
def test_api_deeply_nested_json_is_a_problem_400_on_every_route(partner_client, path, caplog):
    with caplog.at_level(logging.ERROR):
        for method in ("post", "patch", "put"):
            response = getattr(partner_client, method)(
                path, data=DEEP, content_type="application/json"
            )
            _assert_problem(response, 400, "json_too_deep")
    assert not [r for r in caplog.records if r.exc_info], "no traceback is logged"


@pytest.mark.parametrize("path", API_PATHS)
def test_api_oversized_body_is_a_problem_413_on_every_route(partner_client, path, settings):
    settings.TERMS_API_MAX_BODY_BYTES = 1024
    body = b'{"name": "' + b"a" * 2048 + b'"}'
    response = partner_client.post(path, data=body, content_type="application/json")
    _assert_problem(response, 413, "payload_too_large")


def test_api_body_over_the_default_limit_is_refused_with_413_not_an_html_400(partner_client):
    body = b'{"name": "' + b"a" * (3 * 1024 * 1024) + b'"}'  # over Django's 2.5 MB as well
    for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": "big-1"}):
        response = partner_client.post(
            "/api/v1/tenants/", data=body, content_type="application/json", **headers
        )
        _assert_problem(response, 413, "payload_too_large")


def test_api_deep_json_with_an_idempotency_key_is_refused_too(partner_client):
    response = partner_client.post(
        "/api/v1/tenants/", data=DEEP, content_type="application/json", HTTP_IDEMPOTENCY_KEY="d-1"
    )
    _assert_problem(response, 400, "json_too_deep")


def test_api_json_within_the_depth_limit_still_reaches_the_view(partner_client, settings):
    settings.TERMS_API_MAX_JSON_DEPTH = 3
    ok = partner_client.post(
        "/api/v1/tenants/", data={"name": "入れ子 [ { 商事", "x": {"y": [1]}}, format="json"
    )
    assert ok.status_code == 201, ok.content
    deep = partner_client.post("/api/v1/tenants/", data={"x": {"y": [[1]]}}, format="json")
    _assert_problem(deep, 400, "json_too_deep")


@pytest.mark.unit
@pytest.mark.parametrize(
    ("body", "limit", "exceeds"),
    [
        (b"[[[]]]", 3, False),
        (b"[[[[]]]]", 3, True),
        (b'{"a": "[[[[[[[["}', 1, False),  # brackets inside a string are text
        (b'{"a": "\\"[[[["}', 1, False),  # an escaped quote does not end the string
        (b"[]" * 10_000, 1, False),  # wide is not deep
        (b"]]]][[", 1, True),  # malformed: counted from zero, the parser refuses it anyway
    ],
)
def test_json_depth_exceeds(body: bytes, limit: int, exceeds: bool) -> None:
    assert json_depth_exceeds(body, limit) is exceeds
