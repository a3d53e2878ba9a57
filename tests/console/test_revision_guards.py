"""Warnings at the start of a revision flow while another version is scheduled (R7): a new
draft is offered the scheduled version as its base, a draft behind it can be rebased, and
the schedule form refuses before it is filled."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from agreements.enums import VersionStatus
from agreements.models import TermsVersion
from agreements.services.versions import version_draft_update
from core.models import AuditEntry
from tenants.scope import Scope
from tests.factories.agreements import VersionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def scheduled(world) -> TermsVersion:
    """A revision of the version in force that adds 第3条, scheduled."""
    return VersionFactory(
        document=world.document,
        label="2027-02 改定",
        status=VersionStatus.SCHEDULED,
        notice_on=date(2099, 1, 1),
        effective_on=date(2099, 2, 1),
        based_on=world.current,
        articles=[
            ("本規約について", "本規約は本製品を利用するお客様に適用されます。"),
            ("本規約の変更", "当社は本規約を変更できるものとします。"),
            ("反社会的勢力の排除", "お客様は反社会的勢力でないことを表明します。"),
        ],
    )


def test_document_page_warns_and_offers_the_scheduled_version(
    client, world, editor, scheduled
) -> None:
    client.force_login(editor)
    response = client.get(reverse("console:document-detail", args=[world.document.pk]))
    body = response.content.decode()
    assert 'data-testid="scheduled-warning"' in body
    assert response.context["form"]["based_on"].value() == scheduled.pk
    assert f'<option value="{scheduled.pk}" selected>' in body


def test_document_page_has_no_warning_without_a_scheduled_version(client, world, editor) -> None:
    client.force_login(editor)
    response = client.get(reverse("console:document-detail", args=[world.document.pk]))
    assert 'data-testid="scheduled-warning"' not in response.content.decode()
    assert response.context["form"]["based_on"].value() is None


def test_a_draft_created_from_the_scheduled_version_keeps_its_new_article(
    client, world, editor, scheduled
) -> None:
    client.force_login(editor)
    client.post(
        reverse("console:document-detail", args=[world.document.pk]),
        {"label": "2027-06 改定", "based_on": scheduled.pk},
    )
    draft = TermsVersion.objects.get(document=world.document, label="2027-06 改定")
    assert draft.based_on == scheduled
    assert draft.articles.filter(number=3, title="反社会的勢力の排除").exists()


def test_edit_page_warns_a_draft_behind_the_scheduled_version(
    client, world, editor, scheduled
) -> None:
    client.force_login(editor)
    response = client.get(reverse("console:version-edit", args=[world.draft.pk]))
    body = response.content.decode()
    assert 'data-testid="rebase-warning"' in body
    assert reverse("console:version-rebase", args=[world.draft.pk]) in body


def test_r7_rebase_keeps_the_drafts_change_and_takes_the_new_article(
    client, world, editor, scheduled
) -> None:
    client.force_login(editor)
    response = client.post(reverse("console:version-rebase", args=[world.draft.pk]))
    assert response.status_code == 302
    draft = TermsVersion.objects.get(pk=world.draft.pk)
    assert draft.based_on == scheduled
    texts = {
        a.number: (a.title, a.paragraphs.get().text)
        for a in draft.articles.prefetch_related("paragraphs")
    }
    assert texts[1][1] == "本規約は本製品を利用するすべてのお客様に適用されます。"  # the draft's
    assert texts[3] == ("反社会的勢力の排除", "お客様は反社会的勢力でないことを表明します。")
    entry = AuditEntry.objects.filter(object_id=draft.pk, summary__contains="rebased").get()
    assert entry.data["taken"] == [3]
    # Behind no more: the warning is gone.
    page = client.get(reverse("console:version-edit", args=[draft.pk]))
    assert 'data-testid="rebase-warning"' not in page.content.decode()
    # A second rebase is refused with a message, nothing changes.
    again = client.post(reverse("console:version-rebase", args=[draft.pk]), follow=True)
    assert "すでに予定登録済みの版" in again.content.decode()


def test_r7_rebase_without_a_scheduled_version_is_refused(client, world, editor) -> None:
    client.force_login(editor)
    response = client.post(reverse("console:version-rebase", args=[world.draft.pk]), follow=True)
    assert "付け替える必要はありません" in response.content.decode()
    assert TermsVersion.objects.get(pk=world.draft.pk).based_on == world.current


@pytest.mark.parametrize("role", ["viewer", "publisher"])
def test_r7_rebase_needs_the_draft_role(client, world, scheduled, role, request) -> None:
    client.force_login(request.getfixturevalue(role))
    response = client.post(reverse("console:version-rebase", args=[world.draft.pk]))
    assert response.status_code == 403
    assert TermsVersion.objects.get(pk=world.draft.pk).based_on == world.current


def test_r7_schedule_form_refuses_up_front_while_another_version_is_scheduled(
    client, world, publisher, scheduled
) -> None:
    client.force_login(publisher)
    response = client.get(reverse("console:version-schedule", args=[world.draft.pk]))
    assert response.status_code == 409
    body = response.content.decode()
    assert 'data-testid="schedule-blocked"' in body
    assert "2027-02 改定" in body
    assert 'name="notice_on"' not in body  # no form to fill
    posted = client.post(
        reverse("console:version-schedule", args=[world.draft.pk]),
        {"notice_on": "2099-01-02", "effective_on": "2099-03-01", "confirm": "1"},
    )
    assert posted.status_code == 409
    assert TermsVersion.objects.get(pk=world.draft.pk).status == VersionStatus.DRAFT


def test_display_name_defaults_from_the_effective_date_and_is_set_apart_from_the_label(
    client, world, editor, scheduled
) -> None:
    assert scheduled.display_name == "2099年2月1日改定"  # not the internal "2027-02 改定"
    client.force_login(editor)
    page = client.get(reverse("console:version-detail", args=[scheduled.pk])).content.decode()
    assert "2099年2月1日改定" in page
    version_draft_update(scope=Scope.staff(editor), version=world.draft, public_name="春の改定")
    world.draft.refresh_from_db()
    assert (world.draft.label, world.draft.display_name) == ("draft-1", "春の改定")


@pytest.fixture
def draft_on_withdrawn(world, editor) -> TermsVersion:
    """A revision that added 第3条, withdrawn after a draft was started from it; the draft
    changed 第2条 only."""
    withdrawn = VersionFactory(
        document=world.document,
        label="2027-01 改定",
        status=VersionStatus.WITHDRAWN,
        notice_on=date(2099, 1, 1),
        effective_on=date(2099, 2, 1),
        based_on=world.current,
        articles=[
            ("本規約について", "本規約は本製品を利用するお客様に適用されます。"),
            ("本規約の変更", "当社は本規約を変更できるものとします。"),
            ("反社会的勢力の排除", "お客様は反社会的勢力でないことを表明します。"),
        ],
    )
    return VersionFactory(
        document=world.document,
        label="draft-2",
        status=VersionStatus.DRAFT,
        effective_on=None,
        based_on=withdrawn,
        created_by=editor,
        articles=[
            ("本規約について", "本規約は本製品を利用するお客様に適用されます。"),
            ("本規約の変更", "当社は、お客様に通知して本規約を変更できるものとします。"),
            ("反社会的勢力の排除", "お客様は反社会的勢力でないことを表明します。"),
        ],
    )


def test_r7_edit_page_warns_at_the_top_a_draft_whose_base_was_withdrawn(
    client, world, editor, draft_on_withdrawn
) -> None:
    client.force_login(editor)
    body = client.get(reverse("console:version-edit", args=[draft_on_withdrawn.pk])).content
    page = body.decode()
    assert 'data-testid="base-withdrawn"' in page
    assert "元の版「2027-01 改定」は撤回されました" in page
    assert "現在有効な版を元に付け替える" in page
    assert reverse("console:version-rebase", args=[draft_on_withdrawn.pk]) in page
    # At the top: before the change counts and the draft's fields.
    assert page.index('data-testid="rebase-warning"') < page.index('class="notice-box"')


def test_r7_rebase_off_a_withdrawn_base_goes_onto_the_version_in_force(
    client, world, editor, draft_on_withdrawn
) -> None:
    client.force_login(editor)
    response = client.post(reverse("console:version-rebase", args=[draft_on_withdrawn.pk]))
    assert response.status_code == 302
    draft = TermsVersion.objects.get(pk=draft_on_withdrawn.pk)
    assert draft.based_on == world.current
    texts = {
        a.number: a.paragraphs.get().text for a in draft.articles.prefetch_related("paragraphs")
    }
    # The draft's own change stays; the withdrawn version's 第3条 never took effect: gone.
    assert texts == {
        1: "本規約は本製品を利用するお客様に適用されます。",
        2: "当社は、お客様に通知して本規約を変更できるものとします。",
    }
    entry = AuditEntry.objects.filter(object_id=draft.pk, summary__contains="rebased").get()
    assert entry.data["from_withdrawn"] is True
    page = client.get(reverse("console:version-edit", args=[draft.pk])).content.decode()
    assert 'data-testid="rebase-warning"' not in page


def test_r7_a_draft_whose_base_was_withdrawn_is_offered_the_scheduled_version(
    client, world, editor, draft_on_withdrawn, scheduled
) -> None:
    client.force_login(editor)
    page = client.get(reverse("console:version-edit", args=[draft_on_withdrawn.pk]))
    assert "撤回されました" in page.content.decode()
    assert "予定登録済みの版を元に付け替える" in page.content.decode()
    client.post(reverse("console:version-rebase", args=[draft_on_withdrawn.pk]))
    assert TermsVersion.objects.get(pk=draft_on_withdrawn.pk).based_on == scheduled


@pytest.mark.parametrize("page", ["console:version-detail", "console:version-schedule"])
def test_r7_detail_and_schedule_form_warn_at_the_top_a_draft_whose_base_was_withdrawn(
    client, world, publisher, draft_on_withdrawn, page
) -> None:
    """The publisher's flow starts at the detail page and the schedule form: the withdrawn
    base is said there, before 内容を確認, not only on the editor's page."""
    client.force_login(publisher)
    response = client.get(reverse(page, args=[draft_on_withdrawn.pk]))
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-testid="base-withdrawn"' in body
    assert "元の版「2027-01 改定」は撤回されました" in body
    # A publisher cannot rebase: told who does it, rather than shown a button it may not use.
    assert 'data-testid="rebase-by-editor"' in body
    main = body[body.index("<main") :]
    assert main.index('data-testid="rebase-warning"') < main.index('class="grid-2"')


