"""The consent ledger: chain heads, ledger rows, their evidence and the per-document state."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from agreements.enums import ActorKind, Answer, Channel, ConsentStatus
from agreements.models.base import choice_constraint
from agreements.models.documents import TermsDocument, TermsVersion
from core.fields import ClockDateTimeField
from tenants.models import Tenant


class LedgerHead(models.Model):
    """The head of a tenant's hash chain; locked (SELECT ... FOR UPDATE) on every append."""

    tenant = models.OneToOneField(Tenant, on_delete=models.PROTECT, related_name="ledger_head")
    seq = models.PositiveBigIntegerField(_("最終番号"), default=0)
    hash = models.CharField(_("最終ハッシュ"), max_length=64, default="0" * 64)
    updated_at = ClockDateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("台帳の先頭")
        verbose_name_plural = _("台帳の先頭")

    def __str__(self) -> str:
        return f"{self.tenant_id}@{self.seq}"


class ConsentRecord(models.Model):
    """A ledger row: an answer, or a deemed consent. Append-only (a trigger refuses changes)."""

    # Every row is written once and read by (tenant, seq) or (version, answer): the composite
    # indexes below serve those and the foreign keys' checks, so the keys get no index of their
    # own (each one more B-tree insertion per ledger row, on the answer's hot path). A document
    # has half the rows or more (one per product): an index on it would never be chosen.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="consent_records", db_index=False
    )
    seq = models.PositiveBigIntegerField(_("番号"))
    # One foreign key for both on PostgreSQL, (version_id, document_id) → the version's (id,
    # document_id) (migration 0027): a row can only cite a version of the document it names,
    # and each row written costs one key check for the two instead of two.
    document = models.ForeignKey(
        TermsDocument,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    version = models.ForeignKey(
        TermsVersion,
        on_delete=models.PROTECT,
        related_name="consent_records",
        db_index=False,
        db_constraint=False,
    )
    answer = models.CharField(_("回答"), max_length=16, choices=Answer.choices)
    actor_kind = models.CharField(_("実行者の種類"), max_length=16, choices=ActorKind.choices)
    actor_ref = models.CharField(_("実行者"), max_length=64)  # "user:12", "key:ab12cd34", ...
    channel = models.CharField(_("経路"), max_length=16, choices=Channel.choices)
    recorded_at = models.DateTimeField(_("記録日時"))
    version_body_hash = models.CharField(_("版の本文ハッシュ"), max_length=64)
    notice_posted_at = models.DateTimeField(_("お知らせ掲示日時"), null=True, blank=True)
    evidence_digests = models.JSONField(_("証跡ダイジェスト"), default=dict)
    prev_hash = models.CharField(_("前のハッシュ"), max_length=64)
    # Unique as a constraint, not `unique=True`: the latter adds a second, LIKE-pattern index
    # that no query uses.
    hash = models.CharField(_("ハッシュ"), max_length=64)

    class Meta:
        verbose_name = _("同意台帳")
        verbose_name_plural = _("同意台帳")
        # By the column, not the relation: "tenant" would join every ledger read to the
        # tenants and sort by their names.
        ordering = ["tenant_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "seq"], name="ledger_unique_seq"),
            models.UniqueConstraint(fields=["hash"], name="ledger_unique_hash"),
            choice_constraint("answer", Answer, "ledger_answer_valid"),
            choice_constraint("channel", Channel, "ledger_channel_valid"),
        ]
        # (version, tenant): "has this tenant answered this version" for a batch of tenants
        # stays a range of the index whatever the version's size. With (version, answer) the
        # effective-date job's re-check scanned every row the run had written so far for the
        # version, batch after batch (the statistics still said the version had none).
        indexes = [models.Index(fields=["version", "tenant"], name="ledger_version_tenant")]

    def __str__(self) -> str:
        return f"{self.tenant_id}#{self.seq} {self.answer}"


class ConsentEvidence(models.Model):
    """Personal data behind a ledger row; deleted at redaction, the digests stay (R15)."""

    record = models.OneToOneField(ConsentRecord, on_delete=models.PROTECT, related_name="evidence")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    salt = models.CharField(max_length=64)
    person_name = models.CharField(_("氏名"), max_length=255, blank=True)
    person_email = models.CharField(_("メールアドレス"), max_length=255, blank=True)
    person_title = models.CharField(_("役職"), max_length=255, blank=True)
    reason = models.TextField(_("理由"), blank=True)
    ip_address = models.CharField(_("IPアドレス"), max_length=64, blank=True)
    user_agent = models.TextField(_("ユーザーエージェント"), blank=True)
    obtained_at = models.DateTimeField(_("取得日時"), null=True, blank=True)
    method = models.CharField(_("取得方法"), max_length=255, blank=True)
    created_at = ClockDateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("同意の証跡")
        verbose_name_plural = _("同意の証跡")
        indexes = [models.Index(fields=["tenant"], name="evidence_tenant")]

    def __str__(self) -> str:
        return f"evidence of {self.record_id}"


class ConsentState(models.Model):
    """Projection of the ledger per tenant × document; rebuildable from the ledger."""

    # tenant and version are served by the composite indexes below (state_unique,
    # state_version_status_bound); record is never looked up from the ledger side (ledger rows
    # are never deleted); a document has half the rows or more (one per product), so an index
    # on it would never be chosen: no single-column index each. Every answer and job moves
    # `status`, so each write updates every index: four B-trees, not seven (bench: 2, 4, 9).
    tenant = models.ForeignKey(
        Tenant, on_delete=models.PROTECT, related_name="consent_states", db_index=False
    )
    document = models.ForeignKey(
        TermsDocument, on_delete=models.PROTECT, related_name="states", db_index=False
    )
    version = models.ForeignKey(
        TermsVersion, on_delete=models.PROTECT, related_name="states", db_index=False
    )
    status = models.CharField(_("状態"), max_length=16, choices=ConsentStatus.choices)
    record = models.ForeignKey(
        ConsentRecord,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    # Whether the document binds the tenant now (R1), moved with its contracts
    # (agreements.services.consents_bound): the dashboard counts these rows only.
    bound = models.BooleanField(_("適用対象"), default=False)
    updated_at = ClockDateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("同意状況")
        verbose_name_plural = _("同意状況")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "document"], name="state_unique"),
            choice_constraint("status", ConsentStatus, "state_status_valid"),
        ]
        indexes = [
            models.Index(fields=["tenant", "status"], name="state_tenant_status"),
            # A version's rows by status (the jobs, the drill-downs), and the dashboard: one
            # GROUP BY (version, status, bound) answered from this index alone.
            models.Index(fields=["version", "status", "bound"], name="state_version_status_bound"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.document_id}: {self.status}"
