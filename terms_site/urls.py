"""URL map: each audience's interface is mounted from its app (docs/architecture.md)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.csrf import csrf_exempt

from terms_site import health, metrics
from web.api.base import not_found
from web.public import verify

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("health/jobs", health.jobs, name="health-jobs"),
    path("metrics", metrics.metrics_view, name="metrics"),
    # The API before the admin: a path Django does not match against an include costs a
    # list of every pattern inside it (the admin has dozens), on every request behind it.
    path("api/v1/", include("web.api.urls")),
    # Any other path under /api/ (ending in a slash, so APPEND_SLASH still leads here) is a
    # problem+json 404 in every mode: handler404 is not used while DEBUG shows its own page.
    # Not CSRF-checked: it changes nothing, and a POST to it must get the 404, not a 403 page.
    re_path(r"^api/.*/$", csrf_exempt(not_found), name="api-not-found"),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("console/", include("web.console.urls")),
    path("portal/", include("web.portal.urls")),
    path("verify/", verify.verify, name="verify"),
    path("", include("web.public.urls")),
]

# Unrouted paths under /api/ answer application/problem+json like the rest of the API.
handler404 = "web.api.base.not_found"
# Server errors: problem+json under /api/, a plain page elsewhere; a database that cannot
# answer is a 503 for both (web/errors.py).
handler500 = "web.errors.server_error"
