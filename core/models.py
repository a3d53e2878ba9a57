"""Plumbing tables: outbox, events, deliveries, planned actions, job runs, audit, idempotency.

Tenants and partners are referred to by id (no foreign key), so this app depends on nothing
of ours and its rows outlive a tenant's redaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core.enums import (
    ActionStatus,
    AuditAction,
    IdempotencyStatus,
    JobRunStatus,
    OutboxChannel,
    OutboxStatus,
)
from core.fields import ClockDateTimeField


class TimeStamped(models.Model):
    """Stamped on real time: the service's own records (jobs, audit, idempotency), which a
    sandbox's clock never moves."""

    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        abstract = True


class ClockStamped(models.Model):
    """Stamped on the service's clock (core.fields): the partners' and tenants' data, events
    and deliveries, so what a sandbox's caller sees carries the sandbox's instant."""

    created_at = ClockDateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = ClockDateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        abstract = True


class Event(ClockStamped):
    """Something that happened to a tenant, for the partner's event feed and webhooks."""

    kind = models.CharField(_("種別"), max_length=64)
    tenant_id = models.BigIntegerField(_("テナントID"), null=True, blank=True)
    partner_id = models.BigIntegerField(_("パートナーID"), null=True, blank=True)
    subject_type = models.CharField(_("対象の種類"), max_length=64, blank=True)
    subject_id = models.BigIntegerField(_("対象ID"), null=True, blank=True)
    payload = models.JSONField(_("内容"), default=dict)
    occurred_at = models.DateTimeField(_("発生日時"))

    class Meta:
        verbose_name = _("イベント")
        verbose_name_plural = _("イベント")
        indexes = [
            models.Index(fields=["partner_id", "id"], name="event_partner_feed"),
            models.Index(fields=["tenant_id", "id"], name="event_tenant_feed"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk}"


class Outbox(ClockStamped):
    """A message to deliver, written in the same transaction as the change it reports."""

    kind = models.CharField(_("種別"), max_length=64)
    channel = models.CharField(_("経路"), max_length=16, choices=OutboxChannel.choices)
    dedupe_key = models.CharField(_("重複防止キー"), max_length=255, unique=True)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL)
    tenant_id = models.BigIntegerField(_("テナントID"), null=True, blank=True)
    partner_id = models.BigIntegerField(_("パートナーID"), null=True, blank=True)
    recipient = models.CharField(_("宛先"), max_length=500, blank=True)
    webhook_endpoint_id = models.BigIntegerField(
        _("WebhookエンドポイントID"), null=True, blank=True
    )
    locale = models.CharField(_("言語"), max_length=8, default="ja")
    payload = models.JSONField(_("内容"), default=dict)
    status = models.CharField(
        _("状態"), max_length=16, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(_("試行回数"), default=0)
    next_attempt_at = models.DateTimeField(_("次回試行日時"))
    lease_until = models.DateTimeField(_("処理期限"), null=True, blank=True)
    last_error = models.TextField(_("最後のエラー"), blank=True)
    sent_at = models.DateTimeField(_("送信日時"), null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=255, blank=True)

    class Meta:
        verbose_name = _("送信キュー")
        verbose_name_plural = _("送信キュー")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="outbox_due",
                condition=Q(status__in=["pending", "failed"]),
            ),
            models.Index(fields=["tenant_id", "created_at"], name="outbox_tenant"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=OutboxStatus.values), name="outbox_status_valid"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=OutboxChannel.values), name="outbox_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient or self.webhook_endpoint_id} ({self.status})"


class Delivery(ClockStamped):
    """One attempt to deliver an outbox message (the evidence that a notice went out)."""

    outbox = models.ForeignKey(Outbox, on_delete=models.CASCADE, related_name="deliveries")
    attempt = models.PositiveIntegerField(_("試行番号"))
    succeeded = models.BooleanField(_("成功"), default=False)
    status_code = models.IntegerField(_("応答コード"), null=True, blank=True)
    error = models.TextField(_("エラー"), blank=True)
    duration_ms = models.IntegerField(_("所要時間(ms)"), null=True, blank=True)
    attempted_at = models.DateTimeField(_("試行日時"))

    class Meta:
        verbose_name = _("配信記録")
        verbose_name_plural = _("配信記録")
        constraints = [
            models.UniqueConstraint(fields=["outbox", "attempt"], name="delivery_unique_attempt")
        ]

    def __str__(self) -> str:
        return f"{self.outbox_id}#{self.attempt}"


class PlannedAction(TimeStamped):
    """One effect a job must cause exactly once, keyed per subject and period (docs/jobs.md)."""

    job = models.CharField(_("ジョブ"), max_length=64)
    key = models.CharField(_("キー"), max_length=255, unique=True)
    subject_type = models.CharField(_("対象の種類"), max_length=64)
    subject_id = models.BigIntegerField(_("対象ID"))
    tenant_id = models.BigIntegerField(_("テナントID"), null=True, blank=True)
    due_on = models.DateField(_("期日"))
    status = models.CharField(
        _("状態"), max_length=16, choices=ActionStatus.choices, default=ActionStatus.PENDING
    )
    lease_until = models.DateTimeField(_("処理期限"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("試行回数"), default=0)
    claimed_by = models.CharField(_("処理者"), max_length=255, blank=True)
    done_at = models.DateTimeField(_("完了日時"), null=True, blank=True)
    result = models.JSONField(_("結果"), default=dict, blank=True)
    error = models.TextField(_("エラー"), blank=True)

    class Meta:
        verbose_name = _("予定処理")
        verbose_name_plural = _("予定処理")
        indexes = [
            models.Index(
                fields=["job", "due_on"],
                name="action_due",
                condition=Q(status__in=["pending", "running", "failed"]),
            ),
            models.Index(fields=["subject_type", "subject_id"], name="action_subject"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ActionStatus.values), name="action_status_valid"
            ),
        ]

    def __str__(self) -> str:
        return self.key


