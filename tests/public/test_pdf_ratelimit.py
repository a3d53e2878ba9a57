"""The public per-version PDF is rendered on each request (seconds of CPU), so each client
address may download TERMS_PUBLIC_PDF_PER_MINUTE of them a minute: beyond, 429 with
Retry-After, as a page in the reader's language (the text stays readable on its page) or as
problem+json (`throttled`, `retry_after`) for a client asking for JSON; nothing is rendered."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.urls import reverse

from agreements.catalog import BIZ
from agreements.services.imports import terms_import
from core import clock
from tenants.scope import Scope

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def biz(seeds_dir):
    """The Optimal Biz terms, imported as the version in force."""
    text = next(seeds_dir.glob("000_*.txt")).read_text(encoding="utf-8")
    return terms_import(
        scope=Scope.system(),
        product_code=BIZ,
        label="2024-11-22",
        effective_on=date(2024, 11, 22),
        text=text,
        historical=True,
    )


@pytest.fixture
def rendered(settings, monkeypatch) -> list[int]:
    """Two downloads a minute; the PDF renderer replaced by a counter (the limit is tested,
    not the typesetting: tests/public/test_pages.py renders the real one)."""
    settings.TERMS_PUBLIC_PDF_PER_MINUTE = 2
    calls: list[int] = []

    def fake_pdf(version, articles, *, language):
        calls.append(version.pk)
        return b"%PDF-1.7 test"

    monkeypatch.setattr("web.public.views.version_pdf", fake_pdf)
    return calls


def _url(version) -> str:
    return reverse("public:terms-version-pdf", args=[BIZ, "terms", version.pk])


def test_beyond_the_budget_a_page_with_retry_after_and_nothing_rendered(
    client,
    biz,
    rendered,
) -> None:
    with time_machine.travel(clock.now().replace(second=10), tick=False):
        for _ in range(2):
            assert client.get(_url(biz)).status_code == 200
        refused = client.get(_url(biz), HTTP_ACCEPT_LANGUAGE="ja")
    assert refused.status_code == 429
    assert refused["Retry-After"] == "50"  # the rest of the minute
    assert refused["Content-Type"].startswith("text/html")
    body = refused.content.decode()
    assert "50秒後にもう一度お試しください" in body
    assert reverse("public:terms-version", args=[BIZ, "terms", biz.pk]) in body
    assert len(rendered) == 2


def test_english_readers_get_the_page_in_english(client, biz, rendered) -> None:
    with time_machine.travel(clock.now().replace(second=0), tick=False):
        for _ in range(2):
            client.get(_url(biz))
        refused = client.get(_url(biz), HTTP_ACCEPT_LANGUAGE="en")
    assert refused.status_code == 429
    body = refused.content.decode()
    assert "Please try again in 60 seconds" in body
    assert "秒後" not in body


def test_a_json_client_gets_the_throttled_problem(client, biz, rendered) -> None:
    for _ in range(2):
        client.get(_url(biz))
    refused = client.get(_url(biz), HTTP_ACCEPT="application/problem+json")
    assert refused.status_code == 429
    assert refused["Content-Type"] == "application/problem+json"
    problem = refused.json()
    assert problem["code"] == "throttled"
    assert problem["status"] == 429
    assert problem["retry_after"] == int(refused["Retry-After"])
    assert 1 <= problem["retry_after"] <= 60


def test_the_budget_is_per_client_and_per_minute(client, biz, rendered) -> None:
    start = clock.now().replace(second=5)
    with time_machine.travel(start, tick=False):
        for _ in range(2):
            client.get(_url(biz))
        assert client.get(_url(biz)).status_code == 429
        other = client.get(_url(biz), REMOTE_ADDR="192.0.2.7")
        assert other.status_code == 200
    with time_machine.travel(start + timedelta(minutes=1), tick=False):
        assert client.get(_url(biz)).status_code == 200
    assert len(rendered) == 4
