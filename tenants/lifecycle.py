"""Lifecycle events of tenants, invitations and memberships: for the partner's feed and webhooks.

Each is a tenants.notify Note written in the changing service's transaction (the event and the
webhook outbox rows commit with the change, or not at all); none sends e-mail — the people
concerned are told by the invitation e-mail itself, or see the change in the portal. Payloads
name people by their e-mail address, which tenant redaction scrubs from events and outbox
rows (R15); they never carry an invitation's token or link.
"""

from __future__ import annotations

import secrets
from typing import Any

from core import clock
from core.enums import EventKind
from tenants.models import Invitation, Membership, Tenant
from tenants.notify import Note, notify


def _tell(kind: str, tenant: Tenant, key: str, payload: dict[str, Any], subject: Any) -> None:
    notify([Note(kind=kind, tenant=tenant, key=key, payload=payload, subject=subject)], email=False)


def _occurrence(instant: Any) -> str:
    """A key part unique to one change of a row: its updated_at, to the microsecond, and a
    random part, because a sandbox's clock stands still between advances (and tests freeze
    it): two changes at one instant are still two occurrences, each told."""
    stamp = f"{instant.timestamp():.6f}" if instant is not None else "-"
    return f"{stamp}:{secrets.token_hex(4)}"


def tenant_payload(tenant: Tenant) -> dict[str, Any]:
    return {
        "corporate_number": tenant.corporate_number,
        "locale": tenant.locale,
        "external_ref": tenant.external_ref,
        "is_active": tenant.is_active,
    }


def tell_tenant_created(tenant: Tenant) -> None:
    _tell(
        EventKind.TENANT_CREATED,
        tenant,
        f"tenant:{tenant.pk}:created",
        tenant_payload(tenant),
        tenant,
    )


def tell_tenant_updated(tenant: Tenant, changed: list[str]) -> None:
    """`changed` names the fields that changed; the payload holds the values after the change
    (`contact_email` is named when it changed, its value is not sent)."""
    _tell(
        EventKind.TENANT_UPDATED,
        tenant,
        f"tenant:{tenant.pk}:updated:{_occurrence(tenant.updated_at)}",
        {**tenant_payload(tenant), "changed": sorted(changed)},
        tenant,
    )


def _invitation_payload(invitation: Invitation) -> dict[str, Any]:
    return {
        "invitation_id": invitation.pk,
        "email": invitation.email,
        "role": invitation.role,
        "expires_at": clock.api_instant(invitation.expires_at),
    }


def tell_invitation_created(invitation: Invitation, tenant: Tenant, *, refreshed: bool) -> None:
    """A new invitation, or a pending one sent again with a new link (`refreshed`)."""
    _tell(
        EventKind.INVITATION_CREATED,
        tenant,
        f"invitation:{invitation.pk}:created:{_occurrence(invitation.updated_at)}",
        {**_invitation_payload(invitation), "refreshed": refreshed},
        invitation,
    )


def tell_invitation_accepted(invitation: Invitation, membership: Membership) -> None:
    _tell(
        EventKind.INVITATION_ACCEPTED,
        invitation.tenant,
        f"invitation:{invitation.pk}:accepted",
        {
            **_invitation_payload(invitation),
            "accepted_at": clock.api_instant(invitation.accepted_at),
            "membership_id": membership.pk,
        },
        invitation,
    )


def tell_invitation_revoked(invitation: Invitation) -> None:
    """A pending invitation withdrawn: its link no longer works."""
    _tell(
        EventKind.INVITATION_REVOKED,
        invitation.tenant,
        f"invitation:{invitation.pk}:revoked",
        _invitation_payload(invitation),
        invitation,
    )


def tell_invitations_expired(invitations: list[Invitation]) -> None:
    """Pending invitations that passed their expiry unused: their links no longer work. One
    event per invitation (at most once: the key names the invitation), written together."""
    if invitations:
        notify(
            [
                Note(
                    kind=EventKind.INVITATION_EXPIRED,
                    tenant=invitation.tenant,
                    key=f"invitation:{invitation.pk}:expired",
                    payload=_invitation_payload(invitation),
                    subject=invitation,
                )
                for invitation in invitations
            ],
            email=False,
        )


def _membership_payload(membership: Membership) -> dict[str, Any]:
    user = membership.user
    return {
        "membership_id": membership.pk,
        "user_id": membership.user_id,
        "email": user.email or user.get_username(),
        "role": membership.role,
    }


def tell_membership_added(membership: Membership, tenant: Tenant) -> None:
    _tell(
        EventKind.MEMBERSHIP_ADDED,
        tenant,
        f"membership:{membership.pk}:added",
        _membership_payload(membership),
        membership,
    )


def tell_membership_role_changed(membership: Membership, tenant: Tenant, previous: str) -> None:
    _tell(
        EventKind.MEMBERSHIP_ROLE_CHANGED,
        tenant,
        f"membership:{membership.pk}:role:{_occurrence(membership.updated_at)}",
        {**_membership_payload(membership), "previous_role": previous},
        membership,
    )


def tell_membership_removed(membership: Membership, tenant: Tenant) -> None:
    """Call before deleting the row (the event names it by its id)."""
    _tell(
        EventKind.MEMBERSHIP_REMOVED,
        tenant,
        f"membership:{membership.pk}:removed",
        _membership_payload(membership),
        membership,
    )
