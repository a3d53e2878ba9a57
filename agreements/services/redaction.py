"""Redaction at the backup purge (R15): the tenant's personal data goes, and so does every copy.

The consent ledger stays and stays verifiable (its rows hold salted digests only); the plumbing
tables (audit, outbox, deliveries, events) keep what happened and when, not to whom.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, QuerySet

from agreements.enums import ActorKind, DeletionKind
from agreements.ledger.redact import evidence_redact
from agreements.models import ConsentEvidence, DataDeletion, NonRenewalRequest, Termination
from core import clock
from core.enums import AuditAction, OutboxChannel
from core.models import IdempotencyRecord, Outbox
from core.redaction import MIN_VALUE_LENGTH, Scrubber
from core.services import audit_add, audit_redact, outbox_redact
from tenants.models import Invitation, Membership, NotificationContact, Tenant

# The fields naming the person who filed a request, as its receipt shows them (R13).
FILER_FIELDS = ("filer_name", "filer_title", "filer_email")


def _filed_requests(tenant_id: int, *, customers_only: bool = False) -> list[QuerySet[Any]]:
    """The tenant's requests that name a filer. `customers_only` leaves out those staff
    filed: a staff member's name is not the tenant's personal data, and scrubbing it from
    the copies would garble the tenant's audit trail."""
    non_renewals = NonRenewalRequest.objects.filter(tenant_id=tenant_id)
    terminations = Termination.objects.filter(tenant_id=tenant_id)
    deletions = DataDeletion.objects.filter(tenant_id=tenant_id)
    if customers_only:
        non_renewals = non_renewals.exclude(actor_kind=ActorKind.STAFF)
        terminations = terminations.exclude(actor_kind=ActorKind.STAFF)
        deletions = deletions.exclude(requested_by__is_staff=True)
    return [non_renewals, terminations, deletions]


def _filers_redact(*, tenant_id: int, now: datetime) -> int:
    """Blank the filer named on each of the tenant's requests (R15). "" (not NULL, which
    means "not recorded"), so a receipt then names nobody rather than falling back to the
    account, which may belong to a person still a member of another tenant."""
    blank = dict.fromkeys(FILER_FIELDS, "")
    return sum(
        rows.exclude(filer_name="", filer_title="", filer_email="").update(**blank, updated_at=now)
        for rows in _filed_requests(tenant_id)
    )


def _personal_values(tenant: Tenant) -> list[str]:
    """Everything personal this service holds about the tenant's people, collected before the
    rows that hold it are deleted, so the copies elsewhere can be scrubbed (R15)."""
    values: list[str | None] = [tenant.contact_email]
    for evidence in ConsentEvidence.objects.filter(tenant_id=tenant.pk).values_list(
        "person_name", "person_email", "person_title", "reason", "ip_address", "user_agent"
    ):
        values.extend(evidence)
    for rows in _filed_requests(tenant.pk, customers_only=True):
        for filer in rows.values_list(*FILER_FIELDS):
            values.extend(filer)
    for row in Membership.objects.filter(tenant_id=tenant.pk).values_list(
        "user__username", "user__email", "user__first_name", "user__last_name"
    ):
        values.extend(row)
    values.extend(Invitation.objects.filter(tenant_id=tenant.pk).values_list("email", flat=True))
    for name, email in NotificationContact.objects.filter(tenant_id=tenant.pk).values_list(
        "name", "email"
    ):
        values.extend((name, email))
    values.extend(
        Outbox.objects.filter(tenant_id=tenant.pk, channel=OutboxChannel.EMAIL)
        .exclude(recipient__iexact=settings.TERMS_STAFF_EMAIL)
        .values_list("recipient", flat=True)
    )
    return [v for v in values if v]


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _names_tenant(data: Any, tenant_id: int, path: str) -> bool:
    """Whether a stored API response is about the tenant: its id as `tenant` / `tenant_id`, or
    the tenant itself (the response to `POST /tenants/`)."""
    if not isinstance(data, dict):
        return False
    if tenant_id in (data.get("tenant"), data.get("tenant_id")):
        return True
    return path.rstrip("/").endswith("/tenants") and data.get("id") == tenant_id


def _idempotency_redact(*, tenant_id: int, values: list[str]) -> int:
    """Delete the stored Idempotency-Key responses about the tenant (its path, its id) or
    holding one of its people's addresses (R15): otherwise a replay hands out the body as it
    was before the redaction for up to TERMS_IDEMPOTENCY_TTL_HOURS. A retry with such a key
    runs again instead of replaying."""
    # Addresses only: a name ("山田") could match another tenant's stored response, and its
    # caller's retry would then run twice.
    known = [v.strip().lower() for v in values if "@" in v and len(v.strip()) >= MIN_VALUE_LENGTH]
    own_path = re.compile(rf"/tenants/{tenant_id}(/|$)")
    doomed = []
    for record in IdempotencyRecord.objects.exclude(response_body=None).iterator():
        text = bytes(record.response_body or b"").decode("utf-8", "replace")
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        haystack = "\n".join([text, *_strings(data)]).lower()
        if (
            own_path.search(record.path)
            or _names_tenant(data, tenant_id, record.path)
            or any(value in haystack for value in known)
        ):
            doomed.append(record.pk)
    deleted, _detail = IdempotencyRecord.objects.filter(pk__in=doomed).delete()
    return deleted


@transaction.atomic
def tenant_redact(*, tenant: Tenant) -> int:
    """Delete the tenant's personal data held by this service at the backup purge (R15).

    Removes consent evidence rows (names, e-mails, IPs, user agents: the ledger keeps only
    salted digests, so it stays verifiable), blanks and deactivates users whose only
    membership is this tenant (users of other tenants just lose this membership), deletes
    invitations, blanks the contact address (and a partner's reference shaped like personal
    data), and scrubs every copy: audit entries, outbox messages, delivery records and events
    keep what happened and when, not to whom; stored Idempotency-Key responses about the tenant
    are deleted. E-mail
    still queued to the tenant is cancelled. Returns the number of rows changed; a second call
    changes nothing.
    """
    locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
    if locked.redacted_at is not None:
        return 0
    now = clock.now()
    values = _personal_values(locked)
    scrubber = Scrubber.of(values)
    changed = evidence_redact(tenant_id=locked.pk)
    changed += _filers_redact(tenant_id=locked.pk, now=now)
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
    contacts, _detail = NotificationContact.objects.filter(tenant_id=locked.pk).delete()
    changed += contacts
    changed += outbox_redact(
        tenant_id=locked.pk, scrubber=scrubber, keep_recipients={settings.TERMS_STAFF_EMAIL}
    )
    changed += audit_redact(tenant_id=locked.pk, scrubber=scrubber)
    changed += _idempotency_redact(tenant_id=locked.pk, values=values)
    locked.contact_email = ""
    if scrubber.holds(locked.external_ref):
        # A partner's reference that is (or holds) an address goes whole: a partly scrubbed
        # one could collide with another tenant's under the partner's unique constraint.
        locked.external_ref = ""
    locked.redacted_at = now
    locked.save(update_fields=["contact_email", "external_ref", "redacted_at", "updated_at"])
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
