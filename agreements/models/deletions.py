"""Deletions of an ended contract's data, ordered to the product and acknowledged by it."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from agreements.enums import Channel, DeletionKind, DeletionStatus
from agreements.models.base import Filer, choice_constraint
from agreements.models.contracts import Contract
from agreements.models.products import ProductKey
from core.models import ClockStamped
from tenants.models import PartnerAPIKey, Tenant


class DataDeletion(ClockStamped, Filer):
    """A deletion of a contract's data (R15), ordered to the product and acknowledged by it."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="deletions")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("種類"), max_length=16, choices=DeletionKind.choices)
    status = models.CharField(
        _("状態"), max_length=16, choices=DeletionStatus.choices, default=DeletionStatus.SCHEDULED
    )
    due_on = models.DateField(_("期日"))
    requested_on = models.DateField(_("依頼日"), null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_key = models.ForeignKey(
        PartnerAPIKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Where a customer's request was filed (portal, API, console), as its receipt shows (R13).
    # Empty for the deletions the service plans itself (primary, backup) and for requests
    # filed before the channel was recorded.
    channel = models.CharField(
        _("経路"), max_length=16, choices=Channel.choices, blank=True, default=""
    )
    ordered_at = models.DateTimeField(_("指示日時"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("完了確認日時"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        ProductKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ack_evidence = models.JSONField(_("完了の証跡"), default=dict, blank=True)
    redacted_at = models.DateTimeField(_("個人データ削除日時"), null=True, blank=True)
    # A customer's request withdrawn before it was ordered (R15); `cancelled` alone may also
    # mean the end it relied on was withdrawn.
    withdrawn_at = models.DateTimeField(_("取り下げ日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("データ削除")
        verbose_name_plural = _("データ削除")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "kind"],
                condition=~Q(status="cancelled"),
                name="deletion_one_per_kind",
            ),
            choice_constraint("kind", DeletionKind, "deletion_kind_valid"),
            choice_constraint("status", DeletionStatus, "deletion_status_valid"),
            models.CheckConstraint(
                condition=Q(channel__in=["", *Channel.values]), name="deletion_channel_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["due_on"], condition=Q(status="scheduled"), name="deletion_due"),
            models.Index(fields=["tenant", "contract"], name="deletion_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.contract} {self.kind} {self.due_on}"
