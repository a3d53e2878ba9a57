"""Reads that tolerate a little lag may go to a streaming read replica (docs/operations.md,
"Scale"): the products' status check, the public terms and notice pages, the console
dashboard. Nothing else does.

- `DATABASE_REPLICA_URL` adds the `replica` alias; without it nothing here changes anything.
- A view opts in with `reads_from_replica()` (decorator or context manager). Outside such a
  block every read goes to the primary, so no other code can see stale data by accident.
- Writes always go to the primary, migrations run only there. Inside a block, a request that
  has written (anything, earlier in the same request) or a read inside a transaction reads
  the primary: it must see what it wrote and what it locked.
- Sign-in data (`auth`, `sessions`) is always read from the primary: a user who has just
  signed in or out must not be judged by a copy from a second ago.
- Before a block uses the replica, its replay lag is checked: at most once per
  `TERMS_REPLICA_CHECK_SECONDS` per process, one small statement on each server. Lag above
  `TERMS_REPLICA_MAX_LAG_SECONDS`, a replica that is down, or one that is no longer in
  recovery (promoted after a failover) sends the block to the primary; that is logged once
  per `LOG_INTERVAL_SECONDS` (`db.replica_unusable`), and `db.replica_usable` when it returns.
- A block that fails on the replica (connection lost, a query cancelled by WAL replay) is run
  again on the primary when it is a decorated function that has written nothing.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from dataclasses import dataclass
from functools import wraps
from types import TracebackType
from typing import Any, ParamSpec, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections

REPLICA = "replica"
# Never read from the replica, whatever the block says: who is signed in, with which roles.
PRIMARY_ONLY_APPS = frozenset({"auth", "sessions"})
LOG_INTERVAL_SECONDS = 60.0

log = logging.getLogger(__name__)

P = ParamSpec("P")
T = TypeVar("T")


@dataclass
class _Writes:
    """Whether the current request (or, outside a request, the current block) has written."""

    wrote: bool = False


# The alias the innermost block chose (None outside any block) and the write tracker of the
# current request. Context variables: each thread (gunicorn sync worker, test client) has its own.
_chosen: ContextVar[str | None] = ContextVar("terms_replica_chosen", default=None)
_writes: ContextVar[_Writes | None] = ContextVar("terms_replica_writes", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


# --- Is the replica fit to read from? ------------------------------------------------------------


@dataclass
class ReplicaHealth:
    usable: bool
    reason: str  # "ok", or why not (exception class names only, never connection strings)
    lag_seconds: float | None


class _Monitor:
    """Per process: the last health check and when the last state change was logged."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.checked_at = -math.inf
        self.health = ReplicaHealth(usable=False, reason="not checked", lag_seconds=None)
        self.logged_at = -math.inf
        self.logged_usable: bool | None = None


_monitor = _Monitor()


def replica_forget() -> None:
    """Forget the cached verdict: the next block checks the replica again (tests, a reconfigure)."""
    global _monitor
    _monitor = _Monitor()


def replica_health() -> ReplicaHealth:
    """Measure now: the replica is reachable, in recovery, and its replay lag is within
    TERMS_REPLICA_MAX_LAG_SECONDS.

    Lag: the primary's current WAL position is read first; when the replica has replayed up to
    it, the lag is 0 (nothing committed before the check is missing). Otherwise it is the age of
    the last transaction the replica replayed - an upper bound, since that commit happened on
    the primary at least that long ago and everything before it is present.
    """
    try:
        with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_lsn()::text")
            primary_lsn = cursor.fetchone()[0]
        with connections[REPLICA].cursor() as cursor:
            cursor.execute(
                "SELECT pg_is_in_recovery(),"
                " pg_last_wal_replay_lsn() >= %s::pg_lsn,"
                " EXTRACT(EPOCH FROM clock_timestamp() - pg_last_xact_replay_timestamp())::float8",
                [primary_lsn],
            )
            in_recovery, caught_up, age = cursor.fetchone()
    except DatabaseError as exc:
        _close_quietly(REPLICA)
        return ReplicaHealth(usable=False, reason=type(exc).__name__, lag_seconds=None)
    if not in_recovery:
        return ReplicaHealth(usable=False, reason="not in recovery", lag_seconds=None)
    lag = 0.0 if caught_up else age
    if lag is None:
        return ReplicaHealth(usable=False, reason="lag unknown", lag_seconds=None)
    lag = max(lag, 0.0)  # clocks of two hosts
    if lag > settings.TERMS_REPLICA_MAX_LAG_SECONDS:
        return ReplicaHealth(usable=False, reason="lagging", lag_seconds=lag)
    return ReplicaHealth(usable=True, reason="ok", lag_seconds=lag)


def _replica_usable() -> bool:
    """The cached verdict, re-measured at most once per TERMS_REPLICA_CHECK_SECONDS."""
    now = time.monotonic()
    if now - _monitor.checked_at < settings.TERMS_REPLICA_CHECK_SECONDS:
        return _monitor.health.usable
    with _monitor.lock:
        if now - _monitor.checked_at >= settings.TERMS_REPLICA_CHECK_SECONDS:
            _remember(replica_health())
    return _monitor.health.usable