class JobRun(TimeStamped):
    """One run of a lifecycle job: counts, duration and errors."""

    job = models.CharField(_("ジョブ"), max_length=64)
    business_date = models.DateField(_("業務日"))
    started_at = models.DateTimeField(_("開始日時"))
    finished_at = models.DateTimeField(_("終了日時"), null=True, blank=True)
    status = models.CharField(
        _("状態"), max_length=16, choices=JobRunStatus.choices, default=JobRunStatus.RUNNING
    )
    counts = models.JSONField(_("件数"), default=dict, blank=True)
    error = models.TextField(_("エラー"), blank=True)
    duration_ms = models.IntegerField(_("所要時間(ms)"), null=True, blank=True)

    class Meta:
        verbose_name = _("ジョブ実行")
        verbose_name_plural = _("ジョブ実行")
        indexes = [models.Index(fields=["job", "-started_at"], name="jobrun_recent")]

    def __str__(self) -> str:
        return f"{self.job} {self.business_date} {self.status}"


class AuditEntry(TimeStamped):
    """A staff (or privileged) action, viewable per object."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_label = models.CharField(_("実行者"), max_length=255, blank=True)
    action = models.CharField(_("操作"), max_length=32)
    object_type = models.CharField(_("対象の種類"), max_length=64)
    object_id = models.BigIntegerField(_("対象ID"), null=True, blank=True)
    tenant_id = models.BigIntegerField(_("テナントID"), null=True, blank=True)
    summary = models.CharField(_("概要"), max_length=500, blank=True)
    data = models.JSONField(_("詳細"), default=dict, blank=True)
    at = models.DateTimeField(_("日時"))

    class Meta:
        verbose_name = _("監査ログ")
        verbose_name_plural = _("監査ログ")
        indexes = [
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object"),
            models.Index(fields=["tenant_id", "-at"], name="audit_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"

    @property
    def action_label(self) -> str:
        """The action as staff read it, in their language (AuditAction's label); a code no
        longer in AuditAction is shown as stored."""
        if self.action in AuditAction.values:
            return str(AuditAction(self.action).label)
        return self.action


class IdempotencyRecord(TimeStamped):
    """A stored response for an `Idempotency-Key`, scoped to the caller's key (24 h)."""

    owner = models.CharField(_("呼び出し元"), max_length=128)
    key = models.CharField(_("キー"), max_length=255)
    method = models.CharField(_("メソッド"), max_length=8)
    path = models.CharField(_("パス"), max_length=500)
    body_hash = models.CharField(_("本文ハッシュ"), max_length=64)
    status = models.CharField(
        _("状態"),
        max_length=16,
        choices=IdempotencyStatus.choices,
        default=IdempotencyStatus.IN_FLIGHT,
    )
    response_code = models.IntegerField(_("応答コード"), null=True, blank=True)
    response_body = models.BinaryField(_("応答本文"), null=True, blank=True)
    response_headers = models.JSONField(_("応答ヘッダー"), default=dict, blank=True)
    expires_at = models.DateTimeField(_("有効期限"))

    class Meta:
        verbose_name = _("冪等キー")
        verbose_name_plural = _("冪等キー")
        constraints = [
            models.UniqueConstraint(fields=["owner", "key"], name="idempotency_unique_key")
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expiry")]

    def __str__(self) -> str:
        return f"{self.owner}:{self.key}"


class Heartbeat(models.Model):
    """Last sign of life of the worker and of beat (read by /readyz)."""

    name = models.CharField(_("名前"), max_length=64, unique=True)
    beat_at = models.DateTimeField(_("最終確認日時"))
    info = models.JSONField(_("情報"), default=dict, blank=True)

    class Meta:
        verbose_name = _("ハートビート")
        verbose_name_plural = _("ハートビート")

    def __str__(self) -> str:
        return f"{self.name} @ {self.beat_at:%Y-%m-%d %H:%M:%S}"


class BackupStatus(models.Model):
    """When each kind of backup last succeeded (`dump`: scripts/backup.py; `pgbackrest`: the
    newest pgBackRest backup, recorded by `scripts/backup.py --record-pgbackrest`). Kept in
    the database because every web process reads it for /metrics (the backup-age alert)
    without running a backup tool on a scrape."""

    kind = models.CharField(_("種類"), max_length=32, unique=True)
    succeeded_at = models.DateTimeField(_("最終成功日時"))
    info = models.JSONField(_("情報"), default=dict, blank=True)

    class Meta:
        verbose_name = _("バックアップ状況")
        verbose_name_plural = _("バックアップ状況")

    def __str__(self) -> str:
        return f"{self.kind} @ {self.succeeded_at:%Y-%m-%d %H:%M:%S}"
