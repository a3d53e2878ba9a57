"""The event feed and one event: what happened to the caller's tenants (core.Event rows in its
reach), in the one envelope webhook deliveries carry too (core.events)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.enums import EventKind
from core.events import event_envelope
from tenants import selectors
from web.api.auth import PARTNERS
from web.api.base import ApiView
from web.api.pagination import PageQuery, page_of
from web.api.problems import errors
from web.requests import ApiRequest


class EventTenantOutput(serializers.Serializer):
    id = serializers.IntegerField(help_text=_("テナントID"))
    name = serializers.CharField(help_text=_("テナント名（イベント発生時点）"))


class EventSubjectOutput(serializers.Serializer):
    type = serializers.CharField(
        help_text=_("対象の種類（contract, tenant, membership, invitation, termsversion など）")
    )
    id = serializers.IntegerField(help_text=_("対象のID"))


class EventOutput(serializers.Serializer):
    """One event; the feed, GET /events/{id} and a webhook delivery's body are this object."""

    id = serializers.IntegerField(
        help_text=_("イベントID（増加のみ。Webhook の X-Terms-Event-Id と同じ）")
    )
    kind = serializers.ChoiceField(choices=EventKind.choices, help_text=_("イベント種別"))
    api_version = serializers.CharField(help_text=_("イベントの形式の版（現在 v1）"))
    occurred_at = serializers.DateTimeField(help_text=_("発生日時（RFC 3339、日本時間 +09:00）"))
    tenant = EventTenantOutput(allow_null=True, help_text=_("対象テナント（なければ null）"))
    subject = EventSubjectOutput(allow_null=True, help_text=_("対象（なければ null）"))
    data = serializers.DictField(
        help_text=_(
            "イベントの内容（tenant_id, tenant_name と種別ごとの項目。"
            "日付は YYYY-MM-DD、日時は RFC 3339 の日本時間）"
        ),
    )

    def to_representation(self, instance: Any) -> dict[str, Any]:
        # The envelope is built in one place, so the feed and a delivery cannot drift apart.
        return event_envelope(instance)


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
            required=False,
            min_value=1,
            help_text=_("このテナントのイベントだけ（自社のテナントでなければ 404）"),
        )
        kind = serializers.MultipleChoiceField(
            choices=EventKind.choices, required=False, help_text=_("このイベント種別だけ（複数可）")
        )

    @extend_schema(
        operation_id="events_list",
        summary="Event feed",
        description="What happened to the caller's tenants, oldest first. Poll with "
        "`after=<last id seen>`; webhooks deliver the same events in the same envelope. "
        "A `tenant` that is not one of yours (another partner's, or none at all) is a 404 "
        "`not_found`, as in every list filtered by tenant.",
        parameters=[FilterSerializer],
        responses={200: page_of(EventOutput, "Event"), **errors(400, 404)},
    )
    def get(self, request: ApiRequest) -> Response:
        query = self.query(self.FilterSerializer)
        events = selectors.event_feed(
            scope=self.scope,
            after=query.get("after"),
            tenant_id=query.get("tenant"),
            kinds=sorted(query.get("kind", ())),
        )
        return self.paginate(events, EventOutput)


class EventDetailApi(ApiView):
    audience = PARTNERS
    tags = ("events",)

    @extend_schema(
        operation_id="events_retrieve",
        summary="One event",
        description="The event with this id, exactly as the feed lists it and a webhook "
        "delivered it (`X-Terms-Event-Id`).",
        responses={200: EventOutput, **errors(404)},
    )
    def get(self, request: ApiRequest, event_id: int) -> Response:
        return Response(EventOutput(selectors.event_get(scope=self.scope, pk=event_id)).data)
