"""A tenant's further notification contacts: addresses that get its notices beside its admins
and its primary contact address (tenants.notify.tenant_recipients reads them).

Tenant admins keep them in the portal (staff and the tenant's partner may too, through the
same services); every addition and removal is one transaction with an audit row on the
tenant, like every other tenant change. The address is personal data: the R15 purge deletes
the rows (agreements.services.redaction), and the audit keeps only the contact's id.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.enums import AuditAction
from core.errors import Conflict, ValidationFailed
from tenants import selectors
from tenants.enums import Locale
from tenants.models import NotificationContact, Tenant
from tenants.scope import Scope
from tenants.services.base import audit, clean_email, invalid, tenant_for_change

# Notices go to each of them: a short list, not a mailing list.
MAX_CONTACTS = 10
CONTACT_NAME_MAX = 100


@transaction.atomic
def contact_add(
    *, scope: Scope, tenant: Tenant, name: str, email: str, locale: str = ""
) -> NotificationContact:
    """Add a notification contact to `tenant` (who may change the tenant: its admins, its
    partner with write scope, staff). Refused: a duplicate address (the primary contact
    address included), more than MAX_CONTACTS."""
    locked = tenant_for_change(scope, tenant)
    name = (name or "").strip()
    errors: dict[str, list[object]] = {}
    if not name or len(name) > CONTACT_NAME_MAX:
        errors["name"] = [_("氏名・部署を100文字以内で入力してください。")]
    elif any(ch in name for ch in "\r\n\t"):
        errors["name"] = [_("名称に改行や制御文字は使用できません。")]
    if locale not in ("", *Locale.values):
        errors["locale"] = [_("言語は ja または en を指定してください。")]
    try:
        email = clean_email(email, field="email", required=True)
    except ValidationFailed as exc:  # reported with the other fields
        errors.update(exc.details["fields"])
    if errors:
        raise invalid(errors)
    existing = NotificationContact.objects.filter(tenant=locked)
    if (
        email.lower() == locked.contact_email.lower()
        or existing.filter(email__iexact=email).exists()
    ):
        raise Conflict(
            _("このメールアドレスはすでに通知先に登録されています。"),
            code="contact_exists",
            field="email",
        )
    if existing.count() >= MAX_CONTACTS:
        raise Conflict(
            _("通知の連絡先は%(max)s件まで登録できます。") % {"max": MAX_CONTACTS},
            code="contacts_limit",
        )
    contact = NotificationContact.objects.create(
        tenant=locked, name=name, email=email, locale=locale
    )
    audit(
        scope,
        action=AuditAction.CREATE,
        obj=contact,
        tenant_id=locked.pk,
        summary=f"notification contact {contact.pk} added",
        data={"contact_id": contact.pk, "locale": locale},
    )
    return contact


@transaction.atomic
def contact_remove(*, scope: Scope, contact: NotificationContact) -> None:
    """Remove a notification contact; removing one already gone changes nothing."""
    tenant = selectors.tenant_get(scope=scope, pk=contact.tenant_id)
    locked = tenant_for_change(scope, tenant)
    row = (
        NotificationContact.objects.select_for_update().filter(pk=contact.pk, tenant=locked).first()
    )
    if row is None:
        return
    audit(
        scope,
        action=AuditAction.REMOVE,
        obj=row,
        tenant_id=locked.pk,
        summary=f"notification contact {row.pk} removed",
        data={"contact_id": row.pk},
    )
    row.delete()
