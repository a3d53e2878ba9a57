"""The staff console at /console/: one namespace ("console") over both apps' console pages."""

from __future__ import annotations

from web.console.agreements.urls import urlpatterns as agreements_patterns
from web.console.tenants.urls import urlpatterns as tenants_patterns

app_name = "console"

urlpatterns = [*tenants_patterns, *agreements_patterns]
