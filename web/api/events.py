"""The event feed: what happened to the caller's tenants (core.Event rows in its reach)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from core.enums import EventKind
from core.errors import PermissionDenied
from core.models import Event
from tenants.scope import Scope
from web.api.auth import PARTNERS
from web.api.base import ApiView
from web.api.pagination import PageQuery, page_of
from web.api.problems import errors
from web.requests import ApiRequest


class EventOutput(serializers.Serializer):
    id = serializers.IntegerField(
        help_text=_("イベントID（増加のみ。Webhook の X-Terms-Event-Id と同じ）")
    )
    kind = serializers.ChoiceField(choices=EventKind.choices, help_text=_("イベント種別"))
    tenant = serializers.IntegerField(
        source="tenant_id", allow_null=True, help_text=_("対象テナントのID")
    )
    subject_type = serializers.CharField(
        help_text=_("対象の種類（例: agreements.contract）。なければ空文字")
    )
    subject_id = serializers.IntegerField(allow_null=True, help_text=_("対象のID"))
    occurred_at = serializers.DateTimeField(help_text=_("発生日時（ISO 8601）"))
    data = serializers.DictField(
        source="payload",
        help_text=_("イベントの内容（tenant_id, tenant_name と種別ごとの項目。日付は ISO 8601）"),
    )


def event_feed(
    *,
    scope: Scope,
    after: int | None = None,
    tenant_id: int | None = None,
    kinds: Iterable[str] = (),
) -> QuerySet[Event]:
    """Events of the caller's tenants, oldest first: a partner its own, staff all.

    `after` continues a feed from the last event id the caller has seen (uses the
    (partner_id, id) index).
    """
    qs = Event.objects.all()
    if scope.is_partner:
        qs = qs.filter(partner_id=scope.partner_id)
    elif not scope.is_privileged:
        raise PermissionDenied(_("イベントはパートナーと当社スタッフが参照できます。"))
    if after is not None:
        qs = qs.filter(id__gt=after)
    if tenant_id is not None:
        qs = qs.filter(tenant_id=tenant_id)
    kinds = list(kinds)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.order_by("id")


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
    def get(self, request: ApiRequest) -> Response:
        query = self.query(self.FilterSerializer)
        events = event_feed(
            scope=self.scope,
            after=query.get("after"),
            tenant_id=query.get("tenant"),
            kinds=sorted(query.get("kind", ())),
        )
        return self.paginate(events, EventOutput)
