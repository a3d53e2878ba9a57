"""The products' status check: may this tenant keep using the product? (R4, R6)"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from agreements.enums import ConsentStatus, DocumentKind, ProductKeyScope
from agreements.models import Product, ProductKey
from agreements.selectors import consents as consent_selectors
from agreements.selectors.consents import (
    BULK_STATUS_MAX,
    FLAG_CASE_CONFIRMED,
    FLAG_CONTRACT_INACTIVE,
    FLAG_OUTSTANDING,
    FLAG_REJECTED,
)
from tenants.scope import Scope
from web.api.auth import PRODUCTS
from web.api.base import ApiView
from web.api.fields import (
    LeafFieldsCopied,
    pending_version_status_field,
    version_status_field,
)
from web.api.prefetch import KnownKey
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


# `status` is kept for the integrators that read it; version_status and pending_version_status
# say the same per version (docs/api.md, "For the products").
@extend_schema_serializer(deprecate_fields=["status"])
class BindingVersionOutput(LeafFieldsCopied):
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
    status = serializers.ChoiceField(
        choices=ConsentStatus.choices,
        help_text=_(
            "非推奨: version_status と pending_version_status を使ってください。最新の掲示済みの版"
            "（効力発生前の版があればその版、なければ有効な版）についての同意の状況"
        ),
    )
    version_status = version_status_field()
    pending_version_status = pending_version_status_field()
    pending_version_effective_on = serializers.DateField(
        allow_null=True, help_text=_("効力発生前の版の効力発生日。その版がなければ null")
    )
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


class StatusCheckOutput(LeafFieldsCopied):
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


# One instance of each, reused: building a serializer deep-copies its declared fields, which
# cost a warm status check more than rendering the answer (to_representation keeps no state).
_STATUS_OUTPUT = StatusCheckOutput()


def status_product(request: ApiRequest, scope: Scope, code: str | None) -> Product:
    """The product a status check is for: `?product=`, or a product key's own product."""
    if code:
        return body_ref("product", product_by_code, code=code)
    if scope.is_product and isinstance(request.auth, ProductKey):
        return request.auth.product  # the key's product, loaded with the key
    raise field_error("product", _("製品コードを指定してください。"))


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

    def prefetch_entries(
        self, request: Request, known: KnownKey, kwargs: dict[str, Any]
    ) -> dict[str, Sequence[str]]:
        # A product key's usual call: its own product, no query string. (A sandbox key's
        # business day is its sandbox's, known only after authentication: its entry is not
        # the one asked, and is read on its own.)
        tenant_id = kwargs.get("tenant_id")
        if known.product_id is None or request.query_params or not isinstance(tenant_id, int):
            return {}
        return {
            consent_selectors.status_cache_entry(
                product_id=known.product_id, tenant_id=tenant_id
            ): consent_selectors.status_cache_names(tenant_id)
        }

    @extend_schema(
        operation_id="status_retrieve",
        summary="May this tenant keep using the product?",
        description="Cached until anything it is read from changes; otherwise one "
        "statement of indexed lookups: whether the tenant is allowed, which versions bind "
        "it and flags. Per document, `version` is the version in force (its status: "
        "`version_status`), `pending_version` the posted one not yet effective (the tenant's "
        "answer to it: `pending_version_status`; `status` mixes the two and is deprecated), "
        "and `binding_version` "
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
        # A product key's usual call has no query string: nothing to validate (all optional).
        query = self.query(self.FilterSerializer) if request.query_params else {}
        scope = self.scope
        product = status_product(request, scope, query.get("product"))
        check = consent_selectors.tenant_status(scope=scope, tenant_id=tenant_id, product=product)
        return Response(_STATUS_OUTPUT.to_representation(check))


class BulkStatusOutput(serializers.Serializer):
    results = StatusCheckOutput(
        many=True,
        help_text=_("見つかったテナントごとの判定（指定した順）。単独の判定と同じ内容"),
    )
    not_found = serializers.ListField(
        child=serializers.IntegerField(),
        help_text=_("単独の判定なら 404 となるテナントID（この製品の契約がない、または範囲外）"),
    )


_BULK_OUTPUT = BulkStatusOutput()


def parse_tenant_ids(raw: str) -> list[int]:
    """`12,15,17` → [12, 15, 17] (distinct, in order); a field error otherwise."""
    parts = [part.strip() for part in raw.split(",")]
    if not raw.strip() or any(not (p.isascii() and p.isdigit()) or len(p) > 18 for p in parts):
        raise field_error("tenants", _("テナントIDをカンマ区切りで指定してください。"))
    ids = list(dict.fromkeys(int(p) for p in parts))
    if len(ids) > BULK_STATUS_MAX:
        raise field_error(
            "tenants",
            _("一度に指定できるテナントは%(max)d件までです。") % {"max": BULK_STATUS_MAX},
        )
    return ids


class TenantStatusBulkApi(ApiView):
    audience = PRODUCTS
    product_scope = ProductKeyScope.STATUS_READ
    tags = ("products",)

    class FilterSerializer(TenantStatusApi.FilterSerializer):
        tenants = serializers.CharField(
            max_length=2000,
            help_text=_("テナントID（カンマ区切り、100件まで）。例: 12,15,17"),
        )

    @extend_schema(
        operation_id="status_bulk",
        summary="May these tenants keep using the product? (up to 100 at once)",
        description="The status check of each tenant named in `tenants` (comma-separated ids, "
        "at most 100 distinct), in the order given: each item of `results` is exactly the "
        "body `GET /status/{tenant_id}/` answers for that tenant; the ids it would answer "
        "with 404 are listed in `not_found`. Answers come from the same cache as the single "
        "check; the tenants not cached are read together (one statement however many).",
        parameters=[FilterSerializer],
        responses={200: BulkStatusOutput, **errors(400, 404)},
    )
    def get(self, request: ApiRequest) -> Response:
        query = self.query(self.FilterSerializer)
        ids = parse_tenant_ids(query["tenants"])
        product = status_product(request, self.scope, query.get("product"))
        bulk = consent_selectors.tenants_status(scope=self.scope, tenant_ids=ids, product=product)
        return Response(_BULK_OUTPUT.to_representation(bulk))
