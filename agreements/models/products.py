"""Products, their options and the products' own API keys."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from core import apiversions
from core.models import ClockStamped


class Product(ClockStamped):
    code = models.SlugField(_("コード"), max_length=64)
    name = models.CharField(_("名称"), max_length=255)
    name_en = models.CharField(_("英語名"), max_length=255, blank=True)
    # R10: whether a term counts its start day (the contracts' own counting; CC 140 otherwise).
    start_day_counts = models.BooleanField(_("初日を算入する"), default=True)
    # R11: ID+ 5.4–5.5 give auto-renewal with one month's notice; the Biz terms have no such clause.
    terms_auto_renewal = models.BooleanField(_("規約上の自動更新"), default=False)
    terms_notice_months = models.PositiveSmallIntegerField(
        _("規約上の更新拒絶期間(月)"), null=True, blank=True
    )
    # A sandbox's copy of a live product (docs/api.md, "Sandbox"): same code, its own documents
    # and versions, so a simulated revision binds that sandbox's tenants and nobody else.
    sandbox = models.ForeignKey(
        "tenants.Partner",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sandbox_products",
        verbose_name=_("サンドボックス"),
    )

    class Meta:
        verbose_name = _("製品")
        verbose_name_plural = _("製品")
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=models.Q(sandbox__isnull=True), name="product_live_code"
            ),
            models.UniqueConstraint(
                fields=["sandbox", "code"],
                condition=models.Q(sandbox__isnull=False),
                name="product_sandbox_code",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Option(ClockStamped):
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


class ProductKey(ClockStamped):
    """A product's API key (scopes `status:read`, `deletion:ack`); only a hash is stored."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(_("名前"), max_length=100)
    prefix = models.CharField(_("接頭辞"), max_length=16, unique=True)
    hashed_key = models.CharField(_("ハッシュ"), max_length=64, unique=True)
    scopes = models.JSONField(_("権限"), default=list)
    last_used_at = models.DateTimeField(_("最終利用日時"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)
    # The API version the key is answered in when a request names none (core/apiversions.py).
    api_version = models.CharField(_("APIバージョン"), max_length=10, default=apiversions.current)

    class Meta:
        verbose_name = _("製品APIキー")
        verbose_name_plural = _("製品APIキー")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.product})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None
