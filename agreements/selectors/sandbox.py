"""Reads of a partner's sandbox made with its live key: which partner the caller is, and the
sandbox's keys (docs/api.md, "Sandbox")."""

from __future__ import annotations

from typing import Literal

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agreements.models import ProductKey
from core.errors import PermissionDenied
from tenants.models import Partner, PartnerAPIKey
from tenants.scope import Scope

# What the caller was doing with its sandbox's keys, for the refusal's words.
Doing = Literal["create", "list", "revoke"]


def _refusals(doing: Doing) -> tuple[str, str]:
    """(no partner key at all, a sandbox key): what `live_key_required` says for `doing`."""
    if doing == "list":
        return (
            _("サンドボックスのキーの一覧は、パートナーの本番用キーで取得します。"),
            _("サンドボックスのキーでは、キーの一覧を取得できません。本番用キーをお使いください。"),
        )
    if doing == "revoke":
        return (
            _("サンドボックスのキーは、パートナーの本番用キーで失効させます。"),
            _("サンドボックスのキーでは、キーを失効させられません。本番用キーをお使いください。"),
        )
    return (
        _("サンドボックスはパートナーの本番用キーで作成します。"),
        _("サンドボックスのキーでは作成できません。本番用キーをお使いください。"),
    )


def live_partner_of(scope: Scope, doing: Doing = "create") -> Partner:
    """The caller's live partner; a sandbox key or any other caller is refused, in words that
    name what it was `doing` (creating the sandbox and its keys, listing or revoking them)."""
    key = scope.partner_key if scope.is_partner else None
    if key is None:
        raise PermissionDenied(_refusals(doing)[0], code="live_key_required")
    partner = Partner.objects.get(pk=key.partner_id)
    if partner.is_sandbox:
        raise PermissionDenied(_refusals(doing)[1], code="live_key_required")
    return partner


def sandbox_partner_keys(*, scope: Scope, doing: Doing = "list") -> QuerySet[PartnerAPIKey]:
    """The partner keys of the caller's sandbox (none before it has one), revoked ones too."""
    return PartnerAPIKey.objects.filter(partner__sandbox_of=live_partner_of(scope, doing))


def sandbox_product_keys(*, scope: Scope, doing: Doing = "list") -> QuerySet[ProductKey]:
    """The product keys of the caller's sandbox's products, revoked ones too."""
    return ProductKey.objects.filter(
        product__sandbox__sandbox_of=live_partner_of(scope, doing)
    ).select_related("product")
