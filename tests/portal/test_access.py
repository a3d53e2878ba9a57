"""Sign-in, invitations, passwords (rate-limited on the Redis cache), the tenant switcher
and session expiry."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.test import Client
from django.utils import timezone

from tenants.enums import InvitationStatus, Role
from tenants.models import Invitation, Membership
from tenants.scope import Scope
from tenants.services import invitation_create
from tests.factories.tenants import MembershipFactory, TenantFactory, UserFactory
from tests.portal.conftest import PASSWORD, signed_in

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_portal_anonymous_is_sent_to_the_login_page(client) -> None:
    response = client.get("/portal/contracts/")
    assert (response.status_code, response["Location"]) == (
        302,
        "/portal/login/?next=%2Fportal%2Fcontracts%2F",
    )


def test_login_with_the_password_opens_the_portal(world) -> None:
    client = Client()
    response = client.post(
        "/portal/login/", {"username": world.viewer.user.username, "password": PASSWORD}
    )
    assert (response.status_code, response["Location"]) == (302, "/portal/")
    assert client.get("/portal/").status_code == 200


def test_login_wrong_password_is_refused_beside_the_form(world) -> None:
    response = Client().post(
        "/portal/login/", {"username": world.viewer.user.username, "password": "wrong"}
    )
    assert response.status_code == 200
    assert "メールアドレスまたはパスワードが正しくありません" in response.content.decode()


def test_login_is_rate_limited_per_account(world) -> None:
    client = Client()
    username = world.viewer.user.username
    statuses = [
        client.post("/portal/login/", {"username": username, "password": "wrong"}).status_code
        for _ in range(11)
    ]
    assert statuses == [200] * 10 + [429]
    # Even the right password waits for the window to pass.
    blocked = client.post("/portal/login/", {"username": username, "password": PASSWORD})
    assert blocked.status_code == 429
    assert "試行回数が上限に達しました" in blocked.content.decode()


def test_logout_ends_the_session(world, viewer_client) -> None:
    response = viewer_client.post("/portal/logout/")
    assert (response.status_code, response["Location"]) == (302, "/portal/login/")
    assert viewer_client.get("/portal/").status_code == 302


def test_session_expires_after_its_age(world, viewer_client) -> None:
    assert viewer_client.get("/portal/").status_code == 200
    later = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE + 60)
    with time_machine.travel(later, tick=False):
        response = viewer_client.get("/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")


def test_user_without_membership_sees_no_tenant_data(db) -> None:
    client = Client()
    client.force_login(UserFactory())
    response = client.get("/portal/")
    assert response.status_code == 403
    assert "有効なテナントのメンバーではありません" in response.content.decode()


# --- invitations ----------------------------------------------------------------------------


def _invite(world, email: str = "new.colleague@customer.example", role: str = Role.VIEWER):
    _invitation, token = invitation_create(
        scope=Scope.tenant_user(world.admin), tenant=world.tenant, email=email, role=role
    )
    return token


def test_invitation_accept_sets_a_password_and_signs_in(world) -> None:
    token = _invite(world, role=Role.ADMIN)
    client = Client()
    page = client.get(f"/portal/invitations/{token}/")
    assert page.status_code == 200
    assert world.tenant.name in page.content.decode()
    response = client.post(
        f"/portal/invitations/{token}/",
        {
            "name": "新人 花子",
            "password": "a-strong-pass-42",
            "password_confirm": "a-strong-pass-42",
        },
    )
    assert (response.status_code, response["Location"]) == (302, "/portal/")
    membership = Membership.objects.get(user__username="new.colleague@customer.example")
    assert (membership.tenant_id, membership.role) == (world.tenant.pk, Role.ADMIN)
    assert membership.user.check_password("a-strong-pass-42")
    # Signed in; the pending explicit revision is the home page's banner and first item (R4).
    home = client.get("/portal/")
    assert home.status_code == 200
    assert f"/portal/changes/{world.v2.pk}/" in home.content.decode()
    # The link is used up.
    assert Client().get(f"/portal/invitations/{token}/").status_code == 410


def test_invitation_accept_refuses_a_weak_or_mismatched_password(world) -> None:
    token = _invite(world)
    client = Client()
    mismatch = client.post(
        f"/portal/invitations/{token}/",
        {"password": "a-strong-pass-42", "password_confirm": "another-pass-42"},
    )
    assert "確認用のパスワードが一致しません" in mismatch.content.decode()
    weak = client.post(
        f"/portal/invitations/{token}/", {"password": "12345678", "password_confirm": "12345678"}
    )
    assert weak.status_code == 200
    assert 'class="errorlist' in weak.content.decode()
    assert Invitation.objects.get(email="new.colleague@customer.example").status == (
        InvitationStatus.PENDING
    )


def test_invitation_unknown_token_is_404(db) -> None:
    assert Client().get("/portal/invitations/not-a-token/").status_code == 404


# --- passwords ------------------------------------------------------------------------------


def test_password_change(world, viewer_client) -> None:
    response = viewer_client.post(
        "/portal/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "changed-pass-77",
            "new_password2": "changed-pass-77",
        },
    )
    assert (response.status_code, response["Location"]) == (302, "/portal/")
    world.viewer.user.refresh_from_db()
    assert world.viewer.user.check_password("changed-pass-77")


def test_password_reset_by_email(world) -> None:
    client = Client()
    email = world.viewer.user.email
    response = client.post("/portal/password/reset/", {"email": email})
    assert (response.status_code, response["Location"]) == (302, "/portal/password/reset/sent/")
    assert [m.to for m in mail.outbox] == [[email]]
    link = re.search(r"https?://[^/]+(/portal/password/reset/[^\s]+/)", mail.outbox[0].body)
    assert link is not None
    form = client.get(link.group(1), follow=True)
    assert form.status_code == 200
    done = client.post(
        form.redirect_chain[-1][0],
        {"new_password1": "reset-pass-9876", "new_password2": "reset-pass-9876"},
    )
    assert done["Location"] == "/portal/password/reset/done/"
    world.viewer.user.refresh_from_db()
    assert world.viewer.user.check_password("reset-pass-9876")


def test_password_reset_is_rate_limited_per_address(world) -> None:
    client = Client()
    email = world.admin.user.email
    statuses = [
        client.post("/portal/password/reset/", {"email": email}).status_code for _ in range(4)
    ]
    assert statuses == [302, 302, 302, 429]
    assert len(mail.outbox) == 3


# --- several tenants ------------------------------------------------------------------------


def test_switching_tenants(world) -> None:
    other = TenantFactory(name="別会社株式会社")
    MembershipFactory(tenant=other, user=world.viewer.user, role=Role.VIEWER)
    client = signed_in(world.viewer)
    home = client.get("/portal/").content.decode()
    assert 'id="tenant-select"' in home
    response = client.post("/portal/switch/", {"tenant": other.pk})
    assert response["Location"] == "/portal/"
    assert "<h1>別会社株式会社</h1>" in client.get("/portal/").content.decode()
    # The first tenant's contract is another tenant's object now.
    assert client.get(f"/portal/contracts/{world.contract.pk}/").status_code == 404


def test_switching_to_a_tenant_the_user_is_not_in_is_404(world, viewer_client) -> None:
    stranger = TenantFactory()
    assert viewer_client.post("/portal/switch/", {"tenant": stranger.pk}).status_code == 404


def test_admin_only_page_names_the_tenants_admins_to_ask(world, viewer_client) -> None:
    """A viewer refused an admin's action is told whom to ask: the tenant's admins by name and
    title with their addresses, as the members page shows every member; no viewer, no admin
    of another tenant, no deactivated admin."""
    MembershipFactory(
        tenant=world.tenant,
        role=Role.ADMIN,
        title="情報システム部長",
        user=UserFactory(first_name="山田 花子", email="hanako@portal.example"),
    )
    gone = MembershipFactory(
        tenant=world.tenant, role=Role.ADMIN, user=UserFactory(is_active=False)
    )
    elsewhere = MembershipFactory(role=Role.ADMIN)
    response = viewer_client.post(f"/portal/contracts/{world.contract.pk}/non-renewal/")
    assert response.status_code == 403
    page = response.content.decode()
    admins = page.split('data-testid="tenant-admins">', 1)[1].split("</ul>", 1)[0]
    items = re.findall(r"<li>(.*?)</li>", admins)
    assert sorted(items) == sorted(
        [
            f'管理 太郎 <a href="mailto:{world.admin.user.email}">{world.admin.user.email}</a>',
            '山田 花子（情報システム部長） <a href="mailto:hanako@portal.example">'
            "hanako@portal.example</a>",
        ]
    )
    for absent in (world.viewer.user.email, gone.user.email, elsewhere.user.email):
        assert absent not in admins
    assert f"{world.tenant.name}の次の管理者にご依頼ください" in page


def test_admin_only_page_in_english_marks_japanese_names(world, viewer_client) -> None:
    world.admin.title = "部長"
    world.admin.save(update_fields=["title"])
    viewer_client.post("/i18n/setlang/", {"language": "en"})
    page = viewer_client.post(
        f"/portal/contracts/{world.contract.pk}/non-renewal/"
    ).content.decode()
    assert "Please ask one of these admins of" in page
    assert '<span lang="ja">管理 太郎</span> (<span lang="ja">部長</span>)' in page
