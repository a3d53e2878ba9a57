from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import override_settings
from django.urls import reverse

from agreements.enums import (
    CaseStatus,
    ConsentMode,
    ConsentStatus,
    LegalBasis,
    TerminationStatus,
    VersionStatus,
)
from agreements.models import (
    Article,
    ConsentRecord,
    ConsentState,
    Paragraph,
    Termination,
    TerminationCase,
    TermsVersion,
)
from agreements.selectors.versions import (
    document_list,
    notice_list_public,
    version_get,
    version_in_force,
    version_pending,
)
from agreements.services.consents.answers import consent_answer
from agreements.services.consents.cases import case_confirm
from agreements.services.version_articles import article_delete, article_upsert, articles_renumber
from agreements.services.version_drafts import (
    version_articles_replace,
    version_draft_create,
    version_draft_update,
)
from agreements.services.versions.effective import versions_apply_effective
from agreements.services.versions.posting import notice_post, notices_post_due
from agreements.services.versions.schedule import version_schedule, version_withdraw
from agreements.text.diff import ArticleText, DocText, ParagraphText
from agreements.text.parser import parse_terms
from core import clock
from core.clock import TOKYO
from core.enums import AuditAction, EventKind
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import AuditEntry, Event, Outbox
from tenants.scope import Scope
from tests.agreements.version_fixtures import *  # noqa: F403 -- fixtures
from tests.factories.agreements import ContractFactory, DocumentFactory, VersionFactory
from tests.factories.consents import admin_scope
from tests.factories.tenants import MembershipFactory, StaffFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TODAY = date(2025, 3, 3)
NEW_PARAGRAPH = "1. 当社は、変更の効力発生日の７日前までに変更を掲示します。"


@pytest.fixture(autouse=True)
def _today():
    with clock.frozen_at(TODAY):
        yield


@pytest.fixture
def document(catalog):
    return catalog.biz_terms


@pytest.fixture
def in_force(document):
    """A short version of the Biz terms in force since 2024-11-22."""
    return VersionFactory(
        document=document,
        label="2024-11-22",
        effective_on=date(2024, 11, 22),
        articles=[
            ("本規約について", "本規約は本製品に適用されます。"),
            ("本規約の変更", "当社は本規約を変更できます。"),
        ],
    )


@pytest.fixture
def draft(in_force, document, editor):
    version = version_draft_create(scope=Scope.staff(editor), document=document, label="2025-04")
    article_upsert(
        scope=Scope.staff(editor), version=version, number=3, title="変更の掲示", body=NEW_PARAGRAPH
    )
    return version


def _schedule(version, user, **overrides):
    values = {
        "notice_on": TODAY,
        "effective_on": TODAY + timedelta(days=7),
        "consent_mode": ConsentMode.DEEMED,
        # A type-(i) change: seven days' lead suffice (R2); type (ii) needs 30, see below.
        "legal_basis": LegalBasis.GENERAL_INTEREST,
        "rationale": "掲示の時期を明記するため（第２条に基づく変更）。",
        "categories": [{"kind": "substantive", "title": "変更の掲示時期の明記"}],
    }
    values.update(overrides)
    return version_schedule(scope=Scope.staff(user), version=version, **values)


# R2: a type-(ii) change scheduled with its 30 days' lead (TERMS_NOTICE_LEAD_DAYS_REASONABLE).
REASONABLE_EFFECTIVE = TODAY + timedelta(days=30)  # 2025-04-02


def _schedule_reasonable(version, user, **overrides):
    values = {"legal_basis": LegalBasis.REASONABLE, "effective_on": REASONABLE_EFFECTIVE}
    values.update(overrides)
    return _schedule(version, user, **values)


def _bound_tenant(catalog):
    tenant = TenantFactory()
    MembershipFactory(tenant=tenant)
    ContractFactory(tenant=tenant, product=catalog.biz)
    return tenant


# --- drafts ---------------------------------------------------------------------------------


def test_version_draft_create_copies_the_version_in_force(in_force, document, editor) -> None:
    draft = version_draft_create(scope=Scope.staff(editor), document=document, label="2025-04")

    assert (draft.status, draft.based_on_id, draft.created_by_id) == (
        VersionStatus.DRAFT,
        in_force.pk,
        editor.pk,
    )
    copied = [
        (a.position, a.number, a.heading, [(p.label, p.text) for p in a.paragraphs.all()])
        for a in draft.articles.order_by("position")
    ]
    original = [
        (a.position, a.number, a.heading, [(p.label, p.text) for p in a.paragraphs.all()])
        for a in in_force.articles.order_by("position")
    ]
    assert copied == original
    assert not set(draft.articles.values_list("pk", flat=True)) & set(
        in_force.articles.values_list("pk", flat=True)
    )
    assert AuditEntry.objects.filter(action=AuditAction.CREATE, object_id=draft.pk).count() == 1


