"""Agreements API routes, mounted under /api/v1/ by web/api/urls.py."""

from __future__ import annotations

from django.urls import path

from web.api.agreements import views
from web.api.base import one_path

urlpatterns = [
    # Terms (every caller)
    path("products/", views.ProductListApi.as_view(), name="products"),
    path("documents/", views.DocumentListApi.as_view(), name="documents"),
    path(
        "documents/<int:document_id>/versions/",
        views.VersionListApi.as_view(),
        name="document-versions",
    ),
    path("versions/<int:version_id>/", views.VersionDetailApi.as_view(), name="version"),
    path("versions/<int:version_id>/diff/", views.VersionDiffApi.as_view(), name="version-diff"),
    path("notices/", views.NoticeListApi.as_view(), name="notices"),
    # Contracts (partners, staff)
    path(
        "contracts/",
        one_path(get=views.ContractListApi, post=views.ContractCreateApi),
        name="contracts",
    ),
    path("contracts/<int:contract_id>/", views.ContractDetailApi.as_view(), name="contract"),
    path(
        "contracts/<int:contract_id>/periods/",
        views.ContractPeriodListApi.as_view(),
        name="contract-periods",
    ),
    path(
        "contracts/<int:contract_id>/non-renewal/",
        views.NonRenewalCreateApi.as_view(),
        name="contract-non-renewal",
    ),
    path(
        "contracts/<int:contract_id>/non-renewal/withdraw/",
        views.NonRenewalWithdrawApi.as_view(),
        name="contract-non-renewal-withdraw",
    ),
    path(
        "contracts/<int:contract_id>/terminations/",
        views.TerminationCreateApi.as_view(),
        name="contract-terminations",
    ),
    path(
        "contracts/<int:contract_id>/deletions/",
        views.DeletionRequestApi.as_view(),
        name="contract-deletions",
    ),
    # Consent (partners, staff)
    path(
        "tenants/<int:tenant_id>/consents/",
        one_path(get=views.ConsentStatusApi, post=views.ConsentAnswerApi),
        name="tenant-consents",
    ),
    path("tenants/<int:tenant_id>/ledger/", views.LedgerListApi.as_view(), name="tenant-ledger"),
    # The products
    path("status/<int:tenant_id>/", views.TenantStatusApi.as_view(), name="status"),
    path("deletions/", views.DeletionListApi.as_view(), name="deletions"),
    path("deletions/<int:deletion_id>/ack/", views.DeletionAckApi.as_view(), name="deletion-ack"),
]
