"""Customer tenants: created by staff or their partner, changed within each caller's reach."""

from __future__ import annotations

from typing import Any, cast

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from core.enums import AuditAction
from core.errors import Conflict, PermissionDenied, ValidationFailed
from tenants.enums import Locale
from tenants.lifecycle import tell_tenant_created, tell_tenant_updated
from tenants.models import Partner, Tenant
from tenants.rules import (
    CORPORATE_NUMBER_LENGTH,
    is_valid_corporate_number,
    normalize_corporate_number,
)
from tenants.scope import Scope
from tenants.services.base import (
    audit,
    clean_email,
    invalid,
    name_errors,
    require_write,
    tenant_for_change,
)

_EXTERNAL_REF_MAX = 100


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
        raise invalid(
            {"corporate_number": [_("法人番号は13桁の数字で入力してください。")]},
            code="corporate_number_invalid",
        )
    if not is_valid_corporate_number(digits):
        raise invalid(
            {
                "corporate_number": [
                    _("法人番号のチェックデジットが一致しません。番号をご確認ください。")
                ]
            },
            code="corporate_number_invalid",
        )
    return digits


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
        if name_problems := name_errors(name):
            errors["name"] = name_problems
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
            clean["contact_email"] = clean_email(
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
        raise invalid(errors)
    return clean


def _check_tenant_unique(
    *, corporate_number: str | None, partner: Partner | None, external_ref: str, exclude: int | None
) -> None:
    others = Tenant.objects.exclude(pk=exclude) if exclude else Tenant.objects.all()
    # Among the same partner's tenants only (or among direct ones): whether another partner
    # has this company is not the caller's business (docs/security.md).
    if (
        corporate_number
        and others.filter(corporate_number=corporate_number, partner=partner).exists()
    ):
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
        if "_corporate_number" in str(exc):  # tenant_unique_{partner,direct}_corporate_number
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
    elif scope.is_partner:
        require_write(scope)
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
    tell_tenant_created(tenant)
    audit(
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
        raise invalid({f: [_("この項目は変更できません。")] for f in unknown}, code="unknown_field")
    locked = tenant_for_change(scope, tenant)
    if not scope.is_privileged:
        allowed = _PARTNER_FIELDS if scope.is_partner else _TENANT_USER_FIELDS
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
    tell_tenant_updated(locked, sorted(changes))
    audit(
        scope,
        action=AuditAction.UPDATE,
        obj=locked,
        tenant_id=locked.pk,
        summary=", ".join(sorted(changes)),
        data={"changes": changes},
    )
    return locked
