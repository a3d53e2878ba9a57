from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    ADMIN = "admin", _("管理者")
    VIEWER = "viewer", _("閲覧者")


class Locale(models.TextChoices):
    JA = "ja", _("日本語")
    EN = "en", _("英語")


class InvitationStatus(models.TextChoices):
    PENDING = "pending", _("招待中")
    ACCEPTED = "accepted", _("承諾済み")
    REVOKED = "revoked", _("取り消し")
    EXPIRED = "expired", _("期限切れ")


class KeyScope(models.TextChoices):
    """Scopes of partner API keys."""

    READ = "read", _("参照")
    WRITE = "write", _("更新")
