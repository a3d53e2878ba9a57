"""Terms documents: base terms (利用規約) and individual rules (個別規程) per product (R1)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from agreements.enums import DocumentKind
from agreements.selectors import versions as version_selectors
from web.api.auth import EVERYONE
from web.api.base import ApiView
from web.api.pagination import PageQuery, page_of
from web.api.products import product_by_code
from web.api.refs import body_ref
from web.requests import ApiRequest


class DocumentOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("文書ID"))
    product = serializers.SlugField(source="product.code", help_text=_("製品コード"))
    option = serializers.SerializerMethodField(
        help_text=_("個別規程の対象オプションのコード（利用規約は null）")
    )
    kind = serializers.ChoiceField(
        choices=DocumentKind.choices,
        help_text=_("base = 利用規約、individual = 個別規程（利用規約に優先、R1）"),
    )
    slug = serializers.SlugField(help_text=_("文書のスラッグ（製品内で一意）"))
    title = serializers.CharField(help_text=_("題名"))
    precedence = serializers.IntegerField(help_text=_("優先順位（大きいほど優先、R1）"))

    def get_option(self, obj: Any) -> str | None:
        return obj.option.code if obj.option_id else None


class DocumentListApi(ApiView):
    audience = EVERYONE
    tags = ("terms",)

    class FilterSerializer(PageQuery):
        product = serializers.SlugField(
            required=False,
            allow_blank=True,
            max_length=64,
            help_text=_("この製品コードの文書だけ（空は全製品）"),
        )

    @extend_schema(
        operation_id="documents_list",
        summary="List terms documents",
        description="Base terms (利用規約) and individual rules (個別規程) per product (R1). "
        "Each needs its own answer.",
        parameters=[FilterSerializer],
        responses={200: page_of(DocumentOutput, "Document")},
    )
    def get(self, request: ApiRequest) -> Response:
        query = self.query(self.FilterSerializer)
        product = None
        if query.get("product"):
            product = body_ref("product", product_by_code, code=query["product"])
        documents = version_selectors.document_list(scope=self.scope, product=product)
        return self.paginate(documents, DocumentOutput)
