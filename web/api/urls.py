"""Everything under /api/v1/: the root, the schema and its two readers, and every operation.

Several operations on one path are served by `one_path` (one APIView per operation).
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from web.api import (
    consents,
    contracts,
    deletions,
    documents,
    events,
    invitations,
    memberships,
    non_renewals,
    notices,
    products,
    sandbox,
    status,
    tenants,
    terminations,
    versions,
    webhooks,
)
from web.api.base import one_path
from web.api.reference import ApiReference, RedocMoved
from web.api.root import api_root

app_name = "api"

urlpatterns = [
    # The two hot paths first: Django tries patterns in order, and these are most of the
    # traffic (products check on every sign-in, partners answer). No other pattern overlaps
    # them, and the schema lists operations sorted, not in this order.
    path("status/<int:tenant_id>/", status.TenantStatusApi.as_view(), name="status"),
    path(
        "tenants/<int:tenant_id>/consents/",
        one_path(get=consents.ConsentStatusApi, post=consents.ConsentAnswerApi),
        name="tenant-consents",
    ),
    path("", api_root, name="root"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The schema as a page of the site (web/api/reference.py says why not Swagger UI / Redoc).
    path("docs/", ApiReference.as_view(), name="docs"),
    path("redoc/", RedocMoved.as_view(), name="redoc"),
    # Tenants and their users (partners, staff)
    path(
        "tenants/",
        one_path(get=tenants.TenantListApi, post=tenants.TenantCreateApi),
        name="tenants",
    ),
    path("tenants/lookup/", tenants.TenantLookupApi.as_view(), name="tenant-lookup"),
    path(
        "tenants/<int:tenant_id>/",
        one_path(get=tenants.TenantDetailApi, patch=tenants.TenantUpdateApi),
        name="tenant",
    ),
    path(
        "tenants/<int:tenant_id>/invitations/",
        one_path(get=invitations.InvitationListApi, post=invitations.InvitationCreateApi),
        name="tenant-invitations",
    ),
    path(
        "tenants/<int:tenant_id>/invitations/<int:invitation_id>/",
        invitations.InvitationDetailApi.as_view(),
        name="tenant-invitation",
    ),
    path(
        "tenants/<int:tenant_id>/invitations/<int:invitation_id>/revoke/",
        invitations.InvitationRevokeApi.as_view(),
        name="tenant-invitation-revoke",
    ),
    path(
        "tenants/<int:tenant_id>/memberships/",
        memberships.MembershipListApi.as_view(),
        name="tenant-memberships",
    ),
    path(
        "tenants/<int:tenant_id>/memberships/<int:membership_id>/",
        memberships.MembershipRemoveApi.as_view(),
        name="tenant-membership",
    ),
    # Webhooks and the event feed (partners, staff)
    path(
        "webhooks/",
        one_path(get=webhooks.WebhookListApi, post=webhooks.WebhookCreateApi),
        name="webhooks",
    ),
    path(
        "webhooks/<int:webhook_id>/",
        one_path(
            get=webhooks.WebhookDetailApi,
            patch=webhooks.WebhookUpdateApi,
            delete=webhooks.WebhookDeleteApi,
        ),
        name="webhook",
    ),
    path(
        "webhooks/<int:webhook_id>/enable/",
        webhooks.WebhookEnableApi.as_view(),
        name="webhook-enable",
    ),
    path(
        "webhooks/<int:webhook_id>/test/",
        webhooks.WebhookTestApi.as_view(),
        name="webhook-test",
    ),
    path(
        "webhooks/<int:webhook_id>/deliveries/",
        webhooks.WebhookDeliveryListApi.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "webhooks/<int:webhook_id>/deliveries/<int:delivery_id>/resend/",
        webhooks.WebhookDeliveryResendApi.as_view(),
        name="webhook-delivery-resend",
    ),
    path(
        "webhooks/<int:webhook_id>/rotate-secret/",
        webhooks.WebhookRotateSecretApi.as_view(),
        name="webhook-rotate-secret",
    ),
    path(
        "webhooks/<int:webhook_id>/disable/",
        webhooks.WebhookDisableApi.as_view(),
        name="webhook-disable",
    ),
    path("sandbox/", sandbox.SandboxCreateApi.as_view(), name="sandbox"),
    path("sandbox/keys/", sandbox.SandboxKeyListApi.as_view(), name="sandbox-keys"),
    path(
        "sandbox/keys/<int:key_id>/revoke/",
        sandbox.SandboxKeyRevokeApi.as_view(),
        name="sandbox-key-revoke",
    ),
    path(
        "sandbox/product-keys/",
        sandbox.SandboxProductKeyListApi.as_view(),
        name="sandbox-product-keys",
    ),
    path(
        "sandbox/product-keys/<int:key_id>/revoke/",
        sandbox.SandboxProductKeyRevokeApi.as_view(),
        name="sandbox-product-key-revoke",
    ),
    path("sandbox/clock/", sandbox.SandboxClockApi.as_view(), name="sandbox-clock"),
    path(
        "sandbox/clock/advance/", sandbox.SandboxAdvanceApi.as_view(), name="sandbox-clock-advance"
    ),
    path(
        "sandbox/revisions/", sandbox.SandboxRevisionCreateApi.as_view(), name="sandbox-revisions"
    ),
    path("events/", events.EventListApi.as_view(), name="events"),
    path("events/<int:event_id>/", events.EventDetailApi.as_view(), name="event"),
    # Terms (every caller)
    path("products/", products.ProductListApi.as_view(), name="products"),
    path("documents/", documents.DocumentListApi.as_view(), name="documents"),
    path(
        "documents/<int:document_id>/versions/",
        versions.VersionListApi.as_view(),
        name="document-versions",
    ),
    path("versions/<int:version_id>/", versions.VersionDetailApi.as_view(), name="version"),
    path("versions/<int:version_id>/diff/", versions.VersionDiffApi.as_view(), name="version-diff"),
    path("notices/", notices.NoticeListApi.as_view(), name="notices"),
    # Contracts (partners, staff)
    path(
        "contracts/",
        one_path(get=contracts.ContractListApi, post=contracts.ContractCreateApi),
        name="contracts",
    ),
    path("contracts/<int:contract_id>/", contracts.ContractDetailApi.as_view(), name="contract"),
    path(
        "contracts/<int:contract_id>/periods/",
        contracts.ContractPeriodListApi.as_view(),
        name="contract-periods",
    ),
    path(
        "contracts/<int:contract_id>/non-renewal/",
        non_renewals.NonRenewalCreateApi.as_view(),
        name="contract-non-renewal",
    ),
    path(
        "contracts/<int:contract_id>/non-renewal/withdraw/",
        non_renewals.NonRenewalWithdrawApi.as_view(),
        name="contract-non-renewal-withdraw",
    ),
    path(
        "contracts/<int:contract_id>/terminations/",
        terminations.TerminationCreateApi.as_view(),
        name="contract-terminations",
    ),
    path(
        "contracts/<int:contract_id>/deletions/",
        deletions.DeletionRequestApi.as_view(),
        name="contract-deletions",
    ),
    # Consent (partners, staff)
    path("tenants/<int:tenant_id>/ledger/", consents.LedgerListApi.as_view(), name="tenant-ledger"),
    # The products
    path("status/", status.TenantStatusBulkApi.as_view(), name="status-bulk"),
    path("deletions/", deletions.DeletionListApi.as_view(), name="deletions"),
    path(
        "deletions/<int:deletion_id>/ack/",
        deletions.DeletionAckApi.as_view(),
        name="deletion-ack",
    ),
]
