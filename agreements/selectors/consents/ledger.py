"""Reads of the ledger rows and of the projection for one tenant."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from agreements.models import ConsentRecord, ConsentState
from agreements.selectors.consents.access import tenant_in_scope
from core.errors import Conflict

if TYPE_CHECKING:
    from tenants.models import Tenant
    from tenants.scope import Scope


def ledger_for_tenant(*, scope: Scope, tenant: Tenant) -> QuerySet[ConsentRecord]:
    """The tenant's chain in order (rows are facts: nothing is filtered out)."""
    tenant_in_scope(scope=scope, tenant=tenant)
    return (
        ConsentRecord.objects.filter(tenant=tenant)
        .select_related("document", "version")
        .order_by("seq")
    )


def consent_state_get(*, tenant_id: int, document_id: int) -> ConsentState | None:
    return (
        ConsentState.objects.filter(tenant_id=tenant_id, document_id=document_id)
        .select_related("version")
        .first()
    )


def last_record(*, tenant_id: int, version_id: int) -> ConsentRecord:
    """The tenant's latest row for a version (a repeated answer returns it)."""
    record = (
        ConsentRecord.objects.filter(tenant_id=tenant_id, version_id=version_id)
        .order_by("-seq")
        .first()
    )
    if record is None:
        raise Conflict(_("回答の記録が見つかりません。"), code="record_missing")
    return record
