"""R13: every customer request — non-renewal, termination, deletion — is shown for confirmation
before it is filed, then gets a receipt page and a PDF like a consent answer, and shows as
依頼済み on the contract page (with withdrawal where the service allows it)."""

from __future__ import annotations

import hashlib
from datetime import date

import pytest
from django.template.loader import render_to_string
from django.utils import translation

from agreements.enums import DeletionKind
from agreements.ledger.rows import canonical_json
from agreements.models import DataDeletion, NonRenewalRequest, Termination
from agreements.services import contracts as contract_services
from agreements.services import deletions as deletion_services
from agreements.services.redaction import tenant_redact
from core import clock
from core.enums import EventKind, OutboxChannel
from core.models import AuditEntry, Event, Outbox
from tenants.delivery.email import email_render
from tenants.scope import Scope
from tests.factories.contracts import biz_product, idplus_product
from tests.factories.tenants import MembershipFactory, StaffFactory
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
        assert "終了日（2025年3月31日（月））をもってアカウントは削除され" in page  # ID+ 9.2
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


# --- R13: every request is confirmed by e-mail and its receipt names the channel ------------

_EMAILS = {
    "non-renewal": EventKind.NON_RENEWAL_RECEIVED,
    "termination": EventKind.TERMINATION,
    "deletion": EventKind.DELETION_REQUESTED,
}


@pytest.mark.parametrize("kind", ["non-renewal", "termination", "deletion"])
def test_r13_every_customer_request_is_confirmed_by_email_through_the_outbox(
    answered, admin_client, kind
) -> None:
    """A deletion request is confirmed like a non-renewal or a termination: an event for the
    partner's feed and an e-mail in the outbox, written with the request."""
    _file(admin_client, answered.contract, kind)
    obj = _REQUESTS[kind](answered.contract)
    event = Event.objects.get(kind=_EMAILS[kind], subject_id=obj.pk)
    assert event.tenant_id == answered.tenant.pk
    mails = Outbox.objects.filter(event=event, channel=OutboxChannel.EMAIL)
    assert mails.exists()
    assert {row.tenant_id for row in mails} == {answered.tenant.pk}


def test_r15_deletion_request_email_gives_the_day_the_receipt_and_the_way_back(
    answered, admin_client
) -> None:
    contract = answered.contract
    admin_client.post(
        f"/portal/contracts/{contract.pk}/termination/", {"end_date": "2025-03-20", "confirm": "1"}
    )
    url = f"/portal/contracts/{contract.pk}/deletion/"
    admin_client.post(url)  # the confirmation step sends nothing
    assert not Event.objects.filter(kind=EventKind.DELETION_REQUESTED).exists()
    assert not Outbox.objects.filter(kind=EventKind.DELETION_REQUESTED).exists()
    admin_client.post(url, {"confirm": "1"})
    deletion = DataDeletion.objects.get(contract=contract, kind=DeletionKind.REQUESTED)
    row = Outbox.objects.filter(
        kind=EventKind.DELETION_REQUESTED, channel=OutboxChannel.EMAIL
    ).first()
    assert row is not None
    receipt = f"http://127.0.0.1:8000/portal/requests/deletion/{deletion.pk}/"
    subject, text, html = email_render(row)
    assert subject == "OPTiM ID+ データ削除のご依頼を受け付けました"
    for body in (text, html):
        assert "ご契約の終了日: 2025年3月20日（木）" in body
        # ID+ terms give no deletion date of their own: the day the product is told (R15).
        assert "製品へ削除を指示する日: " in body
        assert "2025年3月24日（月）" in body
        assert "削除の期日" not in body
        assert "ご依頼を取り下げることができます" in body
    assert f"受領証: {receipt}" in text
    assert f'href="{receipt}"' in html
    row.locale = "en"
    subject, text, _html = email_render(row)
    assert subject == "OPTiM ID+: data deletion request received"
    assert "Day the product is told to delete: Mon, 24 Mar 2025" in text
    assert f"Receipt: {receipt}" in text


