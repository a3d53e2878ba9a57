"""Reads the portal needs that tenants/selectors.py does not offer."""

from __future__ import annotations

from typing import Any

from tenants.keys import hash_key
from tenants.models import Invitation, Membership


def invitation_for_token(token: str) -> Invitation | None:
    """The invitation a link's token belongs to (any status: the page says why it is unusable).

    Tokens are stored hashed, so the lookup hashes the token; an unknown token is None.
    """
    if not token:
        return None
    return (
        Invitation.objects.select_related("tenant", "invited_by")
        .filter(token_hash=hash_key(token))
        .first()
    )


def portal_membership(user: Any, tenant_id: int | None) -> Membership | None:
    """The user's membership in `tenant_id` (an active tenant), else their first one by name.

    One indexed query (membership_unique is on tenant, user) in the usual case.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    memberships = Membership.objects.select_related("tenant").filter(
        user_id=user.pk, tenant__is_active=True
    )
    if tenant_id is not None:
        found = memberships.filter(tenant_id=tenant_id).first()
        if found is not None:
            return found
    return memberships.order_by("tenant__name", "tenant_id").first()
