"""Settings of the processes a fault drill starts (worker, beat, commands).

The drill points DATABASE_URL, REDIS_URL and CELERY_BROKER_URL at its own throwaway PostgreSQL
and Redis; everything else is production behaviour with short leases and a fast tick, so a
drill finishes in seconds rather than minutes.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_DEBUG", "true")

from terms_site.settings import *  # noqa: F403

DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405 -- a restarted server leaves no stale pool
EMAIL_BACKEND = "tests.jobs.faults.mailbackend.MessageIdFileBackend"
EMAIL_FILE_PATH = os.environ["TERMS_FAULT_MAIL_DIR"]
TERMS_FAULT_HOOK = os.environ.get("TERMS_FAULT_HOOK", "")
TERMS_FAULT_AFTER_SENDS = int(os.environ.get("TERMS_FAULT_AFTER_SENDS", "0"))
TERMS_FAULT_DIR = os.environ.get("TERMS_FAULT_DIR", "")
TERMS_JOB_LEASE_SECONDS = 10
TERMS_NOTICE_HOUR = 0  # a drill runs at any hour
TERMS_JOB_BATCH_SIZE = 250
TERMS_OUTBOX_BATCH_SIZE = 50
TERMS_OUTBOX_BACKOFF_SECONDS = 1
CELERY_BEAT_SCHEDULE = {
    # The minute tick, every two seconds: recovery must never wait for the broker.
    "lifecycle-tick": {"task": "agreements.lifecycle_tick", "schedule": 2.0},
}
CELERY_BROKER_CONNECTION_MAX_RETRIES = None  # keep trying while Redis restarts
LOGGING["root"]["level"] = os.environ.get("TERMS_FAULT_LOG_LEVEL", "WARNING")  # noqa: F405
