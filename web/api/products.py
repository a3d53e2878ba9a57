"""The product catalogue: products and their options (public information, every caller)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from agreements.models import Option, Product
from core.errors import NotFound
from tenants import partition
from web.api.auth import EVERYONE
from web.api.base import ApiView
from web.api.pagination import PageQuery, page_of
from web.requests import ApiRequest


def product_list() -> QuerySet[Product]:
    """Products and their options (public information, the same for every caller)."""
    return (
        Product.objects.filter(partition.product_q())
        .prefetch_related(Prefetch("options", queryset=Option.objects.order_by("code")))
        .order_by("id")
    )


def product_by_code(code: str) -> Product:
    # Live products, or inside a sandbox request that sandbox's copies (tenants.partition).
    product = Product.objects.filter(partition.product_q(), code=code).first()
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


class OptionOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("オプションID"))
    code = serializers.SlugField(help_text=_("オプションのコード（例: device-auth）"))
    name = serializers.CharField(help_text=_("名称（日本語）"))
    name_en = serializers.CharField(help_text=_("名称（英語）"))
    requires_product = serializers.IntegerField(
        source="requires_product_id",
        allow_null=True,
        help_text=_("前提となる製品のID（R18: 同じテナントの有効な契約が必要）"),
    )


class ProductOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("製品ID"))
    code = serializers.SlugField(help_text=_("製品コード（optimal-biz / optim-id-plus）"))
    name = serializers.CharField(help_text=_("名称（日本語）"))
    name_en = serializers.CharField(help_text=_("名称（英語）"))
    terms_auto_renewal = serializers.BooleanField(
        help_text=_("規約に自動更新の定めがあるか（R11: ID+ はあり、Biz は注文書による）")
    )
    terms_notice_months = serializers.IntegerField(
        allow_null=True, help_text=_("規約上の更新拒絶期間（月）")
    )
    options = OptionOutput(many=True, help_text=_("この製品のオプション"))


class ProductListApi(ApiView):
    FilterSerializer = PageQuery  # the query parameters: a page
    audience = EVERYONE
    tags = ("terms",)

    @extend_schema(
        operation_id="products_list",
        summary="List products and their options",
        parameters=[FilterSerializer],
        responses={200: page_of(ProductOutput, "Product")},
    )
    def get(self, request: ApiRequest) -> Response:
        self.query(self.FilterSerializer)
        return self.paginate(product_list(), ProductOutput)
