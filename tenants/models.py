"""Partners, their API keys and webhooks, tenants (customers), memberships and invitations."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from core import apiversions
from core.models import ClockStamped
from tenants.enums import InvitationStatus, KeyScope, Locale, Role


class Partner(ClockStamped):
    """A reseller (販売パートナー) that manages its own customers through the API."""

    code = models.SlugField(_("コード"), max_length=64, unique=True)
    name = models.CharField(_("名称"), max_length=255)
    contact_email = models.EmailField(_("連絡先メールアドレス"), blank=True)
    is_active = models.BooleanField(_("有効"), default=True)
    # A sandbox is a partner row of its own, linked to the live partner it belongs to: its
    # keys, tenants, contracts, answers, events and webhooks are apart from live data by the
    # partner scoping every selector already applies (docs/api.md, "Sandbox").
    sandbox_of = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sandbox",
        verbose_name=_("サンドボックスの本番パートナー"),
    )
    # The sandbox's clock: the instant its requests and lifecycle runs see. Moves forward only.
    sandbox_now = models.DateTimeField(_("サンドボックスの時刻"), null=True, blank=True)

    class Meta:
        verbose_name = _("パートナー")
        verbose_name_plural = _("パートナー")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_sandbox(self) -> bool:
        return self.sandbox_of_id is not None


class PartnerAPIKey(ClockStamped):
    """A partner's API key. Only a hash is stored; the key is shown once at issue."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(_("名前"), max_length=100)
    prefix = models.CharField(_("接頭辞"), max_length=16, unique=True)
    hashed_key = models.CharField(_("ハッシュ"), max_length=64, unique=True)
    scopes = models.JSONField(_("権限"), default=list)
    last_used_at = models.DateTimeField(_("最終利用日時"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("失効日時"), null=True, blank=True)
    # The API version the key is answered in when a request names none (core/apiversions.py).
    api_version = models.CharField(_("APIバージョン"), max_length=10, default=apiversions.current)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )

    class Meta:
        verbose_name = _("パートナーAPIキー")
        verbose_name_plural = _("パートナーAPIキー")
        indexes = [models.Index(fields=["partner", "revoked_at"], name="partnerkey_partner")]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.partner})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    @property
    def can_write(self) -> bool:
        return KeyScope.WRITE in self.scopes


