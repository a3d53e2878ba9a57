"""Work a request may leave until its response has been sent: bookkeeping nobody waits for.

`defer(work)` inside a request runs `work` once the response is finished (Django's
request_finished: after the server has sent the body), outside one at once. The API key's
"last used" stamp is written this way: a request that writes reads everything after from the
primary (core/replica.py), and the stamp's commit would hold the response for nothing.

Deferred work must be small and must not need the request: it runs after the request's own
context ended (no sandbox clock, core/sandbox.py). A failure is logged, never raised: the
response is gone. It runs after Django's end-of-request check of the database connections:
a connection it opens again (the old one past CONN_MAX_AGE) is checked when the next request
starts.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

log = logging.getLogger(__name__)

# The current request's list (None outside a request). Set when the request starts, in the
# context every later context of the request is copied from, so that work deferred inside
# ApiView.dispatch's own context lands in the same list.
_pending: ContextVar[list[Callable[[], Any]] | None] = ContextVar(
    "terms_after_response", default=None
)


def defer(work: Callable[[], Any]) -> None:
    """Run `work` after the current response; at once outside a request."""
    pending = _pending.get()
    if pending is None:
        work()
    else:
        pending.append(work)


def request_started(**kwargs: Any) -> None:
    _pending.set([])


def request_finished(**kwargs: Any) -> None:
    pending = _pending.get()
    _pending.set(None)
    if not pending:
        return
    for work in pending:
        try:
            work()
        except Exception:  # the response is sent: log, keep serving
            log.warning("after_response.failed", exc_info=True)
