"""What a worker does once at start rather than in its first job."""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings

_PROBE = """
import django
django.setup()
from celery.signals import worker_init
import terms_site.celery  # connects the worker's receivers
from django.urls import get_resolver
before = get_resolver()._populated
worker_init.send(sender=None)
print(before, get_resolver()._populated)
"""


def test_the_worker_loads_the_urlconf_before_its_pool_forks() -> None:
    """In a fresh process, the worker_init signal builds the URLconf's reverse map: a job
    writing a link pays nothing for it, in any child of the pool."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": settings.SETTINGS_MODULE},
    ).stdout.split()
    assert out == ["False", "True"]
