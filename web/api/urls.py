"""Everything under /api/v1/: the root, the schema and its two readers, and each app's API."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerSplitView,
)

from web.api.base import api_root

app_name = "api"

urlpatterns = [
    path("", api_root, name="root"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI and Redoc are served from drf-spectacular-sidecar's static files (no CDN).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
    path("", include("web.api.tenants.urls")),
    path("", include("web.api.agreements.urls")),
]