def test_version_draft_create_refused_for_viewer_and_tenant(document, in_force) -> None:
    viewer = StaffFactory()
    viewer.groups.add(Group.objects.get_or_create(name="viewer")[0])
    with pytest.raises(PermissionDenied):
        version_draft_create(scope=Scope.staff(viewer), document=document, label="x")
    with pytest.raises(PermissionDenied):
        version_draft_create(
            scope=Scope.tenant_user(MembershipFactory()), document=document, label="x"
        )
    assert TermsVersion.objects.count() == 1


def test_version_draft_create_duplicate_label_refused(in_force, document, editor) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        version_draft_create(scope=Scope.staff(editor), document=document, label="2024-11-22")
    assert excinfo.value.code == "duplicate_label"


def test_version_draft_update_changes_fields_and_refuses_unknown(draft, editor) -> None:
    updated = version_draft_update(
        scope=Scope.staff(editor), version=draft, title="改定案", notice_body="本文"
    )
    assert (updated.title, updated.notice_body) == ("改定案", "本文")
    with pytest.raises(ValidationFailed) as excinfo:
        version_draft_update(scope=Scope.staff(editor), version=draft, status="effective")
    assert excinfo.value.code == "field_not_editable"


def test_article_upsert_adds_in_number_order_and_replaces(draft, editor) -> None:
    scope = Scope.staff(editor)
    article_upsert(
        scope=scope,
        version=draft,
        number=2,
        title="本規約の変更",
        body="1. 当社は本規約を変更できます。\n2. 変更は掲示します。\n(1) ウェブサイト\n(2) 電子メール",
    )
    article_upsert(
        scope=scope, version=draft, number=0 + 1, title="目的", body="本規約の目的です。"
    )

    articles = list(draft.articles.order_by("position"))
    assert [(a.position, a.number, a.heading) for a in articles] == [
        (1, 1, "第１条（目的）"),
        (2, 2, "第２条（本規約の変更）"),
        (3, 3, "第３条（変更の掲示）"),
    ]
    second = list(articles[1].paragraphs.order_by("position"))
    assert [(p.label, p.text) for p in second] == [
        ("1.", "当社は本規約を変更できます。"),
        ("2.", "変更は掲示します。"),
    ]
    assert [i["text"] for i in second[1].items] == ["ウェブサイト", "電子メール"]


def test_article_upsert_bad_body_names_the_line(draft, editor) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        article_upsert(
            scope=Scope.staff(editor),
            version=draft,
            number=4,
            title="番号",
            body="1. 一つ目。\n3. 三つ目。",
        )
    assert (excinfo.value.code, excinfo.value.details["line"]) == ("parse_error", 2)
    assert not draft.articles.filter(number=4).exists()


def test_article_delete_and_renumber(draft, editor) -> None:
    scope = Scope.staff(editor)
    article_delete(scope=scope, version=draft, number=2)
    renumbered = articles_renumber(scope=scope, version=draft)

    assert [(a.position, a.number, a.heading) for a in renumbered] == [
        (1, 1, "第１条（本規約について）"),
        (2, 2, "第２条（変更の掲示）"),
    ]
    assert list(draft.articles.order_by("position").values_list("number", "heading")) == [
        (1, "第１条（本規約について）"),
        (2, "第２条（変更の掲示）"),
    ]
    with pytest.raises(NotFound):
        article_delete(scope=scope, version=draft, number=9)


def test_version_articles_replace_stores_a_doctext(draft, editor) -> None:
    doc = DocText(
        [ArticleText(1, "第１条（目的）", "目的", [ParagraphText("1", "1.", "目的です。")])]
    )
    version_articles_replace(scope=Scope.staff(editor), version=draft, doc=doc)
    assert list(Article.objects.filter(version=draft).values_list("heading", flat=True)) == [
        "第１条（目的）"
    ]


def test_version_r7_posted_is_immutable(draft, editor, publisher) -> None:
    scheduled = _schedule(draft, publisher)
    assert notice_post(version=scheduled)
    scope = Scope.staff(editor)
    snapshot = list(Paragraph.objects.filter(article__version=draft).values_list("text", flat=True))

    attempts = [
        lambda: version_draft_update(scope=scope, version=draft, title="書き換え"),
        lambda: article_upsert(scope=scope, version=draft, number=1, title="目的", body="別の文"),
        lambda: article_delete(scope=scope, version=draft, number=1),
        lambda: articles_renumber(scope=scope, version=draft),
        lambda: version_articles_replace(scope=scope, version=draft, doc=DocText([])),
        lambda: _schedule(draft, publisher),
    ]
    for attempt in attempts:
        with pytest.raises(Conflict) as excinfo:
            attempt()
        assert excinfo.value.code == "version_immutable"
    draft.refresh_from_db()
    assert draft.title != "書き換え"
    assert (
        list(Paragraph.objects.filter(article__version=draft).values_list("text", flat=True))
        == snapshot
    )


