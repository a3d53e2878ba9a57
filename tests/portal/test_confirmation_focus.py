"""Keyboard focus on confirmation pages (issue #18): after load it is not left on <body>.

A confirmation step (non-renewal, termination, deletion, a rejection) starts at its heading
(tabindex="-1" autofocus, no JavaScript); a filed request or answer lands on its receipt with
the success message focused in a role="status" region, so it is read out. Exactly one element
asks for focus on each page."""

from __future__ import annotations

import re
from datetime import date

import pytest

from core import clock
from tests.portal.conftest import signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

AUTOFOCUS = re.compile(r"<(\w+)([^>]*\sautofocus(?:[\s=][^>]*)?)>")


def _focused(page: str) -> list[str]:
    """The opening tag of each element that takes focus on load."""
    return [f"<{m.group(1)}{m.group(2)}" for m in AUTOFOCUS.finditer(page)]


def _confirm_pages(world, client) -> dict[str, str]:
    base = f"/portal/contracts/{world.contract.pk}"
    pages = {}
    with clock.frozen_at(date(2025, 2, 20)):
        pages["non-renewal"] = client.post(f"{base}/non-renewal/").content.decode()
    pages["termination"] = client.post(
        f"{base}/termination/", {"end_date": "2025-03-20"}
    ).content.decode()
    # Filed, it lands on its receipt (which shows and so consumes its success message).
    client.post(f"{base}/termination/", {"end_date": "2025-03-20", "confirm": "1"}, follow=True)
    pages["deletion"] = client.post(f"{base}/deletion/").content.decode()
    pages["rejection"] = client.post(
        f"/portal/changes/{world.v2.pk}/answer/", {"answer": "rejected"}
    ).content.decode()
    return pages


def test_each_confirmation_step_focuses_its_heading_on_load(world) -> None:
    client = signed_in(world.admin)
    pages = _confirm_pages(world, client)
    for kind, page in pages.items():
        focused = _focused(page)
        assert len(focused) == 1, (kind, focused)
        assert focused[0].startswith("<h1 "), (kind, focused)
        assert 'tabindex="-1"' in focused[0], kind


def test_a_confirmation_step_with_an_error_focuses_the_error_summary_only(world) -> None:
    client = signed_in(world.admin)
    page = client.post(
        f"/portal/changes/{world.v2.pk}/answer/",
        {"answer": "rejected", "confirm": "True", "person_name": "山田\n花子"},
    ).content.decode()
    focused = _focused(page)
    assert len(focused) == 1, focused
    assert 'role="alert"' in focused[0]


@pytest.mark.parametrize("kind", ["non-renewal", "termination", "deletion", "answer"])
def test_a_filed_request_or_answer_lands_on_a_focused_status_message(world, kind) -> None:
    client = signed_in(world.admin)
    base = f"/portal/contracts/{world.contract.pk}"
    if kind == "non-renewal":
        with clock.frozen_at(date(2025, 2, 20)):
            response = client.post(f"{base}/non-renewal/", {"confirm": "1"}, follow=True)
    elif kind == "answer":
        response = client.post(
            f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"}, follow=True
        )
    else:
        response = client.post(
            f"{base}/termination/", {"end_date": "2025-03-20", "confirm": "1"}, follow=True
        )
        if kind == "deletion":
            response = client.post(f"{base}/deletion/", {"confirm": "1"}, follow=True)
    assert response.redirect_chain, kind
    focused = _focused(response.content.decode())
    assert len(focused) == 1, (kind, focused)
    assert 'role="status"' in focused[0]
    assert 'data-testid="messages"' in focused[0]
