"""A partner's tenants (customers): list, create, read, update."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from agreements.enums import ProductKeyScope
from tenants import selectors, services
from tenants.authz import Action
from tenants.enums import Locale
from tenants.rules import CORPORATE_NUMBER_LENGTH, normalize_corporate_number
from web.api.auth import EVERYONE, PARTNERS
from web.api.base import ApiView
from web.api.fields import OffsetDateTimeField
from web.api.pagination import PageQuery, page_of
from web.api.problems import errors
from web.api.refs import partner_ref
from web.requests import ApiRequest


class CorporateNumberQuery(serializers.CharField):
    """A 法人番号 in a query: 13 digits once full-width digits and separators are dropped."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=40, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        value = normalize_corporate_number(super().to_internal_value(data))
        if len(value) != CORPORATE_NUMBER_LENGTH or not (value.isascii() and value.isdigit()):
            raise serializers.ValidationError(_("法人番号は13桁の数字で指定してください。"))
        return value


class TenantOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("テナントID"))
    name = serializers.CharField(help_text=_("お客様の名称"))
    corporate_number = serializers.CharField(
        allow_null=True, help_text=_("法人番号（13桁、チェックデジット検証済み）。未登録は null")
    )
    partner = serializers.IntegerField(
        source="partner_id", allow_null=True, help_text=_("販売パートナーのID（直販は null）")
    )
    external_ref = serializers.CharField(help_text=_("パートナー側の識別子（パートナー内で一意）"))
    locale = serializers.ChoiceField(choices=Locale.choices, help_text=_("通知の言語（ja / en）"))
    contact_email = serializers.EmailField(
        allow_blank=True, help_text=_("お客様の連絡先メールアドレス（通知の宛先）")
    )
    is_active = serializers.BooleanField(help_text=_("有効なテナントか"))
    created_at = serializers.DateTimeField(help_text=_("作成日時（ISO 8601）"))
    updated_at = serializers.DateTimeField(
        help_text=_("最終更新日時（ISO 8601）。updated_since の比較対象")
    )


class TenantListApi(ApiView):
    audience = PARTNERS
    tags = ("tenants",)

    class FilterSerializer(PageQuery):
        updated_since = OffsetDateTimeField(
            required=False,
            help_text=_("この日時以降に更新されたテナントだけ（ISO 8601、差分同期用）"),
        )
        search = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=100,
            help_text=_("名称（部分一致）、法人番号、テナントID、パートナー側の識別子"),
        )
        external_ref = serializers.CharField(
            required=False,
            max_length=100,
            help_text=_("パートナー側の識別子（完全一致）"),
        )
        corporate_number = CorporateNumberQuery(
            required=False, help_text=_("法人番号13桁（完全一致。全角・ハイフン可）")
        )

    @extend_schema(
        operation_id="tenants_list",
        summary="List tenants",
        description="The caller's tenants (a partner sees only its own; staff see all), "
        "cursor-paginated by id. Use `updated_since` to fetch only what changed.",
        parameters=[FilterSerializer],
        responses={200: page_of(TenantOutput, "Tenant"), **errors(400)},
    )
    def get(self, request: ApiRequest) -> Response:
        query = self.query(self.FilterSerializer)
        tenants = selectors.tenant_list(
            scope=self.scope,
            updated_since=query.get("updated_since"),
            search=query.get("search"),
            external_ref=query.get("external_ref"),
            corporate_number=query.get("corporate_number"),
        )
        return self.paginate(tenants, TenantOutput)


class TenantMatchOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("テナントID"))


class TenantLookupApi(ApiView):
    audience = EVERYONE
    product_scope = ProductKeyScope.STATUS_READ
    tags = ("tenants",)

    class FilterSerializer(PageQuery):
        external_ref = serializers.CharField(
            required=False, max_length=100, help_text=_("パートナー側の識別子（完全一致）")
        )
        corporate_number = CorporateNumberQuery(
            required=False, help_text=_("法人番号13桁（完全一致。全角・ハイフン可）")
        )

        def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
            if not attrs.get("external_ref") and not attrs.get("corporate_number"):
                raise serializers.ValidationError(
                    {"external_ref": [_("external_ref か corporate_number を指定してください。")]}
                )
            return attrs

    @extend_schema(
        operation_id="tenants_lookup",
        summary="Find a tenant by its external_ref or 法人番号",
        description="The ids of the tenants in your reach with this `external_ref` and/or "
        "`corporate_number` (both given: both must match). A partner finds at most one (its "
        "identifiers are unique among its tenants); a product key the tenants with a contract "
        "for its product, possibly several (tenants of different partners); staff every tenant. "
        "No match is an empty page, never a 404: nothing tells whether another caller's "
        "tenant has that identifier.",
        parameters=[FilterSerializer],
        responses={200: page_of(TenantMatchOutput, "TenantMatch"), **errors(400)},
    )
    def get(self, request: ApiRequest) -> Response:
        query = self.query(self.FilterSerializer)
        tenants = selectors.tenant_lookup(
            scope=self.scope,
            external_ref=query.get("external_ref"),
            corporate_number=query.get("corporate_number"),
        )
        return self.paginate(tenants.only("pk"), TenantMatchOutput)


