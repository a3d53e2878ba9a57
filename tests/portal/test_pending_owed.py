"""Pending answers that are not owed (R4): a revision that took effect before the tenant's
contract began, or takes effect after it ends, is never shown as 未回答 or pending."""

from __future__ import annotations

from datetime import date

import pytest

from agreements.enums import ConsentMode, VersionStatus
from agreements.services.consents import consents_apply_effective
from core import clock
from tests.factories.agreements import DocumentFactory
from tests.factories.consents import posted_version
from tests.factories.contracts import biz_product, idplus_product, make_contract
from tests.factories.tenants import MembershipFactory, TenantFactory
from tests.portal.conftest import build_world, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.mark.parametrize("product", [biz_product, idplus_product], ids=["biz", "idplus"])
def test_pending_r4_a_2022_revision_is_not_unanswered_for_a_contract_from_2026(db, product) -> None:
    made = product()
    document = DocumentFactory(product=made, title="規約", slug="terms-2022")
    v2022 = posted_version(
        document,
        mode=ConsentMode.EXPLICIT,
        notice_on=date(2022, 4, 11),
        effective_on=date(2022, 4, 19),
        status=VersionStatus.EFFECTIVE,
        label="2022-04",
    )
    tenant = TenantFactory(name="新規商事株式会社")
    make_contract(tenant=tenant, product=made, start_date=date(2026, 1, 5))
    admin = MembershipFactory(tenant=tenant, role="admin")
    client = signed_in(admin)
    with clock.frozen_at(date(2026, 2, 1)):
        home = client.get("/portal/").content.decode()
        review = client.get(f"/portal/changes/{v2022.pk}/").content.decode()
    assert 'data-testid="pending-document"' not in home
    assert 'data-testid="gate-banner"' not in home
    assert "badge-no_answer" not in home
    assert "badge-outstanding" not in home
    assert 'data-testid="not-owed"' in review
    # The badge agrees with the page (no 未回答 beside 回答は不要), and no deadline from 2022
    # is given for an answer nobody owes.
    assert 'data-testid="consent-status">回答不要<' in review
    assert "badge-no_answer" not in review
    assert "2022年4月18日（月）" not in review
    assert "未回答" not in review.split('data-testid="answer-so-far"')[1].split("</dd>")[0]
    assert 'data-testid="accept"' not in review


def test_pending_r4_a_revision_effective_after_the_filed_end_is_not_pending(
    world, admin_client
) -> None:
    admin_client.post(
        f"/portal/contracts/{world.contract.pk}/termination/",
        {"end_date": "2025-03-25", "confirm": "on"},
    )
    home = admin_client.get("/portal/").content.decode()
    assert 'data-testid="pending-document"' not in home
    assert 'data-testid="not-owed"' in home
    review = admin_client.get(f"/portal/changes/{world.v2.pk}/").content.decode()
    assert 'data-testid="not-owed"' in review
    assert 'data-testid="accept"' not in review


@pytest.mark.parametrize(
    ("mode", "label", "not_label"),
    [
        (ConsentMode.DEEMED, "回答なし（改定は適用されています）", "未同意（期限超過）"),
        (ConsentMode.EXPLICIT, "未同意（期限超過）", "回答なし（改定は適用されています）"),
    ],
    ids=["548-4-ground", "explicit-consent"],
)
def test_r4_unanswered_revision_on_a_548_4_ground_is_not_called_overdue(
    db, mode, label, not_label
) -> None:
    """An ID+ revision on a CC 548-4(1)(ii) ground applies from its effective date whatever the
    tenant answered: unanswered after that date it is "no answer, the revision applies", not
    "not consented (overdue)" — which stays the name for a revision that needs consent."""
    world = build_world(mode=mode)
    with clock.frozen_at(date(2025, 4, 2)):
        consents_apply_effective(version=world.v2, today=date(2025, 4, 1))
        client = signed_in(world.admin)
        home = client.get("/portal/").content.decode()
        review = client.get(f"/portal/changes/{world.v2.pk}/").content.decode()
    for page in (home, review):
        assert label in page
        assert not_label not in page
    # The console dashboard counts them under the column 未同意（期限超過） but says the
    # revision applies, where it does.
    from django.test import Client

    from tests.factories.tenants import StaffFactory

    staff = Client()
    staff.force_login(StaffFactory(is_superuser=True))
    with clock.frozen_at(date(2025, 4, 2)):
        dashboard = staff.get("/console/dashboard/").content.decode()
    assert ('data-testid="applies-anyway"' in dashboard) == (mode == ConsentMode.DEEMED)


def test_r4_a_reminder_of_a_revision_on_a_548_4_ground_asks_for_an_answer_not_consent(
    db,
) -> None:
    """An ID+ revision on a CC 548-4(1)(ii) ground applies without consent: its reminder asks
    for an answer and never says consent is missing (同意が未了)."""
    from agreements.services.consents.reminders import consent_remind_now
    from core.enums import EventKind
    from core.models import Outbox
    from tenants.delivery.email import email_render
    from tenants.scope import Scope
    from tests.factories.tenants import StaffFactory

    world = build_world(mode=ConsentMode.DEEMED)
    with clock.frozen_at(date(2025, 4, 2)):
        consents_apply_effective(version=world.v2, today=date(2025, 4, 1))
        sent = consent_remind_now(
            scope=Scope.staff(StaffFactory(is_superuser=True)), version=world.v2
        )
    assert sent.sent == 1
    row = Outbox.objects.filter(kind=EventKind.CONSENT_REMINDER).first()
    subject, text, html = email_render(row)
    for body in (subject, text, html):
        assert "同意が未了" not in body
        assert "同意のご回答をいただいていません" not in body
    assert "個別のご同意がなくても2025年4月1日（火）から効力を生じています" in text
