from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.db.models import Count, Max, Q
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from core.enums import ActionStatus, AuditAction, JobRunStatus
from core.masking import mask_secrets
from core.models import (
    AuditEntry,
    BackupStatus,
    Delivery,
    Event,
    Heartbeat,
    IdempotencyRecord,
    JobRun,
    PlannedAction,
)
from core.services import audit_add


class ReadOnlyAdmin(admin.ModelAdmin):
    """Evidence, logs and everything a service owns: the admin shows them, never edits them.

    A change goes through the service that owns it (console, API, command) and leaves an
    audit row; an admin action that changes something calls that service and declares
    ``allowed_permissions = ("service",)``. Who may run it is decided, as before this class
    existed, by Django's change permission of the model (`has_service_permission`), the one
    place where the staff-role table plugs in.
    """

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False

    def has_service_permission(self, request: HttpRequest) -> bool:
        return super().has_change_permission(request)


class ReadOnlyInline(admin.TabularInline):
    """An inline of a read-only admin: rows are listed, never added, changed or deleted."""

    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False

    def has_change_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False


class AuditedAdmin(admin.ModelAdmin):
    """For the few fields no service owns (a partner's name and contact address): the
    admin's save writes an audit row with the changed values, in the save's transaction;
    adding and deleting stay with the services."""

    def has_add_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False

    def has_delete_permission(self, request, obj=None) -> bool:  # type: ignore[override]
        return False

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        changed = {name: str(form.cleaned_data.get(name)) for name in form.changed_data}
        if changed:
            audit_add(
                actor=request.user,  # type: ignore[arg-type]
                action=AuditAction.UPDATE,
                obj=obj,
                summary=f"admin: {', '.join(sorted(changed))}",
                data=changed,
            )


def masked_payload(obj: Any) -> str:
    """A stored payload as the admin shows it: secrets masked (core.masking), so a reader of
    the admin (a console viewer too) never sees a live invitation link or signing secret."""
    shown = json.dumps(mask_secrets(obj.payload), ensure_ascii=False, indent=2, sort_keys=True)
    return format_html("<pre>{}</pre>", shown)


class MaskedPayloadAdmin(ReadOnlyAdmin):
    """A read-only admin of a table with a `payload`: shown only through `masked_payload`."""

    exclude = ["payload"]
    readonly_fields = ["payload_shown"]

    @admin.display(description=_("内容"))
    def payload_shown(self, obj: Any) -> str:
        return masked_payload(obj)


@admin.register(Event)
class EventAdmin(MaskedPayloadAdmin):
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


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = ["id", "outbox", "attempt", "succeeded", "status_code", "attempted_at"]
    list_filter = ["succeeded"]
    # The message it tried is a link to the outbox row, whose payload is shown masked there.
    fields = [
        "outbox",
        "attempt",
        "succeeded",
        "status_code",
        "error",
        "duration_ms",
        "attempted_at",
    ]


@admin.register(PlannedAction)
class PlannedActionAdmin(ReadOnlyAdmin):
    list_display = ["key", "job", "status", "due_on", "attempts", "lease_until", "done_at", "error"]
    list_filter = ["job", "status"]
    search_fields = ["key"]
    date_hierarchy = "due_on"


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
    # A stored answer can hold a secret shown once (a webhook's signing secret).
    exclude = ["response_body"]


@admin.register(Heartbeat)
class HeartbeatAdmin(ReadOnlyAdmin):
    list_display = ["name", "beat_at", "info"]


@admin.register(BackupStatus)
class BackupStatusAdmin(ReadOnlyAdmin):
    list_display = ["kind", "succeeded_at", "info"]