def test_r15_biz_deletion_request_email_gives_the_deletion_date_with_its_article(today) -> None:
    world = build_world(name="削除商事", product=biz_product())
    client = signed_in(world.admin)
    _file(client, world.contract, "deletion")
    row = Outbox.objects.filter(
        kind=EventKind.DELETION_REQUESTED, channel=OutboxChannel.EMAIL
    ).first()
    assert row is not None
    _subject, text, _html = email_render(row)
    assert "削除の期日: 2025年3月24日（月）" in text
    assert "この日までにデータを削除します（利用規約第10条第3項）" in text


@pytest.mark.parametrize("kind", ["non-renewal", "termination", "deletion"])
def test_r13_request_receipt_names_the_channel_on_the_page_and_in_the_pdf(answered, kind) -> None:
    client = signed_in(answered.admin)
    _file(client, answered.contract, kind)
    obj = _REQUESTS[kind](answered.contract)
    assert obj.channel == "portal"
    page = client.get(f"/portal/requests/{kind}/{obj.pk}/").content.decode()
    assert "<dt>経路</dt><dd>ポータル</dd>" in page
    with translation.override("ja"):
        pdf_html = render_to_string(
            "agreements/portal/request_receipt_pdf.html", request_receipt_context(kind, obj)
        )
    assert "<dt>経路</dt><dd>ポータル</dd>" in pdf_html
    with translation.override("en"):
        pdf_html = render_to_string(
            "agreements/portal/request_receipt_pdf.html", request_receipt_context(kind, obj)
        )
    assert "<dt>Channel</dt><dd>Portal</dd>" in pdf_html


def test_r13_deletion_filed_by_staff_names_the_console_as_its_channel(answered) -> None:
    contract = answered.contract
    with clock.frozen_at(date(2025, 2, 20)):
        contract_services.non_renewal_request(
            scope=Scope.tenant_user(answered.admin), contract=contract
        )
    deletion = deletion_services.deletion_request(
        scope=Scope.staff(StaffFactory()), contract=contract
    )
    assert deletion.channel == "console"
    context = request_receipt_context("deletion", deletion)
    assert context["verifiable"] is True
    with translation.override("ja"):
        html = render_to_string("agreements/portal/request_receipt_pdf.html", context)
    assert "<dt>経路</dt><dd>管理コンソール</dd>" in html


def test_r13_deletion_digest_covers_its_channel_and_older_receipts_still_verify(
    answered, admin_client
) -> None:
    _file(admin_client, answered.contract, "deletion")
    deletion = _REQUESTS["deletion"](answered.contract)
    filed = request_digest("deletion", deletion)
    assert request_receipt_context("deletion", deletion)["verifiable"] is True
    deletion.channel = "api"  # a rewritten channel no longer matches the receipt
    assert request_digest("deletion", deletion) != filed
    # A request filed before the channel was recorded hashes as it did then.
    deletion.channel = ""
    before = {
        "kind": "deletion",
        "id": deletion.pk,
        "tenant": deletion.tenant_id,
        "contract": deletion.contract_id,
        "filed_at": deletion.created_at.isoformat(),
        "requested_on": deletion.requested_on.isoformat(),
        "due_on": deletion.due_on.isoformat(),
    }
    expected = hashlib.sha256(canonical_json(before)).hexdigest()
    assert request_digest("deletion", deletion) == expected


def test_request_receipt_is_named_and_its_pdf_says_what_it_is(world) -> None:
    with clock.frozen_at(date(2025, 2, 10)):
        made = contract_services.non_renewal_request(
            scope=Scope.tenant_user(world.admin), contract=world.contract
        )
    client = signed_in(world.admin)
    page = client.get(f"/portal/requests/non-renewal/{made.pk}/").content.decode()
    assert f"<title>更新しない旨の申込の受領証 NON-RENEWAL-{made.pk}" in page
    assert "/verify/?hash=" in page
    response = client.get(f"/portal/requests/non-renewal/{made.pk}/pdf/")
    code = world.contract.product.code
    assert response["Content-Disposition"] == (
        f'attachment; filename="receipt-non-renewal-{code}-2025-02-10-no{made.pk}.pdf"'
    )
    listing = client.get("/portal/receipts/").content.decode()
    assert f"：更新しない旨の申込の受領証 NON-RENEWAL-{made.pk}</span></a>" in listing
