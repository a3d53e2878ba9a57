"""What a publisher reviews is what gets scheduled (docs/security.md, four eyes).

Two attacks on publishing:

1. A draft could be based on another draft. Person A wrote a clause in draft X; person B
   based draft Y on X and made a trivial edit; A, not an author of Y, scheduled Y, and the
   review, the change summary and the customers' notice compared Y with X, so A's clause
   was in none of them.
2. The schedule's confirmation carried only dates, mode, basis and rationale: an editor
   could change the text between the publisher's review and the confirming post.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from agreements.catalog import catalog_ensure
from agreements.enums import VersionStatus
from agreements.models import TermsDocument, TermsVersion
from agreements.services.version_articles import article_upsert
from agreements.services.version_drafts import version_draft_create
from agreements.services.version_text import notice_table, version_body_hash
from agreements.services.versions.schedule import version_schedule
from core import clock
from core.errors import Conflict, ValidationFailed
from tenants.scope import Scope
from tests.factories.agreements import VersionFactory
from tests.factories.tenants import StaffFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TODAY = date(2025, 3, 3)
CLAUSE = "当社は、いつでも予告なく本規約を変更できます。"


@pytest.fixture(autouse=True)
def _today():
    with clock.frozen_at(TODAY):
        yield


def _staff(group: str):
    user = StaffFactory()
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def document() -> TermsDocument:
    return catalog_ensure().biz_terms


@pytest.fixture
def current(document) -> TermsVersion:
    """The version in force: two articles."""
    return VersionFactory(document=document, label="2024-11-22", effective_on=date(2024, 11, 22))


@pytest.fixture
def person_a():
    return _staff("publisher")


@pytest.fixture
def person_b():
    return _staff("editor")


@pytest.fixture
def draft_x(document, current, person_a) -> TermsVersion:
    """Person A's draft with A's clause in a new article 3."""
    version = version_draft_create(scope=Scope.staff(person_a), document=document, label="X")
    article_upsert(
        scope=Scope.staff(person_a), version=version, number=3, title="変更", body=CLAUSE
    )
    return version


def _legacy_draft_on(base: TermsVersion, author, label: str = "Y") -> TermsVersion:
    """A draft based on `base` as the service made them before the fix (a copy of its
    articles), then trivially edited by `author`."""
    version = VersionFactory(
        document=base.document,
        label=label,
        status=VersionStatus.DRAFT,
        effective_on=None,
        based_on=base,
        created_by=author,
        articles=[
            ("本規約について", "本規約は本製品の利用に適用されます。"),
            ("本規約の変更", "当社は本規約を変更できます。"),
            ("変更", CLAUSE),
        ],
    )
    article_upsert(
        scope=Scope.staff(author),
        version=version,
        number=1,
        title="本規約について",
        body="本規約は、本製品の利用に適用されます。",
    )
    return version


def _schedule_data(**changes: str) -> dict[str, str]:
    data = {
        "notice_on": TODAY.isoformat(),
        "effective_on": (TODAY + timedelta(days=10)).isoformat(),
        "consent_mode": "deemed",
        "legal_basis": "general_interest",  # type (i): ten days suffice (R2)
        "rationale": "適用範囲の明確化",
    }
    data.update(changes)
    return data


# --- 1. a draft based on a draft -----------------------------------------------------------


def test_console_refuses_a_draft_based_on_another_draft(
    client, document, draft_x, person_b
) -> None:
    client.force_login(person_b)
    response = client.post(
        reverse("console:document-detail", args=[document.pk]),
        {"label": "Y", "based_on": str(draft_x.pk)},
    )

    assert response.status_code == 400
    assert "based_on" in response.context["form"].errors
    assert not TermsVersion.objects.filter(document=document, label="Y").exists()


@pytest.mark.parametrize(
    "status", [VersionStatus.DRAFT, VersionStatus.WITHDRAWN, VersionStatus.LAPSED]
)
def test_service_refuses_a_base_that_is_not_posted(document, current, person_b, status) -> None:
    base = VersionFactory(
        document=document, label="base", status=status, effective_on=date(2025, 4, 1)
    )
    with pytest.raises(ValidationFailed) as excinfo:
        version_draft_create(
            scope=Scope.staff(person_b), document=document, label="Y", based_on=base
        )

    assert excinfo.value.code == "based_on_not_posted"
    assert not TermsVersion.objects.filter(document=document, label="Y").exists()


@pytest.mark.parametrize(
    "status", [VersionStatus.EFFECTIVE, VersionStatus.SUPERSEDED, VersionStatus.SCHEDULED]
)
def test_service_accepts_a_posted_base(document, current, person_b, status) -> None:
    effective_on = date(2025, 4, 1) if status == VersionStatus.SCHEDULED else date(2023, 1, 1)
    base = (
        current
        if status == VersionStatus.EFFECTIVE
        else VersionFactory(
            document=document, label="base", status=status, effective_on=effective_on
        )
    )
    draft = version_draft_create(
        scope=Scope.staff(person_b), document=document, label="Y", based_on=base
    )

    assert draft.based_on == base


def test_attack_sequence_author_cannot_schedule_a_draft_built_on_their_draft(
    client, current, draft_x, person_a, person_b
) -> None:
    """Y made as before the fix: A wrote the clause in X, B based Y on X and edited a comma."""
    draft_y = _legacy_draft_on(draft_x, person_b)
    client.force_login(person_a)
    url = reverse("console:version-schedule", args=[draft_y.pk])

    review = client.get(url)
    # The review compares with the version in force: A's clause is a new article in it.
    assert review.context["predecessor"] == current
    assert review.context["counts"]["added"] == 1
    assert review.context["is_author"] is True

    response = client.post(url, {**_schedule_data(), "confirm": "1"})
    assert response.status_code == 400
    draft_y.refresh_from_db()
    assert draft_y.status == VersionStatus.DRAFT


def test_notice_of_a_draft_on_another_base_lists_every_change_against_the_version_in_force(
    current, draft_x, person_b
) -> None:
    draft_y = _legacy_draft_on(draft_x, person_b)

    table = notice_table(draft_y)

    assert table.predecessor == current
    assert [(row.article_number, row.after) for row in table.rows if CLAUSE in row.after]
    assert {row.article_number for row in table.rows} == {1, 3}


def test_notice_of_a_draft_on_a_superseded_version_compares_with_the_version_in_force(
    document, person_b
) -> None:
    old = VersionFactory(
        document=document,
        label="2023",
        status=VersionStatus.SUPERSEDED,
        effective_on=date(2023, 1, 1),
        articles=[
            ("本規約について", "本規約は本製品の利用に適用されます。"),
            ("本規約の変更", CLAUSE),
        ],
    )
    current = VersionFactory(document=document, label="2024", effective_on=date(2024, 11, 22))
    draft = version_draft_create(
        scope=Scope.staff(person_b), document=document, label="Z", based_on=old
    )

    table = notice_table(draft)

    # Going back to the old article 2 is a change customers must be told of.
    assert table.predecessor == current
    assert [row.article_number for row in table.rows if CLAUSE in row.after] == [2]


def test_a_draft_follows_the_scheduled_revision(document, current, person_b) -> None:
    scheduled = VersionFactory(
        document=document,
        label="2025-04",
        status=VersionStatus.SCHEDULED,
        effective_on=date(2025, 4, 1),
    )
    draft = version_draft_create(scope=Scope.staff(person_b), document=document, label="Z")

    assert notice_table(draft).predecessor == scheduled
    assert notice_table(scheduled).predecessor == current


# --- 2. the reviewed text is the scheduled text ----------------------------------------------


@pytest.fixture
def editors_draft(document, current, person_b) -> TermsVersion:
    version = version_draft_create(scope=Scope.staff(person_b), document=document, label="R")
    article_upsert(
        scope=Scope.staff(person_b),
        version=version,
        number=1,
        title="本規約について",
        body="本規約は本製品を利用するすべてのお客様に適用されます。",
    )
    return version


def _slip_in_the_clause(version: TermsVersion, editor) -> None:
    article_upsert(scope=Scope.staff(editor), version=version, number=3, title="変更", body=CLAUSE)


def test_service_refuses_a_text_changed_since_the_review(editors_draft, person_a, person_b):
    reviewed = version_body_hash(editors_draft)
    _slip_in_the_clause(editors_draft, person_b)
    values = {
        "scope": Scope.staff(person_a),
        "version": editors_draft,
        "notice_on": TODAY,
        "effective_on": TODAY + timedelta(days=10),
        "consent_mode": "deemed",
        "legal_basis": "general_interest",  # type (i): ten days suffice (R2)
        "rationale": "適用範囲の明確化",
    }

    with pytest.raises(Conflict) as excinfo:
        version_schedule(**values, expected_body_hash=reviewed)
    assert excinfo.value.code == "draft_changed"
    editors_draft.refresh_from_db()
    assert editors_draft.status == VersionStatus.DRAFT

    now = version_body_hash(editors_draft)
    scheduled = version_schedule(**values, expected_body_hash=now)
    assert (scheduled.status, scheduled.body_hash) == (VersionStatus.SCHEDULED, now)


def test_console_shows_the_review_again_when_the_text_changed(
    client, editors_draft, person_a, person_b
) -> None:
    client.force_login(person_a)
    url = reverse("console:version-schedule", args=[editors_draft.pk])
    review = client.post(url, _schedule_data())
    reviewed = review.context["body_hash"]
    assert reviewed == version_body_hash(editors_draft)
    assert f'name="body_hash" value="{reviewed}"' in review.content.decode()

    _slip_in_the_clause(editors_draft, person_b)  # between the review and the confirmation
    response = client.post(url, {**_schedule_data(), "body_hash": reviewed, "confirm": "1"})

    assert response.status_code == 409
    assert response.context["confirming"] is True
    assert response.context["counts"]["added"] == 1  # the review now shows the new article
    assert response.context["body_hash"] == version_body_hash(editors_draft) != reviewed
    assert "もう一度確認してください" in response.content.decode()
    editors_draft.refresh_from_db()
    assert editors_draft.status == VersionStatus.DRAFT

    done = client.post(
        url, {**_schedule_data(), "body_hash": response.context["body_hash"], "confirm": "1"}
    )
    assert done.status_code == 302
    editors_draft.refresh_from_db()
    assert editors_draft.status == VersionStatus.SCHEDULED


def test_console_confirmation_without_the_reviewed_hash_is_a_new_review(
    client, editors_draft, person_a
) -> None:
    client.force_login(person_a)
    url = reverse("console:version-schedule", args=[editors_draft.pk])

    response = client.post(url, {**_schedule_data(), "confirm": "1"})

    assert response.status_code == 409
    assert response.context["confirming"] is True
    editors_draft.refresh_from_db()
    assert editors_draft.status == VersionStatus.DRAFT
