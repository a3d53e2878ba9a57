"""Redaction at the backup purge (R15): the tenant's personal data goes, and so does every copy.

The consent ledger stays and stays verifiable (its rows hold salted digests only); the plumbing
tables (audit, outbox, deliveries, events) keep what happened and when, not to whom.
"""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count

from agreements.enums import DeletionKind
from agreements.ledger.redact import evidence_redact
from agreements.models import ConsentEvidence, DataDeletion
from core import clock
from core.enums import AuditAction, OutboxChannel
from core.models import Outbox
from core.redaction import Scrubber
from core.services import audit_add, audit_redact, outbox_redact
from tenants.models import Invitation, Membership, Tenant


def _personal_values(tenant: Tenant) -> Scrubber:
    """Everything personal this service holds about the tenant's people, collected before the
    rows that hold it are deleted, so the copies elsewhere can be scrubbed (R15)."""
    values: list[str | None] = [tenant.contact_email]
    for row in ConsentEvidence.objects.filter(tenant_id=tenant.pk).values_list(
        "person_name", "person_email", "ip_address", "user_agent"
    ):
        values.extend(row)
    for row in Membership.objects.filter(tenant_id=tenant.pk).values_list(
        "user__username", "user__email", "user__first_name", "user__last_name"
    ):
        values.extend(row)
    values.extend(Invitation.objects.filter(tenant_id=tenant.pk).values_list("email", flat=True))
    values.extend(
        Outbox.objects.filter(tenant_id=tenant.pk, channel=OutboxChannel.EMAIL)
        .exclude(recipient__iexact=settings.TERMS_STAFF_EMAIL)
        .values_list("recipient", flat=True)
    )
    return Scrubber.of(values)


@transaction.atomic
def tenant_redact(*, tenant: Tenant) -> int:
    """Delete the tenant's personal data held by this service at the backup purge (R15).

    Removes consent evidence rows (names, e-mails, IPs, user agents: the ledger keeps only
    salted digests, so it stays verifiable), blanks and deactivates users whose only
    membership is this tenant (users of other tenants just lose this membership), deletes
    invitations, blanks the contact address, and scrubs every copy: audit entries, outbox
    messages, delivery records and events keep what happened and when, not to whom. E-mail
    still queued to the tenant is cancelled. Returns the number of rows changed; a second call
    changes nothing.
    """
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if locked.redacted_at is not None:
        return 0
    now = clock.now()
    scrubber = _personal_values(locked)
    changed = evidence_redact(tenant_id=locked.pk)
    memberships = Membership.objects.filter(tenant_id=locked.pk)
    user_ids = set(memberships.values_list("user_id", flat=True))
    shared = set(
        Membership.objects.filter(user_id__in=user_ids)
        .values("user_id")
        .annotate(n=Count("tenant_id"))
        .filter(n__gt=1)
        .values_list("user_id", flat=True)
    )
    user_model = get_user_model()
    for user in user_model.objects.filter(pk__in=user_ids - shared, is_staff=False):
        # The username is often the e-mail address, so it goes too.
        user.username = f"redacted-{user.pk}"
        user.first_name = ""
        user.last_name = ""
        user.email = ""
        user.is_active = False
        user.set_unusable_password()
        user.save(
            update_fields=["username", "first_name", "last_name", "email", "is_active", "password"]
        )
        changed += 1
    removed, _detail = memberships.delete()
    changed += removed
    invitations, _detail = Invitation.objects.filter(tenant_id=locked.pk).delete()
    changed += invitations
    changed += outbox_redact(
        tenant_id=locked.pk, scrubber=scrubber, keep_recipients={settings.TERMS_STAFF_EMAIL}
    )
    changed += audit_redact(tenant_id=locked.pk, scrubber=scrubber)
    locked.contact_email = ""
    locked.redacted_at = now
    locked.save(update_fields=["contact_email", "redacted_at", "updated_at"])
    changed += DataDeletion.objects.filter(
        tenant_id=locked.pk, kind=DeletionKind.BACKUP, redacted_at__isnull=True
    ).update(redacted_at=now, updated_at=now)
    audit_add(
        actor=None,
        action=AuditAction.REDACT,
        obj=locked,
        summary=f"personal data redacted ({changed} rows)",
        data={"rows": changed},
        tenant_id=locked.pk,
    )
    return changed
