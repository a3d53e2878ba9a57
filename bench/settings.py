"""Settings of the bench servers: the product's settings plus bench-only URLs (never in prod).

Everything comes from the environment bench/run.py sets (its own database, a Redis key
prefix, production mode with a throwaway secret). Two deliberate differences, both the same
for a figure and its baseline: static files come from the finders (no collectstatic into a
throwaway directory), and the API throttle rate is raised so the load generator measures the
server instead of the 429 path (the throttle still runs on every request).
"""

from __future__ import annotations

from terms_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
