"""Memberships: removing a user from a tenant and changing roles; one admin always remains."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.enums import AuditAction
from core.errors import Conflict
from tenants import selectors
from tenants.enums import Role
from tenants.lifecycle import tell_membership_removed, tell_membership_role_changed
from tenants.models import Membership
from tenants.scope import Scope
from tenants.services.base import audit, clean_role, tenant_for_change


def _other_admins(membership: Membership) -> int:
    return (
        Membership.objects.filter(tenant_id=membership.tenant_id, role=Role.ADMIN)
        .exclude(pk=membership.pk)
        .count()
    )


def _last_admin() -> Conflict:
    return Conflict(
        _("最後の管理者は削除・変更できません。先に別の管理者を指定してください。"),
        code="last_admin",
    )


@transaction.atomic
def membership_remove(*, scope: Scope, membership: Membership) -> None:
    """Remove a user from a tenant (tenant admin, the tenant's partner, staff). The last admin
    cannot be removed (Conflict): someone must remain to answer for the tenant."""
    found = selectors.membership_get(scope=scope, pk=membership.pk)
    tenant = tenant_for_change(scope, found.tenant)  # the lock serialises the admin count
    locked = Membership.objects.select_for_update().filter(pk=found.pk).first()
    if locked is None:
        return
    if locked.role == Role.ADMIN and _other_admins(locked) == 0:
        raise _last_admin()
    audit(
        scope,
        action=AuditAction.REMOVE,
        obj=locked,
        tenant_id=locked.tenant_id,
        summary=str(getattr(found.user, "username", "")),
        data={"user_id": locked.user_id, "role": locked.role},
    )
    tell_membership_removed(locked, tenant)
    locked.delete()


@transaction.atomic
def membership_set_role(*, scope: Scope, membership: Membership, role: str) -> Membership:
    """Change a member's role; the last admin cannot be demoted (Conflict)."""
    role = clean_role(role)
    found = selectors.membership_get(scope=scope, pk=membership.pk)
    tenant = tenant_for_change(scope, found.tenant)
    locked = Membership.objects.select_for_update().select_related("user").get(pk=found.pk)
    if locked.role == role:
        return locked
    if locked.role == Role.ADMIN and _other_admins(locked) == 0:
        raise _last_admin()
    previous = locked.role
    locked.role = role
    locked.save(update_fields=["role", "updated_at"])
    tell_membership_role_changed(locked, tenant, previous)
    audit(
        scope,
        action=AuditAction.UPDATE,
        obj=locked,
        tenant_id=locked.tenant_id,
        summary=f"{previous} → {role}",
        data={"user_id": locked.user_id, "role": [previous, role]},
    )
    return locked
