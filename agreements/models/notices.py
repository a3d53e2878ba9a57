"""How a revision notice reached a tenant (R3): the posting alone proves nothing of the kind.

E-mail is not stored here: it is derived from the outbox (a message about the version to one
of the tenant's recipients that was sent, not dead-lettered), so there is one record of it.
Rows here are the other routes: the tenant opening the notice in the portal, and staff
recording an out-of-band delivery (post, phone, a partner's confirmed relay) with its date.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from agreements.enums import NoticeRoute, ReminderBasis, ReminderStatus
from agreements.models.base import choice_constraint
from agreements.models.documents import TermsVersion
from core.fields import ClockDateTimeField
from tenants.models import Tenant


class NoticeDelivery(models.Model):
    """One route by which a posted version's notice reached one tenant, and when.

    One row per tenant × version × route: the earliest time counts, so a second portal
    visit or a second staff record of the same route changes nothing.
    """

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="notice_deliveries")
    version = models.ForeignKey(
        TermsVersion, on_delete=models.PROTECT, related_name="notice_deliveries"
    )
    route = models.CharField(_("到達の方法"), max_length=16, choices=NoticeRoute.choices)
    reached_at = models.DateTimeField(_("到達日時"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("記録したスタッフ"),
    )
    note = models.CharField(_("記録の内容"), max_length=500, blank=True)
    created_at = ClockDateTimeField(_("記録日時"), auto_now_add=True)

    class Meta:
        verbose_name = _("お知らせの到達")
        verbose_name_plural = _("お知らせの到達")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "version", "route"], name="notice_delivery_unique_route"
            ),
            choice_constraint("route", NoticeRoute, "notice_delivery_route_valid"),
        ]
        indexes = [models.Index(fields=["version", "tenant"], name="notice_delivery_version")]

    def __str__(self) -> str:
        return f"{self.tenant_id}/{self.version_id}: {self.route} {self.reached_at:%Y-%m-%d}"


class ScheduledReminder(models.Model):
    """A reminder to the non-responders of a revision that a publisher scheduled for a day.

    The `scheduled_reminders` job sends it on `send_on` (from TERMS_NOTICE_HOUR JST) to whoever
    has still not answered then, with the rule of the console's "remind now"
    (agreements/services/consents/reminders.py); the row's status is the record that it went
    out once. One live reminder per revision and day.
    """

    version = models.ForeignKey(
        TermsVersion, on_delete=models.PROTECT, related_name="scheduled_reminders"
    )
    send_on = models.DateField(_("送信日"))
    basis = models.CharField(_("送信日の決め方"), max_length=20, choices=ReminderBasis.choices)
    days_before = models.PositiveSmallIntegerField(_("何日前"), null=True, blank=True)
    status = models.CharField(
        _("状態"), max_length=16, choices=ReminderStatus.choices, default=ReminderStatus.SCHEDULED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("登録したスタッフ"),
    )
    created_at = ClockDateTimeField(_("登録日時"), auto_now_add=True)
    cancelled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("取り消したスタッフ"),
    )
    done_at = models.DateTimeField(_("送信・取消日時"), null=True, blank=True)
    sent = models.PositiveIntegerField(_("送信したテナント数"), default=0)
    skipped_recent = models.PositiveIntegerField(
        _("直近に通知済みで送らなかったテナント数"), default=0
    )

    class Meta:
        verbose_name = _("再通知の予定")
        verbose_name_plural = _("再通知の予定")
        constraints = [
            # Cancelled rows stay as the record; a day may be scheduled again after a cancel.
            models.UniqueConstraint(
                fields=["version", "send_on"],
                condition=~models.Q(status="cancelled"),
                name="scheduled_reminder_one_per_day",
            ),
            choice_constraint("status", ReminderStatus, "scheduled_reminder_status_valid"),
            choice_constraint("basis", ReminderBasis, "scheduled_reminder_basis_valid"),
        ]
        indexes = [models.Index(fields=["status", "send_on"], name="scheduled_reminder_due")]

    def __str__(self) -> str:
        return f"{self.version_id}: {self.send_on:%Y-%m-%d} {self.status}"
