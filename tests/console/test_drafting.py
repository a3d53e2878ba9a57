"""Drafting through the console: forms save on submit, htmx autosaves, refusals sit beside
the field, and the user's text is never dropped."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from agreements.enums import VersionStatus
from agreements.models import Article, TermsVersion
from agreements.services.version_text import version_body_hash
from core import clock
from tests.console.conftest import make_staff

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _meta(version: TermsVersion, **changes) -> dict[str, str]:
    data = {
        "meta-label": version.label,
        "meta-title": version.title,
        "meta-consent_mode": version.consent_mode,
        "meta-legal_basis": version.legal_basis,
        "meta-rationale": version.rationale,
        "meta-change_clause": version.change_clause,
        "meta-notice_on": "",
        "meta-effective_on": "",
        "meta-notice_title": "",
        "meta-notice_body": "",
        "meta-last_revised_text": "",
    }
    data.update({f"meta-{k}": v for k, v in changes.items()})
    return data


def test_editor_creates_a_draft_copying_the_version_in_force(client, world, editor) -> None:
    client.force_login(editor)
    response = client.post(
        reverse("console:document-detail", args=[world.document.pk]), {"label": "2026-04"}
    )
    draft = TermsVersion.objects.get(document=world.document, label="2026-04")
    assert response["Location"] == reverse("console:version-edit", args=[draft.pk])
    assert draft.status == VersionStatus.DRAFT
    assert draft.based_on == world.current
    assert draft.articles.count() == world.current.articles.count()


def test_duplicate_label_is_refused_beside_the_field(client, world, editor) -> None:
    client.force_login(editor)
    response = client.post(
        reverse("console:document-detail", args=[world.document.pk]), {"label": "draft-1"}
    )
    assert response.status_code == 400
    assert "label" in response.context["form"].errors


def test_meta_form_saves_on_submit(client, world, editor) -> None:
    client.force_login(editor)
    url = reverse("console:version-edit", args=[world.draft.pk])
    response = client.post(
        url, _meta(world.draft, rationale="誤記の訂正", legal_basis="general_interest")
    )
    assert response.status_code == 302
    world.draft.refresh_from_db()
    assert world.draft.rationale == "誤記の訂正"
    assert world.draft.legal_basis == "general_interest"


def test_dates_in_the_wrong_order_keep_the_input_and_show_the_error(client, world, editor) -> None:
    client.force_login(editor)
    url = reverse("console:version-edit", args=[world.draft.pk])
    response = client.post(
        url,
        _meta(
            world.draft, rationale="残したい文章", notice_on="2030-05-10", effective_on="2030-05-01"
        ),
    )
    assert response.status_code == 400
    form = response.context["meta_form"]
    assert "effective_on" in form.errors
    assert "残したい文章" in response.content.decode()  # nothing typed is lost
    world.draft.refresh_from_db()
    assert world.draft.rationale == ""


def test_htmx_autosave_answers_with_a_status_line(client, world, editor) -> None:
    client.force_login(editor)
    url = reverse("console:version-edit", args=[world.draft.pk])
    response = client.post(url, _meta(world.draft, rationale="自動保存"), HTTP_HX_REQUEST="true")
    assert response["X-Autosave"] == "saved"
    assert "自動保存しました" in response.content.decode()
    world.draft.refresh_from_db()
    assert world.draft.rationale == "自動保存"
    refused = client.post(
        url,
        _meta(world.draft, notice_on="2030-05-10", effective_on="2030-05-01"),
        HTTP_HX_REQUEST="true",
    )
    assert refused["X-Autosave"] == "refused"
    assert "自動保存できませんでした" in refused.content.decode()


def test_article_edit_add_delete_and_renumber(client, world, editor) -> None:
    client.force_login(editor)
    draft = world.draft
    first = draft.articles.get(number=1)
    response = client.post(
        reverse("console:article-save", args=[draft.pk, first.pk]),
        {
            f"a{first.pk}-title": "本規約について",
            f"a{first.pk}-body": "1. 改めた本文です。\n(1) 号です。",
        },
    )
    assert response.status_code == 302
    first.refresh_from_db()
    paragraph = first.paragraphs.get()
    assert paragraph.text == "改めた本文です。"
    assert paragraph.items[0]["text"] == "号です。"

    client.post(
        reverse("console:article-add", args=[draft.pk]),
        {"new-number": "5", "new-title": "新しい条", "new-body": "1. 新しい本文。"},
    )
    assert list(draft.articles.order_by("position").values_list("number", flat=True)) == [1, 2, 5]
    # Each asks first: the confirmation names what changes, and nothing changes until confirmed.
    asked = client.post(reverse("console:article-delete", args=[draft.pk, 2]))
    assert asked.status_code == 200
    assert 'name="confirm" value="1"' in asked.content.decode()
    assert list(draft.articles.order_by("position").values_list("number", flat=True)) == [1, 2, 5]
    client.post(reverse("console:article-delete", args=[draft.pk, 2]), {"confirm": "1"})
    asked = client.post(reverse("console:articles-renumber", args=[draft.pk]))
    assert "第5条" in "".join(asked.context["effects"]) or "第５条" in "".join(
        asked.context["effects"]
    )
    assert list(draft.articles.order_by("position").values_list("number", flat=True)) == [1, 5]
    client.post(reverse("console:articles-renumber", args=[draft.pk]), {"confirm": "1"})
    assert list(draft.articles.order_by("position").values_list("number", flat=True)) == [1, 2]
    assert draft.articles.get(number=2).heading.startswith("第２条")


def test_an_unreadable_article_keeps_the_text_and_names_the_problem(client, world, editor) -> None:
    client.force_login(editor)
    draft = world.draft
    first = draft.articles.get(number=1)
    response = client.post(
        reverse("console:article-save", args=[draft.pk, first.pk]),
        {f"a{first.pk}-title": "括弧（あり）", f"a{first.pk}-body": "1. 消えてはいけない本文"},
    )
    assert response.status_code == 400
    form = response.context["rows"][0]["form"]
    assert form.errors["title"]
    assert "消えてはいけない本文" in response.content.decode()


def test_pasting_a_whole_text_replaces_the_articles(client, world, editor, seeds_dir) -> None:
    client.force_login(editor)
    text = next(seeds_dir.glob("000_*.txt")).read_text(encoding="utf-8")
    url = reverse("console:version-paste", args=[world.draft.pk])
    asked = client.post(url, {"paste-text": text})
    assert asked.status_code == 200
    assert Article.objects.filter(version=world.draft).count() == 2  # nothing replaced yet
    assert "19" in "".join(asked.context["effects"])
    assert text.strip()[:20] in asked.content.decode()  # the text travels with the confirmation
    response = client.post(url, {"paste-text": text, "confirm": "1"})
    assert response.status_code == 302
    assert Article.objects.filter(version=world.draft).count() == 19


def test_pasting_text_without_articles_shows_the_line(client, world, editor) -> None:
    client.force_login(editor)
    response = client.post(
        reverse("console:version-paste", args=[world.draft.pk]), {"paste-text": "ただの文章です。"}
    )
    assert response.status_code == 400
    errors = response.context["paste_form"].errors["text"]
    assert "1行目" in errors[0]
    assert world.draft.articles.count() == 2  # unchanged


def test_change_categories_name_the_paragraphs(client, world, editor) -> None:
    client.force_login(editor)
    url = reverse("console:version-changes", args=[world.draft.pk])
    page = client.get(url)
    keys = [row["key"] for row in page.context["rows"]]
    assert keys == ["1:1"]
    data = {
        "cat-TOTAL_FORMS": "2",
        "cat-INITIAL_FORMS": "0",
        "cat-MIN_NUM_FORMS": "0",
        "cat-MAX_NUM_FORMS": "10",
        "cat-0-title": "適用範囲の明確化",
        "cat-0-kind": "substantive",
        "cat-1-title": "",
        "cat-1-kind": "editorial",
        "change-1:1": "1",
    }
    assert client.post(url, data).status_code == 302
    world.draft.refresh_from_db()
    assert world.draft.categories == [
        {"title": "適用範囲の明確化", "kind": "substantive", "index": 1, "paragraphs": [[1, "1"]]}
    ]


def test_scheduled_versions_cannot_be_edited(client, world, editor) -> None:
    client.force_login(editor)
    response = client.get(reverse("console:version-edit", args=[world.current.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("console:version-detail", args=[world.current.pk])


def test_compare_marks_characters_and_puts_changed_articles_first(client, world, viewer) -> None:
    client.force_login(viewer)
    url = reverse("console:compare", args=[world.document.pk])
    response = client.get(url, {"a": world.current.pk, "b": world.draft.pk})
    body = response.content.decode()
    assert "<ins>すべての</ins>" in body
    assert [b.number for b in response.context["blocks"]] == [1]
    full = client.get(url, {"a": world.current.pk, "b": world.draft.pk, "full": "1"})
    assert [b.number for b in full.context["blocks"]] == [1, 2]


def _schedule_data(**changes) -> dict[str, str]:
    today = clock.today()
    data = {
        "notice_on": today.isoformat(),
        "effective_on": (today + timedelta(days=10)).isoformat(),
        "consent_mode": "deemed",
        "legal_basis": "general_interest",  # type (i): ten days' lead suffice (R2)
        "rationale": "適用範囲の明確化",
    }
    data.update(changes)
    return data


def test_schedule_confirms_then_schedules(client, world, publisher) -> None:
    client.force_login(publisher)
    url = reverse("console:version-schedule", args=[world.draft.pk])
    confirm = client.post(url, _schedule_data())
    assert confirm.status_code == 200
    assert confirm.context["confirming"] is True
    assert confirm.context["bound_tenants"] == 1
    world.draft.refresh_from_db()
    assert world.draft.status == VersionStatus.DRAFT  # nothing happens before confirming
    # The confirmation carries the hash of the text the review showed (draft_changed).
    assert f'name="body_hash" value="{confirm.context["body_hash"]}"' in confirm.content.decode()
    done = client.post(
        url, {**_schedule_data(), "body_hash": confirm.context["body_hash"], "confirm": "1"}
    )
    assert done.status_code == 302
    world.draft.refresh_from_db()
    assert world.draft.status == VersionStatus.SCHEDULED


def test_schedule_refusals_sit_beside_their_field(client, world, publisher) -> None:
    client.force_login(publisher)
    url = reverse("console:version-schedule", args=[world.draft.pk])
    today = clock.today()
    short = client.post(
        url,
        {**_schedule_data(effective_on=(today + timedelta(days=3)).isoformat()), "confirm": "1"},
    )
    assert short.status_code == 400
    assert "effective_on" in short.context["form"].errors
    past = client.post(
        url,
        {
            **_schedule_data(
                notice_on=(today - timedelta(days=1)).isoformat(),
                effective_on=(today + timedelta(days=20)).isoformat(),
            ),
            "confirm": "1",
        },
    )
    assert "notice_on" in past.context["form"].errors


def test_the_author_cannot_schedule_their_own_draft(client, world, editor) -> None:
    editor.groups.add(Group.objects.get(name="publisher"))  # an author who may publish
    client.force_login(editor)
    url = reverse("console:version-schedule", args=[world.draft.pk])
    response = client.post(url, {**_schedule_data(), "confirm": "1"})
    assert response.status_code == 400
    assert response.context["is_author"] is True
    world.draft.refresh_from_db()
    assert world.draft.status == VersionStatus.DRAFT


def test_withdraw_needs_a_reason_and_then_withdraws(client, world, publisher) -> None:
    client.force_login(publisher)
    client.post(
        reverse("console:version-schedule", args=[world.draft.pk]),
        {
            **_schedule_data(notice_on=(clock.today() + timedelta(days=1)).isoformat()),
            "body_hash": version_body_hash(world.draft),
            "confirm": "1",
        },
    )
    url = reverse("console:version-withdraw", args=[world.draft.pk])
    assert client.post(url, {"reason": ""}).status_code == 400
    # Four eyes: the publisher who scheduled it cannot take it back alone.
    refused = client.post(url, {"reason": "内容を再検討するため"})
    assert refused.status_code == 400
    client.force_login(make_staff("publisher"))
    assert client.post(url, {"reason": "内容を再検討するため"}).status_code == 302
    world.draft.refresh_from_db()
    assert world.draft.status == VersionStatus.WITHDRAWN


def test_r7_pasting_some_articles_replaces_only_those(client, world, editor) -> None:
    """Two articles pasted alone are not the terms: they replace the draft's article of the
    same number and add the new one; every other article and the preamble stay (the whole
    text is replaced only by a text from its title through 第1条 on)."""
    client.force_login(editor)
    world.draft.preamble = "前文です。"
    world.draft.save(update_fields=["preamble"])
    text = (
        "第２条（本規約の変更）\n1. 当社は、民法第548条の4の定めに従い本規約を変更できます。\n"
        "第５条（新設）\n1. 新しい定めです。\n"
    )
    url = reverse("console:version-paste", args=[world.draft.pk])
    asked = client.post(url, {"paste-text": text})
    assert asked.status_code == 200
    page = asked.content.decode()
    assert "一部の条文（第2条、第5条）" in page
    assert "全文の置き換え" not in page
    assert world.draft.articles.count() == 2  # nothing changed yet
    assert client.post(url, {"paste-text": text, "confirm": "1"}).status_code == 302
    world.draft.refresh_from_db()
    articles = list(world.draft.articles.order_by("position"))
    assert [(a.position, a.number) for a in articles] == [(1, 1), (2, 2), (3, 5)]
    assert "すべてのお客様" in articles[0].paragraphs.get().text  # article 1 kept
    assert "民法第548条の4" in articles[1].paragraphs.get().text  # article 2 replaced
    edit = client.get(reverse("console:version-edit", args=[world.draft.pk])).content.decode()
    assert edit.count('data-testid="article-added"') == 1  # 第5条 is 新設, not 変更あり
    assert world.draft.preamble == "前文です。"
    assert not world.draft.is_excerpt


def test_r8_draft_after_an_excerpt_names_the_articles_it_cannot_compare(
    client, world, editor
) -> None:
    """The version in force is a notice's excerpt (only its article 2): the draft's article 1
    is not counted as 新設 but named as outside the excerpt, on the edit and detail pages."""
    Article.objects.filter(version=world.current, number=1).delete()
    TermsVersion.objects.filter(pk=world.current.pk).update(is_excerpt=True)
    client.force_login(editor)
    for name in ("console:version-edit", "console:version-detail"):
        page = client.get(reverse(name, args=[world.draft.pk])).content.decode()
        assert 'data-testid="outside-excerpt"' in page, name
        assert "次の条を含みません：第1条。" in page, name


def test_pasting_a_text_with_a_paragraph_gap_says_why_in_the_page_s_language(
    client, world, editor
) -> None:
    client.force_login(editor)
    url = reverse("console:version-paste", args=[world.draft.pk])
    text = "規約\n第１条（目的）\n1. 一つ目です。\n3. 三つ目です。\n"
    errors = client.post(url, {"paste-text": text}).context["paste_form"].errors["text"]
    assert errors == [
        "4行目: 規約として読み取れません（第1条で第2項があるはずの位置に第3項があります）。"
    ]
    client.cookies["django_language"] = "en"
    english = client.post(url, {"paste-text": text}, HTTP_ACCEPT_LANGUAGE="en")
    assert "paragraph 3 is where paragraph 2 should be" in english.content.decode()


def test_paste_box_of_an_excerpt_draft_starts_empty(client, world, editor) -> None:
    """An excerpt's passages do not read back as a whole text: the box is not pre-filled with
    a text its own parser would refuse."""
    TermsVersion.objects.filter(pk=world.draft.pk).update(is_excerpt=True)
    client.force_login(editor)
    page = client.get(reverse("console:version-edit", args=[world.draft.pk]))
    assert page.context["paste_form"].initial["text"] == ""


def test_r8_a_new_paragraph_filed_as_editorial_is_flagged(client, world, editor) -> None:
    """A paragraph added (here a new 第3条) but filed under 「誤字・表記の修正」 is named on the
    change-categories page: the notice would call a change of substance a typo fix."""
    client.force_login(editor)
    url = reverse("console:version-paste", args=[world.draft.pk])
    text = "第３条（掲示期間）\n1. 当社は、変更後の規約を30日間掲示します。\n"
    assert client.post(url, {"paste-text": text, "confirm": "1"}).status_code == 302
    TermsVersion.objects.filter(pk=world.draft.pk).update(
        categories=[
            {"title": "誤字・表記の修正", "kind": "editorial", "index": 1, "paragraphs": [[3, "1"]]}
        ]
    )
    page = client.get(reverse("console:version-changes", args=[world.draft.pk]))
    assert [r.article_label for r in page.context["editorial_additions"]] == ["第3条"]
    assert 'data-testid="editorial-additions"' in page.content.decode()
    TermsVersion.objects.filter(pk=world.draft.pk).update(
        categories=[
            {"title": "掲示期間の新設", "kind": "substantive", "index": 1, "paragraphs": [[3, "1"]]}
        ]
    )
    page = client.get(reverse("console:version-changes", args=[world.draft.pk]))
    assert page.context["editorial_additions"] == []
