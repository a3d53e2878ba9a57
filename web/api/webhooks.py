"""A partner's webhook endpoints: register, list, rotate the signing secret, disable."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response

from core.enums import EventKind
from tenants import selectors, services
from tenants.authz import Action
from web.api.auth import PARTNERS
from web.api.base import ApiView
from web.api.pagination import PageQuery, page_of
from web.api.problems import errors
from web.api.refs import partner_ref
from web.requests import ApiRequest


class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("WebhookエンドポイントID"))
    partner = serializers.IntegerField(source="partner_id", help_text=_("パートナーID"))
    url = serializers.URLField(help_text=_("配信先URL（本番は https のみ）"))
    event_kinds = serializers.ListField(
        child=serializers.ChoiceField(choices=EventKind.choices),
        help_text=_("配信するイベント種別（空はすべて）"),
    )
    is_active = serializers.BooleanField(help_text=_("配信中か（無効化すると false）"))
    disabled_at = serializers.DateTimeField(allow_null=True, help_text=_("無効化した日時"))
    secret_rotated_at = serializers.SerializerMethodField(
        help_text=_("旧シークレットの有効期限（ローテーション後24時間、なければ null）")
    )
    created_at = serializers.DateTimeField(help_text=_("登録日時"))

    def get_secret_rotated_at(self, obj: object) -> str | None:
        value = getattr(obj, "previous_secret_expires_at", None)
        return serializers.DateTimeField().to_representation(value) if value else None


class WebhookWithSecretOutput(WebhookOutput):
    secret = serializers.CharField(
        help_text=_(
            "署名シークレット（whsec_…）。この応答でのみ表示されます。"
            "X-Terms-Signature の検証に使います"
        )
    )


def _with_secret(endpoint: Any, secret: str, *, status_code: int = status.HTTP_200_OK) -> Response:
    """The answer that shows a signing secret, once: no cache (browser, proxy) may keep it."""
    data = dict(WebhookOutput(endpoint).data)
    data["secret"] = secret
    return Response(data, status=status_code, headers={"Cache-Control": "no-store"})


class WebhookListApi(ApiView):
    audience = PARTNERS
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_list",
        summary="List webhook endpoints",
        parameters=[PageQuery],
        responses={200: page_of(WebhookOutput, "Webhook"), **errors(400)},
    )
    def get(self, request: ApiRequest) -> Response:
        self.query(PageQuery)
        return self.paginate(selectors.webhook_list(scope=self.scope), WebhookOutput)


class WebhookCreateApi(ApiView):
    audience = PARTNERS
    staff_action = Action.DECIDE
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
    def post(self, request: ApiRequest) -> Response:
        data = self.body(self.InputSerializer)
        partner = partner_ref(self.scope, data.pop("partner", None))
        endpoint, secret = services.webhook_register(
            scope=self.scope, url=data["url"], event_kinds=data["event_kinds"], partner=partner
        )
        response = _with_secret(endpoint, secret, status_code=status.HTTP_201_CREATED)
        response["Location"] = reverse("api:webhooks")  # no per-webhook read: the list
        return response


class WebhookRotateSecretApi(ApiView):
    audience = PARTNERS
    staff_action = Action.DECIDE
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_rotate_secret",
        summary="Rotate a webhook's signing secret",
        description="Returns the new secret once. For 24 hours deliveries carry a second "
        "`v1=` signed with the previous secret, so the receiver can switch without loss.",
        request=None,
        responses={200: WebhookWithSecretOutput, **errors(403, 404, 409)},
    )
    def post(self, request: ApiRequest, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(scope=self.scope, pk=webhook_id)
        endpoint, secret = services.webhook_rotate_secret(scope=self.scope, endpoint=endpoint)
        return _with_secret(endpoint, secret)


class WebhookDisableApi(ApiView):
    audience = PARTNERS
    staff_action = Action.DECIDE
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_disable",
        summary="Disable a webhook endpoint",
        description="Stops deliveries; repeating it changes nothing.",
        request=None,
        responses={200: WebhookOutput, **errors(403, 404)},
    )
    def post(self, request: ApiRequest, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(scope=self.scope, pk=webhook_id)
        endpoint = services.webhook_disable(scope=self.scope, endpoint=endpoint)
        return Response(WebhookOutput(endpoint).data)
