"""Public pages: the terms in force with 最終改定, stable version URLs, notices from their
posting on, excerpts marked, and the English note that the Japanese text governs."""

from __future__ import annotations

import subprocess
from datetime import date

import pytest
from django.urls import reverse

from agreements.catalog import BIZ, ID_PLUS
from agreements.services.imports import terms_import, terms_import_notice
from agreements.services.versions import version_draft_create, version_withdraw
from core import clock
from tenants.scope import Scope
from tests.console.conftest import make_staff, post_revision

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def biz(seeds_dir):
    text = next(seeds_dir.glob("000_*.txt")).read_text(encoding="utf-8")
    return terms_import(
        scope=Scope.system(),
        product_code=BIZ,
        label="2024-11-22",
        effective_on=date(2024, 11, 22),
        text=text,
        historical=True,
    )


def test_terms_in_force_show_the_last_revised_date(client, biz) -> None:
    response = client.get(reverse("public:terms-current", args=[BIZ]))
    assert response.status_code == 200
    body = response.content.decode()
    assert response.context["last_revised"] == "2024年11月22日（金）"
    assert 'data-testid="body-date-note"' not in body  # the body's own line says the same date
    assert "第１９条（各サービスの個別規定）" in body
    assert 'lang="ja"' in body


def test_each_version_has_a_stable_url_and_drafts_are_not_public(client, biz) -> None:
    url = reverse("public:terms-version", args=[BIZ, "terms", biz.pk])
    assert client.get(url).status_code == 200
    draft = version_draft_create(
        scope=Scope.staff(make_staff("editor")), document=biz.document, label="draft"
    )
    assert (
        client.get(reverse("public:terms-version", args=[BIZ, "terms", draft.pk])).status_code
        == 404
    )
    assert client.get(reverse("public:notice-detail", args=[draft.pk])).status_code == 404


