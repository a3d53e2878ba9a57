"""A signed-in person's own display name (and, for a tenant member, their title there).

The name is what member lists, receipts ("回答した方") and the answer form show instead of a
bare e-mail address; the title is per membership (a person's title in one company). Each
change is one transaction with an audit row; a tenant member's change is audited on the
tenant like every other tenant change.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.enums import AuditAction
from core.errors import PermissionDenied
from tenants.models import Membership
from tenants.rules import has_control_characters
from tenants.scope import Scope
from tenants.services.base import audit, invalid

DISPLAY_NAME_MAX = 150  # auth.User.first_name
TITLE_MAX = 100


def _one_line(value: str | None, *, field: str, limit: int, errors: dict[str, list[Any]]) -> str:
    text = (value or "").strip()
    if len(text) > limit:
        errors[field] = [_("%(limit)s文字以内で入力してください。") % {"limit": limit}]
    elif has_control_characters(text):
        errors[field] = [_("改行や制御文字は使用できません。")]
    return text


@transaction.atomic
def profile_update(
    *,
    scope: Scope,
    user: Any,
    display_name: str,
    title: str | None = None,
    membership: Membership | None = None,
) -> Any:
    """Set `user`'s own display name (kept whole in first_name; last_name cleared, so that the
    name is shown as written, family name first or not), and `title` on their `membership`.
    Only the person themselves (the scope's user); an empty name shows the e-mail again."""
    if scope.user is None or scope.user.pk != user.pk:
        raise PermissionDenied(_("ご自身の表示名だけを変更できます。"))
    errors: dict[str, list[Any]] = {}
    name = _one_line(display_name, field="display_name", limit=DISPLAY_NAME_MAX, errors=errors)
    new_title = (
        _one_line(title, field="title", limit=TITLE_MAX, errors=errors)
        if membership is not None and title is not None
        else None
    )
    if errors:
        raise invalid(errors)
    changed = []
    if (user.first_name, user.last_name) != (name, ""):
        user.first_name, user.last_name = name, ""
        user.save(update_fields=["first_name", "last_name"])
        changed.append("display_name")
    if membership is not None and new_title is not None:
        locked = Membership.objects.select_for_update().get(pk=membership.pk, user_id=user.pk)
        if locked.title != new_title:
            locked.title = new_title
            locked.save(update_fields=["title", "updated_at"])
            membership.title = new_title
            changed.append("title")
    if changed:
        audit(
            scope,
            action=AuditAction.UPDATE,
            obj=membership if membership is not None else user,
            tenant_id=membership.tenant_id if membership is not None else None,
            summary=f"own profile changed: {', '.join(changed)}",
            data={"changed": changed, "user_id": user.pk},
        )
    return user
