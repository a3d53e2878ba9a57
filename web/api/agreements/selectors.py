"""Reads only the API needs, each built from the caller's Scope: the catalogue and deletions."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _

from agreements.enums import NonRenewalStatus
from agreements.models import DataDeletion, NonRenewalRequest, Option, Product
from core.errors import NotFound, PermissionDenied
from tenants.scope import Scope


def product_list() -> QuerySet[Product]:
    """Products and their options (public information, the same for every caller)."""
    return Product.objects.prefetch_related(
        Prefetch("options", queryset=Option.objects.order_by("code"))
    ).order_by("id")


def product_by_code(code: str) -> Product:
    product = Product.objects.filter(code=code).first()
    if product is None:
        raise NotFound(_("製品が見つかりません。"), code="product_not_found")
    return product


def options_by_code(product: Product, codes: list[str]) -> list[Option]:
    found = {o.code: o for o in Option.objects.filter(product=product, code__in=codes)}
    missing = sorted(set(codes) - set(found))
    if missing:
        raise NotFound(
            _("製品にないオプションです: %(codes)s") % {"codes": ", ".join(missing)},
            code="option_not_found",
        )
    return [found[c] for c in codes]


def deletion_list(*, scope: Scope, status: str | None = None) -> QuerySet[DataDeletion]:
    """Deletion orders in the caller's reach: a product sees its own product's; staff all."""
    qs = DataDeletion.objects.select_related("contract", "contract__product")
    if scope.kind == "product":
        qs = qs.filter(contract__product_id=scope.product_id)
    elif not scope.is_privileged:
        raise PermissionDenied(_("削除の指示を参照する権限がありません。"))
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("id")


def deletion_get(*, scope: Scope, pk: int) -> DataDeletion:
    try:
        return deletion_list(scope=scope).get(pk=pk)
    except DataDeletion.DoesNotExist:
        raise NotFound(_("削除の指示が見つかりません。"), code="deletion_not_found") from None


def non_renewal_active(*, contract_id: int) -> NonRenewalRequest:
    """The contract's active non-renewal application (the caller has already read the contract)."""
    request = NonRenewalRequest.objects.filter(
        contract_id=contract_id, status=NonRenewalStatus.ACTIVE
    ).first()
    if request is None:
        raise NotFound(_("有効な更新しない旨の申込はありません。"), code="non_renewal_not_found")
    return request