def test_notice_is_public_once_posted_with_the_before_after_table(client, biz) -> None:
    version = post_revision(
        document=biz.document,
        editor=make_staff("editor"),
        publisher=make_staff("publisher"),
        today=clock.today(),
    )
    listing = client.get(reverse("public:notice-list"))
    assert version in list(listing.context["notices"])
    response = client.get(reverse("public:notice-detail", args=[version.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert "■改定日:" in body
    assert "改定前" in body and "改定後" in body  # noqa: PT018 -- one table header
    assert "<ins>" in body
    pending = client.get(reverse("public:terms-current", args=[BIZ]))
    assert pending.context["pending"] == version


def test_excerpts_are_marked(client, seeds_dir) -> None:
    text = next(seeds_dir.glob("003_*.txt")).read_text(encoding="utf-8")
    terms_import_notice(scope=Scope.system(), product_code=ID_PLUS, text=text)
    response = client.get(reverse("public:terms-current", args=[ID_PLUS]))
    assert response.status_code == 200
    assert "excerpt-note" in response.content.decode()


def test_english_pages_say_the_japanese_text_governs(client, biz) -> None:
    url = reverse("public:terms-current", args=[BIZ])
    japanese = client.get(url, HTTP_ACCEPT_LANGUAGE="ja")
    assert "governing-note" not in japanese.content.decode()
    english = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
    body = english.content.decode()
    assert '<html lang="en">' in body
    assert "governing-note" in body
    assert '<article class="terms-doc" lang="ja"' in body


def test_unknown_product_is_404(client) -> None:
    assert client.get(reverse("public:terms-current", args=["no-such"])).status_code == 404


def test_a_revision_states_its_own_date_and_says_the_body_line_was_not_updated(client, biz) -> None:
    """The copied body still ends 「最終改定：2024年 11 月 22日」: shown verbatim, while the header
    gives the revision's effective date and a note that the body's line is the original's."""
    version = post_revision(
        document=biz.document,
        editor=make_staff("editor"),
        publisher=make_staff("publisher"),
        today=clock.today(),
    )
    assert "最終改定" in version.trailer
    response = client.get(reverse("public:terms-version", args=[BIZ, "terms", version.pk]))
    body = response.content.decode()
    day = version.effective_on
    assert response.context["last_revised"].startswith(f"{day.year}年{day.month}月{day.day}日（")
    assert response.context["dates"].differs
    assert 'data-testid="body-date-note"' in body
    assert "最終改定：2024年 11 月 22日" in body  # the document text itself is not rewritten


def test_table_of_contents_links_every_article(client, biz) -> None:
    response = client.get(reverse("public:terms-current", args=[BIZ]))
    body = response.content.decode()
    toc = response.context["toc"]
    assert len(toc) == 19
    for entry in toc:
        assert f'href="#{entry["anchor"]}"' in body
        assert f'id="{entry["anchor"]}"' in body
    assert toc[18]["heading"].startswith("第１９条")


def test_r8_each_version_downloads_as_a_pdf_with_its_text(client, biz, tmp_path) -> None:
    url = reverse("public:terms-version-pdf", args=[BIZ, "terms", biz.pk])
    page = client.get(reverse("public:terms-current", args=[BIZ])).content.decode()
    assert f'href="{url}"' in page
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    # Named after the version's effective date, not a name of underscores.
    assert f'-{biz.effective_on.isoformat()}.pdf"' in response["Content-Disposition"]
    # No `download` attribute: a 429 page must open as a page, not be saved as a file.
    assert f'href="{url}" data-testid="version-pdf">' in page
    pdf = tmp_path / "terms.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    compact = "".join(text.split())
    assert "第１９条（各サービスの個別規定）" in compact
    assert "最終改定：2024年11月22日" in compact


def test_a_draft_has_no_pdf(client, biz) -> None:
    draft = version_draft_create(
        scope=Scope.staff(make_staff("editor")), document=biz.document, label="draft"
    )
    url = reverse("public:terms-version-pdf", args=[BIZ, "terms", draft.pk])
    assert client.get(url).status_code == 404


def test_a_withdrawn_version_says_it_was_withdrawn_and_never_took_effect(client, biz) -> None:
    editor = make_staff("editor")
    version = post_revision(
        document=biz.document,
        editor=editor,
        publisher=make_staff("publisher"),
        today=clock.today(),
    )
    with clock.frozen_at(date(2026, 12, 7)):
        version_withdraw(scope=Scope.staff(editor), version=version, reason="誤記の訂正のため")
    version.refresh_from_db()
    planned = version.effective_on
    url = reverse("public:terms-version", args=[BIZ, "terms", version.pk])
    body = client.get(url).content.decode()
    # Not a 最終改定, nor "a past or scheduled version": withdrawn, when, never in effect.
    assert "最終改定（この版の効力発生日）" not in body
    assert "これは過去または予定の版です" not in body
    assert "2026年12月7日（月）に撤回されました。この版は効力を生じていません。" in body
    assert "予定されていた効力発生日" in body
    # The history shows the withdrawal, not the planned date as if it took effect.
    history = body[body.index('id="history-title"') :]
    assert "2026年12月7日（月）に撤回（効力は生じていません）" in history
    planned_text = f"{planned.year}年{planned.month}月{planned.day}日（"
    row = history[history.index(f"/versions/{version.pk}/") :]
    row = row[: row.index("</tr>")]
    assert planned_text not in row.split("</a>", 1)[1]
    # The notice gives the withdrawal date too.
    notice = client.get(reverse("public:notice-detail", args=[version.pk])).content.decode()
    assert "この改定は" in notice
    assert "2026年12月7日（月）</time>に撤回されました。" in notice


def test_a_withdrawn_version_in_english_and_as_a_pdf(client, biz, tmp_path) -> None:
    editor = make_staff("editor")
    version = post_revision(
        document=biz.document,
        editor=editor,
        publisher=make_staff("publisher"),
        today=clock.today(),
    )
    with clock.frozen_at(date(2026, 12, 7)):
        version_withdraw(scope=Scope.staff(editor), version=version, reason="誤記の訂正のため")
    client.cookies["django_language"] = "en"
    body = client.get(reverse("public:terms-version", args=[BIZ, "terms", version.pk])).content
    assert "Withdrawn on Mon, 7 Dec 2026. This version never took effect." in body.decode()
    pdf = tmp_path / "withdrawn.pdf"
    pdf.write_bytes(
        client.get(reverse("public:terms-version-pdf", args=[BIZ, "terms", version.pk])).content
    )
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "never took effect" in " ".join(text.split())
    assert "Last revised" not in text
