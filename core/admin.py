from __future__ import annotations

from django.contrib import admin

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
    ]
    list_filter = ["status", "channel", "kind"]
    search_fields = ["dedupe_key", "recipient", "message_id"]
    readonly_fields = [f.name for f in Outbox._meta.fields]
    inlines = [DeliveryInline]


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "outbox", "attempt", "succeeded", "status_code", "attempted_at"]
    list_filter = ["succeeded"]


@admin.register(PlannedAction)
class PlannedActionAdmin(admin.ModelAdmin):
    list_display = ["key", "job", "status", "due_on", "attempts", "lease_until", "done_at"]
    list_filter = ["job", "status"]
    search_fields = ["key"]
    readonly_fields = [f.name for f in PlannedAction._meta.fields]


@admin.register(JobRun)
class JobRunAdmin(ReadOnlyAdmin):
    list_display = ["job", "business_date", "status", "started_at", "duration_ms", "counts"]
    list_filter = ["job", "status"]
    date_hierarchy = "started_at"


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
