"""Customers, keys, contracts, cases and search through the console (thin views over services)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from agreements.enums import CaseStatus, ContractStatus, TerminationStatus
from agreements.models import Contract, TerminationCase
from agreements.services.consents import consent_answer
from agreements.templatetags.jdates import jdate_wd
from core import apiversions, clock
from core.models import AuditEntry, Outbox
from tenants.models import PartnerAPIKey, Tenant
from tenants.scope import Scope
from tests.console.conftest import post_revision

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_partner_create_and_key_shown_once(client, world, publisher) -> None:
    client.force_login(publisher)
    response = client.post(
        reverse("console:partner-list"), {"code": "new-partner", "name": "新パートナー株式会社"}
    )
    assert response.status_code == 302
    partner = world.partner.__class__.objects.get(code="new-partner")
    issued = client.post(
        reverse("console:partner-key-issue", args=[partner.pk]),
        {"name": "本番", "scopes": ["read", "write"]},
    )
    assert issued.status_code == 200
    assert issued["Cache-Control"] == "no-store"
    plain = issued.context["issued_key"]
    assert plain in issued.content.decode()
    key = PartnerAPIKey.objects.get(partner=partner)
    assert plain not in key.hashed_key
    again = client.get(reverse("console:partner-detail", args=[partner.pk]))
    assert plain not in again.content.decode()
    # The API version the key is pinned to (docs/api.md, Versions) is shown with it.
    assert key.api_version == apiversions.current()
    assert f"APIバージョン {key.api_version}" in again.content.decode()
    client.post(reverse("console:partner-key-revoke", args=[partner.pk, key.pk]))
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert AuditEntry.objects.filter(object_id=key.pk, action="revoke_key").exists()


def test_duplicate_partner_code_is_refused_beside_the_field(client, world, editor) -> None:
    client.force_login(editor)
    response = client.post(
        reverse("console:partner-list"), {"code": world.partner.code, "name": "同じコード"}
    )
    assert response.status_code == 400
    assert response.context["form"].errors["code"]


def test_tenant_create_direct_and_invalid_corporate_number(client, world, editor) -> None:
    client.force_login(editor)
    url = reverse("console:tenant-create")
    bad = client.post(
        url, {"name": "誤番号株式会社", "corporate_number": "1234567890123", "locale": "ja"}
    )
    assert bad.status_code == 400
    assert bad.context["form"].errors["corporate_number"]
    good = client.post(url, {"name": "直販株式会社", "corporate_number": "", "locale": "ja"})
    tenant = Tenant.objects.get(name="直販株式会社")
    assert good["Location"] == reverse("console:tenant-detail", args=[tenant.pk])
    assert tenant.partner is None


def test_invitation_and_roles_from_the_tenant_page(client, world, editor) -> None:
    client.force_login(editor)
    client.post(
        reverse("console:tenant-invite", args=[world.tenant.pk]),
        {"email": "new.admin@customer.example", "role": "admin"},
    )
    page = client.get(reverse("console:tenant-detail", args=[world.tenant.pk]))
    assert "new.admin@customer.example" in page.content.decode()
    invitation = page.context["invitations"][0]
    client.post(reverse("console:invitation-revoke", args=[invitation.pk]))
    invitation.refresh_from_db()
    assert invitation.status == "revoked"


def test_direct_contract_and_its_facts(client, world, editor) -> None:
    client.force_login(editor)
    tenant = Tenant.objects.create(name="契約テスト株式会社")
    response = client.post(
        reverse("console:contract-create", args=[tenant.pk]),
        {
            "product": world.contract.product_id,
            "start_date": "2025-04-01",
            "term_months": "12",
            "auto_renew": "true",
            "notice_months": "1",
            "billing_cycle": "annual",
            "amount_jpy": "360000",
        },
    )
    contract = Contract.objects.get(tenant=tenant)
    assert response["Location"] == reverse("console:contract-detail", args=[contract.pk])
    page = client.get(response["Location"])
    facts = page.context["facts"]
    assert facts.liability_cap_jpy == 90000  # R17: a quarter of the annual fee
    assert "90,000" in page.content.decode()


def test_staff_termination_is_notified(client, world, publisher) -> None:
    client.force_login(publisher)
    end = clock.today() + timedelta(days=30)
    response = client.post(
        reverse("console:contract-terminate", args=[world.contract.pk]),
        {
            "reason": "non_payment",
            "end_date": end.isoformat(),
            "note": "督促不要（13条1項）",
            "confirm": "1",
        },
    )
    assert response.status_code == 302
    termination = world.contract.terminations.get()
    assert termination.status == TerminationStatus.SCHEDULED
    assert termination.notice_outbox_id is not None  # R14: a notice always goes out


def test_staff_termination_reason_starts_blank_and_a_post_without_it_is_refused(
    client, world, publisher
) -> None:
    client.force_login(publisher)
    outbox = Outbox.objects.count()
    url = reverse("console:contract-detail", args=[world.contract.pk])
    form = client.get(url).context["termination_form"]
    page = client.get(url).content.decode()
    select = page[
        page.index('name="reason"') : page.index("</select>", page.index('name="reason"'))
    ]
    assert form["reason"].value() in (None, "")
    assert '<option value="" selected>' in select  # nothing chosen for staff (no 13.1.1 default)
    assert 'value="non_payment" selected' not in select
    end = clock.today() + timedelta(days=30)
    refused = client.post(
        reverse("console:contract-terminate", args=[world.contract.pk]),
        {"reason": "", "end_date": end.isoformat(), "confirm": "1"},
    )
    assert refused.status_code == 400
    assert refused.context["termination_form"].errors["reason"] == [
        "解約の事由を選択してください。"
    ]
    assert not world.contract.terminations.exists()
    assert Outbox.objects.count() == outbox


def test_staff_termination_first_post_shows_the_confirmation_and_records_nothing(
    client, world, publisher
) -> None:
    client.force_login(publisher)
    end = clock.today() + timedelta(days=30)
    outbox, audit = Outbox.objects.count(), AuditEntry.objects.count()
    response = client.post(
        reverse("console:contract-terminate", args=[world.contract.pk]),
        {"reason": "non_payment", "end_date": end.isoformat(), "note": "督促不要"},
    )
    assert response.status_code == 200
    assert response.templates[0].name == "agreements/console/termination_confirm.html"
    page = response.content.decode()
    assert "第13条第1項第1号：お客様が利用料金を支払わないとき" in page
    assert jdate_wd(end) in page
    assert 'data-testid="confirm-notified"' in page
    assert 'data-testid="page-heading"' in page
    assert " autofocus" in page
    assert 'name="confirm" value="1"' in page
    assert "<script" not in page.split("<main", 1)[-1]
    # Nothing recorded and nothing sent: the service ran only inside a rolled-back savepoint.
    assert not world.contract.terminations.exists()
    assert (Outbox.objects.count(), AuditEntry.objects.count()) == (outbox, audit)
    world.contract.refresh_from_db()
    assert world.contract.status == ContractStatus.ACTIVE
    # The confirmation page's own form records it.
    done = client.post(
        reverse("console:contract-terminate", args=[world.contract.pk]),
        {"reason": "non_payment", "end_date": end.isoformat(), "note": "督促不要", "confirm": "1"},
    )
    assert done.status_code == 302
    termination = world.contract.terminations.get()
    assert (termination.reason, termination.end_date, termination.note) == (
        "non_payment",
        end,
        "督促不要",
    )
    assert termination.notice_outbox_id is not None


def test_termination_in_the_past_is_refused_beside_the_form(client, world, publisher) -> None:
    client.force_login(publisher)
    response = client.post(
        reverse("console:contract-terminate", args=[world.contract.pk]),
        {"reason": "non_payment", "end_date": "2000-01-01"},
    )
    assert response.status_code == 400
    assert response.context["termination_form"].errors
    world.contract.refresh_from_db()
    assert world.contract.status == ContractStatus.ACTIVE


def test_cases_show_the_prospective_date_and_can_be_confirmed_or_dropped(
    client, world, editor, publisher
) -> None:
    version = post_revision(
        document=world.document, editor=editor, publisher=publisher, today=clock.today()
    )
    consent_answer(scope=Scope.system(), tenant=world.tenant, version=version, answer="rejected")
    case = TerminationCase.objects.get(tenant=world.tenant)
    client.force_login(publisher)
    listing = client.get(reverse("console:case-list"))
    row = listing.context["rows"][0]
    assert row["case"] == case
    assert row["prospective"] == max(version.effective_on, clock.today() + timedelta(days=30))
    # R6: a deemed-mode (Biz 2.1) revision: whether 2.4 reaches it is disputed, staff are told.
    assert row["reach_disputed"] is True
    assert 'data-testid="reach-disputed"' in listing.content.decode()
    client.post(reverse("console:case-decide", args=[case.pk, "drop"]), {"note": "継続"})
    case.refresh_from_db()
    assert case.status == CaseStatus.DROPPED


def test_search_finds_by_corporate_number_and_id(client, world, viewer) -> None:
    client.force_login(viewer)
    # Full-width digits with hyphens, as typed with an IME.
    response = client.get(reverse("console:search"), {"q": "７０００－０１２０５０００２"})
    assert response["Location"] == reverse("console:tenant-detail", args=[world.tenant.pk])
    by_name = client.get(reverse("console:search"), {"q": world.partner.name})
    assert by_name["Location"] == reverse("console:partner-detail", args=[world.partner.pk])
    by_ref = client.get(reverse("console:search"), {"q": "該当なしの名前"})
    assert by_ref.status_code == 200
    assert by_ref.context["result"].total == 0


def test_dashboard_csv_has_a_bom(client, world, viewer, editor, publisher) -> None:
    post_revision(document=world.document, editor=editor, publisher=publisher, today=clock.today())
    client.force_login(viewer)
    response = client.get(reverse("console:dashboard"), {"format": "csv"})
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    lines = response.content.decode("utf-8-sig").splitlines()
    assert len(lines) == 2
    assert lines[1].split(",")[4] == "1"  # one bound tenant


def test_non_renewal_recorded_and_withdrawn(client, world, editor) -> None:
    world.contract.auto_renew = True
    world.contract.notice_months = 1
    world.contract.save(update_fields=["auto_renew", "notice_months"])
    client.force_login(editor)
    with time_machine.travel(datetime(2025, 1, 10, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))):
        response = client.post(
            reverse("console:contract-non-renewal", args=[world.contract.pk]), {}
        )
        assert response.status_code == 302
        application = world.contract.non_renewal_requests.get()
        assert application.end_date == date(2025, 3, 31)
        client.post(
            reverse(
                "console:contract-non-renewal-withdraw", args=[world.contract.pk, application.pk]
            )
        )
        application.refresh_from_db()
        assert application.status == "withdrawn"


def test_late_non_renewal_names_the_deadline_beside_the_field(client, world, editor) -> None:
    world.contract.auto_renew = True
    world.contract.notice_months = 1
    world.contract.save(update_fields=["auto_renew", "notice_months"])
    client.force_login(editor)
    with time_machine.travel(datetime(2025, 3, 10, 10, 0, tzinfo=ZoneInfo("Asia/Tokyo"))):
        response = client.post(
            reverse("console:contract-non-renewal", args=[world.contract.pk]), {}
        )
    assert response.status_code == 400
    errors = response.context["non_renewal_form"].errors
    assert "2025-02-28" in str(errors)


@pytest.mark.parametrize(
    ("language", "words"), [("ja", "解釈に争いあり"), ("en", "Reading disputed")]
)
def test_r17_console_shows_the_disputed_lump_sum_reading_beside_the_cap(
    client, world, editor, language, words
) -> None:
    """A 36-month right of use bought for 360,000: 30,000 under the service's reading, the
    payment itself under the other; staff see both, never one figure as settled."""
    client.force_login(editor)
    tenant = Tenant.objects.create(name="一括払い株式会社")
    response = client.post(
        reverse("console:contract-create", args=[tenant.pk]),
        {
            "product": world.contract.product_id,
            "start_date": "2025-04-01",
            "term_months": "36",
            "billing_cycle": "lump_sum",
            "lump_sum_jpy": "360000",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(response["Location"], HTTP_ACCEPT_LANGUAGE=language)
    html = page.content.decode()
    assert words in html
    assert "30,000" in html
    assert "360,000" in html
    assert 'data-testid="liability-cap-disputed"' in html
