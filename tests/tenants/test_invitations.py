from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.test import RequestFactory, override_settings

from core import clock
from core.enums import AuditAction, EventKind, OutboxChannel
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import AuditEntry, Event, Outbox
from tenants.enums import InvitationStatus, Role
from tenants.keys import hash_key
from tenants.models import Invitation, Membership
from tenants.scope import Scope
from tenants.services.invitations import (
    invitation_accept,
    invitation_accept_url,
    invitation_create,
    invitation_revoke,
    invitations_expire,
)
from tests.factories.tenants import (
    MembershipFactory,
    PartnerFactory,
    StaffFactory,
    TenantFactory,
    UserFactory,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

T0 = datetime(2025, 3, 1, 1, 0, tzinfo=UTC)
PASSWORD = "kawa-sakura-2025!"


def invitation_values(invitation: Invitation) -> list[str]:
    row = Invitation.objects.filter(pk=invitation.pk).values().get()
    return [str(v) for v in row.values()]


@override_settings(TERMS_PORTAL_BASE_URL="https://terms.example.jp/")
def test_invitation_flow_end_to_end(member_scope):
    tenant = TenantFactory(name="招待商事株式会社", locale="en")
    admin_scope = member_scope(tenant, Role.ADMIN)
    with clock.frozen_at(T0):
        invitation, token = invitation_create(
            scope=admin_scope, tenant=tenant, email=" Hanako@Customer.Example ", role=Role.ADMIN
        )
    assert (invitation.email, invitation.role, invitation.status) == (
        "hanako@customer.example",
        Role.ADMIN,
        InvitationStatus.PENDING,
    )
    assert invitation.expires_at == T0 + timedelta(days=7)
    assert invitation.invited_by == admin_scope.user
    # The row holds the hash only; the plain token lives in the e-mail and the return value.
    assert invitation.token_hash == hash_key(token)
    assert not [v for v in invitation_values(invitation) if token in v]

    outbox = Outbox.objects.get(kind=EventKind.INVITATION)
    assert (outbox.channel, outbox.recipient, outbox.locale, outbox.tenant_id) == (
        OutboxChannel.EMAIL,
        "hanako@customer.example",
        "en",
        tenant.pk,
    )
    assert outbox.payload == {
        "tenant_id": tenant.pk,
        "tenant_name": "招待商事株式会社",
        "role": "admin",
        "invitation_url": f"https://terms.example.jp/portal/invitations/{token}/",
        "expires_at": clock.api_instant(T0 + timedelta(days=7)),
    }

    with clock.frozen_at(T0 + timedelta(days=2)):
        membership = invitation_accept(
            request=_sign_in(), token=token, password=PASSWORD, name="川 花子"
        )
    user = membership.user
    assert (user.username, user.email, user.first_name) == (
        "hanako@customer.example",
        "hanako@customer.example",
        "川 花子",
    )
    assert user.check_password(PASSWORD)
    assert (membership.tenant, membership.role) == (tenant, Role.ADMIN)
    invitation.refresh_from_db()
    assert (invitation.status, invitation.accepted_at, invitation.accepted_user) == (
        InvitationStatus.ACCEPTED,
        T0 + timedelta(days=2),
        user,
    )

    with pytest.raises(ValidationFailed) as exc:
        invitation_accept(request=_sign_in(), token=token, password=PASSWORD)
    assert exc.value.code == "invitation_used"
    assert Membership.objects.filter(tenant=tenant).count() == 2


def test_invitation_accept_expired_refused():
    tenant = TenantFactory()
    with clock.frozen_at(T0):
        _inv, token = invitation_create(
            scope=_staff(), tenant=tenant, email="late@customer.example", role=Role.VIEWER
        )
    with clock.frozen_at(T0 + timedelta(days=7)), pytest.raises(ValidationFailed) as exc:
        invitation_accept(request=_sign_in(), token=token, password=PASSWORD)
    assert exc.value.code == "invitation_expired"
    assert not get_user_model().objects.filter(username="late@customer.example").exists()
    # One second before the expiry it still works.
    with clock.frozen_at(T0 + timedelta(days=7, seconds=-1)):
        invitation_accept(request=_sign_in(), token=token, password=PASSWORD)


def test_invitation_accept_revoked_refused(partner_scope, partner):
    tenant = TenantFactory(partner=partner)
    invitation, token = invitation_create(
        scope=partner_scope, tenant=tenant, email="a@customer.example", role=Role.VIEWER
    )
    assert invitation.invited_by_key == partner_scope.partner_key
    invitation_revoke(scope=partner_scope, invitation=invitation)
    invitation_revoke(scope=partner_scope, invitation=invitation)  # idempotent
    with pytest.raises(ValidationFailed) as exc:
        invitation_accept(request=_sign_in(), token=token, password=PASSWORD)
    assert exc.value.code == "invitation_revoked"
    assert (
        AuditEntry.objects.filter(object_id=invitation.pk, action=AuditAction.WITHDRAW).count() == 1
    )


@pytest.mark.parametrize("token", ["", "not-a-token", "x" * 43])
def test_invitation_accept_unknown_token_refused(token):
    with pytest.raises(ValidationFailed) as exc:
        invitation_accept(request=_sign_in(), token=token, password=PASSWORD)
    assert exc.value.code == "invitation_invalid"


def test_invitation_repeat_refreshes_the_pending_one():
    tenant = TenantFactory()
    scope = _staff()
    with clock.frozen_at(T0):
        first, old_token = invitation_create(
            scope=scope, tenant=tenant, email="a@customer.example", role=Role.VIEWER
        )
    with clock.frozen_at(T0 + timedelta(days=3)):
        second, new_token = invitation_create(
            scope=scope, tenant=tenant, email="A@customer.example", role=Role.ADMIN
        )
    assert second.pk == first.pk
    assert (second.role, second.expires_at) == (Role.ADMIN, T0 + timedelta(days=10))
    assert Invitation.objects.filter(tenant=tenant).count() == 1
    # Two e-mails, each with its own link; the old link no longer works.
    urls = {o.payload["invitation_url"] for o in Outbox.objects.filter(kind=EventKind.INVITATION)}
    assert urls == {invitation_accept_url(t) for t in (old_token, new_token)}
    with pytest.raises(ValidationFailed):
        invitation_accept(request=_sign_in(), token=old_token, password=PASSWORD)
    with clock.frozen_at(T0 + timedelta(days=9)):
        membership = invitation_accept(request=_sign_in(), token=new_token, password=PASSWORD)
    assert membership.role == Role.ADMIN


def test_invitation_after_expiry_is_a_new_one_whether_or_not_housekeeping_ran():
    """Same id only while the link is live: after expiry the address gets a new invitation,
    the expired one stays expired (before the housekeeping job marked it, too)."""
    tenant = TenantFactory()
    with clock.frozen_at(T0):
        first, old_token = invitation_create(
            scope=_staff(), tenant=tenant, email="a@customer.example", role=Role.VIEWER
        )
    with clock.frozen_at(T0 + timedelta(days=30)):
        again, token = invitation_create(
            scope=_staff(), tenant=tenant, email="a@customer.example", role=Role.VIEWER
        )
        with pytest.raises(ValidationFailed):
            invitation_accept(request=_sign_in(), token=old_token, password=PASSWORD)
        invitation_accept(request=_sign_in(), token=token, password=PASSWORD)
    assert again.pk != first.pk
    first.refresh_from_db()
    assert first.status == InvitationStatus.EXPIRED


def test_invitation_same_email_other_tenant_is_separate():
    scope = _staff()
    one, _ = invitation_create(
        scope=scope, tenant=TenantFactory(), email="a@customer.example", role=Role.VIEWER
    )
    two, _ = invitation_create(
        scope=scope, tenant=TenantFactory(), email="a@customer.example", role=Role.VIEWER
    )
    assert one.pk != two.pk


def test_viewer_cannot_invite(member_scope):
    tenant = TenantFactory()
    with pytest.raises(PermissionDenied):
        invitation_create(
            scope=member_scope(tenant, Role.VIEWER),
            tenant=tenant,
            email="x@customer.example",
            role=Role.VIEWER,
        )
    assert not Invitation.objects.exists()
    assert not Outbox.objects.exists()


def test_admin_of_another_tenant_cannot_invite(member_scope):
    with pytest.raises(NotFound):
        invitation_create(
            scope=member_scope(TenantFactory(), Role.ADMIN),
            tenant=TenantFactory(),
            email="x@customer.example",
            role=Role.VIEWER,
        )


def test_partner_cannot_invite_to_another_partners_tenant(partner_scope):
    with pytest.raises(NotFound):
        invitation_create(
            scope=partner_scope,
            tenant=TenantFactory(partner=PartnerFactory()),
            email="x@customer.example",
            role=Role.VIEWER,
        )


def test_read_only_partner_key_cannot_invite(read_only_partner_scope, partner):
    with pytest.raises(PermissionDenied):
        invitation_create(
            scope=read_only_partner_scope,
            tenant=TenantFactory(partner=partner),
            email="x@customer.example",
            role=Role.VIEWER,
        )


def test_invitation_create_validates_email_and_role():
    tenant = TenantFactory()
    with pytest.raises(ValidationFailed) as exc:
        invitation_create(scope=_staff(), tenant=tenant, email="nope", role=Role.VIEWER)
    assert list(exc.value.details["fields"]) == ["email"]
    with pytest.raises(ValidationFailed) as exc:
        invitation_create(scope=_staff(), tenant=tenant, email="a@customer.example", role="owner")
    assert list(exc.value.details["fields"]) == ["role"]


def test_invitation_of_existing_member_conflict():
    membership = MembershipFactory(user=UserFactory(username="m@customer.example"))
    with pytest.raises(Conflict) as exc:
        invitation_create(
            scope=_staff(), tenant=membership.tenant, email="M@customer.example", role=Role.ADMIN
        )
    assert exc.value.code == "already_member"


def test_invitation_to_inactive_tenant_conflict():
    with pytest.raises(Conflict):
        invitation_create(
            scope=_staff(),
            tenant=TenantFactory(is_active=False),
            email="a@customer.example",
            role=Role.VIEWER,
        )


def test_invitation_accept_weak_password_refused_with_field():
    _inv, token = invitation_create(
        scope=_staff(), tenant=TenantFactory(), email="weak@customer.example", role=Role.VIEWER
    )
    for weak in ("12345678", "short", "password"):
        with pytest.raises(ValidationFailed) as exc:
            invitation_accept(request=_sign_in(), token=token, password=weak)
        assert exc.value.code == "password_invalid"
        assert list(exc.value.details["fields"]) == ["password"]
    # The refusal used nothing up: a good password still works.
    invitation_accept(request=_sign_in(), token=token, password=PASSWORD)


def test_invitation_accept_existing_user_needs_their_password():
    user = UserFactory(username="taro@customer.example")  # password "pass-1234-word"
    tenant = TenantFactory()
    _inv, token = invitation_create(
        scope=_staff(), tenant=tenant, email="taro@customer.example", role=Role.VIEWER
    )
    with pytest.raises(ValidationFailed) as exc:
        invitation_accept(request=_sign_in(), token=token, password=PASSWORD)
    assert exc.value.code == "password_mismatch"
    user.refresh_from_db()
    assert user.check_password("pass-1234-word")  # an invitation never resets a password
    membership = invitation_accept(request=_sign_in(), token=token, password="pass-1234-word")
    assert (membership.user, membership.tenant) == (user, tenant)
    assert get_user_model().objects.filter(username__iexact="taro@customer.example").count() == 1


def test_invitation_revoke_accepted_conflict():
    invitation, token = invitation_create(
        scope=_staff(), tenant=TenantFactory(), email="a@customer.example", role=Role.VIEWER
    )
    invitation_accept(request=_sign_in(), token=token, password=PASSWORD)
    with pytest.raises(Conflict):
        invitation_revoke(scope=_staff(), invitation=invitation)


def test_invitation_revoke_by_viewer_refused(member_scope):
    tenant = TenantFactory()
    invitation, _ = invitation_create(
        scope=_staff(), tenant=tenant, email="a@customer.example", role=Role.VIEWER
    )
    with pytest.raises(PermissionDenied):
        invitation_revoke(scope=member_scope(tenant, Role.VIEWER), invitation=invitation)
    with pytest.raises(NotFound):
        invitation_revoke(scope=member_scope(TenantFactory(), Role.ADMIN), invitation=invitation)


def test_invitations_expire_marks_only_past_ones():
    tenant = TenantFactory()
    with clock.frozen_at(T0):
        old, _ = invitation_create(
            scope=_staff(), tenant=tenant, email="old@customer.example", role=Role.VIEWER
        )
    with clock.frozen_at(T0 + timedelta(days=5)):
        new, _ = invitation_create(
            scope=_staff(), tenant=tenant, email="new@customer.example", role=Role.VIEWER
        )
    assert invitations_expire(now=T0 + timedelta(days=8)) == 1
    old.refresh_from_db()
    new.refresh_from_db()
    assert (old.status, new.status) == (InvitationStatus.EXPIRED, InvitationStatus.PENDING)


def _staff() -> Scope:
    return Scope.staff(StaffFactory())


def _sign_in() -> object:
    """The request an accept comes with (the sign-in throttle counts against it)."""
    return RequestFactory().post("/portal/invitations/x/", REMOTE_ADDR="192.0.2.10")


def test_an_invitation_that_expires_unused_fires_invitation_expired_once():
    from tenants.models import WebhookEndpoint
    from tests.factories.tenants import PartnerFactory

    partner = PartnerFactory()
    tenant = TenantFactory(partner=partner)
    WebhookEndpoint.objects.create(
        partner=partner,
        url="https://partner.example/hooks",
        secret="whsec_test",
        event_kinds=["invitation.expired"],
    )
    with clock.frozen_at(T0):
        invitation, _ = invitation_create(
            scope=_staff(), tenant=tenant, email="late@customer.example", role=Role.VIEWER
        )
    assert invitations_expire(now=T0 + timedelta(days=6)) == 0  # still within its 7 days
    assert invitations_expire(now=T0 + timedelta(days=8)) == 1
    assert invitations_expire(now=T0 + timedelta(days=9)) == 0
    (event,) = Event.objects.filter(kind=EventKind.INVITATION_EXPIRED)
    assert (event.tenant_id, event.partner_id) == (tenant.pk, partner.pk)
    assert event.payload["invitation_id"] == invitation.pk
    assert event.payload["email"] == "late@customer.example"
    assert (
        Outbox.objects.filter(
            kind=EventKind.INVITATION_EXPIRED, channel=OutboxChannel.WEBHOOK
        ).count()
        == 1
    )


def test_a_reinvitation_past_the_expiry_fires_invitation_expired_for_the_old_one():
    tenant = TenantFactory()
    with clock.frozen_at(T0):
        old, _ = invitation_create(
            scope=_staff(), tenant=tenant, email="again@customer.example", role=Role.VIEWER
        )
    with clock.frozen_at(T0 + timedelta(days=8)):  # before the hourly job marked it
        new, _ = invitation_create(
            scope=_staff(), tenant=tenant, email="again@customer.example", role=Role.VIEWER
        )
    assert new.pk != old.pk
    expired = Event.objects.filter(kind=EventKind.INVITATION_EXPIRED)
    assert [e.payload["invitation_id"] for e in expired] == [old.pk]
    assert invitations_expire(now=T0 + timedelta(days=9)) == 0
