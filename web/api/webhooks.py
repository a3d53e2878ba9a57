"""A partner's webhook endpoints: register, list, read, update, delete, disable and enable,
rotate the signing secret, send a test event, list deliveries with their attempts, resend one."""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.response import Response

from core import clock
from core.enums import SUBSCRIBABLE_EVENT_KINDS, OutboxStatus
from core.models import Outbox
from tenants import selectors, services
from tenants.authz import Action
from tenants.services.webhooks import WEBHOOK_SECRET_GRACE
from tenants.webhooks import earlier_secrets_live
from web.api.auth import PARTNERS
from web.api.base import ApiView
from web.api.pagination import PageQuery, page_of
from web.api.problems import errors
from web.api.refs import partner_ref
from web.requests import ApiRequest

_KINDS_HELP = _(
    "配信するイベント種別（空はすべて）。購読できる種別以外は 400 event_kind_not_subscribable"
)


@extend_schema_field(
    {"type": "string", "enum": list(SUBSCRIBABLE_EVENT_KINDS), "title": "SubscribableEventKind"}
)
class SubscribableKindField(serializers.CharField):
    """An event kind a webhook can subscribe to; the service refuses any other with its code."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=64, **kwargs)


class WebhookOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("WebhookエンドポイントID"))
    partner = serializers.IntegerField(source="partner_id", help_text=_("パートナーID"))
    url = serializers.URLField(help_text=_("配信先URL（本番は https のみ）"))
    event_kinds = serializers.ListField(child=SubscribableKindField(), help_text=_KINDS_HELP)
    is_active = serializers.BooleanField(help_text=_("配信中か（無効化すると false）"))
    disabled_at = serializers.DateTimeField(allow_null=True, help_text=_("無効化した日時"))
    secret_rotated_at = serializers.SerializerMethodField(
        help_text=_("最後にシークレットをローテーションした日時（なければ null）")
    )
    previous_secret_expires_at = serializers.SerializerMethodField(
        help_text=_(
            "旧シークレットでの署名が終わる日時（ローテーションの24時間後）。"
            "旧シークレットが署名に使われていなければ null"
        )
    )
    earlier_secrets_expire_at = serializers.SerializerMethodField(
        help_text=_(
            "旧シークレットより前にローテーションされ、まだ署名に使われているシークレットの期限（新しい順）。"
            "それぞれ自分の期限まで署名に使われます"
        )
    )
    created_at = serializers.DateTimeField(help_text=_("登録日時"))
    updated_at = serializers.DateTimeField(help_text=_("最終更新日時"))

    @extend_schema_field({"type": "array", "items": {"type": "string", "format": "date-time"}})
    def get_earlier_secrets_expire_at(self, obj: Any) -> list[str]:
        return [
            serializers.DateTimeField().to_representation(until)
            for _secret, until in earlier_secrets_live(obj, at=clock.now())
        ]

    def get_secret_rotated_at(self, obj: Any) -> str | None:
        expires = getattr(obj, "previous_secret_expires_at", None)
        if expires is None:
            return None
        return serializers.DateTimeField().to_representation(expires - WEBHOOK_SECRET_GRACE)

    def get_previous_secret_expires_at(self, obj: Any) -> str | None:
        expires = getattr(obj, "previous_secret_expires_at", None)
        if expires is None or not obj.previous_secret or expires <= clock.now():
            return None
        return serializers.DateTimeField().to_representation(expires)


class WebhookWithSecretOutput(WebhookOutput):
    secret = serializers.CharField(
        help_text=_(
            "署名シークレット（whsec_…）。この応答でのみ表示されます。"
            "X-Terms-Signature の検証に使います"
        )
    )


class AttemptOutput(serializers.Serializer):
    attempt = serializers.IntegerField(help_text=_("試行番号（1から）"))
    attempted_at = serializers.DateTimeField(help_text=_("試行日時"))
    succeeded = serializers.BooleanField(help_text=_("2xx の応答を受けたか"))
    status_code = serializers.IntegerField(
        allow_null=True, help_text=_("受信側の HTTP ステータス（接続できなかったときは null）")
    )
    duration_ms = serializers.IntegerField(
        allow_null=True, help_text=_("所要時間（ミリ秒。試行中は null）")
    )
    error = serializers.CharField(help_text=_("失敗の理由（成功時は空）"))


class NextAttemptField(serializers.DateTimeField):
    """A delivery's next attempt: only one still to be tried (pending, failed) has one; a sent,
    given-up (dead) or cancelled delivery shows null, whatever the row kept."""

    def get_attribute(self, instance: Any) -> Any:
        if getattr(instance, "status", None) not in (OutboxStatus.PENDING, OutboxStatus.FAILED):
            return None
        return super().get_attribute(instance)


class DeliveryOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("配信ID（再送に使います）"))
    event_id = serializers.IntegerField(
        allow_null=True, help_text=_("イベントID（X-Terms-Event-Id、GET /events/{id}）")
    )
    kind = serializers.CharField(help_text=_("イベント種別"))
    status = serializers.ChoiceField(
        choices=OutboxStatus.choices,
        help_text=_(
            "pending（送信待ち）、sent（送信済み）、failed（再試行待ち）、dead（送信不能）、"
            "cancelled（取消済み）"
        ),
    )
    created_at = serializers.DateTimeField(help_text=_("キューに入れた日時"))
    next_attempt_at = NextAttemptField(
        allow_null=True,
        help_text=_(
            "次回の試行予定日時（pending・failed のとき。sent・dead・cancelled は次の試行がないので null）"
        ),
    )
    sent_at = serializers.DateTimeField(allow_null=True, help_text=_("2xx を受けた日時"))
    attempts = AttemptOutput(many=True, source="attempt_list", help_text=_("試行（古い順）"))


def _with_secret(endpoint: Any, secret: str, *, status_code: int = status.HTTP_200_OK) -> Response:
    """The answer that shows a signing secret, once: no cache (browser, proxy) may keep it."""
    data = dict(WebhookOutput(endpoint).data)
    data["secret"] = secret
    return Response(data, status=status_code, headers={"Cache-Control": "no-store"})


class WebhookListApi(ApiView):
    FilterSerializer = PageQuery  # the query parameters: a page
    audience = PARTNERS
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_list",
        summary="List webhook endpoints",
        parameters=[FilterSerializer],
        responses={200: page_of(WebhookOutput, "Webhook"), **errors(400)},
    )
    def get(self, request: ApiRequest) -> Response:
        self.query(self.FilterSerializer)
        return self.paginate(selectors.webhook_list(scope=self.scope), WebhookOutput)


class WebhookCreateApi(ApiView):
    audience = PARTNERS
    staff_action = Action.DECIDE
    staff_only_fields = ("partner",)
    tags = ("webhooks",)

    class InputSerializer(serializers.Serializer):
        url = serializers.URLField(max_length=500, help_text=_("配信先URL（本番は https のみ）"))
        event_kinds = serializers.ListField(
            child=SubscribableKindField(),
            required=False,
            default=list,
            max_length=len(SUBSCRIBABLE_EVENT_KINDS),
            help_text=_KINDS_HELP,
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
        "HMAC-SHA256(secret, `<t>.` + body). The secret is returned once, in this response. "
        "A kind no event of a partner's ever has is refused (400 `event_kind_not_subscribable`).",
        request=InputSerializer,
        responses={201: WebhookWithSecretOutput, **errors(400, 403, 409)},
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
        response["Location"] = reverse("api:webhook", kwargs={"webhook_id": endpoint.pk})
        return response


class WebhookDetailApi(ApiView):
    audience = PARTNERS
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_retrieve",
        summary="Read a webhook endpoint",
        description="The secret is never shown again; rotate it to get a new one.",
        responses={200: WebhookOutput, **errors(404)},
    )
    def get(self, request: ApiRequest, webhook_id: int) -> Response:
        return Response(WebhookOutput(selectors.webhook_get(scope=self.scope, pk=webhook_id)).data)


class WebhookUpdateApi(ApiView):
    audience = PARTNERS
    staff_action = Action.DECIDE
    tags = ("webhooks",)

    class InputSerializer(serializers.Serializer):
        url = serializers.URLField(
            max_length=500, required=False, help_text=_("配信先URL（本番は https のみ）")
        )
        event_kinds = serializers.ListField(
            child=SubscribableKindField(),
            required=False,
            max_length=len(SUBSCRIBABLE_EVENT_KINDS),
            help_text=_KINDS_HELP,
        )

    @extend_schema(
        operation_id="webhooks_partial_update",
        summary="Update a webhook endpoint",
        description="Change the URL (checked as at registration: https, a public address) "
        "and/or the subscribed kinds; the secret stays. Messages already queued are posted "
        "to the URL the endpoint has when they are attempted.",
        request=InputSerializer,
        responses={200: WebhookOutput, **errors(400, 403, 404)},
        examples=[
            OpenApiExample(
                "kinds",
                value={"event_kinds": ["contract.created", "contract.ended"]},
                request_only=True,
            )
        ],
    )
    def patch(self, request: ApiRequest, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(scope=self.scope, pk=webhook_id)
        data = self.body(self.InputSerializer)
        endpoint = services.webhook_update(
            scope=self.scope,
            endpoint=endpoint,
            url=data.get("url"),
            event_kinds=data.get("event_kinds"),
        )
        return Response(WebhookOutput(endpoint).data)


class WebhookDeleteApi(ApiView):
    audience = PARTNERS
    staff_action = Action.DECIDE
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_destroy",
        summary="Delete a webhook endpoint",
        description="Removes the endpoint and its secrets; nothing is delivered to it any more. "
        "To pause deliveries and keep the secret, disable it instead.",
        responses={204: None, **errors(403, 404)},
    )
    def delete(self, request: ApiRequest, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(scope=self.scope, pk=webhook_id)
        services.webhook_delete(scope=self.scope, endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateSecretApi(ApiView):
    audience = PARTNERS
    staff_action = Action.DECIDE
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_rotate_secret",
        summary="Rotate a webhook's signing secret",
        description="Returns the new secret once. Until `previous_secret_expires_at` (24 hours) "
        "deliveries carry a second `v1=` signed with the previous secret, so the receiver can "
        "switch without loss. Rotating again within those 24 hours does not cut the earlier "
        "secret short: it keeps signing until its own expiry (`earlier_secrets_expire_at`). At "
        "most five secrets sign at once; a rotation beyond is a 409 `secret_rotation_limit`.",
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
        description="Stops deliveries and keeps the endpoint and its secret (enable it again "
        "later); repeating it changes nothing.",
        request=None,
        responses={200: WebhookOutput, **errors(403, 404)},
    )
    def post(self, request: ApiRequest, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(scope=self.scope, pk=webhook_id)
        endpoint = services.webhook_disable(scope=self.scope, endpoint=endpoint)
        return Response(WebhookOutput(endpoint).data)


class WebhookEnableApi(ApiView):
    audience = PARTNERS
    staff_action = Action.DECIDE
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_enable",
        summary="Enable a disabled webhook endpoint",
        description="Resumes deliveries with the same secret. The URL is checked again "
        "(400 `https_required`, `address_forbidden`) and the limit of active endpoints applies "
        "(409 `webhook_limit`). Events that happened while it was disabled are not queued for "
        "it: read them from the feed. Enabling an active endpoint changes nothing.",
        request=None,
        responses={200: WebhookOutput, **errors(400, 403, 404, 409)},
    )
    def post(self, request: ApiRequest, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(scope=self.scope, pk=webhook_id)
        endpoint = services.webhook_enable(scope=self.scope, endpoint=endpoint)
        return Response(WebhookOutput(endpoint).data)


def _delivery(row: Outbox) -> dict[str, Any]:
    if not hasattr(row, "attempt_list"):
        row.attempt_list = []  # type: ignore[attr-defined]  # a new row has no attempts yet
    return dict(DeliveryOutput(row).data)


class WebhookTestApi(ApiView):
    audience = PARTNERS
    staff_action = Action.DECIDE
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_test",
        summary="Send a test event",
        description="Queues a `webhook.test` event to this endpoint only, whatever kinds it "
        "subscribes to, signed and retried like any delivery; follow it in the endpoint's "
        "deliveries. A disabled endpoint is a 409 `webhook_disabled`.",
        request=None,
        responses={202: DeliveryOutput, **errors(403, 404, 409)},
    )
    def post(self, request: ApiRequest, webhook_id: int) -> Response:
        endpoint = selectors.webhook_get(scope=self.scope, pk=webhook_id)
        row = services.webhook_send_test(scope=self.scope, endpoint=endpoint)
        return Response(_delivery(row), status=status.HTTP_202_ACCEPTED)


class WebhookDeliveryListApi(ApiView):
    FilterSerializer = PageQuery  # the query parameters: a page
    audience = PARTNERS
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_deliveries_list",
        summary="Deliveries to a webhook endpoint",
        description="One delivery per event queued for the endpoint, newest first, each with "
        "its attempts: when, the HTTP status the endpoint answered (null when it could not be "
        "reached), how long it took and why it failed.",
        parameters=[FilterSerializer],
        responses={200: page_of(DeliveryOutput, "WebhookDelivery"), **errors(400, 404)},
    )
    def get(self, request: ApiRequest, webhook_id: int) -> Response:
        self.query(self.FilterSerializer)
        endpoint = selectors.webhook_get(scope=self.scope, pk=webhook_id)
        rows = selectors.webhook_deliveries(scope=self.scope, endpoint=endpoint)
        return self.paginate(rows, DeliveryOutput, ordering=("-id",))


class WebhookDeliveryResendApi(ApiView):
    audience = PARTNERS
    staff_action = Action.DECIDE
    tags = ("webhooks",)

    @extend_schema(
        operation_id="webhooks_deliveries_resend",
        summary="Resend a delivery",
        description="Queues the delivery for another attempt now: the same event id and body, "
        "signed afresh, with a fresh allowance of retries. Sent, failed and dead deliveries "
        "can be resent; one still queued is a 409 `delivery_pending`, one to a disabled "
        "endpoint a 409 `webhook_disabled`.",
        request=None,
        responses={202: DeliveryOutput, **errors(403, 404, 409)},
    )
    def post(self, request: ApiRequest, webhook_id: int, delivery_id: int) -> Response:
        endpoint = selectors.webhook_get(scope=self.scope, pk=webhook_id)
        row = selectors.webhook_delivery_get(scope=self.scope, endpoint=endpoint, pk=delivery_id)
        row = services.webhook_delivery_resend(scope=self.scope, endpoint=endpoint, delivery=row)
        return Response(_delivery(row), status=status.HTTP_202_ACCEPTED)