# --- scheduling (R2, R7) ----------------------------------------------------------------


def test_version_schedule_r2_sets_dates_hash_audit_and_event(draft, publisher) -> None:
    version = _schedule(draft, publisher)

    assert (version.status, version.notice_on, version.effective_on) == (
        VersionStatus.SCHEDULED,
        TODAY,
        date(2025, 3, 10),
    )
    assert (version.legal_basis, version.scheduled_by_id) == (
        LegalBasis.GENERAL_INTEREST,
        publisher.pk,
    )
    assert len(version.body_hash) == 64
    assert version.categories == [
        {"index": 1, "kind": "substantive", "title": "変更の掲示時期の明記"}
    ]
    assert version.notice_title == "Optimal Biz 利用規約改定のお知らせ"
    [event] = Event.objects.filter(kind=EventKind.VERSION_SCHEDULED)
    assert (event.subject_id, event.payload["effective_on"]) == (version.pk, "2025-03-10")
    assert AuditEntry.objects.filter(action=AuditAction.SCHEDULE, object_id=version.pk).count() == 1


def test_version_schedule_r2_lead_time_too_short_refused(draft, publisher) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        _schedule(draft, publisher, effective_on=TODAY + timedelta(days=6))
    assert excinfo.value.code == "lead_time_too_short"
    assert excinfo.value.details["earliest_effective_on"] == "2025-03-10"
    assert "2025年3月10日（月）" in str(excinfo.value.message)  # the one date style
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


@override_settings(TERMS_NOTICE_LEAD_DAYS=8)
def test_version_schedule_r2_lead_time_is_a_setting(draft, publisher) -> None:
    with pytest.raises(ValidationFailed):
        _schedule(draft, publisher, effective_on=TODAY + timedelta(days=7))
    assert _schedule(draft, publisher, effective_on=TODAY + timedelta(days=8)).status == "scheduled"


@pytest.mark.parametrize(
    ("basis", "mode", "days", "scheduled"),
    [
        (LegalBasis.REASONABLE, ConsentMode.DEEMED, 7, False),
        (LegalBasis.REASONABLE, ConsentMode.DEEMED, 29, False),
        (LegalBasis.REASONABLE, ConsentMode.DEEMED, 30, True),
        (LegalBasis.GENERAL_INTEREST, ConsentMode.DEEMED, 6, False),
        (LegalBasis.GENERAL_INTEREST, ConsentMode.DEEMED, 7, True),
        (LegalBasis.EXPLICIT_CONSENT, ConsentMode.EXPLICIT, 6, False),
        (LegalBasis.EXPLICIT_CONSENT, ConsentMode.EXPLICIT, 7, True),
    ],
)
def test_version_schedule_r2_lead_time_per_legal_basis_at_scheduling(
    draft, publisher, basis: str, mode: str, days: int, scheduled: bool
) -> None:
    # Type (ii) needs 30 days from the planned notice; type (i) and explicit consent 7.
    effective_on = TODAY + timedelta(days=days)
    if scheduled:
        version = _schedule(
            draft, publisher, legal_basis=basis, consent_mode=mode, effective_on=effective_on
        )
        assert version.status == VersionStatus.SCHEDULED
        return
    with pytest.raises(ValidationFailed) as excinfo:
        _schedule(draft, publisher, legal_basis=basis, consent_mode=mode, effective_on=effective_on)
    assert excinfo.value.code == "lead_time_too_short"
    lead = 30 if basis == LegalBasis.REASONABLE else 7
    earliest = (TODAY + timedelta(days=lead)).isoformat()
    assert excinfo.value.details["earliest_effective_on"] == earliest
    assert f"{lead}日以上後" in str(excinfo.value.message)
    if basis == LegalBasis.REASONABLE:
        assert "民法548条の4第1項2号" in str(excinfo.value.message)
    draft.refresh_from_db()
    assert draft.status == VersionStatus.DRAFT


@override_settings(TERMS_NOTICE_LEAD_DAYS_REASONABLE=45)
def test_version_schedule_r2_reasonable_lead_time_is_a_setting(draft, publisher) -> None:
    with pytest.raises(ValidationFailed):
        _schedule_reasonable(draft, publisher, effective_on=TODAY + timedelta(days=44))
    version = _schedule_reasonable(draft, publisher, effective_on=TODAY + timedelta(days=45))
    assert version.status == VersionStatus.SCHEDULED


def test_version_schedule_r2_notice_in_past_refused(draft, publisher) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        _schedule(draft, publisher, notice_on=TODAY - timedelta(days=1))
    assert excinfo.value.code == "notice_in_past"


