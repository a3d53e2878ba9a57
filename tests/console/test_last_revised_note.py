"""A draft copied from a version carries that version's 「最終改定：…」 line in its body. The public
pages and the portal explain a line whose date is not the version's; the console says so on the
draft's edit and detail pages before scheduling, and explains it on a posted version's page."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from agreements.enums import VersionStatus
from agreements.models import TermsVersion
from agreements.services.version_text import revision_dates
from tests.factories.agreements import VersionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

OLD_LINE = "最終改定：2024年 11 月 22日"
NOTE = 'data-testid="last-revised-note"'


def _note(html: str) -> str:
    start = html.index(NOTE)
    return html[start : html.index("</div>", start)]


def _copied_draft(client, world, editor) -> TermsVersion:
    world.current.trailer = f"以上\n{OLD_LINE}"
    world.current.save(update_fields=["trailer"])
    client.force_login(editor)
    client.post(reverse("console:document-detail", args=[world.document.pk]), {"label": "2026-04"})
    draft = TermsVersion.objects.get(document=world.document, label="2026-04")
    assert OLD_LINE in draft.trailer  # copied as it was
    return draft


def test_copied_draft_without_a_date_is_told_its_last_revised_line_is_the_old_one(
    client, world, editor
) -> None:
    draft = _copied_draft(client, world, editor)
    for name in ("console:version-edit", "console:version-detail"):
        page = client.get(reverse(name, args=[draft.pk])).content.decode()
        note = _note(page)
        assert OLD_LINE in note, name
        assert "効力発生日はまだ決まっていません" in note
        assert "予定登録の前に効力発生日に合わせて更新してください" in note
    edit = client.get(reverse("console:version-edit", args=[draft.pk])).content.decode()
    assert 'href="#paste-title"' in _note(edit)  # where the line is rewritten


def test_copied_draft_with_its_date_names_both_dates(client, world, editor) -> None:
    draft = _copied_draft(client, world, editor)
    draft.effective_on = date(2026, 4, 1)
    draft.save(update_fields=["effective_on"])
    note = _note(client.get(reverse("console:version-edit", args=[draft.pk])).content.decode())
    assert OLD_LINE in note
    assert "この版の効力発生日（2026年4月1日（水））と日付が異なります" in note


def test_draft_whose_line_names_its_own_date_is_not_flagged(client, world, editor) -> None:
    draft = _copied_draft(client, world, editor)
    draft.effective_on = date(2026, 4, 1)
    draft.trailer = "以上\n最終改定：2026年4月1日"
    draft.save(update_fields=["effective_on", "trailer"])
    assert not revision_dates(draft).needs_update
    for name in ("console:version-edit", "console:version-detail"):
        assert NOTE not in client.get(reverse(name, args=[draft.pk])).content.decode(), name


def test_posted_version_page_explains_the_line_as_the_public_pages_do(
    client, world, viewer
) -> None:
    posted = VersionFactory(
        document=world.document,
        label="2023-06",
        status=VersionStatus.SUPERSEDED,
        effective_on=date(2023, 6, 1),
        trailer=f"以上\n{OLD_LINE}",
    )
    client.force_login(viewer)
    page = client.get(reverse("console:version-detail", args=[posted.pk])).content.decode()
    assert NOTE not in page  # posted: nothing left to update
    assert 'data-testid="body-date-note"' in page
    assert (
        "は原文のままの記載で、この版では更新されていません。この版の効力発生日は2023年6月1日（木）です。"
        in page
    )


def test_english_console_says_it_in_english(client, world, editor) -> None:
    draft = _copied_draft(client, world, editor)
    client.post("/i18n/setlang/", {"language": "en"})
    note = _note(client.get(reverse("console:version-edit", args=[draft.pk])).content.decode())
    assert f'<span lang="ja">{OLD_LINE}</span>' in note
    assert "this version has no effective date yet" in note
