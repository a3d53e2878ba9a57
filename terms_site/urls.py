"""URL map: each audience's interface is mounted from its app (DESIGN: Where code lives)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from terms_site import health
from terms_site.api import api_root

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/v1/", api_root, name="api-root"),
    path("i18n/", include("django.conf.urls.i18n")),
]