def test_version_schedule_r2_effective_before_notice_refused(draft, publisher) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        _schedule(draft, publisher, effective_on=TODAY)
    assert excinfo.value.code == "effective_before_notice"


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"legal_basis": ""}, "legal_basis_required"),
        ({"legal_basis": "because"}, "legal_basis_required"),
        ({"rationale": "  "}, "rationale_required"),
        (
            {"legal_basis": LegalBasis.EXPLICIT_CONSENT, "consent_mode": ConsentMode.DEEMED},
            "explicit_consent_required",
        ),
        ({"categories": [{"kind": "other", "title": "x"}]}, "invalid_category"),
    ],
)
def test_version_schedule_r2_legal_basis_rationale_and_mode_checked(
    draft, publisher, overrides, code
) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        _schedule(draft, publisher, **overrides)
    assert excinfo.value.code == code


def test_version_schedule_r2_explicit_consent_basis_with_explicit_mode(draft, publisher) -> None:
    version = _schedule(
        draft,
        publisher,
        legal_basis=LegalBasis.EXPLICIT_CONSENT,
        consent_mode=ConsentMode.EXPLICIT,
    )
    assert (version.status, version.consent_mode) == ("scheduled", "explicit")


def test_version_schedule_unchanged_copy_refused(in_force, document, editor, publisher) -> None:
    copy = version_draft_create(scope=Scope.staff(editor), document=document, label="same")
    with pytest.raises(ValidationFailed) as excinfo:
        _schedule(copy, publisher)
    assert excinfo.value.code == "no_changes"


def test_version_schedule_r7_one_scheduled_per_document(draft, document, editor, publisher):
    _schedule(draft, publisher)
    other = version_draft_create(
        scope=Scope.staff(editor), document=document, label="2025-05", based_on=draft.based_on
    )
    article_upsert(
        scope=Scope.staff(editor), version=other, number=3, title="別案", body="別案です。"
    )
    with pytest.raises(ValidationFailed) as excinfo:
        _schedule(other, publisher, effective_on=TODAY + timedelta(days=30))
    assert (excinfo.value.code, excinfo.value.details["scheduled_version"]) == (
        "already_scheduled",
        draft.pk,
    )


def test_version_schedule_second_publisher_required(draft, editor, publisher) -> None:
    author_publisher = StaffFactory()
    author_publisher.groups.add(Group.objects.get_or_create(name="publisher")[0])
    own = version_draft_create(
        scope=Scope.staff(author_publisher), document=draft.document, label="own"
    )
    article_upsert(
        scope=Scope.staff(author_publisher), version=own, number=3, title="自作", body="自作です。"
    )

    with pytest.raises(PermissionDenied) as excinfo:
        _schedule(draft, editor)  # an editor is not a publisher
    assert excinfo.value.code == "publisher_required"
    with pytest.raises(PermissionDenied) as excinfo:
        _schedule(own, author_publisher)  # nobody publishes their own draft
    assert excinfo.value.code == "second_publisher_required"
    with pytest.raises(PermissionDenied):
        version_schedule(
            scope=Scope.system(),
            version=draft,
            notice_on=TODAY,
            effective_on=TODAY + timedelta(days=7),
            consent_mode="deemed",
            legal_basis="reasonable",
            rationale="r",
        )
    assert _schedule(draft, publisher).status == VersionStatus.SCHEDULED


# The single-person mode exists only in debug (settings refuse it otherwise at start-up).
@override_settings(TERMS_REQUIRE_SECOND_PUBLISHER=False, DEBUG=True)
def test_version_schedule_author_may_publish_when_second_publisher_off(draft, editor) -> None:
    assert _schedule(draft, editor).status == VersionStatus.SCHEDULED


@pytest.mark.django_db(transaction=True)
def test_version_schedule_r7_concurrent_schedules_one_wins(catalog, editor, publisher) -> None:
    document = catalog.biz_terms
    VersionFactory(document=document, label="base", effective_on=date(2024, 11, 22))
    drafts = []
    for label in ("a", "b"):
        version = version_draft_create(scope=Scope.staff(editor), document=document, label=label)
        article_upsert(scope=Scope.staff(editor), version=version, number=3, title=label, body="案")
        drafts.append(version)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run(version) -> None:
        try:
            barrier.wait()
            _schedule(version, publisher)
            outcomes.append("scheduled")
        except ValidationFailed as exc:
            outcomes.append(exc.code)
        finally:
            connection.close()

    # One frozen clock around both threads (it is process-wide: see tests/conftest.py).
    with clock.frozen_at(TODAY):
        threads = [threading.Thread(target=run, args=(v,)) for v in drafts]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(outcomes) == ["already_scheduled", "scheduled"]
    assert TermsVersion.objects.filter(status=VersionStatus.SCHEDULED).count() == 1


# --- withdrawal (R7) ------------------------------------------------------------------------


