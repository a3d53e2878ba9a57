"""Four eyes by authorship (docs/security.md): nobody who created, edited or classified a
version schedules it, superusers included; nobody withdraws what they scheduled; the
single-person mode exists only in debug.

Before this control, scheduling only compared the scheduler with the draft's creator: a
publisher (or a superuser, or anyone in both groups) could rewrite an editor's draft and
schedule it alone.
"""

from __future__ import annotations

import importlib
import os
import secrets
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.test import override_settings
from django.urls import reverse

from agreements.enums import AuthorRole, ConsentMode, LegalBasis, VersionStatus
from agreements.models import TermsVersion, VersionAuthor
from agreements.selectors.authors import version_author_ids
from agreements.services.imports import terms_import
from agreements.services.version_articles import article_upsert
from agreements.services.version_drafts import version_draft_create, version_draft_update
from agreements.services.versions.schedule import version_schedule, version_withdraw
from core import clock
from core.enums import AuditAction
from core.errors import PermissionDenied
from core.models import AuditEntry
from tenants.scope import Scope
from tests.agreements.version_fixtures import catalog, editor, publisher  # noqa: F401 -- fixtures
from tests.factories.agreements import VersionFactory
from tests.factories.tenants import StaffFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TODAY = date(2025, 3, 3)
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _today():
    with clock.frozen_at(TODAY):
        yield


def _staff(*groups: str, superuser: bool = False):
    user = StaffFactory(is_superuser=superuser)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


@pytest.fixture
def draft(catalog, editor) -> TermsVersion:  # noqa: F811 -- fixtures
    """An editor's draft of the Biz terms with one new article."""
    VersionFactory(document=catalog.biz_terms, label="2024-11-22", effective_on=date(2024, 11, 22))
    version = version_draft_create(
        scope=Scope.staff(editor), document=catalog.biz_terms, label="2025-04"
    )
    article_upsert(
        scope=Scope.staff(editor),
        version=version,
        number=3,
        title="変更の掲示",
        body="掲示します。",
    )
    return version


def _schedule(version: TermsVersion, user) -> TermsVersion:
    return version_schedule(
        scope=Scope.staff(user),
        version=version,
        notice_on=TODAY + timedelta(days=1),
        effective_on=TODAY + timedelta(days=10),
        consent_mode=ConsentMode.DEEMED,
        legal_basis=LegalBasis.GENERAL_INTEREST,  # type (i): ten days' lead suffice (R2)
        rationale="掲示の時期を明記するため。",
    )


def _rewrite(version: TermsVersion, user) -> None:
    article_upsert(
        scope=Scope.staff(user),
        version=version,
        number=3,
        title="変更の掲示",
        body="当社は、いつでも予告なく本規約を変更できます。",
    )


def _refused(version: TermsVersion, user) -> str:
    with pytest.raises(PermissionDenied) as excinfo:
        _schedule(version, user)
    version.refresh_from_db()
    assert version.status == VersionStatus.DRAFT
    return excinfo.value.code


def test_publisher_who_rewrote_an_editors_draft_cannot_schedule_it_alone(draft, publisher) -> None:  # noqa: F811
    _rewrite(draft, publisher)

    assert _refused(draft, publisher) == "second_publisher_required"


def test_superuser_who_rewrote_an_editors_draft_cannot_schedule_it_alone(draft) -> None:
    boss = _staff(superuser=True)
    _rewrite(draft, boss)

    assert _refused(draft, boss) == "second_publisher_required"


def test_editor_and_publisher_in_one_person_cannot_schedule_their_edit(draft) -> None:
    both = _staff("editor", "publisher")
    version_draft_update(scope=Scope.staff(both), version=draft, title="利用規約（改定案）")

    assert _refused(draft, both) == "second_publisher_required"


def test_publisher_who_classified_the_change_cannot_schedule_it_alone(draft, publisher) -> None:  # noqa: F811
    version_draft_update(
        scope=Scope.staff(publisher),
        version=draft,
        legal_basis=LegalBasis.GENERAL_INTEREST,
        categories=[{"kind": "editorial", "title": "表記の修正"}],
    )

    assert _refused(draft, publisher) == "second_publisher_required"
    [author] = VersionAuthor.objects.filter(version=draft, user=publisher)
    assert (author.role, author.subjects) == (AuthorRole.CLASSIFIED, ["categories", "legal_basis"])


def test_a_publisher_who_never_touched_the_draft_schedules_it(draft, editor, publisher) -> None:  # noqa: F811
    assert _schedule(draft, publisher).status == VersionStatus.SCHEDULED
    authors = {(a.user_id, a.role): a for a in VersionAuthor.objects.filter(version=draft)}
    assert set(authors) == {(editor.pk, AuthorRole.CREATED), (editor.pk, AuthorRole.EDITED)}
    edited = authors[(editor.pk, AuthorRole.EDITED)]
    assert (edited.subjects, edited.changes, edited.last_at) == (
        ["article 3"],
        1,
        edited.first_at,
    )
    assert version_author_ids(draft) == {editor.pk}


