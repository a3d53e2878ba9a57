"""Terms documents, their versions and each version's articles and paragraphs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from agreements.enums import (
    AuthorRole,
    ChangeCategory,
    ConsentMode,
    DocumentKind,
    LegalBasis,
    VersionStatus,
)
from agreements.models.base import choice_constraint
from agreements.models.products import Option, Product
from core.dates import revision_name
from core.models import ClockStamped


class TermsDocument(ClockStamped):
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
            choice_constraint("kind", DocumentKind, "document_kind_valid"),
            # Base terms bind the whole product; individual rules belong to an option.
            models.CheckConstraint(
                condition=Q(kind="base", option__isnull=True)
                | Q(kind="individual", option__isnull=False),
                name="document_option_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class TermsVersion(ClockStamped):
    """One version of a document. Posted versions are immutable (R7); bodies are Japanese."""

    document = models.ForeignKey(TermsDocument, on_delete=models.PROTECT, related_name="versions")
    # The internal working label ("2027-02 改定"): staff only.
    label = models.CharField(_("版"), max_length=64)
    # What customers and the public read; empty = the default from the effective date
    # (display_name).
    public_name = models.CharField(
        _("表示名"),
        max_length=64,
        blank=True,
        help_text=_("お客様・公開ページに表示する名前。空欄の場合は「効力発生日＋改定」"),
    )
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
    # The default comes from the product's rulebook (R2) when the version is created: a
    # product whose available terms have no change clause gets none, never another product's.
    change_clause = models.CharField(_("根拠とする変更条項"), max_length=255, blank=True)
    # R4: whether an `outstanding` tenant loses the status API's `allowed` at all. The seeds give
    # no right to withhold the service from a silent customer, so it is off unless a publisher
    # turns it on when scheduling, with the legal rationale and a grace period after the
    # effective date (the schedule's audit row records all three).
    gating_enabled = models.BooleanField(_("未同意時の利用制限"), default=False)
    gating_rationale = models.TextField(_("利用制限の法的根拠"), blank=True)
    gating_grace_days = models.PositiveSmallIntegerField(
        _("利用制限までの猶予期間（日）"), null=True, blank=True
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
    # Set with the status change to effective, cleared once every bound tenant's consent is
    # written (deemed, unnotified or outstanding): those are written in batches of their own.
    consents_owed = models.BooleanField(_("同意状況の反映待ち"), default=False)
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
            # What a ledger row's (version, document) refers to: a row cites a version of the
            # document it names (agreements.models.consents, migration 0027).
            models.UniqueConstraint(fields=["id", "document"], name="version_of_document"),
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
            choice_constraint("status", VersionStatus, "version_status_valid"),
            choice_constraint("consent_mode", ConsentMode, "version_mode_valid"),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(effective_on__isnull=False),
                name="version_dated_unless_draft",
            ),
            # R4: a gating policy always carries its rationale and a grace period.
            models.CheckConstraint(
                condition=Q(gating_enabled=False)
                | (Q(gating_grace_days__gte=1) & ~Q(gating_rationale="")),
                name="version_gating_has_rationale_and_grace",
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

    @property
    def display_name(self) -> str:
        """The version's name for customers and the public: the name staff chose, else
        「2026年12月16日改定」 from the effective date, else the internal label."""
        if self.public_name:
            return self.public_name
        if self.effective_on is not None:
            return revision_name(self.effective_on, language="ja")
        return self.label


class VersionAuthor(models.Model):
    """One person who shaped a version before it was scheduled: created it, edited its text
    or fields, or classified the change (categories, consent mode, legal basis). Four eyes
    (docs/security.md): nobody listed here may schedule the version, superusers included.
    One row per person and role; `subjects` says with what, `first_at` / `last_at` when."""

    version = models.ForeignKey(TermsVersion, on_delete=models.CASCADE, related_name="authors")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="version_authorships",
    )
    # Kept when the account is deleted, so the record still names the person.
    user_label = models.CharField(_("担当者"), max_length=150)
    role = models.CharField(_("関与"), max_length=16, choices=AuthorRole.choices)
    # What they changed: field names, "article 3", "articles" (a whole text), "renumber".
    subjects = models.JSONField(_("変更箇所"), default=list, blank=True)
    changes = models.PositiveIntegerField(_("変更回数"), default=1)
    first_at = models.DateTimeField(_("最初の変更"))
    last_at = models.DateTimeField(_("最後の変更"))

    class Meta:
        verbose_name = _("版の作成・編集者")
        verbose_name_plural = _("版の作成・編集者")
        ordering = ["version", "first_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "user", "role"], name="version_author_unique_role"
            ),
            choice_constraint("role", AuthorRole, "version_author_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.version_id} {self.user_label} ({self.role})"


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