def test_version_withdraw_r7_posted_is_notified_and_kept(draft, editor, publisher, catalog):
    tenant = _bound_tenant(catalog)
    version = _schedule(draft, publisher)
    notice_post(version=version)

    withdrawn = version_withdraw(scope=Scope.staff(editor), version=version, reason="誤りのため")

    assert (withdrawn.status, withdrawn.withdrawal_reason) == (
        VersionStatus.WITHDRAWN,
        "誤りのため",
    )
    assert withdrawn.withdrawn_at == clock.now()
    assert Event.objects.filter(kind=EventKind.VERSION_WITHDRAWN, tenant_id=tenant.pk).count() == 1
    assert Outbox.objects.filter(kind=EventKind.VERSION_WITHDRAWN, tenant_id=tenant.pk).exists()
    assert withdrawn.articles.count() == 3  # nothing recorded against it is deleted
    # The tenant's consent state follows the version in force again.
    state = ConsentState.objects.get(tenant=tenant, document=version.document)
    assert (state.version_id, state.status) == (draft.based_on_id, ConsentStatus.NO_ANSWER)
    assert list(notice_list_public()) == [withdrawn]  # the withdrawal stays public
    assert AuditEntry.objects.filter(action=AuditAction.WITHDRAW, object_id=version.pk).exists()


def _rejected_with_case(version, tenant, publisher, *, confirm: bool = False):
    """The tenant rejects the posted `version`; its R6 case is opened (and confirmed)."""
    consent_answer(scope=admin_scope(tenant), tenant=tenant, version=version, answer="rejected")
    case = TerminationCase.objects.get(tenant=tenant, version=version)
    if confirm:
        case = case_confirm(scope=Scope.staff(publisher), case=case)
    return case


@pytest.mark.parametrize("confirm", [False, True], ids=["open-case", "confirmed-case"])
def test_version_withdraw_r7_r6_drops_cases_opened_against_it(
    draft, editor, publisher, catalog, confirm
) -> None:
    """A withdrawn revision never takes effect, so a rejection of it can no longer justify
    ending the contract: its case is dropped and any termination it scheduled cancelled."""
    tenant = _bound_tenant(catalog)
    version = _schedule(draft, publisher)
    notice_post(version=version)
    case = _rejected_with_case(version, tenant, publisher, confirm=confirm)

    version_withdraw(scope=Scope.staff(editor), version=version, reason="誤りのため")

    case.refresh_from_db()
    assert (case.status, case.closed_at) == (CaseStatus.DROPPED, clock.now())
    assert list(Termination.objects.filter(case=case).values_list("status", flat=True)) == (
        [TerminationStatus.CANCELLED] if confirm else []
    )
    assert Event.objects.filter(kind=EventKind.CASE_DROPPED, tenant_id=tenant.pk).count() == 1
    # The rejection itself stays in the ledger (nothing recorded against it is deleted).
    assert ConsentRecord.objects.filter(version=version, tenant=tenant).count() == 1


def test_versions_apply_effective_r2_r7_lapse_drops_cases_opened_against_it(
    draft, publisher, catalog
) -> None:
    """A type-(ii) revision posted only at 00:00 on its effective date lapses; a rejection
    recorded in the minutes before the job ran opened a case that must not survive it."""
    tenant = _bound_tenant(catalog)
    version = _schedule_reasonable(draft, publisher, consent_mode=ConsentMode.EXPLICIT)
    with clock.frozen_at(datetime(2025, 4, 2, 0, 0, tzinfo=TOKYO)):
        notice_post(version=version)
    with clock.frozen_at(datetime(2025, 4, 2, 0, 1, tzinfo=TOKYO)):
        case = _rejected_with_case(version, tenant, publisher)
        versions_apply_effective(today=date(2025, 4, 2))

    assert TermsVersion.objects.get(pk=version.pk).status == VersionStatus.LAPSED
    case.refresh_from_db()
    assert case.status == CaseStatus.DROPPED
    assert Event.objects.filter(kind=EventKind.CASE_DROPPED, tenant_id=tenant.pk).count() == 1


def test_version_withdraw_r7_unposted_notifies_nobody(draft, editor, publisher, catalog) -> None:
    _bound_tenant(catalog)
    version = _schedule(
        draft,
        publisher,
        notice_on=TODAY + timedelta(days=1),
        effective_on=TODAY + timedelta(days=8),
    )
    version_withdraw(scope=Scope.staff(editor), version=version, reason="取りやめ")
    assert Event.objects.filter(kind=EventKind.VERSION_WITHDRAWN).count() == 0


def test_version_withdraw_r7_on_effective_date_refused(draft, editor, publisher) -> None:
    version = _schedule(draft, publisher)
    with clock.frozen_at(version.effective_on), pytest.raises(Conflict) as excinfo:
        version_withdraw(scope=Scope.staff(editor), version=version, reason="遅すぎる")
    assert excinfo.value.code == "already_effective"
    with pytest.raises(ValidationFailed):
        version_withdraw(scope=Scope.staff(editor), version=version, reason=" ")
    with pytest.raises(Conflict) as excinfo:
        version_withdraw(scope=Scope.staff(editor), version=draft.based_on, reason="x")
    assert excinfo.value.code == "not_scheduled"


