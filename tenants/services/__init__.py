"""Writes for partners, their keys and webhooks, tenants, memberships and invitations.

Each service is one transaction, takes the caller's Scope, raises core.errors exceptions and
leaves an AuditEntry. Who may do what:

- staff (and the system): everything; only they create partners, issue or revoke partner keys,
  and move a tenant from one partner to another (R19: nothing moves between partners except
  by staff).
- a partner key with the `write` scope: its own tenants, their users and invitations, its own
  webhooks. A partner never chooses another partner: passing one is PermissionDenied.
- a tenant admin: the users and invitations of their tenant, its contact details, its
  further notification contacts and whether it receives the optional consent reminders.

Objects out of reach are NotFound (they are invisible); visible but not writable is
PermissionDenied.

One module per resource; this package re-exports the services callers use.
"""

from __future__ import annotations

from tenants.services.contacts import MAX_CONTACTS, contact_add, contact_remove
from tenants.services.invitations import (
    INVITATION_TTL,
    invitation_accept,
    invitation_accept_url,
    invitation_create,
    invitation_revoke,
    invitations_expire,
)
from tenants.services.keys import partner_key_issue, partner_key_revoke
from tenants.services.memberships import membership_remove, membership_set_role
from tenants.services.partners import partner_create
from tenants.services.profiles import profile_update
from tenants.services.reminder_prefs import tenant_reminders_set
from tenants.services.tenants import clean_corporate_number, tenant_create, tenant_update
from tenants.services.webhooks import (
    MAX_WEBHOOKS,
    WEBHOOK_SECRET_GRACE,
    WEBHOOK_SECRET_PREFIX,
    webhook_delete,
    webhook_delivery_resend,
    webhook_disable,
    webhook_enable,
    webhook_register,
    webhook_rotate_secret,
    webhook_send_test,
    webhook_update,
)

__all__ = [
    "INVITATION_TTL",
    "MAX_CONTACTS",
    "MAX_WEBHOOKS",
    "WEBHOOK_SECRET_GRACE",
    "WEBHOOK_SECRET_PREFIX",
    "clean_corporate_number",
    "contact_add",
    "contact_remove",
    "invitation_accept",
    "invitation_accept_url",
    "invitation_create",
    "invitation_revoke",
    "invitations_expire",
    "membership_remove",
    "membership_set_role",
    "partner_create",
    "partner_key_issue",
    "partner_key_revoke",
    "profile_update",
    "tenant_create",
    "tenant_reminders_set",
    "tenant_update",
    "webhook_delete",
    "webhook_delivery_resend",
    "webhook_disable",
    "webhook_enable",
    "webhook_register",
    "webhook_rotate_secret",
    "webhook_send_test",
    "webhook_update",
]
