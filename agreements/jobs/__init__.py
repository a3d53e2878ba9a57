"""The lifecycle jobs (docs/jobs.md): the registry and the runs of a day, from `registry`."""

from __future__ import annotations

from agreements.jobs.registry import (
    JOBS,
    PEOPLE_NOTICE_JOBS,
    job_run_one,
    lifecycle_run_day,
    lifecycle_tick,
    notice_hour,
)

__all__ = [
    "JOBS",
    "PEOPLE_NOTICE_JOBS",
    "job_run_one",
    "lifecycle_run_day",
    "lifecycle_tick",
    "notice_hour",
]
