"""Input edges of the API: bodies too large or nested too deep get problem+json on every route,
never a traceback or an HTML page (docs/security.md, threat 3)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from core import clock
from tests.api.conftest import TODAY, World, build_world, key_client
from tests.factories.tenants import PartnerFactory, TenantFactory, make_partner_key
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
    # Three levels pass the depth check and reach the view, which reads the body and refuses
    # the member it does not take (docs/api.md: request bodies are closed).
    _assert_problem(ok, 400, "unknown_field")
    assert [error["field"] for error in ok.json()["errors"]] == ["x"]
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


# --- Finding: the depth limit bypassed with a declared charset (RFC 8259: JSON is UTF-8) ------

UTF7_DEEP = b"+AFs-" * 2000 + b"+AF0-" * 2000  # '[' and ']' in UTF-7: no bracket byte at all
CP037_DEEP = "[".encode("cp037") * 2000 + "]".encode("cp037") * 2000  # EBCDIC brackets
CHARSET_ATTACKS = [
    ("application/json; charset=utf-7", UTF7_DEEP),
    ("application/json; charset=UTF-7", UTF7_DEEP),
    ('application/json; charset="utf-7"', UTF7_DEEP),
    ("application/json; charset=cp037", CP037_DEEP),
    ("application/json;charset=IBM037", CP037_DEEP),
    ("application/merge-patch+json; charset=utf-7", UTF7_DEEP),
    ("application/json; charset=latin-1", b'{"name": "x"}'),
    ("application/json; charset=no-such-codec", b'{"name": "x"}'),
]


@pytest.fixture
def world(db: None) -> Iterator[World]:
    with clock.frozen_at(TODAY):
        yield build_world()


@pytest.mark.parametrize(("content_type", "body"), CHARSET_ATTACKS)
def test_api_json_in_another_charset_is_refused_with_415_before_parsing(content_type, body, caplog):
    partner = PartnerFactory()
    partner_client = key_client(make_partner_key(partner)[1])
    partner_client.raise_request_exception = False
    tenant = TenantFactory(partner=partner)
    with caplog.at_level(logging.ERROR):
        for method, path in (
            ("post", "/api/v1/tenants/"),
            ("patch", f"/api/v1/tenants/{tenant.pk}/"),
            ("post", "/api/v1/contracts/"),
        ):
            for headers in ({}, {"HTTP_IDEMPOTENCY_KEY": f"cs-{method}"}):
                response = getattr(partner_client, method)(
                    path, data=body, content_type=content_type, **headers
                )
                _assert_problem(response, 415, "unsupported_media_type")
    assert not [r for r in caplog.records if r.exc_info], "no traceback is logged"


def test_api_charset_bypass_with_a_product_key_on_the_deletion_ack(world):
    client = world.client("product")
    client.raise_request_exception = False
    for content_type, body in CHARSET_ATTACKS:
        response = client.post(
            f"/api/v1/deletions/{world.deletion.pk}/ack/", data=body, content_type=content_type
        )
        _assert_problem(response, 415, "unsupported_media_type")


def test_api_charset_bypass_with_a_viewer_staff_session_is_never_a_500(world):
    client = world.client("staff_viewer")
    client.raise_request_exception = False
    for content_type, body in CHARSET_ATTACKS:
        response = client.post("/api/v1/tenants/", data=body, content_type=content_type)
        _assert_problem(response, 415, "unsupported_media_type")
    # An ordinary body still reaches the role check.
    response = client.post("/api/v1/tenants/", data={"name": "x"}, format="json")
    assert response.status_code == 403


@pytest.mark.parametrize(
    "content_type",
    [
        "application/json; charset=utf-8",
        "application/json; charset=UTF-8",
        'application/json; charset="Utf-8"',
    ],
)
def test_api_json_declared_as_utf8_still_reaches_the_view(partner_client, content_type):
    response = partner_client.post(
        "/api/v1/tenants/", data='{"name": "東京商事"}'.encode(), content_type=content_type
    )
    assert response.status_code == 201, response.content


def test_api_a_decoder_recursion_error_is_a_problem_400_not_a_500(partner_client, settings, caplog):
    """The second line: with the byte-level depth check out of the way (a limit set too high),
    the parser itself answers 400."""
    settings.TERMS_API_MAX_JSON_DEPTH = 1_000_000
    deep = b"[" * 100_000 + b"]" * 100_000
    with caplog.at_level(logging.ERROR):
        response = partner_client.post(
            "/api/v1/tenants/", data=deep, content_type="application/json"
        )
        _assert_problem(response, 400, "parse_error")
        bad = partner_client.post(
            "/api/v1/tenants/", data=b'{"name": "\xff"}', content_type="application/json"
        )
        _assert_problem(bad, 400, "parse_error")
    assert not [r for r in caplog.records if r.exc_info], "no traceback is logged"


@pytest.mark.unit
def test_utf8_parser_refuses_other_charsets_and_recursion():
    import io

    from rest_framework.exceptions import ParseError, UnsupportedMediaType

    from web.api.parsers import Utf8JSONParser

    parser = Utf8JSONParser()
    with pytest.raises(UnsupportedMediaType):
        parser.parse(
            io.BytesIO(UTF7_DEEP), "application/json; charset=utf-7", {"encoding": "utf-7"}
        )
    with pytest.raises(ParseError):  # the declared encoding is never used to decode
        parser.parse(io.BytesIO(UTF7_DEEP), "application/json", {"encoding": "utf-7"})
    with pytest.raises(ParseError):
        parser.parse(io.BytesIO(b"[" * 100_000 + b"]" * 100_000), "application/json", {})
    assert parser.parse(io.BytesIO('{"a": "日本"}'.encode()), "application/json", {}) == {
        "a": "日本"
    }


# --- Finding: a NUL in a console search reached PostgreSQL (500) ------------------------------


@pytest.mark.parametrize("path", ["/console/search/", "/console/tenants/"])
@pytest.mark.parametrize("q", ["%00", "abc%00def", "%E2%80%AE", "%01"])
def test_console_search_with_a_control_character_is_a_400_not_a_500(client, path, q, caplog):
    from django.contrib.auth.models import Group

    from tests.factories.tenants import StaffFactory

    viewer = StaffFactory()
    viewer.groups.add(Group.objects.get_or_create(name="viewer")[0])
    client.force_login(viewer)
    client.raise_request_exception = False
    TenantFactory(name="abcdef 商事")
    with caplog.at_level(logging.ERROR):
        response = client.get(f"{path}?q={q}")
    assert response.status_code == 400
    assert "検索語に制御文字" in response.content.decode()
    assert not [r for r in caplog.records if r.exc_info], "no traceback is logged"
    assert client.get(f"{path}?q=abc").status_code in (200, 302)  # ordinary searches still work


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/console/audit/?type=%00", "/console/contracts/?status=%00", "/console/cases/?status=%00"],
)
def test_console_filter_with_a_nul_is_a_400_not_a_500(client, path: str) -> None:
    from tests.api.conftest import make_staff

    client.force_login(make_staff("viewer"))
    assert client.get(path).status_code == 400
