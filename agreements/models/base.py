"""Abstract bases and the choice constraint every model of the app shares."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from agreements.enums import ActorKind, Channel
from tenants.models import PartnerAPIKey


def choice_constraint(
    field: str, choices: type[models.TextChoices], name: str
) -> models.CheckConstraint:
    """A CHECK that `field` holds one of `choices`: bulk updates and raw SQL skip field validation."""
    return models.CheckConstraint(condition=Q(**{f"{field}__in": choices.values}), name=name)


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


class Filer(models.Model):
    """The person who filed a customer request (R13), as the receipt names them: frozen at
    filing, so a later change of the person's profile (name, title, address) does not change
    a receipt already issued. Consent answers keep theirs in the evidence row likewise.

    NULL means "not recorded": the request was filed before these fields existed, and its
    receipt names the account by its address only. "" means none (a partner key, the system)
    or removed by the redaction at the backup purge (R15).
    """

    filer_name = models.CharField(
        _("申込者の氏名"), max_length=255, blank=True, null=True, default=""
    )
    filer_title = models.CharField(
        _("申込者の役職"), max_length=255, blank=True, null=True, default=""
    )
    filer_email = models.CharField(
        _("申込者のメールアドレス"), max_length=254, blank=True, null=True, default=""
    )

    class Meta:
        abstract = True
