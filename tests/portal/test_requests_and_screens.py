"""Portal screens of issue #18: request receipts verifiable at /verify/ (R13), a deletion
request withdrawn (R15), a withdrawn revision still readable (R7), a deemed revision with one
objection (R3), viewers told whom to ask, contracts ending before a revision, English pages."""

from __future__ import annotations

from datetime import date

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.utils import translation

from agreements.enums import ConsentMode, DeletionKind, DeletionStatus, RequestKind
from agreements.models import (
    ConsentRecord,
    DataDeletion,
    NonRenewalRequest,
    RequestReceipt,
    Termination,
)
from agreements.services import contracts as contract_services
from agreements.services import deletions as deletion_services
from agreements.services.versions import version_withdraw
from agreements.templatetags import jdates
from core import clock
from core.enums import EventKind
from core.errors import NotFound
from core.models import Event, Outbox
from tenants.scope import Scope
from tests.factories.contracts import make_contract
from tests.factories.tenants import MembershipFactory, StaffFactory, TenantFactory
from tests.portal.conftest import biz_renewing, build_world, signed_in

pytestmark = pytest.mark.django_db


def _non_renewal(world) -> NonRenewalRequest:
    return contract_services.non_renewal_request(
        scope=Scope.tenant_user(world.admin), contract=world.contract
    )


# --- receipts of requests at /verify/ (R13) ------------------------------------------------


def test_r13_every_customer_request_is_issued_a_receipt_that_verifies(world) -> None:
    with clock.frozen_at(date(2025, 2, 10)):
        request = _non_renewal(world)
        deletion = deletion_services.deletion_request(
            scope=Scope.tenant_user(world.admin), contract=world.contract
        )
    kinds = set(RequestReceipt.objects.values_list("kind", flat=True))
    assert kinds == {RequestKind.NON_RENEWAL, RequestKind.DELETION}
    for digest in RequestReceipt.objects.values_list("digest", flat=True):
        body = Client().get("/verify/", {"hash": digest}).content.decode()
        assert "有効：このお申し込みは受け付けた内容のまま記録されています" in body
        assert world.tenant.name not in body
    # A request changed behind the receipt no longer verifies.
    NonRenewalRequest.objects.filter(pk=request.pk).update(end_date=date(2026, 3, 31))
    digest = RequestReceipt.objects.get(non_renewal=request).digest
    assert "見つかりません" in Client().get("/verify/", {"hash": digest}).content.decode()
    assert deletion.receipt.digest != digest


def test_a_termination_receipt_only_for_the_customers_own_notice(world) -> None:
    with clock.frozen_at(date(2025, 2, 10)):
        termination = contract_services.termination_request(
            scope=Scope.tenant_user(world.admin),
            contract=world.contract,
            end_date=date(2025, 3, 15),
        )
    assert RequestReceipt.objects.get(termination=termination).kind == RequestKind.TERMINATION
    page = signed_in(world.admin).get(f"/portal/requests/termination/{termination.pk}/")
    assert 'data-testid="receipt-intact"' in page.content.decode()
    assert Termination.objects.count() == RequestReceipt.objects.count() == 1


def test_the_confirmation_preview_issues_no_receipt(world) -> None:
    with clock.frozen_at(date(2025, 2, 10)):
        response = signed_in(world.admin).post(
            f"/portal/contracts/{world.contract.pk}/non-renewal/"
        )
    assert 'data-testid="confirm-step"' in response.content.decode()
    assert not RequestReceipt.objects.exists()
    assert not NonRenewalRequest.objects.exists()


def test_the_receipt_prints_the_configured_public_verify_address(world, settings) -> None:
    settings.TERMS_PORTAL_BASE_URL = "https://terms.example.jp/"
    with clock.frozen_at(date(2025, 2, 10)):
        request = _non_renewal(world)
    body = signed_in(world.admin).get(f"/portal/requests/non-renewal/{request.pk}/").content
    assert "https://terms.example.jp/verify/" in body.decode()
    assert "testserver" not in body.decode()


