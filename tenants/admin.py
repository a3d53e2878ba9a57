from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from core import clock
from core.enums import OutboxStatus
from core.models import Delivery, Outbox
from tenants.delivery.outbox import outbox_retry
from tenants.models import Invitation, Membership, Partner, PartnerAPIKey, Tenant, WebhookEndpoint
from tenants.scope import Scope


class PartnerAPIKeyInline(admin.TabularInline):
    model = PartnerAPIKey
    extra = 0
    fields = ["name", "prefix", "scopes", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "last_used_at"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "contact_email", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "code", "contact_email"]
    inlines = [PartnerAPIKeyInline]


@admin.register(PartnerAPIKey)
class PartnerAPIKeyAdmin(admin.ModelAdmin):
    list_display = ["prefix", "name", "partner", "scopes", "last_used_at", "revoked_at"]
    list_filter = ["partner"]
    search_fields = ["prefix", "name", "partner__name"]
    readonly_fields = ["prefix", "hashed_key", "last_used_at"]


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "partner", "is_active", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["url", "partner__name"]
    exclude = ["secret", "previous_secret"]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "corporate_number", "partner", "locale", "is_active", "created_at"]
    list_filter = ["partner", "locale", "is_active"]
    search_fields = ["name", "corporate_number", "external_ref", "=id"]
    inlines = [MembershipInline]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__username", "user__email", "tenant__name"]
    raw_id_fields = ["user", "tenant"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "tenant", "role", "status", "expires_at", "accepted_at"]
    list_filter = ["status", "role"]
    search_fields = ["email", "tenant__name"]
    exclude = ["token_hash"]
    raw_id_fields = ["tenant", "invited_by", "accepted_user", "invited_by_key"]


# --- The outbox (a core table): delivery and its retry belong to tenants.delivery ------------


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    can_delete = False
    readonly_fields = [
        "attempt",
        "succeeded",
        "status_code",
        "error",
        "duration_ms",
        "attempted_at",
    ]


class OutboxProblemFilter(admin.SimpleListFilter):
    """Failures and dead letters first: what staff need to look at."""

    title = _("配信の問題")
    parameter_name = "problem"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("dead", _("送信不能（デッドレター）")),
            ("failing", _("再試行待ち")),
            ("stuck", _("処理期限切れ（送信済みか不明）")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Outbox]) -> QuerySet[Outbox]:
        if self.value() == "dead":
            return queryset.filter(status=OutboxStatus.DEAD)
        if self.value() == "failing":
            return queryset.filter(status=OutboxStatus.FAILED)
        if self.value() == "stuck":
            return queryset.filter(
                status__in=[OutboxStatus.PENDING, OutboxStatus.FAILED],
                lease_until__lt=clock.now(),
            )
        return queryset


@admin.register(Outbox)
class OutboxAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "kind",
        "channel",
        "recipient",
        "status",
        "attempts",
        "next_attempt_at",
        "sent_at",
        "short_error",
    ]
    list_filter = [OutboxProblemFilter, "status", "channel", "kind"]
    search_fields = ["dedupe_key", "recipient", "message_id"]
    readonly_fields = [f.name for f in Outbox._meta.fields]
    inlines = [DeliveryInline]
    actions = ["retry"]

    @admin.display(description=_("最後のエラー"))
    def short_error(self, obj: Outbox) -> str:
        return obj.last_error[:80]

    @admin.action(description=_("選択したメッセージを再送する（失敗・送信不能のみ）"))
    def retry(self, request: HttpRequest, queryset: QuerySet[Outbox]) -> None:
        count = outbox_retry(
            scope=Scope.staff(request.user),  # type: ignore[arg-type]
            ids=list(queryset.values_list("id", flat=True)),
        )
        self.message_user(
            request,
            _("%(count)d 件を再送の対象にしました。") % {"count": count},
            messages.SUCCESS if count else messages.WARNING,
        )

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        counts = dict(
            Outbox.objects.values("status").annotate(n=Count("id")).values_list("status", "n")
        )
        summary = {str(label): counts.get(value, 0) for value, label in OutboxStatus.choices}
        return super().changelist_view(
            request, extra_context={**(extra_context or {}), "outbox_summary": summary}
        )
