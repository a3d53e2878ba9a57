"""Products, terms documents and versions, contracts, the consent ledger and deletions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from agreements.enums import (
    ActorKind,
    Answer,
    BillingCycle,
    CaseStatus,
    ChangeCategory,
    Channel,
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    DeletionKind,
    DeletionStatus,
    DocumentKind,
    LegalBasis,
    NonRenewalStatus,
    PeriodStatus,
    TerminationReason,
    TerminationStatus,
    TermsSource,
    VersionStatus,
)
from tenants.models import PartnerAPIKey, Tenant


class TimeStamped(models.Model):
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        abstract = True


def _valid(field: str, choices: type[models.TextChoices], name: str) -> models.CheckConstraint:
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


# --- Products -----------------------------------------------------------------------------


class Product(TimeStamped):
    code = models.SlugField(_("コード"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=255)
    name_en = models.CharField(_("英語名"), max_length=255, blank=True)
    # R10: whether a term counts its start day (the contracts' own counting; CC 140 otherwise).
    start_day_counts = models.BooleanField(_("初日を算入する"), default=True)
    # R11: ID+ 5.4–5.5 give auto-renewal with one month's notice; the Biz terms have no such clause.
    terms_auto_renewal = models.BooleanField(_("規約上の自動更新"), default=False)
    terms_notice_months = models.PositiveSmallIntegerField(
        _("規約上の更新拒絶期間(月)"), null=True, blank=True
    )

    class Meta:
        verbose_name = _("製品")
        verbose_name_plural = _("製品")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Option(TimeStamped):
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="options")
    code = models.SlugField(_("コード"), max_length=64)
    name = models.CharField(_("名称"), max_length=255)
    name_en = models.CharField(_("英語名"), max_length=255, blank=True)
    # R18: e.g. ID+ device authentication requires an Optimal Biz contract of the same tenant.
    requires_product = models.ForeignKey(
        Product,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dependent_options",
        verbose_name=_("前提となる製品"),
    )

    class Meta:
        verbose_name = _("オプション")
        verbose_name_plural = _("オプション")
        constraints = [
            models.UniqueConstraint(fields=["product", "code"], name="option_unique_code")
        ]

    def __str__(self) -> str:
        return f"{self.product.name} / {self.name}"


class ProductKey(TimeStamped):
    """A product's API key (scopes `status:read`, `deletion:ack`); only a hash is stored."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(_("名前"), max_length=100)
    prefix = models.CharField(_("接頭辞"), max_length=16, unique=True)
    hashed_key = models.CharField(_("ハッシュ"), max_length=64, unique=True)
    scopes = models.JSONField(_("権限"), default=list)
    last_used_at = models.DateTimeField(_("最終利用日時"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("製品APIキー")
        verbose_name_plural = _("製品APIキー")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.product})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


# --- Terms documents and versions -------------------------------------------------------


