"""Test settings: PostgreSQL and Redis for real, isolated per run (README, Tests)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/terms")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
# Celery behaviour is tested on the real broker, never on a stand-in.
os.environ.setdefault("CELERY_BROKER_URL", os.environ["REDIS_URL"])
# Each run gets its own database name and Redis key prefix, so two runs never collide.
_RUN_ID = os.environ.setdefault("TERMS_TEST_RUN_ID", f"{os.getpid()}")
os.environ.setdefault("TERMS_REDIS_KEY_PREFIX", f"terms-test-{_RUN_ID}")

from terms_site.settings import *  # noqa: E402, F403

DATABASES["default"]["TEST"] = {"NAME": f"test_terms_{_RUN_ID}"}  # noqa: F405
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_USE_FINDERS = True
SECURE_SSL_REDIRECT = False
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
