"""Partners (resellers): created by staff only."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_slug
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.enums import AuditAction
from core.errors import Conflict
from tenants.models import Partner
from tenants.scope import Scope
from tenants.services.base import audit, clean_email, invalid, name_errors, require_staff


@transaction.atomic
def partner_create(*, scope: Scope, code: str, name: str, contact_email: str = "") -> Partner:
    """A new reseller (staff only)."""
    require_staff(scope)
    code = (code or "").strip()
    name = (name or "").strip()
    errors: dict[str, list[Any]] = {}
    try:
        validate_slug(code)
    except DjangoValidationError:
        errors["code"] = [_("コードは半角英数字・ハイフン・アンダースコアで入力してください。")]
    if len(code) > 64:
        errors["code"] = [_("コードは64文字以内で入力してください。")]
    if name_problems := name_errors(name):
        errors["name"] = name_problems
    if errors:
        raise invalid(errors)
    contact_email = clean_email(contact_email, field="contact_email", required=False)
    if Partner.objects.filter(code=code).exists():
        raise Conflict(
            _("このコードのパートナーは既に登録されています。"),
            code="partner_code_taken",
            field="code",
        )
    partner = Partner.objects.create(code=code, name=name, contact_email=contact_email)
    audit(scope, action=AuditAction.CREATE, obj=partner, summary=f"partner {code}")
    return partner
