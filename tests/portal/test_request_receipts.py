"""R13: every customer request — non-renewal, termination, deletion — is shown for confirmation
before it is filed, then gets a receipt page and a PDF like a consent answer, and shows as
依頼済み on the contract page (with withdrawal where the service allows it)."""

from __future__ import annotations

from datetime import date

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from agreements.enums import DeletionKind
from agreements.models import DataDeletion, NonRenewalRequest, Termination
from agreements.services.redaction import tenant_redact
from core import clock
from core.models import AuditEntry, Outbox
from tenants.delivery.email import email_render
from tests.factories.contracts import biz_product, idplus_product
from tests.factories.tenants import MembershipFactory
from tests.portal.conftest import build_world, signed_in
from web.receipts import request_digest, request_receipt_context

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def answered(world, admin_client):
    admin_client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"})
    return world


def _writes() -> tuple[int, int, int]:
    return (NonRenewalRequest.objects.count(), Outbox.objects.count(), AuditEntry.objects.count())


def test_r13_non_renewal_is_confirmed_then_filed_on_its_deadline_day_with_a_receipt(
    answered, admin_client
) -> None:
    contract = answered.contract
    url = f"/portal/contracts/{contract.pk}/non-renewal/"
    with clock.frozen_at(date(2025, 2, 28)):
        before = _writes()
        shown = admin_client.post(url)
        page = shown.content.decode()
        assert shown.status_code == 200
        assert 'data-testid="confirm-step"' in page
        assert "2025年3月31日（月）" in page  # the end the service would record
        assert "2025年2月28日（金）まではポータルから取り下げられます" in page
        assert "終了日（2025年3月31日）をもってアカウントは削除され" in page  # ID+ 9.2
        assert _writes() == before  # the preview left nothing: no row, no e-mail, no audit
        filed = admin_client.post(url, {"confirm": "1", "end_date": "2025-03-31"}, follow=True)
    request = NonRenewalRequest.objects.get(contract=contract)
    assert filed.redirect_chain[-1][0] == f"/portal/requests/non-renewal/{request.pk}/"
    receipt = filed.content.decode()
    for text in (
        "更新しない旨の申込の受領証",
        "管理 太郎",
        "2025年3月31日（月）",
        "2025年2月28日（金）",
        request_digest("non-renewal", request),
    ):
        assert text in receipt, text
    pdf = admin_client.get(f"/portal/requests/non-renewal/{request.pk}/pdf/")
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    with clock.frozen_at(date(2025, 2, 28)):
        detail = admin_client.get(f"/portal/contracts/{contract.pk}/").content.decode()
    assert 'data-testid="non-renewal-requested"' in detail
    assert f"/portal/requests/non-renewal/{request.pk}/" in detail
    assert "申込を取り下げる" in detail  # the service allows withdrawal until the deadline


def test_r13_termination_is_confirmed_then_filed_with_a_receipt(answered, admin_client) -> None:
    contract = answered.contract
    url = f"/portal/contracts/{contract.pk}/termination/"
    shown = admin_client.post(url, {"end_date": "2025-03-25", "note": "移行のため"})
    assert shown.status_code == 200
    assert 'data-testid="confirm-step"' in shown.content.decode()
    assert not Termination.objects.filter(contract=contract).exists()
    filed = admin_client.post(
        url, {"end_date": "2025-03-25", "note": "移行のため", "confirm": "1"}, follow=True
    )
    termination = Termination.objects.get(contract=contract)
    assert termination.note == "移行のため"
    body = filed.content.decode()
    assert "解約の申込の受領証" in body
    assert "2025年3月25日（火）" in body
    detail = admin_client.get(f"/portal/contracts/{contract.pk}/").content.decode()
    assert 'data-testid="termination-requested"' in detail
    assert f"/portal/requests/termination/{termination.pk}/" in detail


def test_r13_deletion_is_confirmed_then_filed_with_a_receipt(answered, admin_client) -> None:
    contract = answered.contract
    admin_client.post(
        f"/portal/contracts/{contract.pk}/termination/", {"end_date": "2025-03-20", "confirm": "1"}
    )
    url = f"/portal/contracts/{contract.pk}/deletion/"
    shown = admin_client.post(url)
    assert "2025年3月24日（月）" in shown.content.decode()
    # R15: ID+ terms give no deletion date of their own; the day is when the product is told.
    assert "製品へ削除を指示する日" in shown.content.decode()
    assert "削除の期日" not in shown.content.decode()
    assert not DataDeletion.objects.filter(kind=DeletionKind.REQUESTED).exists()
    filed = admin_client.post(url, {"confirm": "1"}, follow=True)
    deletion = DataDeletion.objects.get(contract=contract, kind=DeletionKind.REQUESTED)
    assert "データ削除の依頼の受領証" in filed.content.decode()
    # R15: the ID+ receipt, like its confirmation, gives no deletion date the terms lack.
    assert "製品へ削除を指示する日" in filed.content.decode()
    assert "削除の期日" not in filed.content.decode()
    detail = admin_client.get(f"/portal/contracts/{contract.pk}/").content.decode()
    assert f"/portal/requests/deletion/{deletion.pk}/" in detail
    listing = admin_client.get("/portal/receipts/").content.decode()
    assert f"/portal/requests/deletion/{deletion.pk}/pdf/" in listing
    assert "/portal/requests/termination/" in listing