class TenantCreateApi(ApiView):
    audience = PARTNERS
    staff_action = Action.OPERATE
    staff_only_fields = ("partner",)
    tags = ("tenants",)

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(max_length=255, help_text=_("お客様の名称"))
        corporate_number = serializers.CharField(
            required=False,
            allow_null=True,
            allow_blank=True,
            max_length=20,
            help_text=_("法人番号13桁（全角・ハイフン可、チェックデジットを検証）"),
        )
        locale = serializers.ChoiceField(
            choices=Locale.choices, default=Locale.JA, help_text=_("通知の言語")
        )
        contact_email = serializers.EmailField(
            required=False, allow_blank=True, default="", help_text=_("連絡先メールアドレス")
        )
        external_ref = serializers.CharField(
            required=False,
            allow_blank=True,
            default="",
            max_length=100,
            help_text=_("パートナー側の識別子（パートナー内で一意）"),
        )
        partner = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=1,
            help_text=_(
                "スタッフのみ: 販売パートナーのID（省略で直販）。パートナーは自社が設定されます"
            ),
        )

    @extend_schema(
        operation_id="tenants_create",
        summary="Create a tenant",
        description="A new customer of the calling partner (staff: direct, or for a partner). "
        "`corporate_number` and `external_ref` are unique (409 when taken). `partner` is "
        "staff-only: a partner's tenant is always its own, and a partner that sends `partner` "
        "gets a 400 `unknown_field`.",
        request=InputSerializer,
        responses={201: TenantOutput, **errors(400, 403, 409)},
        examples=[
            OpenApiExample(
                "tenant",
                value={
                    "name": "テスト商事株式会社",
                    "corporate_number": "1234567890123",
                    "locale": "ja",
                    "contact_email": "it@customer.example",
                    "external_ref": "CUST-0042",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: ApiRequest) -> Response:
        data = self.body(self.InputSerializer)
        partner = partner_ref(self.scope, data.pop("partner", None))
        tenant = services.tenant_create(scope=self.scope, partner=partner, **data)
        return self.created(TenantOutput(tenant).data, "tenant", tenant_id=tenant.pk)


class TenantDetailApi(ApiView):
    audience = PARTNERS
    tags = ("tenants",)

    @extend_schema(
        operation_id="tenants_retrieve",
        summary="Read a tenant",
        responses={200: TenantOutput, **errors(404)},
    )
    def get(self, request: ApiRequest, tenant_id: int) -> Response:
        tenant = selectors.tenant_get(scope=self.scope, pk=tenant_id)
        return Response(TenantOutput(tenant).data)


class TenantUpdateApi(ApiView):
    audience = PARTNERS
    staff_action = Action.OPERATE
    staff_only_fields = ("is_active", "partner")
    tags = ("tenants",)

    class InputSerializer(serializers.Serializer):
        name = serializers.CharField(required=False, max_length=255, help_text=_("名称"))
        corporate_number = serializers.CharField(
            required=False,
            allow_null=True,
            allow_blank=True,
            max_length=20,
            help_text=_("法人番号13桁（空または null で削除）"),
        )
        locale = serializers.ChoiceField(
            choices=Locale.choices, required=False, help_text=_("通知の言語")
        )
        contact_email = serializers.EmailField(
            required=False, allow_blank=True, help_text=_("連絡先メールアドレス")
        )
        external_ref = serializers.CharField(
            required=False, allow_blank=True, max_length=100, help_text=_("パートナー側の識別子")
        )
        is_active = serializers.BooleanField(
            required=False, help_text=_("スタッフのみ: テナントの有効・無効")
        )
        partner = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=1,
            help_text=_("スタッフのみ: 担当パートナーの変更（パートナーは変更できません）"),
        )

    @extend_schema(
        operation_id="tenants_partial_update",
        summary="Update a tenant",
        description="Change the given fields only. Partners may change name, corporate number, "
        "locale, contact e-mail and their own reference; `partner` (moving a tenant) and "
        "`is_active` are staff-only: a partner that sends them gets a 400 `unknown_field`.",
        request=InputSerializer,
        responses={200: TenantOutput, **errors(400, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "contact", value={"contact_email": "legal@customer.example"}, request_only=True
            )
        ],
    )
    def patch(self, request: ApiRequest, tenant_id: int) -> Response:
        tenant = selectors.tenant_get(scope=self.scope, pk=tenant_id)
        data = self.body(self.InputSerializer)
        if "partner" in data:
            data["partner"] = partner_ref(self.scope, data["partner"])
        tenant = services.tenant_update(scope=self.scope, tenant=tenant, **data)
        return Response(TenantOutput(tenant).data)
