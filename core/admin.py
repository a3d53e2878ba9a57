from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Max, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from core.enums import ActionStatus, JobRunStatus, OutboxStatus
from core.models import (
    AuditEntry,
    Delivery,
    Event,
    Heartbeat,
    IdempotencyRecord,
    JobRun,
    Outbox,
    PlannedAction,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence and logs are never edited by hand."""

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False


@admin.register(Event)
class EventAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "kind",
        "tenant_id",
        "partner_id",
        "subject_type",
        "subject_id",
        "occurred_at",
    ]
    list_filter = ["kind"]
    search_fields = ["kind", "tenant_id", "partner_id"]
    date_hierarchy = "occurred_at"


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
        from core import clock  # noqa: PLC0415 -- the one clock, read per request

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
        from core.delivery import outbox_retry  # noqa: PLC0415 -- the service behind the action
        from tenants.scope import Scope  # noqa: PLC0415 -- core depends on tenants only here

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


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "outbox", "attempt", "succeeded", "status_code", "attempted_at"]
    list_filter = ["succeeded"]


@admin.register(PlannedAction)
class PlannedActionAdmin(admin.ModelAdmin):
    list_display = ["key", "job", "status", "due_on", "attempts", "lease_until", "done_at", "error"]
    list_filter = ["job", "status"]
    search_fields = ["key"]
    date_hierarchy = "due_on"
    readonly_fields = [f.name for f in PlannedAction._meta.fields]


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = [
        "job",
        "business_date",
        "status",
        "started_at",
        "duration_ms",
        "counts",
        "short_error",
    ]
    list_filter = ["job", "status"]
    date_hierarchy = "started_at"
    ordering = ["-started_at"]

    @admin.display(description=_("エラー"))
    def short_error(self, obj: JobRun) -> str:
        return obj.error[:120]

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """Above the list: each job's last run, last failure and what is still owed."""
        last = {
            row["job"]: row
            for row in JobRun.objects.values("job").annotate(
                last_run=Max("started_at"),
                last_error=Max("started_at", filter=Q(status=JobRunStatus.ERROR)),
                errors=Count("id", filter=Q(status=JobRunStatus.ERROR)),
            )
        }
        owed = dict(
            PlannedAction.objects.exclude(status=ActionStatus.DONE)
            .values("job")
            .annotate(n=Count("id"))
            .values_list("job", "n")
        )
        jobs = sorted(set(last) | set(owed))
        summary = [
            {
                "job": job,
                "last_run": last.get(job, {}).get("last_run"),
                "last_error": last.get(job, {}).get("last_error"),
                "errors": last.get(job, {}).get("errors", 0),
                "owed": owed.get(job, 0),
            }
            for job in jobs
        ]
        return super().changelist_view(
            request, extra_context={**(extra_context or {}), "job_summary": summary}
        )


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ["at", "actor_label", "action", "object_type", "object_id", "summary"]
    list_filter = ["action", "object_type"]
    search_fields = ["summary", "actor_label", "object_id"]
    date_hierarchy = "at"


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyAdmin):
    list_display = ["owner", "key", "method", "path", "status", "response_code", "expires_at"]
    list_filter = ["status"]
    search_fields = ["owner", "key"]


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["name", "beat_at", "info"]