# --- deletion requests: 依頼済み and withdrawal (R15) --------------------------------------


def test_r15_deletion_request_withdrawn_by_the_tenant_and_not_by_another(world) -> None:
    with clock.frozen_at(date(2025, 2, 10)):
        _non_renewal(world)
        deletion = deletion_services.deletion_request(
            scope=Scope.tenant_user(world.admin), contract=world.contract
        )
        page = signed_in(world.admin).get(f"/portal/contracts/{world.contract.pk}/").content
        assert 'data-testid="deletion-withdraw"' in page.decode()
        assert 'data-testid="deletion-apply"' not in page.decode()

        other = MembershipFactory(tenant=TenantFactory(), role="admin")
        with pytest.raises(NotFound):
            deletion_services.deletion_withdraw(scope=Scope.tenant_user(other), deletion=deletion)
        # The viewer has no withdraw action.
        response = signed_in(world.viewer).post(
            f"/portal/contracts/{world.contract.pk}/deletion/withdraw/",
            {"deletion_id": deletion.pk},
        )
        assert response.status_code in (403, 404)
        response = signed_in(world.admin).post(
            f"/portal/contracts/{world.contract.pk}/deletion/withdraw/",
            {"deletion_id": deletion.pk, "confirm": "1"},
        )
    assert response.status_code == 302
    deletion.refresh_from_db()
    assert deletion.status == DeletionStatus.CANCELLED
    assert deletion.withdrawn_at is not None
    # The tenant is told, as for a withdrawn non-renewal.
    event = Event.objects.get(kind=EventKind.DELETION_WITHDRAWN)
    assert (event.tenant_id, event.payload["withdrawn_on"]) == (world.tenant.pk, "2025-02-10")
    assert Outbox.objects.filter(dedupe_key__startswith="deletion.withdrawn:").exists()


def test_r15_an_ordered_deletion_is_not_withdrawn(world) -> None:
    with clock.frozen_at(date(2025, 2, 10)):
        _non_renewal(world)
        deletion = deletion_services.deletion_request(
            scope=Scope.tenant_user(world.admin), contract=world.contract
        )
    DataDeletion.objects.filter(pk=deletion.pk).update(status=DeletionStatus.ORDERED)
    with pytest.raises(Exception, match="取り下げられません"):
        deletion_services.deletion_withdraw(scope=Scope.tenant_user(world.admin), deletion=deletion)


def test_r15_the_contract_page_states_one_deletion_date_once_a_request_is_filed(db) -> None:
    with clock.frozen_at(date(2025, 2, 10)):
        world = build_world(name="株式会社R15", product=biz_renewing())
        _non_renewal(world)
        before = signed_in(world.admin).get(f"/portal/contracts/{world.contract.pk}/")
        assert (
            "2025年5月1日（木）以降、当社の判断で削除することがあります" in before.content.decode()
        )
        deletion_services.deletion_request(
            scope=Scope.tenant_user(world.admin), contract=world.contract
        )
        after = signed_in(world.admin).get(f"/portal/contracts/{world.contract.pk}/")
    page = after.content.decode()
    assert "ご依頼により、2025年4月1日（火）までに削除します" in page
    assert "当社の判断で削除することがあります" not in page
    assert DataDeletion.objects.get(kind=DeletionKind.REQUESTED).due_on == date(2025, 4, 1)


# --- revisions -----------------------------------------------------------------------------


