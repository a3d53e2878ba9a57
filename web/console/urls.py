"""The staff console at /console/ (namespace "console"), mounted by terms_site/urls.py."""

from __future__ import annotations

from django.urls import path

from web.console import views_access as access
from web.console import views_contracts as contracts
from web.console import views_dashboard as dashboard
from web.console import views_drafts as drafts
from web.console import views_exports as exports
from web.console import views_operations as operations
from web.console import views_partners as partners
from web.console import views_rulebook as rulebook
from web.console import views_schedule as schedule
from web.console import views_tenants as tenants
from web.console import views_versions as versions

app_name = "console"

urlpatterns = [
    # sign-in, partners and their keys, tenants, users and invitations
    path("login/", access.ConsoleLoginView.as_view(), name="login"),
    path("logout/", access.ConsoleLogoutView.as_view(), name="logout"),
    path("profile/", access.profile, name="profile"),
    path("partners/", partners.partner_list, name="partner-list"),
    path("partners/<int:pk>/", partners.partner_detail, name="partner-detail"),
    path("partners/<int:pk>/keys/", partners.partner_key_issue, name="partner-key-issue"),
    path(
        "partners/<int:pk>/keys/<int:key_pk>/revoke/",
        partners.partner_key_revoke,
        name="partner-key-revoke",
    ),
    path("tenants/", tenants.tenant_list, name="tenant-list"),
    path("tenants/new/", tenants.tenant_create, name="tenant-create"),
    path("tenants/<int:pk>/edit/", tenants.tenant_edit, name="tenant-edit"),
    path("tenants/<int:pk>/invitations/", tenants.tenant_invite, name="tenant-invite"),
    path("invitations/<int:pk>/revoke/", tenants.invitation_revoke, name="invitation-revoke"),
    path("memberships/<int:pk>/role/", tenants.membership_role, name="membership-role"),
    path("memberships/<int:pk>/remove/", tenants.membership_remove, name="membership-remove"),
    # home and search
    path("", versions.home, name="home"),
    path("search/", tenants.search, name="search"),
    # documents and versions
    path("documents/<int:pk>/", versions.document_detail, name="document-detail"),
    path("documents/<int:pk>/compare/", versions.compare, name="compare"),
    path("versions/<int:pk>/", versions.version_detail, name="version-detail"),
    path("versions/<int:pk>/notice/", versions.version_notice, name="version-notice"),
    path("versions/<int:pk>/edit/", drafts.version_edit, name="version-edit"),
    path("versions/<int:pk>/articles/", drafts.article_save, name="article-add"),
    path("versions/<int:pk>/articles/<int:article_pk>/", drafts.article_save, name="article-save"),
    path(
        "versions/<int:pk>/articles/<int:number>/delete/",
        drafts.article_delete,
        name="article-delete",
    ),
    path("versions/<int:pk>/renumber/", drafts.articles_renumber, name="articles-renumber"),
    path("versions/<int:pk>/paste/", drafts.version_paste, name="version-paste"),
    path("versions/<int:pk>/rebase/", drafts.version_rebase, name="version-rebase"),
    path("versions/<int:pk>/changes/", drafts.version_changes, name="version-changes"),
    path("versions/<int:pk>/schedule/", schedule.version_schedule, name="version-schedule"),
    path("versions/<int:pk>/export/", exports.version_export, name="version-export"),
    path("versions/<int:pk>/withdraw/", schedule.version_withdraw, name="version-withdraw"),
    # dashboard
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/versions/<int:pk>/", dashboard.dashboard_drill, name="dashboard-drill"),
    path(
        "dashboard/versions/<int:pk>/remind/",
        dashboard.dashboard_remind,
        name="dashboard-remind",
    ),
    path(
        "dashboard/versions/<int:pk>/remind/schedule/",
        dashboard.dashboard_remind_schedule,
        name="dashboard-remind-schedule",
    ),
    path(
        "dashboard/versions/<int:pk>/remind/<int:reminder_pk>/cancel/",
        dashboard.dashboard_remind_cancel,
        name="dashboard-remind-cancel",
    ),
    path(
        "dashboard/versions/<int:pk>/tenants/<int:tenant_pk>/delivery/",
        dashboard.notice_delivery,
        name="notice-delivery",
    ),
    # customers and contracts
    path("tenants/<int:pk>/", tenants.tenant_detail, name="tenant-detail"),
    path("tenants/<int:pk>/contracts/new/", contracts.contract_create, name="contract-create"),
    path("contracts/", contracts.contract_index, name="contract-list"),
    path("contracts/<int:pk>/", contracts.contract_detail, name="contract-detail"),
    path("contracts/<int:pk>/terminate/", contracts.contract_terminate, name="contract-terminate"),
    path(
        "contracts/<int:pk>/succession/", contracts.contract_succession, name="contract-succession"
    ),
    path(
        "contracts/<int:pk>/non-renewal/",
        contracts.contract_non_renewal,
        name="contract-non-renewal",
    ),
    path(
        "contracts/<int:pk>/non-renewal/<int:request_pk>/withdraw/",
        contracts.contract_non_renewal_withdraw,
        name="contract-non-renewal-withdraw",
    ),
    path(
        "contracts/<int:pk>/deletion/",
        contracts.contract_deletion_request,
        name="contract-deletion",
    ),
    # cases, deletions, audit
    path("cases/", operations.case_list, name="case-list"),
    path("cases/<int:pk>/<str:decision>/", operations.case_decide, name="case-decide"),
    path("deletions/", operations.deletion_list, name="deletion-list"),
    path("audit/", operations.audit_list, name="audit-list"),
    # products' API keys, failed deliveries
    path("products/", operations.products, name="products"),
    # each product's rulebook (read-only)
    path("rulebook/", rulebook.rulebook_list, name="rulebook"),
    path("products/<int:pk>/keys/", operations.product_key_new, name="product-key-issue"),
    path("product-keys/<int:pk>/revoke/", operations.product_key_delete, name="product-key-revoke"),
    path("deliveries/", operations.deliveries, name="deliveries"),
]
