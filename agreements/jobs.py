"""The lifecycle jobs' registry; each job is a service run for one business date."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from terms_site import clock

JOBS: dict[str, Callable[[date], dict[str, int]]] = {}


def lifecycle_tick() -> dict[str, int]:
    """Run every registered job for today; each job is idempotent, so a re-ring is harmless."""
    today = clock.today()
    totals: dict[str, int] = {}
    for name, job in JOBS.items():
        for key, value in job(today).items():
            totals[f"{name}.{key}"] = value
    return totals