class TermsDocument(TimeStamped):
    """Base terms of a product, or individual rules of an option (R1); each needs its own answer."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="documents")
    option = models.ForeignKey(
        Option, null=True, blank=True, on_delete=models.PROTECT, related_name="documents"
    )
    kind = models.CharField(_("種類"), max_length=16, choices=DocumentKind.choices)
    slug = models.SlugField(_("スラッグ"), max_length=64)
    title = models.CharField(_("題名"), max_length=255)
    # R1: individual rules prevail over the base terms; higher precedence wins.
    precedence = models.PositiveSmallIntegerField(_("優先順位"), default=0)

    class Meta:
        verbose_name = _("規約文書")
        verbose_name_plural = _("規約文書")
        ordering = ["product", "precedence", "slug"]
        constraints = [
            models.UniqueConstraint(fields=["product", "slug"], name="document_unique_slug"),
            _valid("kind", DocumentKind, "document_kind_valid"),
            # Base terms bind the whole product; individual rules belong to an option.
            models.CheckConstraint(
                condition=Q(kind="base", option__isnull=True)
                | Q(kind="individual", option__isnull=False),
                name="document_option_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class TermsVersion(TimeStamped):
    """One version of a document. Posted versions are immutable (R7); bodies are Japanese."""

    document = models.ForeignKey(TermsDocument, on_delete=models.PROTECT, related_name="versions")
    label = models.CharField(_("版"), max_length=64)
    status = models.CharField(
        _("状態"), max_length=16, choices=VersionStatus.choices, default=VersionStatus.DRAFT
    )
    title = models.CharField(_("題名"), max_length=255)
    preamble = models.TextField(_("前文"), blank=True)
    trailer = models.TextField(_("末文"), blank=True)
    last_revised_text = models.CharField(_("最終改定表示"), max_length=100, blank=True)
    is_excerpt = models.BooleanField(
        _("抜粋"), default=False, help_text=_("改定箇所のみを収録した版（全文ではない）")
    )
    is_historical = models.BooleanField(_("過去の版として取込"), default=False)
    based_on = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    consent_mode = models.CharField(
        _("同意の方式"), max_length=16, choices=ConsentMode.choices, default=ConsentMode.DEEMED
    )
    legal_basis = models.CharField(
        _("法的根拠"), max_length=32, choices=LegalBasis.choices, blank=True
    )
    rationale = models.TextField(_("変更の必要性・相当性"), blank=True)
    change_clause = models.CharField(
        _("根拠とする変更条項"), max_length=255, blank=True, default="第２条（本規約の変更）"
    )
    # The notice's change categories: [{"kind": "substantive", "title": "自動更新への対応"}, ...]
    categories = models.JSONField(_("変更区分"), default=list, blank=True)
    notice_title = models.CharField(_("お知らせの題名"), max_length=255, blank=True)
    notice_body = models.TextField(_("お知らせの本文"), blank=True)
    notice_on = models.DateField(_("掲示日"), null=True, blank=True)
    effective_on = models.DateField(_("効力発生日"), null=True, blank=True)
    posted_at = models.DateTimeField(_("掲示日時"), null=True, blank=True)
    scheduled_at = models.DateTimeField(_("予定登録日時"), null=True, blank=True)
    withdrawn_at = models.DateTimeField(_("撤回日時"), null=True, blank=True)
    withdrawal_reason = models.TextField(_("撤回理由"), blank=True)
    lapsed_at = models.DateTimeField(_("失効日時"), null=True, blank=True)
    superseded_on = models.DateField(_("旧版となった日"), null=True, blank=True)
    body_hash = models.CharField(_("本文ハッシュ"), max_length=64, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="versions_created",
    )
    scheduled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="versions_scheduled",
    )

    class Meta:
        verbose_name = _("規約の版")
        verbose_name_plural = _("規約の版")
        ordering = ["document", "-effective_on", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["document", "label"], name="version_unique_label"),
            # R7: at most one scheduled version per document at a time.
            models.UniqueConstraint(
                fields=["document"],
                condition=Q(status="scheduled"),
                name="version_one_scheduled_per_document",
            ),
            models.UniqueConstraint(
                fields=["document"],
                condition=Q(status="effective"),
                name="version_one_effective_per_document",
            ),
            _valid("status", VersionStatus, "version_status_valid"),
            _valid("consent_mode", ConsentMode, "version_mode_valid"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(effective_on__isnull=False),
                name="version_dated_unless_draft",
            ),
            models.CheckConstraint(
                condition=Q(notice_on__isnull=True)
                | Q(effective_on__isnull=True)
                | Q(notice_on__lte=F("effective_on")),
                name="version_notice_before_effective",
            ),
        ]
        indexes = [
            models.Index(fields=["document", "status"], name="version_document_status"),
            models.Index(fields=["status", "effective_on"], name="version_due"),
        ]

    def __str__(self) -> str:
        return f"{self.document.title} {self.label}"


class Article(models.Model):
    """An article (条) of a version, in document order."""

    version = models.ForeignKey(TermsVersion, on_delete=models.CASCADE, related_name="articles")
    position = models.PositiveIntegerField(_("順序"))
    number = models.PositiveIntegerField(_("条番号"))
    heading = models.CharField(_("見出し"), max_length=255)  # e.g. 第１条（本規約について）
    title = models.CharField(_("表題"), max_length=255, blank=True)
    change_category = models.CharField(
        _("変更区分"), max_length=16, choices=ChangeCategory.choices, blank=True
    )

    class Meta:
        verbose_name = _("条")
        verbose_name_plural = _("条")
        ordering = ["version", "position"]
        constraints = [
            models.UniqueConstraint(fields=["version", "position"], name="article_unique_position"),
            models.UniqueConstraint(fields=["version", "number"], name="article_unique_number"),
        ]

    def __str__(self) -> str:
        return self.heading


class Paragraph(models.Model):
    """A paragraph (項) of an article, with its items (号) kept in order."""

    article = models.ForeignKey(Article, on_delete=models.CASCADE, related_name="paragraphs")
    position = models.PositiveIntegerField(_("順序"))
    number = models.PositiveIntegerField(_("項番号"), null=True, blank=True)
    label = models.CharField(_("表示番号"), max_length=32, blank=True)  # "1." as written
    text = models.TextField(_("本文"))
    # [{"label": "（1）", "number": 1, "text": "..."}]
    items = models.JSONField(_("号"), default=list, blank=True)

    class Meta:
        verbose_name = _("項")
        verbose_name_plural = _("項")
        ordering = ["article", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["article", "position"], name="paragraph_unique_position"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.article.heading} {self.label}"


# --- Contracts ----------------------------------------------------------------------------


class Contract(TimeStamped):
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
            _valid("status", ContractStatus, "contract_status_valid"),
            _valid("billing_cycle", BillingCycle, "contract_billing_cycle_valid"),
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


class ContractPeriod(TimeStamped):
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
            _valid("status", PeriodStatus, "period_status_valid"),
        ]
        indexes = [
            models.Index(
                fields=["end_date"], condition=Q(status="open"), name="period_open_by_end"
            ),
            models.Index(fields=["tenant", "contract"], name="period_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.start_date} – {self.end_date}"


class Actor(models.Model):
    """Who did something: a tenant user, a partner key, staff or the system."""

    actor_kind = models.CharField(_("実行者の種類"), max_length=16, choices=ActorKind.choices)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_key = models.ForeignKey(
        PartnerAPIKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    channel = models.CharField(_("経路"), max_length=16, choices=Channel.choices)

    class Meta:
        abstract = True


class NonRenewalRequest(TimeStamped, Actor):
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
            _valid("status", NonRenewalStatus, "nonrenewal_status_valid"),
            models.CheckConstraint(
                condition=Q(requested_on__lte=F("deadline")), name="nonrenewal_timely"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "contract"], name="nonrenewal_tenant")]

    def __str__(self) -> str:
        return f"{self.contract} → {self.end_date}"


class TerminationCase(TimeStamped):
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
            _valid("status", CaseStatus, "case_status_valid"),
            models.CheckConstraint(
                condition=~Q(status="confirmed") | Q(end_date__isnull=False),
                name="case_confirmed_has_end",
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="case_tenant")]

    def __str__(self) -> str:
        return f"{self.contract} / {self.version} ({self.status})"


class Termination(TimeStamped, Actor):
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
            _valid("reason", TerminationReason, "termination_reason_valid"),
            _valid("status", TerminationStatus, "termination_status_valid"),
        ]
        indexes = [
            models.Index(
                fields=["end_date"], condition=Q(status="scheduled"), name="termination_due"
            ),
            models.Index(fields=["tenant", "contract"], name="termination_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.contract} {self.reason} {self.end_date}"


class DataDeletion(TimeStamped):
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
    ordered_at = models.DateTimeField(_("指示日時"), null=True, blank=True)
    acknowledged_at = models.DateTimeField(_("完了確認日時"), null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        ProductKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ack_evidence = models.JSONField(_("完了の証跡"), default=dict, blank=True)
    redacted_at = models.DateTimeField(_("個人データ削除日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("データ削除")
        verbose_name_plural = _("データ削除")
        constraints = [
            models.UniqueConstraint(
                fields=["contract", "kind"],
                condition=~Q(status="cancelled"),
                name="deletion_one_per_kind",
            ),
            _valid("kind", DeletionKind, "deletion_kind_valid"),
            _valid("status", DeletionStatus, "deletion_status_valid"),
        ]
        indexes = [
            models.Index(fields=["due_on"], condition=Q(status="scheduled"), name="deletion_due"),
            models.Index(fields=["tenant", "contract"], name="deletion_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.contract} {self.kind} {self.due_on}"


# --- The consent ledger -------------------------------------------------------------------


class LedgerHead(models.Model):
    """The head of a tenant's hash chain; locked (SELECT ... FOR UPDATE) on every append."""

    tenant = models.OneToOneField(Tenant, on_delete=models.PROTECT, related_name="ledger_head")
    seq = models.PositiveBigIntegerField(_("最終番号"), default=0)
    hash = models.CharField(_("最終ハッシュ"), max_length=64, default="0" * 64)
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("台帳の先頭")
        verbose_name_plural = _("台帳の先頭")

    def __str__(self) -> str:
        return f"{self.tenant_id}@{self.seq}"


