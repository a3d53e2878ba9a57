"""Contracts, their chained periods, non-renewals, rejection cases and terminations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from agreements.enums import (
    BillingCycle,
    CaseStatus,
    ContractStatus,
    NonRenewalStatus,
    PeriodStatus,
    TerminationReason,
    TerminationStatus,
    TermsSource,
)
from agreements.models.base import Actor, Filer, choice_constraint
from agreements.models.documents import TermsVersion
from agreements.models.products import Option, Product
from core.models import ClockStamped
from tenants.models import Tenant


class Contract(ClockStamped):
    """A usage contract (利用契約) of one tenant for one product."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="contracts")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="contracts")
    options = models.ManyToManyField(Option, blank=True, related_name="contracts")
    status = models.CharField(
        _("状態"), max_length=16, choices=ContractStatus.choices, default=ContractStatus.ACTIVE
    )
    start_date = models.DateField(_("利用開始日"))  # R9: the admin account's issue date
    term_months = models.PositiveSmallIntegerField(_("利用期間(月)"), default=12)
    auto_renew = models.BooleanField(_("自動更新"), default=False)
    auto_renew_source = models.CharField(
        _("自動更新の根拠"), max_length=16, choices=TermsSource.choices, default=TermsSource.ORDER
    )
    notice_months = models.PositiveSmallIntegerField(_("更新拒絶期間(月)"), null=True, blank=True)
    notice_source = models.CharField(
        _("更新拒絶期間の根拠"),
        max_length=16,
        choices=TermsSource.choices,
        default=TermsSource.ORDER,
    )
    billing_cycle = models.CharField(
        _("請求サイクル"), max_length=16, choices=BillingCycle.choices, default=BillingCycle.MONTHLY
    )
    cycle_months = models.PositiveSmallIntegerField(_("請求サイクル(月)"), null=True, blank=True)
    amount_jpy = models.PositiveBigIntegerField(_("サイクルあたり料金(円)"), null=True, blank=True)
    lump_sum_jpy = models.PositiveBigIntegerField(_("一括料金(円)"), null=True, blank=True)
    order_ref = models.CharField(_("注文番号"), max_length=100, blank=True)
    external_ref = models.CharField(_("パートナー側の識別子"), max_length=100, blank=True)
    ended_on = models.DateField(_("終了日"), null=True, blank=True)
    end_reason = models.CharField(
        _("終了事由"), max_length=32, choices=TerminationReason.choices, blank=True
    )
    predecessor = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="successor",
        verbose_name=_("承継元の契約"),
    )
    succession_consent_ref = models.CharField(_("書面による承諾"), max_length=255, blank=True)
    # R18: set when an option's prerequisite contract ended; cleared by staff.
    prerequisite_flagged_at = models.DateTimeField(
        _("前提契約終了の警告日時"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("利用契約")
        verbose_name_plural = _("利用契約")
        constraints = [
            choice_constraint("status", ContractStatus, "contract_status_valid"),
            choice_constraint("billing_cycle", BillingCycle, "contract_billing_cycle_valid"),
            models.CheckConstraint(condition=Q(term_months__gte=1), name="contract_term_positive"),
            # R17: a multi-year fee is per cycle, so its length must be known to cap liability.
            models.CheckConstraint(
                condition=~Q(billing_cycle="multi_year") | Q(cycle_months__gte=24),
                name="contract_multi_year_has_cycle",
            ),
            models.CheckConstraint(
                condition=Q(auto_renew=False) | Q(notice_months__isnull=False),
                name="contract_auto_renew_has_notice",
            ),
            models.CheckConstraint(
                condition=Q(status="active", ended_on__isnull=True)
                | (~Q(status="active") & Q(ended_on__isnull=False) & ~Q(end_reason="")),
                name="contract_end_consistent",
            ),
        ]
        indexes = [
            models.Index(fields=["tenant", "product", "status"], name="contract_tenant_product"),
            models.Index(fields=["status", "updated_at"], name="contract_status"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant} / {self.product} #{self.pk}"


class ContractPeriod(ClockStamped):
    """One usage period; renewals chain (R10): the next starts the day after the previous end."""

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="periods")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    seq = models.PositiveIntegerField(_("回数"))
    start_date = models.DateField(_("開始日"))
    end_date = models.DateField(_("終了日"))  # inclusive
    status = models.CharField(
        _("状態"), max_length=16, choices=PeriodStatus.choices, default=PeriodStatus.OPEN
    )

    class Meta:
        verbose_name = _("利用期間")
        verbose_name_plural = _("利用期間")
        ordering = ["contract", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["contract", "seq"], name="period_unique_seq"),
            models.UniqueConstraint(
                fields=["contract"], condition=Q(status="open"), name="period_one_open"
            ),
            models.CheckConstraint(
                condition=Q(end_date__gte=F("start_date")), name="period_end_after_start"
            ),
            choice_constraint("status", PeriodStatus, "period_status_valid"),
        ]
        indexes = [
            models.Index(
                fields=["end_date"], condition=Q(status="open"), name="period_open_by_end"
            ),
            models.Index(fields=["tenant", "contract"], name="period_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.start_date} – {self.end_date}"


class NonRenewalRequest(ClockStamped, Actor, Filer):
    """An application not to renew (R11), timely or for the explicitly chosen later end."""

    contract = models.ForeignKey(
        Contract, on_delete=models.CASCADE, related_name="non_renewal_requests"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    requested_on = models.DateField(_("申込日"))
    requested_at = models.DateTimeField(_("申込日時"))
    end_date = models.DateField(_("終了日"))
    deadline = models.DateField(_("申込期限"))
    status = models.CharField(
        _("状態"),
        max_length=16,
        choices=NonRenewalStatus.choices,
        default=NonRenewalStatus.ACTIVE,
    )
    withdrawn_at = models.DateTimeField(_("取り下げ日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("更新しない旨の申込")
        verbose_name_plural = _("更新しない旨の申込")
        constraints = [
            models.UniqueConstraint(
                fields=["contract"], condition=Q(status="active"), name="nonrenewal_one_active"
            ),
            choice_constraint("status", NonRenewalStatus, "nonrenewal_status_valid"),
            models.CheckConstraint(
                condition=Q(requested_on__lte=F("deadline")), name="nonrenewal_timely"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "contract"], name="nonrenewal_tenant")]

    def __str__(self) -> str:
        return f"{self.contract} → {self.end_date}"


class TerminationCase(ClockStamped):
    """A discretionary discontinuation opened by a rejection (R6), confirmed or dropped by staff."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="termination_cases")
    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="cases")
    version = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="cases")
    rejection = models.ForeignKey(
        "ConsentRecord", on_delete=models.PROTECT, related_name="cases", null=True, blank=True
    )
    status = models.CharField(
        _("状態"), max_length=16, choices=CaseStatus.choices, default=CaseStatus.OPEN
    )
    opened_at = models.DateTimeField(_("開始日時"))
    confirmed_at = models.DateTimeField(_("確定日時"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    end_date = models.DateField(_("終了予定日"), null=True, blank=True)
    closed_at = models.DateTimeField(_("終了日時"), null=True, blank=True)
    note = models.TextField(_("メモ"), blank=True)

    class Meta:
        verbose_name = _("解約案件")
        verbose_name_plural = _("解約案件")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "version"],
                condition=Q(status__in=["open", "confirmed"]),
                name="case_one_live_per_contract_version",
            ),
            choice_constraint("status", CaseStatus, "case_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(end_date__isnull=False),
                name="case_confirmed_has_end",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="case_tenant")]

    def __str__(self) -> str:
        return f"{self.contract} / {self.version} ({self.status})"


class Termination(ClockStamped, Actor, Filer):
    """Every end of a contract has one (R14): customer notice, staff termination, expiry..."""

    contract = models.ForeignKey(Contract, on_delete=models.PROTECT, related_name="terminations")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("事由"), max_length=32, choices=TerminationReason.choices)
    status = models.CharField(
        _("状態"),
        max_length=16,
        choices=TerminationStatus.choices,
        default=TerminationStatus.SCHEDULED,
    )
    end_date = models.DateField(_("終了日"))
    requested_at = models.DateTimeField(_("受付日時"))
    effective_at = models.DateTimeField(_("実施日時"), null=True, blank=True)
    case = models.ForeignKey(
        TerminationCase, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    successor = models.ForeignKey(
        Contract, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    written_consent_ref = models.CharField(_("書面による承諾"), max_length=255, blank=True)
    note = models.TextField(_("メモ"), blank=True)
    notice_outbox_id = models.BigIntegerField(_("通知の送信キューID"), null=True, blank=True)

    class Meta:
        verbose_name = _("契約の終了")
        verbose_name_plural = _("契約の終了")
        constraints = [
            models.UniqueConstraint(
                fields=["contract"],
                condition=Q(status__in=["scheduled", "effective"]),
                name="termination_one_live_per_contract",
            ),
            choice_constraint("reason", TerminationReason, "termination_reason_valid"),
            choice_constraint("status", TerminationStatus, "termination_status_valid"),
        ]
        indexes = [
            models.Index(
                fields=["end_date"], condition=Q(status="scheduled"), name="termination_due"
            ),
            models.Index(fields=["tenant", "contract"], name="termination_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.contract} {self.reason} {self.end_date}"
