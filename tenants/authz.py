"""The one authorization table for staff: which role may take which kind of action.

Staff are users with ``is_staff`` in one of three Django groups (made by a data migration,
``tenants/migrations/0002_staff_groups.py``). The console, the API with a staff session and
the Django admin all ask this module, so a console viewer is a viewer everywhere
(docs/security.md, "The authorization table"):

- ``viewer`` reads;
- ``editor`` drafts revisions and keeps customer records (partners, tenants, their users and
  invitations, direct contracts, non-renewals, failed deliveries);
- ``publisher`` schedules and withdraws revisions, keeps customer records, and takes the
  actions that bind the company towards a customer or hand out a credential: API keys,
  webhooks, termination cases, staff terminations, successions, deletion orders, answers
  recorded for a customer.

Superusers may take every action. A staff user in no group may take none: being staff only
opens the door of the sign-in page, not what is behind it. Inactive users and users who are
not staff (customers) may take none either.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import Any


class StaffRole(StrEnum):
    VIEWER = "viewer"
    EDITOR = "editor"
    PUBLISHER = "publisher"


class Action(StrEnum):
    """The kinds of staff action; every console route and API operation declares one."""

    READ = "read"  # every page and every GET
    DRAFT = "draft"  # write revisions: create a draft, its articles, its change classes
    PUBLISH = "publish"  # schedule and withdraw revisions
    OPERATE = "operate"  # customer records: partners, tenants, users, contracts, deliveries
    DECIDE = "decide"  # keys, webhooks, cases, terminations, successions, deletions, answers


# The table. Change it here and nowhere else; docs/security.md shows it (a test keeps the two
# equal).
ROLES_FOR: dict[Action, frozenset[StaffRole]] = {
    Action.READ: frozenset({StaffRole.VIEWER, StaffRole.EDITOR, StaffRole.PUBLISHER}),
    Action.DRAFT: frozenset({StaffRole.EDITOR}),
    Action.PUBLISH: frozenset({StaffRole.PUBLISHER}),
    Action.OPERATE: frozenset({StaffRole.EDITOR, StaffRole.PUBLISHER}),
    Action.DECIDE: frozenset({StaffRole.PUBLISHER}),
}

STAFF_GROUPS: tuple[str, ...] = tuple(role.value for role in StaffRole)


def is_staff_member(user: Any) -> bool:
    """An active, signed-in staff user (whatever their groups)."""
    return bool(
        getattr(user, "is_authenticated", False)
        and getattr(user, "is_staff", False)
        and getattr(user, "is_active", False)
    )


def staff_roles(user: Any) -> frozenset[StaffRole]:
    """The staff roles of `user`: its groups that are roles; none for anyone but active staff."""
    if not is_staff_member(user):
        return frozenset()
    names = user.groups.filter(name__in=STAFF_GROUPS).values_list("name", flat=True)
    return frozenset(StaffRole(name) for name in names)


def roles_may(roles: Iterable[str], action: Action | str, *, superuser: bool = False) -> bool:
    """Whether holders of `roles` (or a superuser) may take `action` — the table, pure."""
    if superuser:
        return True
    allowed = ROLES_FOR[Action(action)]
    return any(role in allowed for role in roles)


def may(user: Any, action: Action | str) -> bool:
    """Whether `user` may take `action` anywhere: console, API, Django admin."""
    if not is_staff_member(user):
        return False
    if user.is_superuser:
        return True
    return roles_may(staff_roles(user), action)


__all__ = [
    "ROLES_FOR",
    "STAFF_GROUPS",
    "Action",
    "StaffRole",
    "is_staff_member",
    "may",
    "roles_may",
    "staff_roles",
]
