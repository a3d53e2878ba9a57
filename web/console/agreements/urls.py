"""Console URLs of the agreements app (included by web/console/urls.py, namespace "console")."""

from __future__ import annotations

from django.urls import path

from web.console.agreements import views_customers as customers
from web.console.agreements import views_dashboard as dashboard
from web.console.agreements import views_operations as operations
from web.console.agreements import views_versions as versions

urlpatterns = [
    path("", versions.home, name="home"),
    path("search/", customers.search, name="search"),
    # documents and versions
    path("documents/<int:pk>/", versions.document_detail, name="document-detail"),
    path("documents/<int:pk>/compare/", versions.compare, name="compare"),
    path("versions/<int:pk>/", versions.version_detail, name="version-detail"),
    path("versions/<int:pk>/notice/", versions.version_notice, name="version-notice"),
    path("versions/<int:pk>/edit/", versions.version_edit, name="version-edit"),
    path("versions/<int:pk>/articles/", versions.article_save, name="article-add"),
    path(
        "versions/<int:pk>/articles/<int:article_pk>/", versions.article_save, name="article-save"
    ),
    path(
        "versions/<int:pk>/articles/<int:number>/delete/",
        versions.article_delete,
        name="article-delete",
    ),
    path("versions/<int:pk>/renumber/", versions.articles_renumber, name="articles-renumber"),
    path("versions/<int:pk>/paste/", versions.version_paste, name="version-paste"),
    path("versions/<int:pk>/changes/", versions.version_changes, name="version-changes"),
    path("versions/<int:pk>/schedule/", versions.version_schedule, name="version-schedule"),
    path("versions/<int:pk>/withdraw/", versions.version_withdraw, name="version-withdraw"),
    # dashboard
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/versions/<int:pk>/", dashboard.dashboard_drill, name="dashboard-drill"),
    # customers and contracts
    path("tenants/<int:pk>/", customers.tenant_detail, name="tenant-detail"),
    path("tenants/<int:pk>/contracts/new/", customers.contract_create, name="contract-create"),
    path("contracts/", customers.contract_index, name="contract-list"),
    path("contracts/<int:pk>/", customers.contract_detail, name="contract-detail"),
    path("contracts/<int:pk>/terminate/", customers.contract_terminate, name="contract-terminate"),
    path(
        "contracts/<int:pk>/succession/", customers.contract_succession, name="contract-succession"
    ),
    path(
        "contracts/<int:pk>/non-renewal/",
        customers.contract_non_renewal,
        name="contract-non-renewal",
    ),
    path(
        "contracts/<int:pk>/non-renewal/<int:request_pk>/withdraw/",
        customers.contract_non_renewal_withdraw,
        name="contract-non-renewal-withdraw",
    ),
    path(
        "contracts/<int:pk>/deletion/",
        customers.contract_deletion_request,
        name="contract-deletion",
    ),
    # cases, deletions, audit
    path("cases/", customers.case_list, name="case-list"),
    path("cases/<int:pk>/<str:decision>/", customers.case_decide, name="case-decide"),
    path("deletions/", customers.deletion_list, name="deletion-list"),
    path("audit/", customers.audit_list, name="audit-list"),
    # products' API keys, failed deliveries
    path("products/", operations.products, name="products"),
    path("products/<int:pk>/keys/", operations.product_key_new, name="product-key-issue"),
    path("product-keys/<int:pk>/revoke/", operations.product_key_delete, name="product-key-revoke"),
    path("deliveries/", operations.deliveries, name="deliveries"),
]
