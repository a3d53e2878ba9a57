"""Writes for partners, their keys and webhooks, tenants, memberships and invitations.

Each service is one transaction, takes the caller's Scope, raises core.errors exceptions and
leaves an AuditEntry. Who may do what:

- staff (and the system): everything; only they create partners, issue or revoke partner keys,
  and move a tenant from one partner to another (R19: nothing moves between partners except
  by staff).
- a partner key with the `write` scope: its own tenants, their users and invitations, its own
  webhooks. A partner never chooses another partner: passing one is PermissionDenied.
- a tenant admin: the users and invitations of their tenant, and its contact details.

Objects out of reach are NotFound (they are invisible); visible but not writable is
PermissionDenied.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth import get_user_model, password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator, validate_email, validate_slug
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from core import clock
from core.enums import AuditAction, EventKind, OutboxChannel
from core.errors import Conflict, PermissionDenied, ValidationFailed
from core.services import audit_add, outbox_add
from tenants import selectors
from tenants.enums import InvitationStatus, KeyScope, Locale, Role
from tenants.keys import PARTNER_KEY_TAG, hash_key, issue_key
from tenants.models import Invitation, Membership, Partner, PartnerAPIKey, Tenant, WebhookEndpoint
from tenants.rules import (
    CORPORATE_NUMBER_LENGTH,
    is_valid_corporate_number,
    normalize_corporate_number,
)
from tenants.scope import Scope

INVITATION_TTL = timedelta(days=7)
# A rotated-out webhook secret keeps signing for this long so receivers can switch over.
WEBHOOK_SECRET_GRACE = timedelta(hours=24)
MAX_WEBHOOKS = 10  # active endpoints per partner
WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 -- a label, not a secret
# Field lengths of the models, checked before saving so the caller gets a field error.
_NAME_MAX = 255
_KEY_NAME_MAX = 100
_EXTERNAL_REF_MAX = 100
_USERNAME_MAX = 150  # django.contrib.auth User.username

_INVALID_INPUT = _("入力内容に誤りがあります。")


# --- helpers ----------------------------------------------------------------------------------


def _actor_label(scope: Scope) -> str:
    if scope.kind == "partner":
        return scope.actor_ref  # "key:<prefix>", never the key itself
    if scope.user is not None:
        return str(getattr(scope.user, "username", "")) or scope.actor_ref
    return "system"


def _audit(
    scope: Scope,
    *,
    action: str,
    obj: Any,
    summary: str = "",
    data: dict[str, Any] | None = None,
    tenant_id: int | None = None,
) -> None:
    audit_add(
        actor=scope.user,
        action=action,
        obj=obj,
        summary=summary,
        data=data,
        tenant_id=tenant_id,
        actor_label=_actor_label(scope),
    )


def _require_staff(scope: Scope) -> None:
    if not scope.is_privileged:
        raise PermissionDenied(_("この操作は当社スタッフのみが行えます。"), code="staff_only")


def _require_write(scope: Scope) -> None:
    if not scope.can_write:
        raise PermissionDenied(_("この操作を行う権限がありません。"))


def _fail(fields: dict[str, list[Any]], *, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed(_INVALID_INPUT, code=code, fields=fields)


def _tenant_for_change(scope: Scope, tenant: Tenant) -> Tenant:
    """The tenant, locked, if the caller may change it: NotFound when out of reach,
    PermissionDenied when visible but read-only (a viewer, a read-only key, a product)."""
    visible = selectors.tenant_get(scope=scope, pk=tenant.pk)
    _require_write(scope)
    # The lock serialises membership and invitation changes per tenant (last-admin check,
    # one pending invitation per address).
    return (
        Tenant.objects.select_for_update(of=("self",)).select_related("partner").get(pk=visible.pk)
    )


def _clean_email(value: str | None, *, field: str, required: bool) -> str:
    email = (value or "").strip()
    if not email:
        if required:
            raise _fail({field: [_("メールアドレスを入力してください。")]})
        return ""
    try:
        validate_email(email)
    except DjangoValidationError:
        raise _fail({field: [_("メールアドレスの形式が正しくありません。")]}) from None
    return email


def clean_corporate_number(value: str | None) -> str | None:
    """The 法人番号 as 13 ASCII digits (full-width digits and hyphens accepted), None when empty.

    Raises ValidationFailed with a field error for a wrong length or check digit.
    """
    if value is None:
        return None
    digits = normalize_corporate_number(str(value))
    if not digits:
        return None
    if len(digits) != CORPORATE_NUMBER_LENGTH or not (digits.isascii() and digits.isdigit()):
        raise _fail(
            {"corporate_number": [_("法人番号は13桁の数字で入力してください。")]},
            code="corporate_number_invalid",
        )
    if not is_valid_corporate_number(digits):
        raise _fail(
            {
                "corporate_number": [
                    _("法人番号のチェックデジットが一致しません。番号をご確認ください。")
                ]
            },
            code="corporate_number_invalid",
        )
    return digits


# --- partners and their keys ------------------------------------------------------------------


@transaction.atomic
def partner_create(*, scope: Scope, code: str, name: str, contact_email: str = "") -> Partner:
    """A new reseller (staff only)."""
    _require_staff(scope)
    code = (code or "").strip()
    name = (name or "").strip()
    errors: dict[str, list[Any]] = {}
    try:
        validate_slug(code)
    except DjangoValidationError:
        errors["code"] = [_("コードは半角英数字・ハイフン・アンダースコアで入力してください。")]
    if len(code) > 64:
        errors["code"] = [_("コードは64文字以内で入力してください。")]
    if not name or len(name) > _NAME_MAX:
        errors["name"] = [_("名称を255文字以内で入力してください。")]
    if errors:
        raise _fail(errors)
    contact_email = _clean_email(contact_email, field="contact_email", required=False)
    if Partner.objects.filter(code=code).exists():
        raise Conflict(
            _("このコードのパートナーは既に登録されています。"),
            code="partner_code_taken",
            field="code",
        )
    partner = Partner.objects.create(code=code, name=name, contact_email=contact_email)
    _audit(scope, action=AuditAction.CREATE, obj=partner, summary=f"partner {code}")
    return partner


def _clean_key_scopes(scopes: Iterable[str]) -> list[str]:
    values = [str(s) for s in scopes]
    unknown = sorted(set(values) - set(KeyScope.values))
    if unknown or not values:
        raise _fail({"scopes": [_("権限は read / write から選んでください。")]})
    chosen = set(values)
    if KeyScope.WRITE in chosen:
        chosen.add(KeyScope.READ)  # a key that may change data may also read it
    return [s for s in KeyScope.values if s in chosen]


@transaction.atomic
def partner_key_issue(
    *, scope: Scope, partner: Partner, name: str, scopes: Iterable[str]
) -> tuple[PartnerAPIKey, str]:
    """Issue a key for `partner` (staff only). Returns the row and the plain key, which is
    shown to the caller this once: only its SHA-256 hash and a visible prefix are stored."""
    _require_staff(scope)
    partner = selectors.partner_get(scope=scope, pk=partner.pk)
    name = (name or "").strip()
    if not name or len(name) > _KEY_NAME_MAX:
        raise _fail({"name": [_("キーの名前を100文字以内で入力してください。")]})
    clean_scopes = _clean_key_scopes(scopes)
    created_by = scope.user if getattr(scope.user, "is_authenticated", False) else None
    # The visible prefix is 32 random bits and unique; a clash is improbable but possible.
    for _attempt in range(5):
        issued = issue_key(PARTNER_KEY_TAG)
        try:
            with transaction.atomic():
                key = PartnerAPIKey.objects.create(
                    partner=partner,
                    name=name,
                    prefix=issued.prefix,
                    hashed_key=issued.hashed,
                    scopes=clean_scopes,
                    created_by=created_by,
                )
            break
        except IntegrityError:
            continue
    else:  # pragma: no cover - five clashes in 2**32 do not happen
        raise Conflict(_("キーを発行できませんでした。もう一度お試しください。"))
    _audit(
        scope,
        action=AuditAction.ISSUE_KEY,
        obj=key,
        summary=f"{partner.code}: {key.prefix}",
        data={"partner_id": partner.pk, "prefix": key.prefix, "scopes": clean_scopes},
    )
    return key, issued.full


@transaction.atomic
def partner_key_revoke(*, scope: Scope, key: PartnerAPIKey) -> PartnerAPIKey:
    """Revoke a partner key (staff only); revoking a revoked key changes nothing."""
    _require_staff(scope)
    now = clock.now()
    # Conditional UPDATE: the first revocation wins and is the one audited.
    changed = PartnerAPIKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=now, updated_at=now
    )
    key.refresh_from_db()
    if changed:
        _audit(
            scope,
            action=AuditAction.REVOKE_KEY,
            obj=key,
            summary=f"{key.prefix}",
            data={"partner_id": key.partner_id, "prefix": key.prefix},
        )
    return key


# --- tenants ----------------------------------------------------------------------------------

_TENANT_FIELDS = {
    "name",
    "corporate_number",
    "locale",
    "contact_email",
    "external_ref",
    "is_active",
    "partner",
}
# What each kind of caller may change; staff may change everything above.
_PARTNER_FIELDS = {"name", "corporate_number", "locale", "contact_email", "external_ref"}
_TENANT_USER_FIELDS = {"name", "locale", "contact_email"}


def _clean_tenant_values(values: dict[str, Any]) -> dict[str, Any]:
    """Normalise and validate the given tenant fields, reporting every field error at once."""
    clean: dict[str, Any] = {}
    errors: dict[str, list[Any]] = {}
    if "name" in values:
        name = (values["name"] or "").strip()
        if not name or len(name) > _NAME_MAX:
            errors["name"] = [_("名称を255文字以内で入力してください。")]
        clean["name"] = name
    if "corporate_number" in values:
        try:
            clean["corporate_number"] = clean_corporate_number(values["corporate_number"])
        except ValidationFailed as exc:
            errors.update(exc.details["fields"])
    if "locale" in values:
        locale = str(values["locale"] or "")
        if locale not in Locale.values:
            errors["locale"] = [_("言語は ja または en を指定してください。")]
        clean["locale"] = locale
    if "contact_email" in values:
        try:
            clean["contact_email"] = _clean_email(
                values["contact_email"], field="contact_email", required=False
            )
        except ValidationFailed as exc:
            errors.update(exc.details["fields"])
    if "external_ref" in values:
        ref = (values["external_ref"] or "").strip()
        if len(ref) > _EXTERNAL_REF_MAX:
            errors["external_ref"] = [_("パートナー側の識別子は100文字以内で入力してください。")]
        clean["external_ref"] = ref
    if "is_active" in values:
        if not isinstance(values["is_active"], bool):
            errors["is_active"] = [_("有効・無効を指定してください。")]
        clean["is_active"] = values["is_active"]
    if "partner" in values:
        partner = values["partner"]
        if partner is not None and not isinstance(partner, Partner):
            errors["partner"] = [_("パートナーを指定してください。")]
        elif partner is not None and not partner.is_active:
            errors["partner"] = [_("このパートナーは無効です。")]
        clean["partner"] = partner
    if errors:
        raise _fail(errors)
    return clean


def _check_tenant_unique(
    *, corporate_number: str | None, partner: Partner | None, external_ref: str, exclude: int | None
) -> None:
    others = Tenant.objects.exclude(pk=exclude) if exclude else Tenant.objects.all()
    if corporate_number and others.filter(corporate_number=corporate_number).exists():
        raise Conflict(
            _("この法人番号のテナントは既に登録されています。"),
            code="corporate_number_taken",
            field="corporate_number",
        )
    if (
        partner is not None
        and external_ref
        and others.filter(partner=partner, external_ref=external_ref).exists()
    ):
        raise Conflict(
            _("このパートナー側の識別子は既に使われています。"),
            code="external_ref_taken",
            field="external_ref",
        )


def _save_tenant(tenant: Tenant, *, update_fields: list[str] | None = None) -> None:
    """Save, turning a lost race on a unique constraint into the Conflict the pre-check gives."""
    try:
        with transaction.atomic():
            tenant.save(update_fields=update_fields)
    except IntegrityError as exc:
        if "tenant_unique_corporate_number" in str(exc):
            raise Conflict(
                _("この法人番号のテナントは既に登録されています。"),
                code="corporate_number_taken",
                field="corporate_number",
            ) from None
        if "tenant_unique_partner_ref" in str(exc):
            raise Conflict(
                _("このパートナー側の識別子は既に使われています。"),
                code="external_ref_taken",
                field="external_ref",
            ) from None
        raise


@transaction.atomic
def tenant_create(
    *,
    scope: Scope,
    name: str,
    corporate_number: str | None = None,
    partner: Partner | None = None,
    locale: str = Locale.JA,
    contact_email: str = "",
    external_ref: str = "",
) -> Tenant:
    """A new customer. Staff create direct tenants (partner=None) or a partner's; a partner
    creates only its own (the partner comes from the scope)."""
    if scope.is_privileged:
        owner = partner
    elif scope.kind == "partner":
        _require_write(scope)
        if partner is not None and partner.pk != scope.partner_id:
            raise PermissionDenied(
                _("他のパートナーのテナントは作成できません。"), code="partner_mismatch"
            )
        owner = Partner.objects.get(pk=cast(int, scope.partner_id))
    else:
        raise PermissionDenied(_("テナントを作成する権限がありません。"))
    values = _clean_tenant_values(
        {
            "name": name,
            "corporate_number": corporate_number,
            "partner": owner,
            "locale": locale,
            "contact_email": contact_email,
            "external_ref": external_ref,
        }
    )
    _check_tenant_unique(
        corporate_number=values["corporate_number"],
        partner=owner,
        external_ref=values["external_ref"],
        exclude=None,
    )
    tenant = Tenant(**values)
    _save_tenant(tenant)
    _audit(
        scope,
        action=AuditAction.CREATE,
        obj=tenant,
        tenant_id=tenant.pk,
        summary=tenant.name,
        data={"partner_id": tenant.partner_id, "corporate_number": tenant.corporate_number},
    )
    return tenant


def _audit_value(value: Any) -> Any:
    return value.pk if isinstance(value, Partner) else value


@transaction.atomic
def tenant_update(*, scope: Scope, tenant: Tenant, **fields: Any) -> Tenant:
    """Change a tenant's details. Partners cannot move a tenant to another partner; staff can
    (R19's spirit: nothing moves between partners except by staff). Unchanged values write
    nothing."""
    unknown = sorted(set(fields) - _TENANT_FIELDS)
    if unknown:
        raise _fail({f: [_("この項目は変更できません。")] for f in unknown}, code="unknown_field")
    locked = _tenant_for_change(scope, tenant)
    if not scope.is_privileged:
        allowed = _PARTNER_FIELDS if scope.kind == "partner" else _TENANT_USER_FIELDS
        partner_value = fields.get("partner", locked.partner)
        if "partner" in fields and getattr(partner_value, "pk", None) == locked.partner_id:
            fields.pop("partner")  # naming the current partner again is not a move
        refused = sorted(set(fields) - allowed)
        if refused:
            code = "partner_mismatch" if "partner" in refused else "forbidden"
            raise PermissionDenied(
                _("次の項目を変更する権限がありません: %(fields)s")
                % {"fields": ", ".join(refused)},
                code=code,
                fields=refused,
            )
    values = _clean_tenant_values(fields)
    changes = {
        field: [_audit_value(getattr(locked, field)), _audit_value(value)]
        for field, value in values.items()
        if getattr(locked, field) != value
    }
    if not changes:
        return locked
    for field, value in values.items():
        setattr(locked, field, value)
    _check_tenant_unique(
        corporate_number=locked.corporate_number,
        partner=locked.partner,
        external_ref=locked.external_ref,
        exclude=locked.pk,
    )
    _save_tenant(locked, update_fields=[*sorted(changes), "updated_at"])
    _audit(
        scope,
        action=AuditAction.UPDATE,
        obj=locked,
        tenant_id=locked.pk,
        summary=", ".join(sorted(changes)),
        data={"changes": changes},
    )
    return locked


# --- invitations ------------------------------------------------------------------------------


def _clean_role(role: str) -> str:
    if str(role) not in Role.values:
        raise _fail({"role": [_("役割は admin または viewer を指定してください。")]})
    return str(role)


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
    a pending invitation refreshes that one (new token, new expiry, the given role): the old
    link stops working and a new e-mail is queued. Returns the invitation and the plain token.
    """
    locked = _tenant_for_change(scope, tenant)
    if not locked.is_active:
        raise Conflict(_("無効なテナントには招待できません。"), code="tenant_inactive")
    # Usernames are e-mail addresses; compare them case-insensitively, store them lower-case.
    address = _clean_email(email, field="email", required=True).lower()
    if len(address) > _USERNAME_MAX:
        raise _fail({"email": [_("メールアドレスは150文字以内で入力してください。")]})
    role = _clean_role(role)
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
        "invited_by_key": scope.partner_key if scope.kind == "partner" else None,
    }
    invitation = (
        Invitation.objects.select_for_update()
        .filter(tenant=locked, email=address, status=InvitationStatus.PENDING)
        .first()
    )
    refreshed = invitation is not None
    if invitation is None:
        invitation = Invitation.objects.create(tenant=locked, email=address, **values)
    else:
        for field, value in values.items():
            setattr(invitation, field, value)
        invitation.save(update_fields=[*values, "updated_at"])

    outbox_add(
        kind=EventKind.INVITATION,
        channel=OutboxChannel.EMAIL,
        # One message per token: a refresh queues a new e-mail, a retry of the same does not.
        dedupe_key=f"{EventKind.INVITATION}:{invitation.pk}:{cast(str, values['token_hash'])[:16]}",
        payload={
            "tenant_id": locked.pk,
            "tenant_name": locked.name,
            "role": role,
            "invitation_url": invitation_accept_url(token),
            "expires_at": invitation.expires_at.isoformat(),
        },
        recipient=address,
        tenant_id=locked.pk,
        partner_id=locked.partner_id,
        locale=locked.locale,
    )
    _audit(
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
            expired_at=invitation.expires_at.isoformat(),
        )
    if not invitation.tenant.is_active:
        return ValidationFailed(_("この招待リンクは無効です。"), code="invitation_invalid")
    return None