def test_an_imported_draft_cannot_be_scheduled_by_its_importer(catalog, seeds_dir) -> None:  # noqa: F811
    importer = _staff("publisher")
    text = sorted(seeds_dir.glob("000_*.txt"))[0].read_text(encoding="utf-8")
    imported = terms_import(
        scope=Scope.staff(importer),
        product_code="optimal-biz",
        label="imported",
        effective_on=TODAY + timedelta(days=10),
        text=text,
        historical=False,
    )

    assert VersionAuthor.objects.filter(
        version=imported, user=importer, role=AuthorRole.CREATED
    ).exists()
    assert importer.pk in version_author_ids(imported)


def test_the_publisher_who_scheduled_cannot_withdraw_alone(draft, publisher) -> None:  # noqa: F811
    _schedule(draft, publisher)

    with pytest.raises(PermissionDenied) as excinfo:
        version_withdraw(scope=Scope.staff(publisher), version=draft, reason="取りやめ")
    assert excinfo.value.code == "second_person_required"
    draft.refresh_from_db()
    assert draft.status == VersionStatus.SCHEDULED

    second = _staff("publisher")
    assert version_withdraw(scope=Scope.staff(second), version=draft, reason="取りやめ").status == (
        VersionStatus.WITHDRAWN
    )


def test_a_superuser_who_scheduled_cannot_withdraw_alone(draft) -> None:
    boss = _staff(superuser=True)
    _schedule(draft, boss)

    with pytest.raises(PermissionDenied):
        version_withdraw(scope=Scope.staff(boss), version=draft, reason="取りやめ")


@override_settings(TERMS_REQUIRE_SECOND_PUBLISHER=False, DEBUG=False)
def test_single_person_mode_is_ignored_outside_debug(draft, publisher) -> None:  # noqa: F811
    _rewrite(draft, publisher)

    assert _refused(draft, publisher) == "second_publisher_required"


@override_settings(TERMS_REQUIRE_SECOND_PUBLISHER=False, DEBUG=True)
def test_single_person_mode_in_debug_lets_one_person_schedule_and_withdraw(draft, editor) -> None:  # noqa: F811
    _schedule(draft, editor)
    assert version_withdraw(scope=Scope.staff(editor), version=draft, reason="x").status == (
        VersionStatus.WITHDRAWN
    )


def _settings_process(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TERMS_"))}
    clean.update(
        {
            "DJANGO_SETTINGS_MODULE": "terms_site.settings",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(45),
            "DJANGO_ALLOWED_HOSTS": "terms.example.com",
            **env,
        }
    )
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_single_person_mode_is_refused_at_start_up_in_production() -> None:
    refused = _settings_process(DJANGO_DEBUG="false", TERMS_REQUIRE_SECOND_PUBLISHER="false")
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    assert "TERMS_REQUIRE_SECOND_PUBLISHER" in refused.stderr

    debug = _settings_process(DJANGO_DEBUG="true", TERMS_REQUIRE_SECOND_PUBLISHER="false")
    assert (debug.returncode, debug.stdout.strip()) == (0, "started"), debug.stderr


def test_console_staff_in_both_groups_who_edited_the_draft_cannot_confirm_the_schedule(
    client, draft
) -> None:
    both = _staff("editor", "publisher")
    client.force_login(both)
    article = draft.articles.get(number=3)
    edit = reverse("console:article-save", args=[draft.pk, article.pk])
    rewritten = {
        f"a{article.pk}-title": "変更の掲示",
        f"a{article.pk}-body": "いつでも変更します。",
    }
    assert client.post(edit, rewritten).status_code == 302
    url = reverse("console:version-schedule", args=[draft.pk])
    response = client.post(
        url,
        {
            "notice_on": (TODAY + timedelta(days=1)).isoformat(),
            "effective_on": (TODAY + timedelta(days=10)).isoformat(),
            "consent_mode": "deemed",
            "legal_basis": "general_interest",
            "rationale": "掲示の時期を明記するため。",
            "confirm": "1",
        },
    )

    assert response.status_code == 400
    assert response.context["is_author"] is True
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


def test_upgrade_records_the_authors_of_open_drafts_from_the_audit_log(draft, publisher) -> None:  # noqa: F811
    # A draft edited before the authors table existed: only its audit rows tell who.
    VersionAuthor.objects.filter(version=draft).delete()
    AuditEntry.objects.create(
        actor=publisher,
        actor_label=publisher.username,
        action=AuditAction.UPDATE,
        object_type="agreements.termsversion",
        object_id=draft.pk,
        summary=f"draft {draft.label}: edited article 3",
        data={"article": 3},
        at=clock.now(),
    )
    migration = importlib.import_module("agreements.migrations.0005_version_authors")

    migration.authors_from_audit(apps, None)

    assert publisher.pk in version_author_ids(draft)
    assert _refused(draft, publisher) == "second_publisher_required"