class WebhookEndpoint(ClockStamped):
    """Where a partner receives signed event deliveries."""

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="webhooks")
    url = models.URLField(_("URL"), max_length=500)
    # The signing secret must be readable to sign with; it is never shown after creation.
    secret = models.CharField(_("署名シークレット"), max_length=128)
    previous_secret = models.CharField(_("旧シークレット"), max_length=128, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    # Secrets rotated away before `previous_secret` whose 24 h grace period has not run out:
    # [{"secret": …, "expires_at": ISO 8601}], newest first. Each keeps signing until its own
    # expiry, as the rotation that retired it said (docs/api.md, Webhooks).
    earlier_secrets = models.JSONField(_("さらに前のシークレット"), default=list, blank=True)
    event_kinds = models.JSONField(_("対象イベント"), default=list, blank=True)
    is_active = models.BooleanField(_("有効"), default=True)
    disabled_at = models.DateTimeField(_("無効化日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("Webhookエンドポイント")
        verbose_name_plural = _("Webhookエンドポイント")

    def __str__(self) -> str:
        return self.url


class Tenant(ClockStamped):
    """A customer (お客様): a company using one or more products, direct or through a partner."""

    name = models.CharField(_("名称"), max_length=255)
    corporate_number = models.CharField(_("法人番号"), max_length=13, null=True, blank=True)
    partner = models.ForeignKey(
        Partner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="tenants",
        help_text=_("空欄の場合は当社の直販"),
    )
    external_ref = models.CharField(_("パートナー側の識別子"), max_length=100, blank=True)
    locale = models.CharField(_("言語"), max_length=8, choices=Locale.choices, default=Locale.JA)
    contact_email = models.EmailField(_("連絡先メールアドレス"), blank=True)
    is_active = models.BooleanField(_("有効"), default=True)
    # Whether the tenant receives the optional consent reminders (R4): the 7- and 1-day ones
    # before an effective date, the weekly ones under a gating policy, staff's remind-now and
    # scheduled ones. Never the notices the terms require (the revision's notice, the
    # outstanding notice on the effective date, renewal, deletion and termination notices).
    # Set by the tenant's admins (tenants.services.reminder_prefs).
    consent_reminders = models.BooleanField(_("同意のリマインドを受け取る"), default=True)
    redacted_at = models.DateTimeField(_("個人データ削除日時"), null=True, blank=True)

    class Meta:
        verbose_name = _("テナント")
        verbose_name_plural = _("テナント")
        ordering = ["name"]
        constraints = [
            # Unique per partner, and among direct customers: a global constraint would tell
            # a partner (through the refusal) that a company is another partner's customer.
            # Staff see cross-partner duplicates on the tenant page instead.
            models.UniqueConstraint(
                fields=["partner", "corporate_number"],
                condition=Q(corporate_number__isnull=False, partner__isnull=False),
                name="tenant_unique_partner_corporate_number",
            ),
            models.UniqueConstraint(
                fields=["corporate_number"],
                condition=Q(corporate_number__isnull=False, partner__isnull=True),
                name="tenant_unique_direct_corporate_number",
            ),
            models.UniqueConstraint(
                fields=["partner", "external_ref"],
                condition=~Q(external_ref=""),
                name="tenant_unique_partner_ref",
            ),
        ]
        indexes = [
            models.Index(fields=["partner", "updated_at"], name="tenant_partner"),
            models.Index(fields=["name"], name="tenant_name"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_direct(self) -> bool:
        return self.partner_id is None


class NotificationContact(ClockStamped):
    """A further address that gets the tenant's notices, beside its admins and its primary
    contact address (`Tenant.contact_email`). Who gets a tenant's notices is decided in one
    place: tenants.notify.tenant_recipients. `locale` blank: the tenant's language."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="notification_contacts"
    )
    name = models.CharField(_("氏名・部署"), max_length=100)
    email = models.EmailField(_("メールアドレス"))
    locale = models.CharField(
        _("言語"), max_length=8, choices=Locale.choices, blank=True, default=""
    )

    class Meta:
        verbose_name = _("通知の連絡先")
        verbose_name_plural = _("通知の連絡先")
        constraints = [
            models.UniqueConstraint(
                models.functions.Lower("email"), "tenant", name="notification_contact_unique_email"
            ),
            models.CheckConstraint(
                condition=Q(locale__in=["", *Locale.values]), name="notification_contact_locale"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.name}"


class Membership(ClockStamped):
    """A user's role in a tenant (admin answers and applies, viewer reads)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("役割"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    # The member's title in this tenant's company (a person may hold another elsewhere): what
    # a receipt names beside the person who answered ("回答した方"), unless they give another.
    title = models.CharField(_("役職"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("メンバー")
        verbose_name_plural = _("メンバー")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique"),
            models.CheckConstraint(condition=Q(role__in=Role.values), name="membership_role_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.user} @ {self.tenant} ({self.role})"


class Invitation(ClockStamped):
    """An invitation to join a tenant's portal; the token is stored hashed."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("メールアドレス"))
    role = models.CharField(_("役割"), max_length=16, choices=Role.choices, default=Role.VIEWER)
    token_hash = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        _("状態"),
        max_length=16,
        choices=InvitationStatus.choices,
        default=InvitationStatus.PENDING,
    )
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_sent",
    )
    invited_by_key = models.ForeignKey(
        PartnerAPIKey, null=True, blank=True, on_delete=models.SET_NULL
    )
    expires_at = models.DateTimeField(_("有効期限"))
    accepted_at = models.DateTimeField(_("承諾日時"), null=True, blank=True)
    accepted_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="invitations_accepted",
    )

    class Meta:
        verbose_name = _("招待")
        verbose_name_plural = _("招待")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "email"],
                condition=Q(status="pending"),
                name="invitation_one_pending_per_email",
            ),
            models.CheckConstraint(
                condition=Q(status__in=InvitationStatus.values), name="invitation_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "status"], name="invitation_tenant")]

    def __str__(self) -> str:
        return f"{self.email} → {self.tenant}"
