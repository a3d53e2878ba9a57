"""Which tenants a caller may see: the one check behind every consent read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.utils.translation import gettext_lazy as _

from core.errors import NotFound

if TYPE_CHECKING:
    from tenants.models import Tenant
    from tenants.scope import Scope


def tenant_in_scope(*, scope: Scope, tenant: Tenant) -> None:
    """Raise NotFound unless the caller may see `tenant` (another caller's object → 404)."""
    if scope.is_privileged:
        return
    if scope.is_partner and tenant.partner_id is not None:
        if tenant.partner_id == scope.partner_id:
            return
    elif scope.is_tenant_user:
        if tenant.pk == scope.tenant_id:
            return
    elif scope.is_product and scope.tenants().filter(pk=tenant.pk).exists():
        return
    raise NotFound(_("テナントが見つかりません。"), code="tenant_not_found")