def test_r13_a_viewer_sees_the_receipt_and_another_tenant_gets_404(answered, admin_client) -> None:
    contract = answered.contract
    with clock.frozen_at(date(2025, 2, 20)):
        admin_client.post(f"/portal/contracts/{contract.pk}/non-renewal/", {"confirm": "1"})
    request = NonRenewalRequest.objects.get(contract=contract)
    url = f"/portal/requests/non-renewal/{request.pk}/"
    assert signed_in(answered.viewer).get(url).status_code == 200
    other = build_world(name="別テナント株式会社")
    stranger = signed_in(MembershipFactory(tenant=other.tenant, role="admin"))
    assert stranger.get(url).status_code == 404
    assert stranger.get(f"{url}pdf/").status_code == 404
    assert admin_client.get(f"/portal/requests/unknown/{request.pk}/").status_code == 404


def test_r13_a_viewer_cannot_file_even_from_the_confirmation_step(answered, viewer_client) -> None:
    url = f"/portal/contracts/{answered.contract.pk}/non-renewal/"
    with clock.frozen_at(date(2025, 2, 20)):
        assert viewer_client.post(url, {"confirm": "1"}).status_code in (403, 404)
    assert not NonRenewalRequest.objects.exists()


@pytest.mark.parametrize(
    ("product", "fees", "proration"), [("biz", True, False), ("idplus", False, True)]
)
def test_r12_termination_confirmation_says_how_fees_after_the_end_are_handled(
    db, product, fees, proration
) -> None:
    """Biz says nothing of proration (7.2 keeps a settlement only for the company's own ends),
    so a customer's mid-term termination points to the order for fees; ID+ 7.3 says there is
    no proration, and says only that."""
    world = build_world(product=biz_product() if product == "biz" else idplus_product())
    client = signed_in(world.admin)
    with clock.frozen_at(date(2025, 2, 3)):
        page = client.post(
            f"/portal/contracts/{world.contract.pk}/termination/", {"end_date": "2025-03-10"}
        ).content.decode()
    assert ('data-testid="confirm-fees"' in page) is fees
    assert ("料金の日割り計算は行いません" in page) is proration


def test_r12_biz_customer_termination_receipt_and_mail_say_fees_follow_the_order(db) -> None:
    """The confirmation's fee sentence is kept where the filing is proven: the receipt and
    the notice e-mail (Biz; ID+ says 7.3's no proration instead)."""
    world = build_world(product=biz_product())
    client = signed_in(world.admin)
    with clock.frozen_at(date(2025, 2, 3)):
        filed = client.post(
            f"/portal/contracts/{world.contract.pk}/termination/",
            {"end_date": "2025-03-10", "confirm": "1"},
            follow=True,
        ).content.decode()
    assert 'data-testid="receipt-fees"' in filed
    assert "終了日より後の期間の料金の取り扱いは、ご契約（注文書）の定めによります。" in filed
    mail = Outbox.objects.filter(kind="contract.termination", channel="email").first()
    assert mail is not None
    _subject, text, _html = email_render(mail)
    assert "終了日より後の期間の料金の取り扱いは、ご契約（注文書）の定めによります。" in text


def _file(client, contract, kind: str) -> None:
    base = f"/portal/contracts/{contract.pk}"
    if kind == "deletion":
        client.post(f"{base}/termination/", {"end_date": "2025-03-20", "confirm": "1"})
        client.post(f"{base}/deletion/", {"confirm": "1"})
    elif kind == "termination":
        client.post(f"{base}/termination/", {"end_date": "2025-03-20", "confirm": "1"})
    else:
        with clock.frozen_at(date(2025, 2, 20)):
            client.post(f"{base}/non-renewal/", {"confirm": "1"})


_REQUESTS = {
    "non-renewal": lambda contract: NonRenewalRequest.objects.get(contract=contract),
    "termination": lambda contract: Termination.objects.get(contract=contract),
    "deletion": lambda contract: DataDeletion.objects.get(
        contract=contract, kind=DeletionKind.REQUESTED
    ),
}


def _person(page: str) -> str:
    return page.split('data-testid="receipt-person">', 1)[1].split("</dd>", 1)[0]


def _filed_by_titled_admin(world, kind: str):
    """The admin, titled 情報システム部長, files `kind`: their client and the request."""
    admin = world.admin
    admin.title = "情報システム部長"
    admin.save(update_fields=["title"])
    client = signed_in(admin)
    _file(client, world.contract, kind)
    return client, _REQUESTS[kind](world.contract)