class ConsentRecord(models.Model):
    """A ledger row: an answer, or a deemed consent. Append-only (a trigger refuses changes)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="consent_records")
    seq = models.PositiveBigIntegerField(_("番号"))
    document = models.ForeignKey(TermsDocument, on_delete=models.PROTECT, related_name="+")
    version = models.ForeignKey(
        TermsVersion, on_delete=models.PROTECT, related_name="consent_records"
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
    hash = models.CharField(_("ハッシュ"), max_length=64, unique=True)

    class Meta:
        verbose_name = _("同意台帳")
        verbose_name_plural = _("同意台帳")
        ordering = ["tenant", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "seq"], name="ledger_unique_seq"),
            _valid("answer", Answer, "ledger_answer_valid"),
            _valid("channel", Channel, "ledger_channel_valid"),
        ]
        indexes = [models.Index(fields=["version", "answer"], name="ledger_version")]

    def __str__(self) -> str:
        return f"{self.tenant_id}#{self.seq} {self.answer}"


class ConsentEvidence(models.Model):
    """Personal data behind a ledger row; deleted at redaction, the digests stay (R15)."""

    record = models.OneToOneField(ConsentRecord, on_delete=models.PROTECT, related_name="evidence")
    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="+")
    salt = models.CharField(max_length=64)
    person_name = models.CharField(_("氏名"), max_length=255, blank=True)
    person_email = models.CharField(_("メールアドレス"), max_length=255, blank=True)
    ip_address = models.CharField(_("IPアドレス"), max_length=64, blank=True)
    user_agent = models.TextField(_("ユーザーエージェント"), blank=True)
    obtained_at = models.DateTimeField(_("取得日時"), null=True, blank=True)
    method = models.CharField(_("取得方法"), max_length=255, blank=True)
    created_at = models.DateTimeField(_("作成日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("同意の証跡")
        verbose_name_plural = _("同意の証跡")
        indexes = [models.Index(fields=["tenant"], name="evidence_tenant")]

    def __str__(self) -> str:
        return f"evidence of {self.record_id}"


class ConsentState(models.Model):
    """Projection of the ledger per tenant × document; rebuildable from the ledger."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="consent_states")
    document = models.ForeignKey(TermsDocument, on_delete=models.PROTECT, related_name="states")
    version = models.ForeignKey(TermsVersion, on_delete=models.PROTECT, related_name="states")
    status = models.CharField(_("状態"), max_length=16, choices=ConsentStatus.choices)
    record = models.ForeignKey(
        ConsentRecord, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(_("更新日時"), auto_now=True)

    class Meta:
        verbose_name = _("同意状況")
        verbose_name_plural = _("同意状況")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "document"], name="state_unique"),
            _valid("status", ConsentStatus, "state_status_valid"),
        ]
        indexes = [
            models.Index(fields=["version", "status"], name="state_version_status"),
            models.Index(fields=["tenant", "status"], name="state_tenant_status"),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.document_id}: {self.status}"