# --- posting (R2) -------------------------------------------------------------------------


def test_notice_post_sets_posted_at_once_and_notifies_bound_tenants(draft, publisher, catalog):
    bound = _bound_tenant(catalog)
    other = TenantFactory()
    ContractFactory(tenant=other, product=catalog.id_plus)
    version = _schedule(draft, publisher)

    assert notice_post(version=version) is True
    first = TermsVersion.objects.get(pk=version.pk).posted_at
    with clock.frozen_at(datetime(2025, 3, 3, 18, 0, tzinfo=TOKYO)):
        assert notice_post(version=version) is False
    assert TermsVersion.objects.get(pk=version.pk).posted_at == first == clock.now()

    [event] = Event.objects.filter(kind=EventKind.NOTICE_POSTED)
    assert event.tenant_id == bound.pk
    assert {
        k: event.payload[k] for k in ("title", "notice_on", "effective_on", "consent_mode")
    } == {
        "title": "Optimal Biz 利用規約",
        "notice_on": "2025-03-03",
        "effective_on": "2025-03-10",
        "consent_mode": "deemed",
    }
    assert event.payload["notice_url"].endswith(f"/notices/{version.pk}/")
    assert event.payload["portal_url"].endswith("/portal/")
    assert Outbox.objects.filter(kind=EventKind.NOTICE_POSTED, tenant_id=other.pk).count() == 0
    # The consent projection opens for the bound tenant (agreements.services.consents.projection).
    state = ConsentState.objects.get(tenant=bound, document=version.document)
    assert (state.version_id, state.status) == (version.pk, ConsentStatus.NO_ANSWER)


def test_notices_post_due_posts_only_due_notices(draft, publisher) -> None:
    version = _schedule(
        draft,
        publisher,
        notice_on=TODAY + timedelta(days=2),
        effective_on=TODAY + timedelta(days=10),
    )

    assert notices_post_due(today=TODAY + timedelta(days=1)) == {"due": 0, "posted": 0}
    with clock.frozen_at(TODAY + timedelta(days=2)):
        assert notices_post_due(today=TODAY + timedelta(days=2)) == {"due": 1, "posted": 1}
        assert notices_post_due(today=TODAY + timedelta(days=2)) == {"due": 0, "posted": 0}
    assert TermsVersion.objects.get(pk=version.pk).posted_at is not None


# --- taking effect (R2, R5) -----------------------------------------------------------------


def test_versions_apply_effective_r2_reasonable_unposted_lapses(draft, publisher, catalog):
    _bound_tenant(catalog)
    version = _schedule_reasonable(draft, publisher)

    with clock.frozen_at(version.effective_on):
        counts = versions_apply_effective(today=version.effective_on)

    assert counts == {"due": 1, "effective": 0, "superseded": 0, "lapsed": 1}
    version.refresh_from_db()
    assert (version.status, version.lapsed_at is not None) == (VersionStatus.LAPSED, True)
    assert TermsVersion.objects.get(pk=draft.based_on_id).status == VersionStatus.EFFECTIVE
    [mail] = Outbox.objects.filter(kind=EventKind.VERSION_LAPSED)
    assert (mail.tenant_id, mail.payload["version_id"]) == (None, version.pk)
    assert Event.objects.filter(kind=EventKind.VERSION_LAPSED).count() == 0  # nobody was told


@pytest.mark.parametrize(
    ("posted_at", "status"),
    [
        # R2 (revised): a type-(ii) change needs 30 days between the real posting and the
        # effective date; the evening before is far too late.
        (datetime(2025, 4, 1, 23, 59, 59, tzinfo=TOKYO), VersionStatus.LAPSED),
        (datetime(2025, 4, 2, 0, 0, tzinfo=TOKYO), VersionStatus.LAPSED),
    ],
    ids=["posted-the-evening-before", "posted-at-midnight-of-the-effective-date"],
)
def test_versions_apply_effective_r2_reasonable_posted_on_effective_date_lapses(
    draft, publisher, posted_at, status
) -> None:
    version = _schedule_reasonable(draft, publisher)
    with clock.frozen_at(posted_at):
        notice_post(version=version)
    with clock.frozen_at(date(2025, 4, 2)):
        versions_apply_effective(today=date(2025, 4, 2))
    assert TermsVersion.objects.get(pk=version.pk).status == status


def test_versions_apply_effective_r2_general_interest_unposted_takes_effect(draft, publisher):
    version = _schedule(draft, publisher, legal_basis=LegalBasis.GENERAL_INTEREST)
    with clock.frozen_at(version.effective_on):
        versions_apply_effective(today=version.effective_on)
    assert TermsVersion.objects.get(pk=version.pk).status == VersionStatus.EFFECTIVE


