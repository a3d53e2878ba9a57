"""A tenant's choice whether it receives the optional consent reminders (R4).

Optional are the reminders the service sends of its own accord: the 7- and 1-day reminders
before a revision's effective date, the weekly ones while a gating policy's deadline runs,
and staff's remind-now and scheduled reminders. Never optional are the notices the terms
require: the revision's notice (notice.posted), the notice on the effective date that an
answer is outstanding (consent.outstanding), renewal, deletion and termination notices. The
reminder job and `reminders_send` read `Tenant.consent_reminders`; nothing else does.

Tenant admins set it in the portal, staff through the same service; a partner key cannot
(the API shows it read-only). One transaction with an audit row (who, old → new); saving the
tenant bumps its generation (tenants.signals), so cached reads of the tenant see the change.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from core.enums import AuditAction
from core.errors import PermissionDenied
from tenants.models import Tenant
from tenants.scope import Scope
from tenants.services.base import audit, tenant_for_change


@transaction.atomic
def tenant_reminders_set(*, scope: Scope, tenant: Tenant, receive: bool) -> Tenant:
    """Turn the optional consent reminders of `tenant` on or off (its admins, staff). The
    current value again changes nothing and writes nothing."""
    locked = tenant_for_change(scope, tenant)
    if scope.is_partner:
        raise PermissionDenied(
            _("リマインドの設定はテナントの管理者が行います。"), code="tenant_admin_only"
        )
    old = locked.consent_reminders
    if old == receive:
        return locked
    locked.consent_reminders = receive
    locked.save(update_fields=["consent_reminders", "updated_at"])
    audit(
        scope,
        action=AuditAction.UPDATE,
        obj=locked,
        tenant_id=locked.pk,
        summary="consent_reminders",
        data={"changes": {"consent_reminders": [old, receive]}},
    )
    return locked
