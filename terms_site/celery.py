"""The Celery app. The broker is a doorbell; PostgreSQL holds what is due (docs/jobs.md)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terms_site.settings")


app = Celery("terms_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
