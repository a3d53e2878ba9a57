"""The one clock of the service (docs/architecture.md, "The clock").

Every "now" and every business "today" is read here, so that tests, `run_lifecycle --today`
and `loaddemo --as-of` can move time for the whole service in one place.

A sandbox's clock (docs/api.md, "Sandbox") is a second, narrower override: `local_at` holds an
instant in a context variable, so it reaches only the request or the sandbox run that set it and
never a live request served at the same time by another thread. It is read before the
process-wide override.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils import timezone

TOKYO = ZoneInfo("Asia/Tokyo")


class _Override:
    # Process-wide, not thread-local: the live test server and `run_lifecycle --today`
    # must see the same moved clock as the code that moved it.
    now: datetime | None = None


_override = _Override()

# One request's or one task's own instant (a sandbox's clock): per context, never shared.
_local: ContextVar[datetime | None] = ContextVar("clock_local", default=None)


def now() -> datetime:
    """The current instant, aware, in UTC."""
    local = _local.get()
    if local is not None:
        return local
    frozen = _override.now
    if frozen is not None:
        return frozen
    return timezone.now()


def wall_now() -> datetime:
    """The current instant outside any sandbox's clock: for what runs on real time whatever
    the caller's clock says (idempotency records, leases). Tests' frozen_at still moves it."""
    frozen = _override.now
    if frozen is not None:
        return frozen
    return timezone.now()


def today() -> date:
    """The business date in Asia/Tokyo."""
    return now().astimezone(TOKYO).date()


def start_of_day(day: date) -> datetime:
    """00:00 JST on `day` as an aware datetime ("effective on D" means from this instant)."""
    return datetime.combine(day, time.min, tzinfo=TOKYO)


def business_date(instant: datetime) -> date:
    """The Tokyo date of an instant."""
    return instant.astimezone(TOKYO).date()


@contextlib.contextmanager
def frozen_at(instant: datetime | date) -> Iterator[datetime]:
    """Run the block as if it were `instant` (a date means 09:00 JST that day)."""
    if not isinstance(instant, datetime):
        instant = start_of_day(instant) + timedelta(hours=9)
    previous = _override.now
    _override.now = instant.astimezone(ZoneInfo("UTC"))
    try:
        yield _override.now
    finally:
        _override.now = previous


@contextlib.contextmanager
def local_at(instant: datetime) -> Iterator[datetime]:
    """Run the block, in this context only (this thread or task), as if it were `instant`."""
    token = _local.set(instant.astimezone(ZoneInfo("UTC")))
    try:
        yield instant
    finally:
        _local.reset(token)


def is_local() -> bool:
    """Whether this context runs on its own instant (a sandbox's clock)."""
    return _local.get() is not None


def api_instant(instant: datetime | None) -> str | None:
    """An instant as the API and its events write it: RFC 3339 in Japan time, e.g.
    "2025-03-10T09:00:00+09:00" (docs/api.md, Conventions); None stays None."""
    if instant is None:
        return None
    return instant.astimezone(TOKYO).isoformat()
