"""Tenants API routes, mounted under /api/v1/ by terms_site/urls.py."""

from __future__ import annotations

from django.urls import path

from web.api.base import one_path
from web.api.tenants import views

urlpatterns = [
    path(
        "tenants/",
        one_path(get=views.TenantListApi, post=views.TenantCreateApi),
        name="tenants",
    ),
    path(
        "tenants/<int:tenant_id>/",
        one_path(get=views.TenantDetailApi, patch=views.TenantUpdateApi),
        name="tenant",
    ),
    path(
        "tenants/<int:tenant_id>/invitations/",
        views.InvitationCreateApi.as_view(),
        name="tenant-invitations",
    ),
    path(
        "tenants/<int:tenant_id>/memberships/",
        views.MembershipListApi.as_view(),
        name="tenant-memberships",
    ),
    path(
        "tenants/<int:tenant_id>/memberships/<int:membership_id>/",
        views.MembershipRemoveApi.as_view(),
        name="tenant-membership",
    ),
    path(
        "webhooks/",
        one_path(get=views.WebhookListApi, post=views.WebhookCreateApi),
        name="webhooks",
    ),
    path(
        "webhooks/<int:webhook_id>/rotate-secret/",
        views.WebhookRotateSecretApi.as_view(),
        name="webhook-rotate-secret",
    ),
    path(
        "webhooks/<int:webhook_id>/disable/",
        views.WebhookDisableApi.as_view(),
        name="webhook-disable",
    ),
    path("events/", views.EventListApi.as_view(), name="events"),
]