def test_r7_detail_page_offers_the_rebase_to_an_editor(
    client, world, editor, draft_on_withdrawn
) -> None:
    client.force_login(editor)
    body = client.get(reverse("console:version-detail", args=[draft_on_withdrawn.pk]))
    page = body.content.decode()
    assert "現在有効な版を元に付け替える" in page
    assert reverse("console:version-rebase", args=[draft_on_withdrawn.pk]) in page


def test_r7_detail_names_as_its_base_the_version_the_banner_names(
    client, world, publisher, draft_on_withdrawn
) -> None:
    """元の版 and the banner agree: both name the withdrawn base; the version customers will
    compare with (the one in force) is said apart."""
    client.force_login(publisher)
    page = client.get(reverse("console:version-detail", args=[draft_on_withdrawn.pk]))
    body = page.content.decode()
    based_on = body[body.index('data-testid="based-on"') :]
    based_on = based_on[: based_on.index("</dd>")]
    assert "2027-01 改定" in based_on
    assert "撤回" in based_on
    assert world.current.label not in based_on
    compared = body[body.index('data-testid="compared-with"') :]
    assert world.current.label in compared[: compared.index("</dd>")]


def test_r7_schedule_banner_says_a_draft_on_a_withdrawn_base_must_be_rebased_first(
    client, world, publisher, draft_on_withdrawn
) -> None:
    client.force_login(publisher)
    body = client.get(
        reverse("console:version-schedule", args=[draft_on_withdrawn.pk])
    ).content.decode()
    assert 'data-testid="rebase-first"' in body
    assert "このままでは予定登録できません。先に" in body
    assert "このまま予定登録すると" not in body
