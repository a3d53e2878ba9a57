"""R3 in the console: staff record an out-of-band delivery of a posted notice to an
`unnotified` tenant (from the dashboard's drill-down or the tenant page); the tenant is then
deemed once the lead time has run, and its receipt says how the notice reached it."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.urls import reverse

from agreements.enums import Answer, ConsentStatus, LegalBasis, NoticeRoute, VersionStatus
from agreements.models import ConsentRecord, ConsentState, NoticeDelivery, TermsVersion
from agreements.services.consents import consents_apply_effective
from agreements.services.consents.effective import deemed_after_late_delivery
from core import clock
from core.enums import AuditAction
from core.models import AuditEntry
from tenants.enums import Role
from tests.console.conftest import make_staff
from tests.factories.consents import EFFECTIVE_ON, bound_tenant, delivered, posted_version
from tests.factories.tenants import MembershipFactory
from tests.portal.conftest import signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

LATE = date(2025, 4, 10)  # the day the notice reached the tenant by post, after the effective date


def _unnotified():
    # Optimal Biz (its terms have R3), a type-(i) change: seven days' lead (R2).
    version = posted_version(legal_basis=LegalBasis.GENERAL_INTEREST)
    reached = bound_tenant(version.document).tenant
    tenant = bound_tenant(version.document).tenant  # no e-mail, no portal visit
    delivered(version, reached)
    with clock.frozen_at(EFFECTIVE_ON):
        consents_apply_effective(version=version, today=EFFECTIVE_ON)
    TermsVersion.objects.filter(pk=version.pk).update(status=VersionStatus.EFFECTIVE)
    version.refresh_from_db()
    assert ConsentState.objects.get(tenant=tenant).status == ConsentStatus.UNNOTIFIED
    return version, tenant


def _url(version, tenant) -> str:
    return reverse("console:notice-delivery", args=[version.pk, tenant.pk])


def test_notice_delivery_r3_drill_down_of_unnotified_links_to_the_form(client) -> None:
    version, tenant = _unnotified()
    drill = reverse("console:dashboard-drill", args=[version.pk]) + "?status=unnotified"
    client.force_login(make_staff("publisher"))
    page = client.get(drill).content.decode()
    assert tenant.name in page
    assert _url(version, tenant) in page
    client.force_login(make_staff("viewer"))
    assert 'data-testid="record-delivery"' not in client.get(drill).content.decode()


def test_notice_delivery_r3_tenant_page_links_to_the_form(client) -> None:
    version, tenant = _unnotified()
    client.force_login(make_staff("publisher"))
    page = client.get(reverse("console:tenant-detail", args=[tenant.pk])).content.decode()
    assert _url(version, tenant) in page


def test_notice_delivery_r3_publisher_records_a_post_delivery_then_the_tenant_is_deemed(
    client,
) -> None:
    version, tenant = _unnotified()
    publisher = make_staff("publisher")
    client.force_login(publisher)
    with clock.frozen_at(LATE + timedelta(days=1)):
        assert client.get(_url(version, tenant)).status_code == 200
        response = client.post(
            _url(version, tenant),
            {"route": NoticeRoute.POST, "reached_on": LATE.isoformat(), "note": "簡易書留 123"},
        )
    assert response.status_code == 302
    assert response["Location"] == reverse("console:tenant-detail", args=[tenant.pk])
    delivery = NoticeDelivery.objects.get(tenant=tenant, version=version)
    assert (delivery.route, delivery.recorded_by_id, delivery.note) == (
        NoticeRoute.POST,
        publisher.pk,
        "簡易書留 123",
    )
    assert delivery.reached_at == clock.start_of_day(LATE)
    assert AuditEntry.objects.filter(
        action=AuditAction.CREATE, tenant_id=tenant.pk, object_id=delivery.pk
    ).exists()
    # The page now lists it; the lead time (7 days) runs from the delivery (R3).
    with clock.frozen_at(LATE + timedelta(days=7)):
        assert deemed_after_late_delivery(today=LATE + timedelta(days=7))["deemed"] == 1
    record = ConsentRecord.objects.get(tenant=tenant, answer=Answer.DEEMED)

    # The receipt of the deemed consent says how the notice reached the tenant.
    admin = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    portal = signed_in(admin)
    for language, label in (("ja", "郵送"), ("en", "Post")):
        body = portal.get(
            f"/portal/receipts/{record.pk}/", HTTP_ACCEPT_LANGUAGE=language
        ).content.decode()
        assert 'data-testid="receipt-notice-reached"' in body
        assert label in body, language
        assert "2025" in body


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"route": "post", "reached_on": "2025-04-12", "note": "未来の日付"}, "reached_on"),
        ({"route": "post", "reached_on": "2025-02-01", "note": "掲示前"}, "reached_on"),
        ({"route": "email", "reached_on": "2025-04-10", "note": "メール"}, "route"),
        ({"route": "phone", "reached_on": "2025-04-10", "note": " "}, "note"),
    ],
    ids=["future", "before-posting", "email-is-not-staff-recorded", "no-note"],
)
def test_notice_delivery_r3_refusals_land_on_the_form(client, data, field) -> None:
    version, tenant = _unnotified()
    client.force_login(make_staff("publisher"))
    with clock.frozen_at(LATE + timedelta(days=1)):
        response = client.post(_url(version, tenant), data)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert not NoticeDelivery.objects.filter(tenant=tenant).exists()


@pytest.mark.parametrize("group", ["viewer", "editor"])
def test_notice_delivery_r3_only_the_role_the_service_requires(client, group) -> None:
    version, tenant = _unnotified()
    client.force_login(make_staff(group))
    data = {"route": "post", "reached_on": LATE.isoformat(), "note": "x"}
    with clock.frozen_at(LATE + timedelta(days=1)):
        assert client.get(_url(version, tenant)).status_code == 403
        assert client.post(_url(version, tenant), data).status_code == 403
    assert not NoticeDelivery.objects.filter(tenant=tenant).exists()


def test_receipt_r3_an_answer_cites_no_delivery_and_a_bad_citation_shows_none() -> None:
    from web.receipts import notice_reached

    answered = ConsentRecord(evidence_digests={})
    assert notice_reached(answered) is None
    garbled = ConsentRecord(evidence_digests={"notice_reached": "carrier-pigeon@yesterday#x"})
    assert notice_reached(garbled) is None
    cited = ConsentRecord(
        evidence_digests={"notice_reached": "phone@2025-04-10T01:00:00.000000Z#delivery:3"}
    )
    reach = notice_reached(cited)
    assert reach is not None
    assert (reach.route, reach.ref) == (NoticeRoute.PHONE, "delivery:3")
    assert clock.business_date(reach.reached_at) == date(2025, 4, 10)


def test_truth_table_row6_unnotified_may_reject_as_before_the_effective_date_r6_biz() -> None:
    # Row 6: the notice never reached the tenant; an objection still answers the change, and
    # on an Optimal Biz contract it opens an R6 case (Biz 2.4).
    from agreements.models import TerminationCase
    from agreements.services.consents.answers import consent_answer
    from tests.factories.consents import admin_scope

    version, tenant = _unnotified()
    with clock.frozen_at(LATE):
        record, created = consent_answer(
            scope=admin_scope(tenant), tenant=tenant, version=version, answer=Answer.REJECTED
        )
    assert (created, record.answer) == (True, Answer.REJECTED)
    assert ConsentState.objects.get(tenant=tenant).status == ConsentStatus.REJECTED
    assert TerminationCase.objects.filter(tenant=tenant, version=version).count() == 1