def _user_for_invitation(invitation: Invitation, *, password: str, name: str) -> Any:
    """The existing account of the invited address (its password must match: the token proves
    the mailbox, not the account), or a new one with a validated password."""
    user_model = get_user_model()
    address = invitation.email
    user = user_model.objects.filter(username__iexact=address).first()
    if user is None:
        candidate = user_model(username=address, email=address, first_name=name[:150])
        try:
            password_validation.validate_password(password, user=candidate)
        except DjangoValidationError as exc:
            raise _fail({"password": list(exc.messages)}, code="password_invalid") from None
        candidate.set_password(password)
        try:
            with transaction.atomic():
                candidate.save()
            return candidate
        except IntegrityError:
            # Created concurrently (another tenant's invitation for the same address).
            user = user_model.objects.get(username__iexact=address)
    if not user.is_active or not user.check_password(password):
        raise _fail(
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
def invitation_accept(*, token: str, password: str, name: str = "") -> Membership:
    """Join the tenant with the invited role: create the account (username = e-mail) or use the
    existing one, add the membership and mark the invitation accepted. An unknown, used,
    revoked or expired token is ValidationFailed with a message saying which."""
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
    user = _user_for_invitation(invitation, password=password or "", name=(name or "").strip())
    membership, created = Membership.objects.get_or_create(
        tenant=invitation.tenant, user=user, defaults={"role": invitation.role}
    )
    if not created and invitation.role == Role.ADMIN and membership.role != Role.ADMIN:
        membership.role = Role.ADMIN
        membership.save(update_fields=["role", "updated_at"])
    invitation.status = InvitationStatus.ACCEPTED
    invitation.accepted_at = now
    invitation.accepted_user = user
    invitation.save(update_fields=["status", "accepted_at", "accepted_user", "updated_at"])
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
    _tenant_for_change(scope, found.tenant)
    locked = Invitation.objects.select_for_update().get(pk=found.pk)
    if locked.status == InvitationStatus.REVOKED:
        return locked
    if locked.status == InvitationStatus.ACCEPTED:
        raise Conflict(_("承諾済みの招待は取り消せません。"), code="invitation_used")
    locked.status = InvitationStatus.REVOKED
    locked.save(update_fields=["status", "updated_at"])
    _audit(
        scope,
        action=AuditAction.WITHDRAW,
        obj=locked,
        tenant_id=locked.tenant_id,
        summary=locked.email,
    )
    return locked


def invitations_expire(*, now: datetime | None = None) -> int:
    """Mark pending invitations past their expiry as expired (housekeeping; set-based)."""
    return Invitation.objects.filter(
        status=InvitationStatus.PENDING, expires_at__lte=now or clock.now()
    ).update(status=InvitationStatus.EXPIRED)


# --- memberships ------------------------------------------------------------------------------


def _other_admins(membership: Membership) -> int:
    return (
        Membership.objects.filter(tenant_id=membership.tenant_id, role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .count()
    )


def _last_admin() -> Conflict:
    return Conflict(
        _("最後の管理者は削除・変更できません。先に別の管理者を指定してください。"),
        code="last_admin",
    )


@transaction.atomic
def membership_remove(*, scope: Scope, membership: Membership) -> None:
    """Remove a user from a tenant (tenant admin, the tenant's partner, staff). The last admin
    cannot be removed (Conflict): someone must remain to answer for the tenant."""
    found = selectors.membership_get(scope=scope, pk=membership.pk)
    _tenant_for_change(scope, found.tenant)  # the tenant lock serialises the admin count
    locked = Membership.objects.select_for_update().filter(pk=found.pk).first()
    if locked is None:
        return
    if locked.role == Role.ADMIN and _other_admins(locked) == 0:
        raise _last_admin()
    _audit(
        scope,
        action=AuditAction.REMOVE,
        obj=locked,
        tenant_id=locked.tenant_id,
        summary=str(getattr(found.user, "username", "")),
        data={"user_id": locked.user_id, "role": locked.role},
    )
    locked.delete()


@transaction.atomic
def membership_set_role(*, scope: Scope, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last admin cannot be demoted (Conflict)."""
    role = _clean_role(role)
    found = selectors.membership_get(scope=scope, pk=membership.pk)
    _tenant_for_change(scope, found.tenant)
    locked = Membership.objects.select_for_update().get(pk=found.pk)
    if locked.role == role:
        return locked
    if locked.role == Role.ADMIN and _other_admins(locked) == 0:
        raise _last_admin()
    previous = locked.role
    locked.role = role
    locked.save(update_fields=["role", "updated_at"])
    _audit(
        scope,
        action=AuditAction.UPDATE,
        obj=locked,
        tenant_id=locked.tenant_id,
        summary=f"{previous} → {role}",
        data={"user_id": locked.user_id, "role": [previous, role]},
    )
    return locked


# --- webhooks ---------------------------------------------------------------------------------


def _clean_webhook_url(url: str) -> str:
    value = (url or "").strip()
    try:
        URLValidator(schemes=["http", "https"])(value)
    except DjangoValidationError:
        raise _fail({"url": [_("URLの形式が正しくありません。")]}) from None
    if len(value) > 500:
        raise _fail({"url": [_("URLは500文字以内で入力してください。")]})
    # Signed payloads still carry tenant data: plain http is for local development only.
    if urlsplit(value).scheme != "https" and not settings.DEBUG:
        raise _fail({"url": [_("https のURLを指定してください。")]}, code="https_required")
    return value


def _clean_event_kinds(kinds: Iterable[str]) -> list[str]:
    values = [str(k) for k in kinds]
    unknown = sorted(set(values) - set(EventKind.values))
    if unknown:
        raise _fail(
            {"event_kinds": [_("不明なイベント種別: %(kinds)s") % {"kinds": ", ".join(unknown)}]}
        )
    return sorted(set(values))


def _new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)


def _webhook_owner(scope: Scope, partner: Partner | None) -> Partner:
    if scope.is_privileged:
        if partner is None:
            raise _fail({"partner": [_("パートナーを指定してください。")]})
        return selectors.partner_get(scope=scope, pk=partner.pk)
    if scope.kind != "partner":
        raise PermissionDenied(_("Webhookを登録する権限がありません。"))
    _require_write(scope)
    if partner is not None and partner.pk != scope.partner_id:
        raise PermissionDenied(
            _("他のパートナーのWebhookは登録できません。"), code="partner_mismatch"
        )
    return Partner.objects.get(pk=cast(int, scope.partner_id))


@transaction.atomic
def webhook_register(
    *, scope: Scope, url: str, event_kinds: Iterable[str] = (), partner: Partner | None = None
) -> tuple[WebhookEndpoint, str]:
    """Register an endpoint for the partner's events (all kinds when `event_kinds` is empty).
    https is required unless DEBUG. Returns the endpoint and its signing secret, shown once."""
    owner = _webhook_owner(scope, partner)
    clean_url = _clean_webhook_url(url)
    kinds = _clean_event_kinds(event_kinds)
    # Every event fans out to every endpoint: bound the fan-out per partner. The partner row
    # lock makes the count exact under concurrent registrations.
    Partner.objects.select_for_update().filter(pk=owner.pk).first()
    if WebhookEndpoint.objects.filter(partner=owner, is_active=True).count() >= MAX_WEBHOOKS:
        raise Conflict(
            _("有効なWebhookは%(max)d件までです。不要なものを無効化してください。")
            % {"max": MAX_WEBHOOKS},
            code="webhook_limit",
        )
    secret = _new_webhook_secret()
    endpoint = WebhookEndpoint.objects.create(
        partner=owner, url=clean_url, secret=secret, event_kinds=kinds
    )
    _audit(
        scope,
        action=AuditAction.CREATE,
        obj=endpoint,
        summary=clean_url,
        data={"partner_id": owner.pk, "event_kinds": kinds},
    )
    return endpoint, secret


def _webhook_for_change(scope: Scope, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    found = selectors.webhook_get(scope=scope, pk=endpoint.pk)
    _require_write(scope)
    return WebhookEndpoint.objects.select_for_update().get(pk=found.pk)


@transaction.atomic
def webhook_rotate_secret(
    *, scope: Scope, endpoint: WebhookEndpoint
) -> tuple[WebhookEndpoint, str]:
    """A new signing secret, returned once. The previous secret keeps signing (as a second
    `v1=`) for 24 hours so the receiver can switch without rejecting deliveries."""
    locked = _webhook_for_change(scope, endpoint)
    if not locked.is_active:
        raise Conflict(
            _("無効化されたWebhookのシークレットは更新できません。"), code="webhook_disabled"
        )
    secret = _new_webhook_secret()
    locked.previous_secret = locked.secret
    locked.previous_secret_expires_at = clock.now() + WEBHOOK_SECRET_GRACE
    locked.secret = secret
    locked.save(
        update_fields=["secret", "previous_secret", "previous_secret_expires_at", "updated_at"]
    )
    _audit(scope, action=AuditAction.UPDATE, obj=locked, summary="secret rotated")
    return locked, secret


@transaction.atomic
def webhook_disable(*, scope: Scope, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop deliveries to the endpoint; disabling a disabled endpoint changes nothing."""
    locked = _webhook_for_change(scope, endpoint)
    if not locked.is_active:
        return locked
    locked.is_active = False
    locked.disabled_at = clock.now()
    locked.save(update_fields=["is_active", "disabled_at", "updated_at"])
    _audit(scope, action=AuditAction.UPDATE, obj=locked, summary="disabled")
    return locked
