"""Server errors by audience: problem+json under /api/ (500 and 503), a plain page elsewhere,
and never the traceback in the answer (web/errors.py)."""

from __future__ import annotations

import pytest
from django.db import OperationalError
from django.test import Client

from web.api.root import api_root

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)


def _raise(exc: Exception):  # type: ignore[no-untyped-def]
    def view(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise exc

    return view


def test_an_api_500_is_problem_json_without_the_traceback(client, monkeypatch) -> None:
    monkeypatch.setattr(api_root.cls, "get", _raise(RuntimeError("secret-dsn-in-message")))
    response = client.get("/api/v1/")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"]) == (500, "server_error")
    assert b"secret-dsn" not in response.content
    assert b"Traceback" not in response.content


def test_an_api_request_the_database_cannot_answer_is_a_503_problem(client, monkeypatch) -> None:
    monkeypatch.setattr(api_root.cls, "get", _raise(OperationalError("canceling statement")))
    response = client.get("/api/v1/")
    assert response.status_code == 503
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "service_unavailable"
    assert b"canceling" not in response.content


def test_a_page_the_database_cannot_answer_is_a_plain_503(client, monkeypatch) -> None:
    from web.public import views

    monkeypatch.setattr(views, "render", _raise(OperationalError("timeout")))
    response = client.get("/terms/")
    assert response.status_code == 503
    assert response["Content-Type"].startswith("text/html")
    assert response["Retry-After"] == "5"
    assert "一時的に利用できません".encode() in response.content
    assert b"timeout" not in response.content


def test_a_page_500_is_a_plain_page_without_the_traceback(client, monkeypatch) -> None:
    from web.public import views

    monkeypatch.setattr(views, "render", _raise(RuntimeError("secret-in-message")))
    response = client.get("/terms/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    assert b"secret-in-message" not in response.content
