"""Invitations to a tenant's portal: created, accepted, revoked, expired."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, password_validation
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, ValidationFailed
from core.services import audit_add
from tenants import selectors
from tenants.enums import InvitationStatus, Role
from tenants.keys import hash_key
from tenants.lifecycle import (
    tell_invitation_accepted,
    tell_invitation_created,
    tell_invitation_revoked,
    tell_invitations_expired,
    tell_membership_added,
    tell_membership_role_changed,
)
from tenants.models import Invitation, Membership, Tenant
from tenants.notify import AddressNote, notify
from tenants.scope import Scope
from tenants.services.base import audit, clean_email, clean_role, invalid, tenant_for_change

INVITATION_TTL = timedelta(days=7)
_USERNAME_MAX = 150  # django.contrib.auth User.username


def invitation_accept_url(token: str) -> str:
    base = str(settings.TERMS_PORTAL_BASE_URL).rstrip("/")
    return f"{base}/portal/invitations/{token}/"


@transaction.atomic
def invitation_create(
    *, scope: Scope, tenant: Tenant, email: str, role: str = Role.VIEWER
) -> tuple[Invitation, str]:
    """Invite `email` to the tenant's portal (a tenant admin, the tenant's partner or staff).

    The token is random, stored only as a hash and valid for 7 days; the e-mail with the accept
    link is queued in the outbox in the tenant's language. Inviting an address that already has
    a pending invitation still within its expiry refreshes that one (same id; new token, new
    expiry, the given role): the old link stops working and a new e-mail is queued. Otherwise
    (none, or accepted, revoked, expired) it is a new invitation. Returns the invitation and
    the plain token.
    """
    locked = tenant_for_change(scope, tenant)
    if not locked.is_active:
        raise Conflict(_("無効なテナントには招待できません。"), code="tenant_inactive")
    # Usernames are e-mail addresses; compare them case-insensitively, store them lower-case.
    address = clean_email(email, field="email", required=True).lower()
    if len(address) > _USERNAME_MAX:
        raise invalid({"email": [_("メールアドレスは150文字以内で入力してください。")]})
    role = clean_role(role)
    if Membership.objects.filter(tenant=locked, user__username__iexact=address).exists():
        raise Conflict(
            _("このメールアドレスのユーザーは既にメンバーです。"),
            code="already_member",
            field="email",
        )

    token = secrets.token_urlsafe(32)
    now = clock.now()
    values = {
        "role": role,
        "token_hash": hash_key(token),
        "expires_at": now + INVITATION_TTL,
        "invited_by": scope.user if getattr(scope.user, "is_authenticated", False) else None,
        "invited_by_key": scope.acting_key,
    }
    invitation = (
        Invitation.objects.select_for_update()
        .filter(tenant=locked, email=address, status=InvitationStatus.PENDING)
        .first()
    )
    if invitation is not None and invitation.expires_at <= now:
        # Past its expiry (the housekeeping job had not marked it yet): it stays as it was, and
        # the address gets a new invitation, as after any expiry.
        invitation.status = InvitationStatus.EXPIRED
        invitation.save(update_fields=["status", "updated_at"])
        tell_invitations_expired([invitation])
        invitation = None
    refreshed = invitation is not None
    if invitation is None:
        invitation = Invitation.objects.create(tenant=locked, email=address, **values)
    else:
        for field, value in values.items():
            setattr(invitation, field, value)
        invitation.save(update_fields=[*values, "updated_at"])

    notify(
        addresses=[
            AddressNote(
                kind=EventKind.INVITATION,
                tenant=locked,
                # One message per token: a refresh queues a new e-mail, a retry of the same
                # does not.
                key=f"{invitation.pk}:{cast(str, values['token_hash'])[:16]}",
                recipient=address,
                payload={
                    "role": role,
                    "invitation_url": invitation_accept_url(token),
                    "expires_at": clock.api_instant(invitation.expires_at),
                },
            )
        ]
    )
    tell_invitation_created(invitation, locked, refreshed=refreshed)
    audit(
        scope,
        action=AuditAction.INVITE,
        obj=invitation,
        tenant_id=locked.pk,
        summary=address,
        data={"email": address, "role": role, "refreshed": refreshed},
    )
    return invitation, token


def _invitation_refusal(invitation: Invitation | None, now: datetime) -> ValidationFailed | None:
    if invitation is None:
        return ValidationFailed(
            _("この招待リンクは無効です。招待した方に再送を依頼してください。"),
            code="invitation_invalid",
        )
    if invitation.status == InvitationStatus.ACCEPTED:
        return ValidationFailed(
            _("この招待は既に使用されています。ログインしてご利用ください。"),
            code="invitation_used",
        )
    if invitation.status == InvitationStatus.REVOKED:
        return ValidationFailed(_("この招待は取り消されました。"), code="invitation_revoked")
    if invitation.status == InvitationStatus.EXPIRED or invitation.expires_at <= now:
        return ValidationFailed(
            _("この招待の有効期限が切れています。招待した方に再送を依頼してください。"),
            code="invitation_expired",
            expired_at=clock.api_instant(invitation.expires_at),
        )
    if not invitation.tenant.is_active:
        return ValidationFailed(_("この招待リンクは無効です。"), code="invitation_invalid")
    return None


def _user_for_invitation(
    invitation: Invitation, *, password: str, name: str, request: HttpRequest
) -> Any:
    """The existing account of the invited address (its password must match: the token proves
    the mailbox, not the account), or a new one with a validated password.

    The existing account's password is checked as a sign-in is: through `authenticate` with the
    request, so the sign-in throttle (terms_site/signin.py) refuses a locked account or address
    before any check and counts each failure against the same budget as the sign-in forms. A
    staff account never joins a tenant: its right password is answered and counted exactly as
    a wrong one (as at /portal/login/), so the page is no password oracle for staff."""
    user_model = get_user_model()
    address = invitation.email
    user = user_model.objects.filter(username__iexact=address).first()
    if user is None:
        candidate = user_model(username=address, email=address, first_name=name[:150])
        try:
            password_validation.validate_password(password, user=candidate)
        except DjangoValidationError as exc:
            raise invalid({"password": list(exc.messages)}, code="password_invalid") from None
        candidate.set_password(password)
        try:
            with transaction.atomic():
                candidate.save()
            return candidate
        except IntegrityError:
            # Created concurrently (another tenant's invitation for the same address).
            user = user_model.objects.get(username__iexact=address)
    username = user.get_username()
    signed_in = authenticate(request, username=username, password=password)
    if signed_in is not None and (signed_in.is_staff or signed_in.is_superuser):
        user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
        signed_in = None
    if signed_in is None or signed_in.pk != user.pk:
        raise invalid(
            {
                "password": [
                    _(
                        "このメールアドレスのアカウントは既にあります。そのアカウントのパスワードを入力してください。"
                    )
                ]
            },
            code="password_mismatch",
        )
    if name and not user.first_name:
        user.first_name = name[:150]
        user.save(update_fields=["first_name"])
    return user


@transaction.atomic
def invitation_accept(
    *, token: str, password: str, request: HttpRequest, name: str = ""
) -> Membership:
    """Join the tenant with the invited role: create the account (username = e-mail) or use the
    existing one, add the membership and mark the invitation accepted. An unknown, used,
    revoked or expired token is ValidationFailed with a message saying which. `request` is the
    sign-in's: an existing account's password is checked under the sign-in throttle, and a
    staff account is refused as a wrong password (`_user_for_invitation`)."""
    now = clock.now()
    invitation = (
        Invitation.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .filter(token_hash=hash_key(token or ""))
        .first()
        if token
        else None
    )
    refusal = _invitation_refusal(invitation, now)
    if refusal is not None or invitation is None:
        raise refusal or ValidationFailed(_("この招待リンクは無効です。"))
    user = _user_for_invitation(
        invitation, password=password or "", name=(name or "").strip(), request=request
    )
    membership, created = Membership.objects.get_or_create(
        tenant=invitation.tenant, user=user, defaults={"role": invitation.role}
    )
    tenant = invitation.tenant
    if created:
        tell_membership_added(membership, tenant)
    elif invitation.role == Role.ADMIN and membership.role != Role.ADMIN:
        previous = membership.role
        membership.role = Role.ADMIN
        membership.save(update_fields=["role", "updated_at"])
        tell_membership_role_changed(membership, tenant, previous)
    invitation.status = InvitationStatus.ACCEPTED
    invitation.accepted_at = now
    invitation.accepted_user = user
    invitation.save(update_fields=["status", "accepted_at", "accepted_user", "updated_at"])
    tell_invitation_accepted(invitation, membership)
    audit_add(
        actor=user,
        action=AuditAction.CREATE,
        obj=membership,
        tenant_id=invitation.tenant_id,
        summary=f"invitation {invitation.pk} accepted",
        data={"invitation_id": invitation.pk, "role": membership.role},
    )
    return membership


@transaction.atomic
def invitation_revoke(*, scope: Scope, invitation: Invitation) -> Invitation:
    """Withdraw a pending invitation (its link stops working); repeating it changes nothing."""
    found = selectors.invitation_get(scope=scope, pk=invitation.pk)
    tenant_for_change(scope, found.tenant)
    locked = Invitation.objects.select_for_update().get(pk=found.pk)
    if locked.status == InvitationStatus.REVOKED:
        return locked
    if locked.status == InvitationStatus.ACCEPTED:
        raise Conflict(_("承諾済みの招待は取り消せません。"), code="invitation_used")
    locked.status = InvitationStatus.REVOKED
    locked.save(update_fields=["status", "updated_at"])
    tell_invitation_revoked(locked)
    audit(
        scope,
        action=AuditAction.WITHDRAW,
        obj=locked,
        tenant_id=locked.tenant_id,
        summary=locked.email,
    )
    return locked


@transaction.atomic
def invitations_expire(*, now: datetime | None = None) -> int:
    """Mark pending invitations past their expiry as expired and tell each tenant's partner
    (`invitation.expired`), in one transaction (housekeeping, hourly; set-based). A
    re-invitation that finds one past its expiry before this job marks it does the same."""
    expired = list(
        Invitation.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .filter(status=InvitationStatus.PENDING, expires_at__lte=now or clock.now())
        .order_by("pk")
    )
    if not expired:
        return 0
    Invitation.objects.filter(pk__in=[row.pk for row in expired]).update(
        status=InvitationStatus.EXPIRED, updated_at=clock.now()
    )
    for row in expired:
        row.status = InvitationStatus.EXPIRED
    tell_invitations_expired(expired)
    return len(expired)
