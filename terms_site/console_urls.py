"""The staff console at /console/: one namespace ("console") over both apps' console pages."""

from __future__ import annotations

from agreements.console.urls import urlpatterns as agreements_patterns
from tenants.console.urls import urlpatterns as tenants_patterns

app_name = "console"

urlpatterns = [*tenants_patterns, *agreements_patterns]
