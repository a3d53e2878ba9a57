"""Reads about consent, by subject: `bound` (who a document binds, R1), `access` (which
tenants a caller sees), `statuses` (a tenant's statuses per document), `status_check` (the
products' status API), `binding` (which version binds a tenant, R4) and `ledger` (a tenant's
rows and projection).

Re-exports what callers outside the package import from `agreements.selectors.consents`.
"""

from __future__ import annotations

from agreements.selectors.consents.access import tenant_in_scope
from agreements.selectors.consents.binding import binding_versions_for_tenants
from agreements.selectors.consents.bound import (
    bound_contracts,
    bound_documents,
    bound_tenants_q,
    contract_active_q,
)
from agreements.selectors.consents.ledger import consent_state_get, ledger_for_tenant
from agreements.selectors.consents.status_bulk import BULK_STATUS_MAX, BulkStatus, tenants_status
from agreements.selectors.consents.status_check import (
    FLAG_CASE_CONFIRMED,
    FLAG_CONTRACT_INACTIVE,
    FLAG_OUTSTANDING,
    FLAG_REJECTED,
    BindingVersion,
    StatusCheck,
    status_cache_entry,
    status_cache_names,
    status_check_cached,
    tenant_is_allowed,
    tenant_status,
)
from agreements.selectors.consents.statuses import (
    LIVE_CASE_STATUSES,
    DocumentStatus,
    answer_by,
    case_in_effect,
    consent_status_for_tenant,
    consent_status_label,
    latest_posted,
    project_status,
)

__all__ = [
    "BULK_STATUS_MAX",
    "FLAG_CASE_CONFIRMED",
    "FLAG_CONTRACT_INACTIVE",
    "FLAG_OUTSTANDING",
    "FLAG_REJECTED",
    "LIVE_CASE_STATUSES",
    "BindingVersion",
    "BulkStatus",
    "DocumentStatus",
    "StatusCheck",
    "answer_by",
    "binding_versions_for_tenants",
    "bound_contracts",
    "bound_documents",
    "bound_tenants_q",
    "case_in_effect",
    "consent_state_get",
    "consent_status_for_tenant",
    "consent_status_label",
    "contract_active_q",
    "latest_posted",
    "ledger_for_tenant",
    "project_status",
    "status_cache_entry",
    "status_cache_names",
    "status_check_cached",
    "tenant_in_scope",
    "tenant_is_allowed",
    "tenant_status",
    "tenants_status",
]
