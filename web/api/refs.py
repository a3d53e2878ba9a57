"""Objects a request body names by id or code: one that does not exist (or that the caller
cannot see) is a field error (400), not a 404 — the path named nothing missing."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from core.errors import NotFound, ValidationFailed
from tenants import selectors
from tenants.models import Partner
from tenants.scope import Scope


def field_error(field: str, message: Any) -> ValidationFailed:
    return ValidationFailed(_("入力内容に誤りがあります。"), fields={field: [message]})


def body_ref(field: str, getter: Any, **kwargs: Any) -> Any:
    """An object named in the request body; one that does not exist is a field error."""
    try:
        return getter(**kwargs)
    except NotFound as exc:
        raise field_error(field, exc.message) from None


def partner_ref(scope: Scope, pk: int | None, *, field: str = "partner") -> Partner | None:
    """A partner named in a request body; an unknown (or invisible) one is a field error."""
    if pk is None:
        return None
    try:
        return selectors.partner_get(scope=scope, pk=pk)
    except NotFound:
        raise ValidationFailed(
            _("入力内容に誤りがあります。"),
            fields={field: [_("指定されたパートナーは存在しません。")]},
        ) from None