def test_r5_effective_on_date_regardless_of_consent(draft, publisher, catalog) -> None:
    tenant = _bound_tenant(catalog)
    # A type-(i) change: seven days' lead suffice (a type-(ii) one would lapse, R2).
    version = _schedule(
        draft,
        publisher,
        consent_mode=ConsentMode.EXPLICIT,
        legal_basis=LegalBasis.GENERAL_INTEREST,
    )
    notice_post(version=version)
    day_before = version.effective_on - timedelta(days=1)

    with clock.frozen_at(day_before):
        assert versions_apply_effective(today=day_before)["due"] == 0
    assert TermsVersion.objects.get(pk=version.pk).status == VersionStatus.SCHEDULED
    with clock.frozen_at(version.effective_on):
        counts = versions_apply_effective(today=version.effective_on)

    assert counts == {"due": 1, "effective": 1, "superseded": 1, "lapsed": 0}
    version.refresh_from_db()
    previous = TermsVersion.objects.get(pk=draft.based_on_id)
    assert version.status == VersionStatus.EFFECTIVE
    assert (previous.status, previous.superseded_on) == (
        VersionStatus.SUPERSEDED,
        date(2025, 3, 10),
    )
    assert version_in_force(document=version.document, on_date=date(2025, 3, 10)) == version
    assert version_in_force(document=version.document, on_date=date(2025, 3, 9)) == previous
    # Nobody answered; the explicit-mode tenant is outstanding, but the version is in force.
    state = ConsentState.objects.get(tenant=tenant, document=version.document)
    assert (state.version_id, state.status) == (version.pk, ConsentStatus.OUTSTANDING)


def test_versions_apply_effective_is_idempotent(draft, publisher) -> None:
    version = _schedule(draft, publisher, legal_basis=LegalBasis.GENERAL_INTEREST)
    notice_post(version=version)
    later = version.effective_on + timedelta(days=3)
    with clock.frozen_at(later):
        assert versions_apply_effective(today=later)["effective"] == 1
        assert versions_apply_effective(today=later) == {
            "due": 0,
            "effective": 0,
            "superseded": 0,
            "lapsed": 0,
        }
    assert Event.objects.filter(kind=EventKind.VERSION_EFFECTIVE).count() == 1
    assert TermsVersion.objects.filter(status=VersionStatus.EFFECTIVE).count() == 1


# --- selectors ---------------------------------------------------------------------------------


def test_version_get_drafts_only_for_staff(draft, editor, in_force) -> None:
    tenant_scope = Scope.tenant_user(MembershipFactory())
    assert version_get(scope=Scope.staff(editor), pk=draft.pk) == draft
    with pytest.raises(NotFound):
        version_get(scope=tenant_scope, pk=draft.pk)
    assert version_get(scope=tenant_scope, pk=in_force.pk) == in_force


def test_version_get_scheduled_public_only_once_posted(draft, publisher) -> None:
    version = _schedule(
        draft,
        publisher,
        notice_on=TODAY + timedelta(days=1),
        effective_on=TODAY + timedelta(days=8),
    )
    anonymous = Scope.tenant_user(MembershipFactory())
    with pytest.raises(NotFound):
        version_get(scope=anonymous, pk=version.pk)
    assert version_pending(document=version.document) == version
    assert version_pending(document=version.document, posted_only=True) is None
    with clock.frozen_at(TODAY + timedelta(days=1)):
        notices_post_due(today=TODAY + timedelta(days=1))
        assert version_get(scope=anonymous, pk=version.pk) == version
        assert version_pending(document=version.document, posted_only=True) == version


def test_notice_list_public_newest_first_and_never_before_posted_at(draft, publisher, catalog):
    older = VersionFactory(
        document=DocumentFactory(product=catalog.id_plus),
        label="2022",
        notice_on=date(2022, 4, 19),
        effective_on=date(2022, 4, 27),
        posted_at=datetime(2022, 4, 19, tzinfo=TOKYO),
    )
    version = _schedule(draft, publisher)
    posted_at = datetime(2025, 3, 3, 10, 0, tzinfo=TOKYO)
    with clock.frozen_at(posted_at):
        notice_post(version=version)

    with clock.frozen_at(posted_at - timedelta(seconds=1)):
        assert list(notice_list_public()) == [older]
    with clock.frozen_at(posted_at):
        assert list(notice_list_public()) == [version, older]


def test_document_list_and_version_in_force(catalog, in_force) -> None:
    scope = Scope.tenant_user(MembershipFactory())
    assert [d.product.code for d in document_list(scope=scope)] == ["optim-id-plus", "optimal-biz"]
    assert list(document_list(scope=scope, product=catalog.biz)) == [catalog.biz_terms]
    assert version_in_force(document=catalog.biz_terms, on_date=date(2024, 11, 21)) is None
    assert version_in_force(document=catalog.biz_terms, on_date=date(2024, 11, 22)) == in_force


