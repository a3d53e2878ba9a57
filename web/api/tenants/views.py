"""Tenants, their users, webhooks and the event feed for partners (and staff) — DESIGN: REST API.

Each view: validate input, call one selector or service with the caller's Scope, serialise.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from core.enums import EventKind
from core.errors import NotFound, ValidationFailed
from tenants import selectors, services
from tenants.enums import Locale, Role
from tenants.models import Partner
from tenants.scope import Scope
from web.api.auth import PARTNERS
from web.api.base import ApiView, errors, page_of
from web.api.tenants.selectors import event_feed
from web.api.tenants.serializers import (
    EventOutput,
    InvitationOutput,
    MembershipOutput,
    TenantOutput,
    WebhookOutput,
    WebhookWithSecretOutput,
)


def partner_ref(scope: Scope, pk: int | None, *, field: str = "partner") -> Partner | None:
    """A partner named in a request body; an unknown (or invisible) one is a field error."""
    if pk is None:
        return None
    try:
        return selectors.partner_get(scope=scope, pk=pk)
    except NotFound:
        raise ValidationFailed(
            _("入力内容に誤りがあります。"),
            fields={field: [_("指定されたパートナーは存在しません。")]},
        ) from None


class PageQuery(serializers.Serializer):
    cursor = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=500,
        help_text=_("前の応答の next / previous のカーソル（空は最初のページ）"),
    )
    page_size = serializers.IntegerField(
        required=False, min_value=1, max_value=200, help_text=_("1ページの件数（既定50）")
    )


# --- tenants ----------------------------------------------------------------------------------


class TenantListApi(ApiView):
    audience = PARTNERS
    tags = ("tenants",)

    class FilterSerializer(PageQuery):
        updated_since = serializers.DateTimeField(
            required=False,
            help_text=_("この日時より後に更新されたテナントだけ（ISO 8601、差分同期用）"),
        )
        search = serializers.CharField(
            required=False,
            allow_blank=True,
            max_length=100,
            help_text=_("名称（部分一致）、法人番号、テナントID、パートナー側の識別子"),
        )

    @extend_schema(
        operation_id="tenants_list",
        summary="List tenants",
        description="The caller's tenants (a partner sees only its own; staff see all), "
        "cursor-paginated by id. Use `updated_since` to fetch only what changed.",
        parameters=[FilterSerializer],
        responses={200: page_of(TenantOutput, "Tenant"), **errors(400)},
    )
    def get(self, request: Request) -> Response:
        query = self.query(self.FilterSerializer)
        tenants = selectors.tenant_list(
            scope=self.scope,
            updated_since=query.get("updated_since"),
            search=query.get("search"),
        )
        return self.paginate(tenants, TenantOutput)


class TenantCreateApi(ApiView):
    audience = PARTNERS
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
        "`corporate_number` and `external_ref` are unique (409 when taken).",
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
    def post(self, request: Request) -> Response:
        data = self.body(self.InputSerializer)
        partner = partner_ref(self.scope, data.pop("partner", None))
        tenant = services.tenant_create(scope=self.scope, partner=partner, **data)
        return Response(TenantOutput(tenant).data, status=status.HTTP_201_CREATED)


class TenantDetailApi(ApiView):
    audience = PARTNERS
    tags = ("tenants",)

    @extend_schema(
        operation_id="tenants_retrieve",
        summary="Read a tenant",
        responses={200: TenantOutput, **errors(404)},
    )
    def get(self, request: Request, tenant_id: int) -> Response:
        tenant = selectors.tenant_get(scope=self.scope, pk=tenant_id)
        return Response(TenantOutput(tenant).data)


class TenantUpdateApi(ApiView):
    audience = PARTNERS
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
        "locale, contact e-mail and their own reference; moving a tenant is for staff.",
        request=InputSerializer,
        responses={200: TenantOutput, **errors(400, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "contact", value={"contact_email": "legal@customer.example"}, request_only=True
            )
        ],
    )
    def patch(self, request: Request, tenant_id: int) -> Response:
        tenant = selectors.tenant_get(scope=self.scope, pk=tenant_id)
        data = self.body(self.InputSerializer)
        if "partner" in data:
            data["partner"] = partner_ref(self.scope, data["partner"])
        tenant = services.tenant_update(scope=self.scope, tenant=tenant, **data)
        return Response(TenantOutput(tenant).data)


# --- users ------------------------------------------------------------------------------------


class InvitationCreateApi(ApiView):
    audience = PARTNERS
    tags = ("tenants",)

    class InputSerializer(serializers.Serializer):
        email = serializers.EmailField(
            max_length=150,
            help_text=_("招待する人のメールアドレス（ポータルの招待メールが届きます）"),
        )
        role = serializers.ChoiceField(
            choices=Role.choices,
            default=Role.VIEWER,
            help_text=_("承諾後の役割: admin（回答・申込ができる）/ viewer（閲覧のみ）"),
        )

    @extend_schema(
        operation_id="tenants_invitations_create",
        summary="Invite a user to the tenant's portal",
        description="Queues a portal invitation e-mail (valid 7 days) in the tenant's language. "
        "Inviting an address with a pending invitation renews it; a member already in the "
        "tenant is a 409 `already_member`.",
        request=InputSerializer,
        responses={201: InvitationOutput, **errors(400, 403, 404, 409)},
        examples=[
            OpenApiExample(
                "admin",
                value={"email": "admin@customer.example", "role": "admin"},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request, tenant_id: int) -> Response:
        tenant = selectors.tenant_get(scope=self.scope, pk=tenant_id)
        data = self.body(self.InputSerializer)
        invitation, _token = services.invitation_create(scope=self.scope, tenant=tenant, **data)
        return Response(InvitationOutput(invitation).data, status=status.HTTP_201_CREATED)


class MembershipListApi(ApiView):
    audience = PARTNERS
    tags = ("tenants",)

    @extend_schema(
        operation_id="tenants_memberships_list",
        summary="List a tenant's users",
        parameters=[PageQuery],
        responses={200: page_of(MembershipOutput, "Membership"), **errors(400, 404)},
    )
    def get(self, request: Request, tenant_id: int) -> Response:
        self.query(PageQuery)
        tenant = selectors.tenant_get(scope=self.scope, pk=tenant_id)
        return self.paginate(
            selectors.membership_list(scope=self.scope, tenant=tenant), MembershipOutput
        )


class MembershipRemoveApi(ApiView):
    audience = PARTNERS
    tags = ("tenants",)

    @extend_schema(
        operation_id="tenants_memberships_destroy",
        summary="Remove a user from a tenant",
        description="The last admin cannot be removed (409 `last_admin`).",
        responses={204: None, **errors(403, 404, 409)},
    )
    def delete(self, request: Request, tenant_id: int, membership_id: int) -> Response:
        membership = selectors.membership_get(scope=self.scope, pk=membership_id)
        if membership.tenant_id != tenant_id:
            raise NotFound(_("メンバーが見つかりません。"))
        services.membership_remove(scope=self.scope, membership=membership)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- webhooks ---------------------------------------------------------------------------------


class WebhookListApi(ApiView):
    audience = PARTNERS
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_list",
        summary="List webhook endpoints",
        parameters=[PageQuery],
        responses={200: page_of(WebhookOutput, "Webhook"), **errors(400)},
    )
    def get(self, request: Request) -> Response:
        self.query(PageQuery)
        return self.paginate(selectors.webhook_list(scope=self.scope), WebhookOutput)


class WebhookCreateApi(ApiView):
    audience = PARTNERS
    tags = ("webhooks",)

    class InputSerializer(serializers.Serializer):
        url = serializers.URLField(max_length=500, help_text=_("配信先URL（本番は https のみ）"))
        event_kinds = serializers.ListField(
            child=serializers.ChoiceField(choices=EventKind.choices),
            required=False,
            default=list,
            max_length=len(EventKind.choices),
            help_text=_("配信するイベント種別（省略または空はすべて）"),
        )
        partner = serializers.IntegerField(
            required=False,
            allow_null=True,
            min_value=1,
            help_text=_("スタッフのみ: どのパートナーのエンドポイントか"),
        )

    @extend_schema(
        operation_id="webhooks_create",
        summary="Register a webhook endpoint",
        description="Deliveries are signed: `X-Terms-Signature: t=<unix>,v1=<hex>` with "
        "HMAC-SHA256(secret, `<t>.` + body). The secret is returned once, in this response.",
        request=InputSerializer,
        responses={201: WebhookWithSecretOutput, **errors(400, 403)},
        examples=[
            OpenApiExample(
                "all events",
                value={"url": "https://partner.example/hooks/terms", "event_kinds": []},
                request_only=True,
            )
        ],
    )
    def post(self, request: Request) -> Response:
        data = self.body(self.InputSerializer)
        partner = partner_ref(self.scope, data.pop("partner", None))
        endpoint, secret = services.webhook_register(
            scope=self.scope, url=data["url"], event_kinds=data["event_kinds"], partner=partner
        )
        return Response(_with_secret(endpoint, secret), status=status.HTTP_201_CREATED)


def _with_secret(endpoint: Any, secret: str) -> dict[str, Any]:
    data = dict(WebhookOutput(endpoint).data)
    data["secret"] = secret
    return data


class WebhookRotateSecretApi(ApiView):
    audience = PARTNERS
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_rotate_secret",
        summary="Rotate a webhook's signing secret",
        description="Returns the new secret once. For 24 hours deliveries carry a second "
        "`v1=` signed with the previous secret, so the receiver can switch without loss.",
        request=None,
        responses={200: WebhookWithSecretOutput, **errors(403, 404, 409)},
    )
    def post(self, request: Request, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(scope=self.scope, pk=webhook_id)
        endpoint, secret = services.webhook_rotate_secret(scope=self.scope, endpoint=endpoint)
        return Response(_with_secret(endpoint, secret))


class WebhookDisableApi(ApiView):
    audience = PARTNERS
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_disable",
        summary="Disable a webhook endpoint",
        description="Stops deliveries; repeating it changes nothing.",
        request=None,
        responses={200: WebhookOutput, **errors(403, 404)},
    )
    def post(self, request: Request, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(scope=self.scope, pk=webhook_id)
        endpoint = services.webhook_disable(scope=self.scope, endpoint=endpoint)
        return Response(WebhookOutput(endpoint).data)


# --- events -----------------------------------------------------------------------------------


class EventListApi(ApiView):
    audience = PARTNERS
    tags = ("events",)

    class FilterSerializer(PageQuery):
        after = serializers.IntegerField(
            required=False,
            min_value=0,
            help_text=_("このIDより後のイベントだけ（最後に処理したイベントIDを渡して続きを取得）"),
        )
        tenant = serializers.IntegerField(
            required=False, min_value=1, help_text=_("このテナントのイベントだけ")
        )
        kind = serializers.MultipleChoiceField(
            choices=EventKind.choices, required=False, help_text=_("このイベント種別だけ（複数可）")
        )

    @extend_schema(
        operation_id="events_list",
        summary="Event feed",
        description="What happened to the caller's tenants, oldest first: notices posted, "
        "answers recorded, non-renewals, renewals, ends, terminations, deletions ordered and "
        "done. Poll with `after=<last id seen>`; webhooks deliver the same events.",
        parameters=[FilterSerializer],
        responses={200: page_of(EventOutput, "Event"), **errors(400)},
    )
    def get(self, request: Request) -> Response:
        query = self.query(self.FilterSerializer)
        events = event_feed(
            scope=self.scope,
            after=query.get("after"),
            tenant_id=query.get("tenant"),
            kinds=sorted(query.get("kind", ())),
        )
        return self.paginate(events, EventOutput)
