"""Console wording a reader noticed: the withdraw page's title says what it will do, English
counts of articles read right for one, empty cards say "None", the 効力発生予定 card shows every
scheduled revision, and a withdrawn version does not call its notice 公開中."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from agreements.enums import VersionStatus
from core import clock
from tests.factories.agreements import VersionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_withdraw_page_title_says_what_it_will_do_in_english(client, publisher, world) -> None:
    version = VersionFactory(
        document=world.document,
        label="2099-02",
        status=VersionStatus.SCHEDULED,
        notice_on=date(2099, 1, 1),
        effective_on=date(2099, 2, 1),
        based_on=world.current,
    )
    client.force_login(publisher)
    url = reverse("console:version-withdraw", args=[version.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Withdraw revision: 2099-02" in page
    assert "Revision withdrawn" not in page


def test_article_counts_read_right_for_one_in_english(client, viewer, world) -> None:
    client.force_login(viewer)
    url = reverse("console:version-detail", args=[world.draft.pk])
    page = client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "1 articles" not in page
    assert "Articles changed: 1" in page


def test_dashboard_lists_a_revision_scheduled_beyond_a_month_and_says_none(
    client, viewer, world
) -> None:
    VersionFactory(
        document=world.document,
        label="遠い改定",
        status=VersionStatus.SCHEDULED,
        notice_on=clock.today() + timedelta(days=40),
        effective_on=clock.today() + timedelta(days=90),
        based_on=world.current,
    )
    client.force_login(viewer)
    page = client.get(reverse("console:dashboard"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    effective_card = page.split("Revisions taking effect")[1].split("</article>")[0]
    assert "遠い改定" in effective_card
    assert '<li class="muted">None</li>' in page
    assert '<li class="muted">No</li>' not in page


def test_a_withdrawn_version_does_not_call_its_notice_live(client, viewer, world) -> None:
    version = VersionFactory(
        document=world.document,
        label="2099-03",
        status=VersionStatus.WITHDRAWN,
        notice_on=date(2025, 1, 1),
        effective_on=date(2099, 3, 1),
        based_on=world.current,
    )
    version.posted_at = clock.now()
    version.save(update_fields=["posted_at"])
    client.force_login(viewer)
    page = client.get(reverse("console:version-detail", args=[version.pk])).content.decode()
    assert "公開中のお知らせ" not in page
    assert "お知らせ（撤回済みと表示されます）" in page
