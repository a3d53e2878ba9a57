"""Signed checkpoints of the ledger's chain heads (docs/ledger.md, "Checkpoints")."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from agreements.enums import CheckpointKind
from agreements.models.base import choice_constraint


class LedgerCheckpoint(models.Model):
    """The chain heads of every tenant at one instant, signed with a key kept outside the
    database (Ed25519). `statement` holds the exact bytes that were signed; every other
    column is a copy for queries and display, and verification reads the statement only,
    so editing a column proves nothing and editing the statement breaks the signature."""

    number = models.PositiveIntegerField(_("番号"), unique=True)  # 1, 2, 3 … without gaps
    kind = models.CharField(_("種類"), max_length=16, choices=CheckpointKind.choices)
    created_at = models.DateTimeField(_("署名日時"))
    as_of = models.DateTimeField(_("対象時点"))
    key_id = models.CharField(_("鍵ID"), max_length=16)
    heads_count = models.PositiveIntegerField(_("チェーン数"))
    heads_digest = models.CharField(_("先頭のダイジェスト"), max_length=64)
    # [{"tenant_id", "seq", "hash"}, …] by tenant id: what heads_digest is computed over.
    heads = models.JSONField(_("チェーンの先頭"), default=list)
    statement = models.TextField(_("署名対象"))
    signature = models.CharField(_("署名"), max_length=128)
    digest = models.CharField(_("ダイジェスト"), max_length=64, unique=True)  # sha256(statement)

    class Meta:
        verbose_name = _("台帳のチェックポイント")
        verbose_name_plural = _("台帳のチェックポイント")
        ordering = ["-number"]
        constraints = [choice_constraint("kind", CheckpointKind, "checkpoint_kind_valid")]

    def __str__(self) -> str:
        return f"checkpoint {self.number} ({self.heads_count} chains)"