def test_versions_apply_effective_r2_late_posting_lapses_and_tells_tenants(
    draft, publisher, catalog
) -> None:
    tenant = _bound_tenant(catalog)
    version = _schedule_reasonable(draft, publisher)
    with clock.frozen_at(datetime(2025, 4, 2, 0, 0, tzinfo=TOKYO)):
        notice_post(version=version)  # the job ran too late: posted at 00:00 on the effective date
        versions_apply_effective(today=date(2025, 4, 2))

    assert TermsVersion.objects.get(pk=version.pk).status == VersionStatus.LAPSED
    assert Event.objects.filter(kind=EventKind.VERSION_LAPSED, tenant_id=tenant.pk).count() == 1
    assert Outbox.objects.filter(kind=EventKind.VERSION_LAPSED, tenant_id=None).count() == 1
    state = ConsentState.objects.get(tenant=tenant, document=version.document)
    assert state.version_id == draft.based_on_id


def test_version_schedule_r2_excerpt_refused(catalog, editor, publisher) -> None:
    excerpt = VersionFactory(
        document=catalog.id_plus_terms,
        label="2022-04-27",
        is_excerpt=True,
        effective_on=date(2022, 4, 27),
    )
    draft = version_draft_create(
        scope=Scope.staff(editor), document=catalog.id_plus_terms, label="next"
    )
    assert (draft.based_on_id, draft.is_excerpt) == (excerpt.pk, True)
    article_upsert(
        scope=Scope.staff(editor), version=draft, number=9, title="追加", body="追加です。"
    )
    with pytest.raises(ValidationFailed) as excinfo:
        _schedule(draft, publisher)
    assert excinfo.value.code == "excerpt_not_schedulable"


def test_notice_post_r1_individual_rules_notify_only_tenants_with_the_option(
    catalog, editor, publisher
) -> None:
    rules_doc = DocumentFactory(
        product=catalog.id_plus, option=catalog.device_auth, kind="individual", slug="device-auth"
    )
    VersionFactory(document=rules_doc, label="2024", effective_on=date(2024, 1, 1))
    with_option = TenantFactory()
    ContractFactory(tenant=with_option, product=catalog.id_plus).options.add(catalog.device_auth)
    ContractFactory(tenant=TenantFactory(), product=catalog.id_plus)
    draft = version_draft_create(scope=Scope.staff(editor), document=rules_doc, label="2025")
    article_upsert(
        scope=Scope.staff(editor), version=draft, number=3, title="追加", body="追加です。"
    )

    notice_post(version=_schedule(draft, publisher))

    assert list(
        Event.objects.filter(kind=EventKind.NOTICE_POSTED).values_list("tenant_id", flat=True)
    ) == [with_option.pk]


def test_r8_pasting_the_whole_text_turns_an_excerpt_draft_into_a_full_version(
    draft, editor, client
) -> None:
    """A draft copied from an excerpt (the ID+ notice) could never be scheduled; pasting the
    whole terms, title to 「以上」, makes it a full version, and the editor says so before."""
    TermsVersion.objects.filter(pk=draft.pk).update(is_excerpt=True)
    draft.refresh_from_db()
    client.force_login(editor)
    page = client.get(reverse("console:version-edit", args=[draft.pk])).content.decode()
    assert 'data-testid="excerpt-warning"' in page
    text = "テスト利用規約\n第１条（目的）\n本規約は目的を定めます。\n第２条（変更）\n当社は変更できます。\n以上\n"
    version_articles_replace(scope=Scope.staff(editor), version=draft, doc=parse_terms(text))
    draft.refresh_from_db()
    assert draft.is_excerpt is False
    page = client.get(reverse("console:version-edit", args=[draft.pk])).content.decode()
    assert 'data-testid="excerpt-warning"' not in page


def test_version_schedule_r7_refuses_a_draft_built_on_a_withdrawn_version(
    draft, document, editor, publisher
) -> None:
    """A withdrawn version never took effect and customers were told so: a draft copied from
    it while it was scheduled cannot bring its changes back unannounced."""
    scheduled = _schedule(draft, publisher)
    follow_up = version_draft_create(
        scope=Scope.staff(editor), document=document, label="2025-05", based_on=scheduled
    )
    article_upsert(
        scope=Scope.staff(editor), version=follow_up, number=4, title="追加", body="追加の条です。"
    )
    version_withdraw(scope=Scope.staff(editor), version=scheduled, reason="取りやめ")
    with pytest.raises(ValidationFailed) as refused:
        _schedule(follow_up, publisher, effective_on=TODAY + timedelta(days=14))
    assert refused.value.code == "based_on_withdrawn"
    follow_up.refresh_from_db()
    assert follow_up.status == VersionStatus.DRAFT