def _remember(health: ReplicaHealth) -> None:
    now = time.monotonic()
    _monitor.checked_at = now
    _monitor.health = health
    changed = _monitor.logged_usable is not health.usable
    if health.usable:
        if changed and _monitor.logged_usable is not None:
            log.info("db.replica_usable: status check, public pages and dashboards read from it")
        _monitor.logged_usable = True
        return
    # A replica that stays down is logged once per interval, not once per request.
    if changed or now - _monitor.logged_at >= LOG_INTERVAL_SECONDS:
        log.warning(
            "db.replica_unusable: reading from the primary (%s, lag %s s, limit %s s)",
            health.reason,
            "unknown" if health.lag_seconds is None else f"{health.lag_seconds:.1f}",
            settings.TERMS_REPLICA_MAX_LAG_SECONDS,
        )
        _monitor.logged_at = now
        _monitor.logged_usable = False


def _replica_failed(exc: BaseException) -> None:
    """A query on the replica failed: read from the primary until the next check says otherwise."""
    _close_quietly(REPLICA)
    _remember(ReplicaHealth(usable=False, reason=type(exc).__name__, lag_seconds=None))


def _close_quietly(alias: str) -> None:
    # Already broken: the next use opens a new connection.
    with contextlib.suppress(DatabaseError):
        connections[alias].close()


def _replica_errored() -> bool:
    return replica_configured() and bool(connections[REPLICA].errors_occurred)


# --- The opt-in ----------------------------------------------------------------------------------


class reads_from_replica:
    """Reads inside go to the replica when it is fit (see the module's docstring).

    As a context manager it yields itself; `alias` says which server the block reads from.
    As a decorator it also re-runs the function on the primary when the replica fails under
    it and the function has written nothing.
    """

    def __init__(self) -> None:
        self.alias = DEFAULT_DB_ALIAS
        self.replica_failed = False
        self._tokens: list[tuple[ContextVar[Any], Token[Any]]] = []

    def __enter__(self) -> reads_from_replica:
        self.alias = REPLICA if replica_configured() and self._eligible() else DEFAULT_DB_ALIAS
        self._tokens.append((_chosen, _chosen.set(self.alias)))
        if _writes.get() is None:  # outside a request: track writes from here
            self._tokens.append((_writes, _writes.set(_Writes())))
        return self

    @staticmethod
    def _eligible() -> bool:
        writes = _writes.get()
        if writes is not None and writes.wrote:
            return False
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return False
        return _replica_usable()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if isinstance(exc, DatabaseError) and self.alias == REPLICA and _replica_errored():
            _replica_failed(exc)
            self.replica_failed = True
        while self._tokens:
            var, token = self._tokens.pop()
            var.reset(token)

    def __call__(self, func: Callable[P, T]) -> Callable[P, T]:
        @wraps(func)
        def inner(*args: P.args, **kwargs: P.kwargs) -> T:
            block = reads_from_replica()
            try:
                with block:
                    return func(*args, **kwargs)
            except DatabaseError:
                writes = _writes.get()
                if not block.replica_failed or (writes is not None and writes.wrote):
                    raise
            # The replica failed under a read-only run: once more on the primary (now chosen,
            # since the failure marked the replica unusable).
            with reads_from_replica():
                return func(*args, **kwargs)

        return inner


def read_replica_first(read: Callable[[], T], *, trust: Callable[[T], bool]) -> T:
    """`read()` on the replica; again on the primary when the replica is not used, fails or
    raises (a row it does not have yet: 404), or when `trust(result)` is false - for answers
    whose staleness would harm (the status check's "not allowed" just after a consent).

    `read` must not write: it may run twice.
    """
    with reads_from_replica() as block:
        if block.alias == REPLICA:
            try:
                result = read()
            except Exception:  # the primary's run below decides; its error propagates
                if _replica_errored():
                    _replica_failed(DatabaseError("replica query failed"))
            else:
                if trust(result):
                    return result
    return read()


# --- The router ------------------------------------------------------------------------------------


class ReplicaRouter:
    """DATABASE_ROUTERS entry when DATABASE_REPLICA_URL is set (terms_site/settings.py)."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str:
        if _chosen.get() != REPLICA or model._meta.app_label in PRIMARY_ONLY_APPS:
            return DEFAULT_DB_ALIAS  # also for objects loaded from the replica, outside a block
        writes = _writes.get()
        if (writes is not None and writes.wrote) or connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model: type[Any], **hints: Any) -> str:
        writes = _writes.get()
        if writes is not None:
            writes.wrote = True
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same rows, two copies

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS


def request_started(**kwargs: Any) -> None:
    """Each request starts with no writes (connected in core/apps.py)."""
    _writes.set(_Writes())


def request_finished(**kwargs: Any) -> None:
    _writes.set(None)
