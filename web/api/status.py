"""The products' status check: may this tenant keep using the product? (R4, R6)"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from agreements.enums import ConsentStatus, DocumentKind, ProductKeyScope
from agreements.models import ProductKey
from agreements.selectors import consents as consent_selectors
from agreements.selectors.consents import (
    FLAG_CASE_CONFIRMED,
    FLAG_CONTRACT_INACTIVE,
    FLAG_OUTSTANDING,
    FLAG_REJECTED,
)
from web.api.auth import PRODUCTS
from web.api.base import ApiView
from web.api.problems import errors
from web.api.products import product_by_code
from web.api.refs import body_ref, field_error
from web.requests import ApiRequest

STATUS_FLAG_CHOICES = [
    (FLAG_CONTRACT_INACTIVE, _("有効な契約がない")),
    (FLAG_OUTSTANDING, _("明示の同意が未了（効力発生日後）")),
    (FLAG_REJECTED, _("改定を拒否している（解約案件の対象）")),
    (FLAG_CASE_CONFIRMED, _("拒否による解約が確定している（case_end_date に終了）")),
]


class BindingVersionOutput(serializers.Serializer):
    document = serializers.IntegerField(source="document_id", help_text=_("文書ID"))
    document_slug = serializers.SlugField(help_text=_("文書のスラッグ"))
    document_kind = serializers.ChoiceField(choices=DocumentKind.choices, help_text=_("文書の種類"))
    version = serializers.IntegerField(
        source="version_id", allow_null=True, help_text=_("有効な版のID")
    )
    version_label = serializers.CharField(allow_null=True, help_text=_("有効な版の表示"))
    pending_version = serializers.IntegerField(
        source="pending_version_id", allow_null=True, help_text=_("掲示済みで効力発生前の版のID")
    )
    pending_version_label = serializers.CharField(allow_null=True, help_text=_("その版の表示"))
    status = serializers.ChoiceField(choices=ConsentStatus.choices, help_text=_("同意の状況"))
    binding_version = serializers.IntegerField(
        source="binding_version_id",
        allow_null=True,
        help_text=_(
            "このテナントを拘束している版のID（R4）。通常は有効な版と同じ。明示の同意による改定に"
            "同意していないテナントは、従前の版に拘束されたまま（version と異なる）。null は記録上の版がない"
        ),
    )
    binding_version_label = serializers.CharField(
        allow_null=True, help_text=_("拘束している版の表示")
    )
    gate_from = serializers.DateField(
        allow_null=True,
        help_text=_(
            "有効な版に利用制限の方針がある場合、未同意（outstanding）のテナントが allowed=false "
            "となる最初の日（効力発生日＋猶予期間）。方針がなければ null（未同意でも利用は制限されない）"
        ),
    )


class StatusCheckOutput(serializers.Serializer):
    tenant = serializers.IntegerField(source="tenant_id", help_text=_("テナントID"))
    product = serializers.IntegerField(source="product_id", help_text=_("製品ID"))
    allowed = serializers.BooleanField(
        help_text=_(
            "利用を続けてよいか。有効な契約がなければ false。明示の同意が未了（outstanding）でも、"
            "その版に利用制限の方針があり猶予期間が過ぎた場合（gate_from 以降）に限り false。"
            "拒否中のテナントは解約案件が効力を生じるまで true（flags で警告）"
        )
    )
    contract_active = serializers.BooleanField(help_text=_("有効な契約があるか"))
    contract_ids = serializers.ListField(
        child=serializers.IntegerField(), help_text=_("この製品の有効な契約のID")
    )
    versions = BindingVersionOutput(many=True, help_text=_("拘束している文書と版"))
    flags = serializers.ListField(
        child=serializers.ChoiceField(choices=STATUS_FLAG_CHOICES), help_text=_("注意事項")
    )
    case_end_date = serializers.DateField(
        allow_null=True, help_text=_("確定した解約案件による終了日（R6）")
    )


class TenantStatusApi(ApiView):
    audience = PRODUCTS
    product_scope = ProductKeyScope.STATUS_READ
    tags = ("products",)

    class FilterSerializer(serializers.Serializer):
        product = serializers.SlugField(
            required=False,
            allow_blank=True,
            max_length=64,
            help_text=_("製品コード（製品キーでは省略可＝自社製品、スタッフは必須）"),
        )

    @extend_schema(
        operation_id="status_retrieve",
        summary="May this tenant keep using the product?",
        description="Cached until anything it is read from changes; otherwise two indexed "
        "lookups: whether the tenant is allowed, which versions bind "
        "it and flags. Per document, `version` is the version in force and `binding_version` "
        "the one that binds this tenant: the previous version while the tenant has not "
        "accepted a revision put to explicit consent (R4). `allowed` is false without an active contract, or while an explicit "
        "consent is outstanding on a version whose gating policy a publisher set and whose "
        "grace period has run (`gate_from`); without a policy an outstanding tenant stays "
        "allowed, flagged (R4). A rejecting tenant stays allowed until its case takes effect "
        "(R6), flagged.",
        parameters=[FilterSerializer],
        responses={200: StatusCheckOutput, **errors(400, 404)},
    )
    def get(self, request: ApiRequest, tenant_id: int) -> Response:
        query = self.query(self.FilterSerializer)
        scope = self.scope
        if query.get("product"):
            product = body_ref("product", product_by_code, code=query["product"])
        elif scope.is_product and isinstance(request.auth, ProductKey):
            product = request.auth.product  # the key's product, loaded with the key
        else:
            raise field_error("product", _("製品コードを指定してください。"))

        check = consent_selectors.tenant_status(scope=scope, tenant_id=tenant_id, product=product)
        return Response(StatusCheckOutput(check).data)
