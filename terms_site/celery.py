"""The Celery app. The broker is a doorbell; PostgreSQL holds what is due (docs/jobs.md)."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terms_site.settings")


app = Celery("terms_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def load_urlconf(**_kwargs: object) -> None:
    """Load the URLconf in the worker's main process, before the pool forks: every job that
    writes a link (e-mails, events, webhooks, the notice) would otherwise pay its import and
    the building of the reverse map — about a second — in each child's first job."""
    from django.urls import get_resolver  # noqa: PLC0415 -- after Django is set up

    get_resolver().reverse_dict  # noqa: B018 -- the property builds the map
