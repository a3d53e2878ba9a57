"""Change categories in one pass: the per-passage dropdown offers every category row before
any title is saved, and titles and assignments are saved together."""

from __future__ import annotations

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _data(**extra: str) -> dict[str, str]:
    return {
        "cat-TOTAL_FORMS": "2",
        "cat-INITIAL_FORMS": "0",
        "cat-MIN_NUM_FORMS": "0",
        "cat-MAX_NUM_FORMS": "10",
        "cat-0-title": "",
        "cat-0-kind": "substantive",
        "cat-1-title": "",
        "cat-1-kind": "editorial",
        **extra,
    }


def test_the_dropdown_offers_categories_before_any_title_is_saved(client, world, editor) -> None:
    client.force_login(editor)
    body = client.get(reverse("console:version-changes", args=[world.draft.pk])).content.decode()
    assert world.draft.categories == []
    assert '<option value="1">1. （上の表題と同時に保存）</option>' in body
    assert '<option value="2">2. （上の表題と同時に保存）</option>' in body


def test_a_passage_in_the_second_row_keeps_its_category_when_the_first_is_blank(
    client, world, editor
) -> None:
    client.force_login(editor)
    url = reverse("console:version-changes", args=[world.draft.pk])
    response = client.post(url, _data(**{"cat-1-title": "表記の修正", "change-1:1": "2"}))
    assert response.status_code == 302
    world.draft.refresh_from_db()
    assert world.draft.categories == [
        {"title": "表記の修正", "kind": "editorial", "index": 1, "paragraphs": [[1, "1"]]}
    ]


def test_a_passage_in_an_untitled_row_is_refused_and_nothing_is_lost(client, world, editor) -> None:
    client.force_login(editor)
    url = reverse("console:version-changes", args=[world.draft.pk])
    response = client.post(url, _data(**{"cat-0-title": "適用範囲", "change-1:1": "2"}))
    assert response.status_code == 400
    assert "表題のない区分（2）" in response.content.decode()
    assert response.context["rows"][0]["chosen"] == "2"  # the choice is shown again
    world.draft.refresh_from_db()
    assert world.draft.categories == []