def test_r7_a_withdrawn_revision_says_so_instead_of_404(world) -> None:
    editor = StaffFactory()
    editor.groups.add(Group.objects.get_or_create(name="editor")[0])
    version_withdraw(scope=Scope.staff(editor), version=world.v2, reason="誤記の訂正のため")
    response = signed_in(world.viewer).get(f"/portal/changes/{world.v2.pk}/")
    page = response.content.decode()
    assert response.status_code == 200
    assert "この改定は撤回されました" in page
    assert "この改定へのご回答は不要です" in page
    assert "2025年4月1日（火）から効力を生じる予定だったこの改定は" in page
    # Another tenant still gets 404.
    other = MembershipFactory(tenant=TenantFactory(), role="admin")
    assert signed_in(other).get(f"/portal/changes/{world.v2.pk}/").status_code == 404


def test_r3_a_deemed_revision_offers_an_objection_and_no_acceptance(db) -> None:
    with clock.frozen_at(date(2025, 3, 10)):
        world = build_world(name="株式会社みなし", mode=ConsentMode.DEEMED, product=biz_renewing())
        page = signed_in(world.admin).get(f"/portal/changes/{world.v2.pk}/").content.decode()
    assert 'data-testid="accept"' not in page
    assert "異議を申し出る…" in page
    assert "この改定に同意のご回答は不要です" in page


def test_r4_explicit_revision_still_asks_for_acceptance_with_name_and_title(world) -> None:
    page = signed_in(world.admin).get(f"/portal/changes/{world.v2.pk}/").content.decode()
    assert 'data-testid="accept"' in page
    assert 'name="person_title"' in page
    assert 'value="管理 太郎"' in page


def test_acceptance_records_the_answerers_name_and_title(world) -> None:
    response = signed_in(world.admin).post(
        f"/portal/changes/{world.v2.pk}/answer/",
        {"answer": "accepted", "person_name": "山田 花子", "person_title": "総務部長"},
    )
    assert response.status_code == 302
    receipt = signed_in(world.admin).get(response["Location"]).content.decode()
    assert "山田 花子（総務部長）" in receipt
    assert "改定への同意の受領証" in receipt
    assert "&lt;" not in receipt.split('data-testid="receipt-person"')[1].split("</dd>")[0]


def _label_and_input(page: str, name: str) -> tuple[str, str]:
    label = page.split(f'<label for="id_{name}">')[1].split("</label>")[0]
    field = (
        page.split(f'name="{name}"')[0].rsplit("<input", 1)[1]
        + page.split(f'name="{name}"')[1].split(">")[0]
    )
    return label, field


