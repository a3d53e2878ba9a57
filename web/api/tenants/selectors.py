"""Reads only the API needs: the event feed (core.Event rows in the caller's reach)."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from core.errors import PermissionDenied
from core.models import Event
from tenants.scope import Scope


def event_feed(
    *,
    scope: Scope,
    after: int | None = None,
    tenant_id: int | None = None,
    kinds: Iterable[str] = (),
) -> QuerySet[Event]:
    """Events of the caller's tenants, oldest first: a partner its own, staff all.

    `after` continues a feed from the last event id the caller has seen (uses the
    (partner_id, id) index).
    """
    qs = Event.objects.all()
    if scope.kind == "partner":
        qs = qs.filter(partner_id=scope.partner_id)
    elif not scope.is_privileged:
        raise PermissionDenied(_("イベントはパートナーと当社スタッフが参照できます。"))
    if after is not None:
        qs = qs.filter(id__gt=after)
    if tenant_id is not None:
        qs = qs.filter(tenant_id=tenant_id)
    kinds = list(kinds)
    if kinds:
        qs = qs.filter(kind__in=kinds)
    return qs.order_by("id")
