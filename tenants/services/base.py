"""What every tenants service shares: the permission checks, field errors, the audit row.

The rules of who may do what are in the package docstring (tenants.services).
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from core.errors import PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants import selectors
from tenants.enums import Role
from tenants.models import Tenant
from tenants.rules import has_control_characters
from tenants.scope import Scope

NAME_MAX = 255  # the models' name fields, checked before saving so the caller gets a field error

INVALID_INPUT = _("入力内容に誤りがあります。")


def actor_label(scope: Scope) -> str:
    if scope.is_partner:
        return scope.actor_ref  # "key:<prefix>", never the key itself
    if scope.user is not None:
        return str(getattr(scope.user, "username", "")) or scope.actor_ref
    return "system"


def audit(
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
        actor_label=actor_label(scope),
    )


def require_staff(scope: Scope) -> None:
    if not scope.is_privileged:
        raise PermissionDenied(_("この操作は当社スタッフのみが行えます。"), code="staff_only")


def require_write(scope: Scope) -> None:
    if not scope.can_write:
        raise PermissionDenied(_("この操作を行う権限がありません。"))


def invalid(fields: dict[str, list[Any]], *, code: str = "invalid") -> ValidationFailed:
    return ValidationFailed(INVALID_INPUT, code=code, fields=fields)


def tenant_for_change(scope: Scope, tenant: Tenant) -> Tenant:
    """The tenant, locked, if the caller may change it: NotFound when out of reach,
    PermissionDenied when visible but read-only (a viewer, a read-only key, a product)."""
    visible = selectors.tenant_get(scope=scope, pk=tenant.pk)
    require_write(scope)
    # The lock serialises membership and invitation changes per tenant (last-admin check,
    # one pending invitation per address).
    return (
        Tenant.objects.select_for_update(of=("self",)).select_related("partner").get(pk=visible.pk)
    )


def name_errors(name: str) -> list[Any]:
    """Field errors of a tenant's or partner's name (already stripped): required, at most
    NAME_MAX characters, one line. Names reach e-mail subjects and the first line of every
    notice: a line break there would add lines (a link) of the writer's choosing."""
    if not name or len(name) > NAME_MAX:
        return [_("名称を255文字以内で入力してください。")]
    if has_control_characters(name):
        return [_("名称に改行や制御文字は使用できません。")]
    return []


def clean_email(value: str | None, *, field: str, required: bool) -> str:
    email = (value or "").strip()
    if not email:
        if required:
            raise invalid({field: [_("メールアドレスを入力してください。")]})
        return ""
    try:
        validate_email(email)
    except DjangoValidationError:
        raise invalid({field: [_("メールアドレスの形式が正しくありません。")]}) from None
    return email


def clean_role(role: str) -> str:
    if str(role) not in Role.values:
        raise invalid({"role": [_("役割は admin または viewer を指定してください。")]})
    return str(role)
