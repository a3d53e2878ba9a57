"""Reads of a partner's sandbox made with its live key: which partner the caller is, and the
sandbox's keys (docs/api.md, "Sandbox")."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agreements.models import ProductKey
from core.errors import PermissionDenied
from tenants.models import Partner, PartnerAPIKey
from tenants.scope import Scope


def live_partner_of(scope: Scope) -> Partner:
    """The caller's live partner; a sandbox key or any other caller is refused."""
    key = scope.partner_key if scope.is_partner else None
    if key is None:
        raise PermissionDenied(
            _("サンドボックスはパートナーの本番用キーで作成します。"), code="live_key_required"
        )
    partner = Partner.objects.get(pk=key.partner_id)
    if partner.is_sandbox:
        raise PermissionDenied(
            _("サンドボックスのキーでは作成できません。本番用キーをお使いください。"),
            code="live_key_required",
        )
    return partner


def sandbox_partner_keys(*, scope: Scope) -> QuerySet[PartnerAPIKey]:
    """The partner keys of the caller's sandbox (none before it has one), revoked ones too."""
    return PartnerAPIKey.objects.filter(partner__sandbox_of=live_partner_of(scope))


def sandbox_product_keys(*, scope: Scope) -> QuerySet[ProductKey]:
    """The product keys of the caller's sandbox's products, revoked ones too."""
    return ProductKey.objects.filter(
        product__sandbox__sandbox_of=live_partner_of(scope)
    ).select_related("product")