@pytest.mark.parametrize(
    ("language", "optional", "help_text"),
    [
        (
            "ja",
            "回答する方のお名前（任意）",
            "空欄の場合は、ログインしているアカウントのお名前を記録します。",
        ),
        (
            "en",
            "Name of the person answering (optional)",
            "If left blank, the name of the signed-in account is recorded.",
        ),
    ],
)
def test_the_answerers_name_is_marked_optional_in_its_label(
    world, settings, language, optional, help_text
) -> None:
    """The name is optional (empty: the account's name), and its label says so in words a
    screen reader reads with the field; the note on what an empty field records is tied to
    the input by aria-describedby."""
    client = signed_in(world.admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    review = client.get(f"/portal/changes/{world.v2.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    confirm = client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "rejected"})
    for page in (review.content.decode(), confirm.content.decode()):
        label, field = _label_and_input(page, "person_name")
        assert label == optional
        assert "required" not in field
        assert 'aria-describedby="id_person_name_helptext"' in field
        assert f'<span class="helptext" id="id_person_name_helptext">{help_text}</span>' in page
    # Left empty, the account's name is recorded, as the note says.
    response = client.post(
        f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted", "person_name": ""}
    )
    assert response.status_code == 302
    evidence = ConsentRecord.objects.get(tenant=world.tenant).evidence
    assert evidence is not None
    assert evidence.person_name == "管理 太郎"


def test_a_contract_ending_before_the_revision_says_so(world) -> None:
    with clock.frozen_at(date(2025, 2, 10)):
        _non_renewal(world)  # ends 2025-03-31, the revision takes effect 2025-04-01
        page = signed_in(world.admin).get(f"/portal/changes/{world.v2.pk}/").content.decode()
    assert 'data-testid="ends-before"' in page
    assert "ご契約は2025年3月31日（月）に終了する予定です" in page


def test_viewer_is_told_whom_to_ask(world) -> None:
    page = signed_in(world.viewer).get(f"/portal/contracts/{world.contract.pk}/").content.decode()
    assert 'data-testid="viewer-note"' in page
    assert "管理 太郎" in page
    assert world.admin.user.email in page


# --- English pages -------------------------------------------------------------------------


def test_english_contract_page_has_no_full_width_brackets_and_one_lump_sum(db, settings) -> None:
    contract = make_contract(
        tenant=TenantFactory(),
        product=biz_renewing(),
        billing_cycle="lump_sum",
        amount_jpy=None,
        lump_sum_jpy=500000,
    )
    admin = MembershipFactory(tenant=contract.tenant, role="admin")
    client = signed_in(admin)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(f"/portal/contracts/{contract.pk}/", HTTP_ACCEPT_LANGUAGE="en").content
    text = page.decode()
    billing = text.split('data-testid="billing">')[1].split("</span>")[0]
    assert billing == "Lump sum · JPY 500,000"
    main = text.split("<main")[1].split("</main>")[0]
    assert "（" not in main
    assert "）" not in main


def test_an_answerers_name_with_a_line_break_is_refused_and_nothing_recorded(world) -> None:
    response = signed_in(world.admin).post(
        f"/portal/changes/{world.v2.pk}/answer/",
        {"answer": "accepted", "person_name": "山田\n花子"},
    )
    assert response.status_code == 400
    assert "改行や制御文字は使用できません" in response.content.decode()
    assert not ConsentRecord.objects.filter(tenant=world.tenant).exists()


# --- After an answer the review page says what was answered, not "please answer" -----------


def _answered_page(world, answer: str, language: str = "ja") -> str:
    client = signed_in(world.admin)
    data = {"answer": answer, "confirm": "True"} if answer == "rejected" else {"answer": answer}
    assert client.post(f"/portal/changes/{world.v2.pk}/answer/", data).status_code == 302
    client.cookies["django_language"] = language
    page = client.get(f"/portal/changes/{world.v2.pk}/", HTTP_ACCEPT_LANGUAGE=language)
    return page.content.decode()


def _note(page: str) -> str:
    return page.split('data-testid="answered-note">', 1)[1].split("</small>", 1)[0]


def test_review_page_before_an_answer_asks_for_one(world) -> None:
    page = signed_in(world.admin).get(f"/portal/changes/{world.v2.pk}/").content.decode()
    assert "<strong>2025年3月31日（月）</strong>までにご回答ください。" in page
    assert 'data-testid="answered-note"' not in page


@pytest.mark.parametrize(
    ("answer", "said", "switch"),
    [("rejected", "拒否", "同意"), ("accepted", "同意", "拒否")],
)
def test_review_page_after_an_answer_says_what_and_when_and_what_can_still_change(
    world, answer, said, switch
) -> None:
    page = _answered_page(world, answer)
    assert "までにご回答ください" not in page
    record = ConsentRecord.objects.get(tenant=world.tenant)
    with translation.override("ja"):
        when = jdates.format_instant(record.recorded_at, weekday=True)
    assert _note(page) == (
        f"{when}に「{said}」と回答しています。 "
        f"<strong>2025年3月31日（月）</strong>までは、この画面で回答を「{switch}」に変更できます。"
    )


def test_review_page_after_a_rejection_in_english(world) -> None:
    page = _answered_page(world, "rejected", language="en")
    assert "Please answer by" not in page
    note = _note(page)
    assert note.startswith("You answered “Rejected” on ")
    assert note.endswith(
        "Until <strong>Mon, 31 Mar 2025</strong> you can change your answer to “Accepted” on"
        " this page."
    )
