"""Console URLs of the tenants app (included by web/console/urls.py, namespace "console")."""

from __future__ import annotations

from django.urls import path

from web.console.tenants import views

urlpatterns = [
    path("login/", views.ConsoleLoginView.as_view(), name="login"),
    path("logout/", views.ConsoleLogoutView.as_view(), name="logout"),
    path("partners/", views.partner_list, name="partner-list"),
    path("partners/<int:pk>/", views.partner_detail, name="partner-detail"),
    path("partners/<int:pk>/keys/", views.partner_key_issue, name="partner-key-issue"),
    path(
        "partners/<int:pk>/keys/<int:key_pk>/revoke/",
        views.partner_key_revoke,
        name="partner-key-revoke",
    ),
    path("tenants/", views.tenant_list, name="tenant-list"),
    path("tenants/new/", views.tenant_create, name="tenant-create"),
    path("tenants/<int:pk>/edit/", views.tenant_edit, name="tenant-edit"),
    path("tenants/<int:pk>/invitations/", views.tenant_invite, name="tenant-invite"),
    path("invitations/<int:pk>/revoke/", views.invitation_revoke, name="invitation-revoke"),
    path("memberships/<int:pk>/role/", views.membership_role, name="membership-role"),
    path("memberships/<int:pk>/remove/", views.membership_remove, name="membership-remove"),
]
