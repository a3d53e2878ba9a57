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

from agreements.enums import NoticeRoute
from agreements.models.base import choice_constraint
from agreements.models.documents import TermsVersion
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
    created_at = models.DateTimeField(_("記録日時"), auto_now_add=True)

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
