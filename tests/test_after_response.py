"""Work left until the response is sent (core/after_response.py)."""

from __future__ import annotations

import contextvars
import logging

import pytest
from django.core import signals

from core import after_response

# The request signals also run Django's close_old_connections, which asks an open connection
# (one a database test before this one left open) whether it is still usable: those tests may
# touch the database.
_REQUEST_SIGNALS = pytest.mark.django_db


def test_outside_a_request_deferred_work_runs_at_once() -> None:
    done: list[str] = []
    after_response.defer(lambda: done.append("now"))
    assert done == ["now"]


@_REQUEST_SIGNALS
def test_inside_a_request_it_runs_when_the_response_is_finished_in_order() -> None:
    done: list[str] = []
    signals.request_started.send(sender=None)
    try:
        after_response.defer(lambda: done.append("first"))
        # Deferred from a context copied from the request's (ApiView.dispatch runs in one).
        contextvars.copy_context().run(after_response.defer, lambda: done.append("second"))
        assert done == []
    finally:
        signals.request_finished.send(sender=None)
    assert done == ["first", "second"]
    after_response.defer(lambda: done.append("after"))  # the request is over: at once
    assert done == ["first", "second", "after"]


@_REQUEST_SIGNALS
def test_a_failure_is_logged_and_the_rest_still_runs(caplog: pytest.LogCaptureFixture) -> None:
    done: list[str] = []

    def fails() -> None:
        raise RuntimeError("database gone")

    signals.request_started.send(sender=None)
    try:
        after_response.defer(fails)
        after_response.defer(lambda: done.append("ran"))
    finally:
        with caplog.at_level(logging.WARNING, logger="core.after_response"):
            signals.request_finished.send(sender=None)
    assert done == ["ran"]
    assert [r.getMessage() for r in caplog.records] == ["after_response.failed"]
