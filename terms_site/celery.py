"""The Celery app. The broker is a doorbell; PostgreSQL holds what is due (docs/jobs.md)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terms_site.settings")


def _process_kind(argv: list[str]) -> str | None:
    """`celery … worker` / `celery … beat`: the kind chooses the database timeouts (settings)."""
    program = Path(argv[0]) if argv else Path()
    if "celery" not in (program.name, program.parent.name):  # `celery …`, `python -m celery …`
        return None
    return next((word for word in argv[1:] if word in ("worker", "beat")), None)


_kind = _process_kind(sys.argv)
if _kind:
    os.environ.setdefault("TERMS_PROCESS_KIND", _kind)

app = Celery("terms_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