@pytest.mark.parametrize("kind", ["non-renewal", "termination", "deletion"])
def test_r13_request_receipt_names_the_filer_with_their_title(answered, kind) -> None:
    """As a consent receipt names the answerer: name and title (役職), on the page and in the
    PDF (the same part rendered for weasyprint)."""
    client, obj = _filed_by_titled_admin(answered, kind)
    person = _person(client.get(f"/portal/requests/{kind}/{obj.pk}/").content.decode())
    assert person.startswith("管理 太郎（情報システム部長）<br><small>"), person
    with translation.override("ja"):
        html = render_to_string(
            "agreements/portal/request_receipt_pdf.html",
            request_receipt_context(kind, obj),
        )
    assert "管理 太郎（情報システム部長）" in html
    pdf = client.get(f"/portal/requests/{kind}/{obj.pk}/pdf/")
    assert pdf.content.startswith(b"%PDF")
    # In English the title follows in ASCII brackets, marked as Japanese.
    with translation.override("en"):
        html = render_to_string(
            "agreements/portal/request_receipt_pdf.html",
            request_receipt_context(kind, obj),
        )
    assert '<span lang="ja">管理 太郎</span> (<span lang="ja">情報システム部長</span>)' in html


def test_r13_request_receipt_without_a_title_shows_the_name_alone(answered, admin_client) -> None:
    _file(admin_client, answered.contract, "termination")
    obj = Termination.objects.get(contract=answered.contract)
    person = _person(admin_client.get(f"/portal/requests/termination/{obj.pk}/").content.decode())
    assert person.startswith("管理 太郎<br><small>"), person


@pytest.mark.parametrize("kind", ["non-renewal", "termination", "deletion"])
def test_r13_request_receipt_names_the_filer_as_filed_not_as_the_profile_says_now(
    answered, kind
) -> None:
    """The receipt says its contents are unchanged: a later change of the filer's name, title
    or address must not change it (as a consent receipt keeps the answerer's evidence)."""
    admin = answered.admin
    client, obj = _filed_by_titled_admin(answered, kind)
    filed_email = admin.user.email
    assert client.post(
        "/portal/profile/", {"display_name": "山田 花子", "title": "法務部長"}
    ).status_code in (302, 303)
    admin.refresh_from_db()
    assert admin.title == "法務部長"  # the profile did change
    admin.user.email = "hanako.yamada@example.com"
    admin.user.save(update_fields=["email"])
    person = _person(client.get(f"/portal/requests/{kind}/{obj.pk}/").content.decode())
    assert person.startswith(f"管理 太郎（情報システム部長）<br><small>{filed_email}</small>"), (
        person
    )
    for later in ("山田", "法務部長", "hanako"):
        assert later not in person
    obj = _REQUESTS[kind](answered.contract)
    with translation.override("ja"):
        html = render_to_string(
            "agreements/portal/request_receipt_pdf.html", request_receipt_context(kind, obj)
        )
    assert "管理 太郎（情報システム部長）" in html
    assert "山田" not in html
    assert "法務部長" not in html


def test_r13_a_request_filed_before_the_filer_was_recorded_names_the_account_address_only(
    answered, admin_client
) -> None:
    """Rows filed before the filer was stored: their name and title then are unknown, so the
    receipt gives the account's address and says the rest was not recorded, rather than
    presenting today's profile as the filer's at filing."""
    _file(admin_client, answered.contract, "termination")
    obj = Termination.objects.get(contract=answered.contract)
    Termination.objects.filter(pk=obj.pk).update(
        filer_name=None, filer_title=None, filer_email=None
    )
    person = _person(admin_client.get(f"/portal/requests/termination/{obj.pk}/").content.decode())
    assert person.startswith(answered.admin.user.email), person
    assert "管理 太郎" not in person
    assert 'data-testid="receipt-person-unrecorded"' in person


def test_r15_redaction_removes_the_filer_named_on_request_receipts(answered, admin_client) -> None:
    _file(admin_client, answered.contract, "deletion")  # a termination, then a deletion request
    termination = Termination.objects.get(contract=answered.contract)
    deletion = DataDeletion.objects.get(contract=answered.contract, kind=DeletionKind.REQUESTED)
    assert termination.filer_name == "管理 太郎"
    # A request filed before the filer was recorded is blanked too (no fallback afterwards).
    DataDeletion.objects.filter(pk=deletion.pk).update(
        filer_name=None, filer_title=None, filer_email=None
    )
    tenant_redact(tenant=answered.tenant)
    for obj, kind in ((termination, "termination"), (deletion, "deletion")):
        obj.refresh_from_db()
        assert (obj.filer_name, obj.filer_title, obj.filer_email) == ("", "", "")
        context = request_receipt_context(kind, obj)
        assert context["filer"] is None
        assert context["verifiable"]  # the receipt's digest does not cover the filer
        with translation.override("ja"):
            html = render_to_string("agreements/portal/request_receipt_pdf.html", context)
        assert "管理 太郎" not in _person(html)
