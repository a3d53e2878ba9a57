"""Which sandbox, if any, the current request or lifecycle run acts for (docs/api.md, "Sandbox").

A sandbox is a partner row of its own (tenants.models.Partner.sandbox_of) with its own clock.
A request made with one of its keys, and a lifecycle run for it, happen inside `acting_for`:
the clock reads the sandbox's instant (core.clock.local_at) and the jobs' due queries keep to
the sandbox's tenants (tenants.partition). Outside it, the service acts for live data only.
Both are context variables: a live request served at the same moment by another thread sees
neither.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime

from core import clock

_current: ContextVar[int | None] = ContextVar("sandbox_partner", default=None)


def current() -> int | None:
    """The sandbox partner's id this context acts for, or None (live)."""
    return _current.get()


@contextlib.contextmanager
def acting_for(partner_id: int, instant: datetime) -> Iterator[None]:
    """Act for the sandbox `partner_id` at its `instant` for the duration of the block."""
    token = _current.set(partner_id)
    try:
        with clock.local_at(instant):
            yield
    finally:
        _current.reset(token)


def enter(partner_id: int, instant: datetime) -> None:
    """Act for the sandbox from here to the end of the current context. Only for a context
    that ends with the work it serves (the API runs each request in a copied context)."""
    _current.set(partner_id)
    clock._local.set(instant)
