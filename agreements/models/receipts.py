"""Receipts of customer requests (R13): the digest each was issued with, so /verify/ finds it."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from agreements.enums import RequestKind
from agreements.models.contracts import NonRenewalRequest, Termination
from agreements.models.deletions import DataDeletion
from tenants.models import Tenant


class RequestReceipt(models.Model):
    """The receipt of one customer request: its digest (agreements.ledger.requests) as issued.

    Written in the transaction that files the request; never changed. Verification recomputes
    the digest from the request and compares it with this one.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("種類"), max_length=16, choices=RequestKind.choices)
    non_renewal = models.OneToOneField(
        NonRenewalRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="receipt",
    )
    termination = models.OneToOneField(
        Termination, null=True, blank=True, on_delete=models.PROTECT, related_name="receipt"
    )
    deletion = models.OneToOneField(
        DataDeletion, null=True, blank=True, on_delete=models.PROTECT, related_name="receipt"
    )
    digest = models.CharField(_("ダイジェスト"), max_length=64, unique=True)
    issued_at = models.DateTimeField(_("発行日時"))

    class Meta:
        verbose_name = _("申込の受領証")
        verbose_name_plural = _("申込の受領証")
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind=RequestKind.NON_RENEWAL,
                        non_renewal__isnull=False,
                        termination__isnull=True,
                        deletion__isnull=True,
                    )
                    | Q(
                        kind=RequestKind.TERMINATION,
                        non_renewal__isnull=True,
                        termination__isnull=False,
                        deletion__isnull=True,
                    )
                    | Q(
                        kind=RequestKind.DELETION,
                        non_renewal__isnull=True,
                        termination__isnull=True,
                        deletion__isnull=False,
                    )
                ),
                name="request_receipt_one_subject",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} receipt {self.digest[:12]}"

    @property
    def subject(self) -> NonRenewalRequest | Termination | DataDeletion | None:
        return self.non_renewal or self.termination or self.deletion
