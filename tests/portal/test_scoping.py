"""Every page is scoped to the current tenant (another tenant's URL → 404) and roles hold:
admins answer and apply, viewers read."""

from __future__ import annotations

import pytest

from agreements.models import ConsentRecord, NonRenewalRequest, Termination
from core.models import Outbox
from tenants.enums import Role
from tenants.models import Invitation, Membership
from tests.portal.conftest import build_world, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def other(world):
    """A second tenant bound by the same document, with an answer of its own."""
    other = build_world(name="よその会社株式会社")
    client = signed_in(other.admin)
    client.post(f"/portal/changes/{other.v2.pk}/answer/", {"answer": "accepted"})
    return other


def test_another_tenants_objects_are_404(world, other, admin_client) -> None:
    admin_client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"})
    record = ConsentRecord.objects.get(tenant=other.tenant)
    urls = [
        f"/portal/contracts/{other.contract.pk}/",
        f"/portal/receipts/{record.pk}/",
        f"/portal/receipts/{record.pk}/pdf/",
    ]
    assert [admin_client.get(url).status_code for url in urls] == [404, 404, 404]
    posts = [
        (f"/portal/contracts/{other.contract.pk}/non-renewal/", {}),
        (f"/portal/contracts/{other.contract.pk}/termination/", {"end_date": "2025-06-30"}),
        (f"/portal/members/{other.viewer.pk}/role/", {"role": Role.ADMIN}),
        (f"/portal/members/{other.viewer.pk}/remove/", {}),
    ]
    assert [admin_client.post(url, data).status_code for url, data in posts] == [404] * 4
    assert Membership.objects.get(pk=other.viewer.pk).role == Role.VIEWER


def test_a_version_of_a_document_not_binding_the_tenant_is_404(world, admin_client) -> None:
    from tests.factories.agreements import DocumentFactory
    from tests.factories.consents import posted_version

    foreign = posted_version(DocumentFactory())
    assert admin_client.get(f"/portal/changes/{foreign.pk}/").status_code == 404
    response = admin_client.post(f"/portal/changes/{foreign.pk}/answer/", {"answer": "accepted"})
    assert response.status_code == 404
    assert not ConsentRecord.objects.filter(version=foreign).exists()


def test_viewer_reads_but_cannot_answer_or_apply(world, viewer_client) -> None:
    review = viewer_client.get(f"/portal/changes/{world.v2.pk}/").content.decode()
    assert 'data-testid="accept"' not in review
    assert "閲覧者の方は内容の確認のみできます" in review
    posts = [
        (f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"}),
        (f"/portal/contracts/{world.contract.pk}/non-renewal/", {}),
        (f"/portal/contracts/{world.contract.pk}/termination/", {"end_date": "2025-06-30"}),
        (f"/portal/contracts/{world.contract.pk}/deletion/", {"confirm": "on"}),
        ("/portal/members/invite/", {"email": "x@example.com", "role": Role.ADMIN}),
    ]
    assert [viewer_client.post(url, data).status_code for url, data in posts] == [403] * 5
    assert not ConsentRecord.objects.filter(tenant=world.tenant).exists()
    assert not NonRenewalRequest.objects.filter(contract=world.contract).exists()
    assert not Termination.objects.filter(contract=world.contract).exists()
    assert not Invitation.objects.filter(tenant=world.tenant).exists()
    contract = viewer_client.get(f"/portal/contracts/{world.contract.pk}/").content.decode()
    assert 'data-testid="non-renewal-apply"' not in contract


def test_admin_invites_sets_roles_and_cannot_remove_the_last_admin(world, admin_client) -> None:
    admin_client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"})
    response = admin_client.post(
        "/portal/members/invite/", {"email": "Colleague@Customer.example", "role": Role.VIEWER}
    )
    assert response["Location"] == "/portal/members/"
    invitation = Invitation.objects.get(tenant=world.tenant)
    assert (invitation.email, invitation.role) == ("colleague@customer.example", Role.VIEWER)
    assert Outbox.objects.filter(recipient="colleague@customer.example").count() == 1

    admin_client.post(f"/portal/members/{world.viewer.pk}/role/", {"role": Role.ADMIN})
    assert Membership.objects.get(pk=world.viewer.pk).role == Role.ADMIN
    admin_client.post(f"/portal/members/{world.viewer.pk}/remove/")
    assert not Membership.objects.filter(pk=world.viewer.pk).exists()

    refused = admin_client.post(f"/portal/members/{world.admin.pk}/remove/", follow=True)
    assert "最後の管理者は削除・変更できません" in refused.content.decode()
    assert Membership.objects.filter(pk=world.admin.pk).exists()

    admin_client.post(f"/portal/invitations/{invitation.pk}/revoke/")
    invitation.refresh_from_db()
    assert invitation.status == "revoked"


def test_invite_refusal_is_shown_beside_the_form(world, admin_client) -> None:
    admin_client.post(f"/portal/changes/{world.v2.pk}/answer/", {"answer": "accepted"})
    response = admin_client.post(
        "/portal/members/invite/", {"email": world.viewer.user.email, "role": Role.VIEWER}
    )
    assert response.status_code == 200
    assert "このメールアドレスのユーザーは既にメンバーです" in response.content.decode()
