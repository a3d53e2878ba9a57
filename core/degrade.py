"""Degrade, don't fail: a dependency that is down is skipped for a while and said once.

When Redis (the cache, the broker) is unreachable, every request would otherwise pay the
connection attempt and write a traceback. `Outage` remembers, per process, that a dependency
failed: callers skip it for `retry_seconds` (and use their fallback), then try again, so a
dependency that comes back is used again without anyone doing anything. The log says it once per
`log_seconds` while the outage lasts (a WARNING with the exception's class and how many
failures were absorbed since the last line) and once when the dependency is back (INFO).
"""

from __future__ import annotations

import logging
import threading
import time

logger = logging.getLogger(__name__)

# Retry a failed dependency after this long; log an ongoing outage at most this often.
RETRY_SECONDS = 5.0
LOG_SECONDS = 60.0


class Outage:
    """The state of one dependency in this process (shared by its threads)."""

    def __init__(
        self,
        name: str,
        *,
        retry_seconds: float = RETRY_SECONDS,
        log_seconds: float = LOG_SECONDS,
        log: logging.Logger | None = None,
        fallback: str = "using the fallback",
    ) -> None:
        self.name = name
        self.fallback = fallback
        self.retry_seconds = retry_seconds
        self.log_seconds = log_seconds
        self.log = log or logger
        self._lock = threading.Lock()
        self._retry_at = 0.0
        self._logged_at: float | None = None
        self._absorbed = 0
        self._down = False

    def skip(self) -> bool:
        """True while the dependency failed less than `retry_seconds` ago: use the fallback."""
        if not self._down:
            return False
        with self._lock:
            if time.monotonic() < self._retry_at:
                self._absorbed += 1
                return True
            return False

    def failed(self, exc: BaseException) -> None:
        now = time.monotonic()
        with self._lock:
            self._down = True
            self._retry_at = now + self.retry_seconds
            self._absorbed += 1
            if self._logged_at is not None and now - self._logged_at < self.log_seconds:
                return
            absorbed, self._absorbed, self._logged_at = self._absorbed, 0, now
        # No traceback: the class says what broke; the text may carry a host or password.
        self.log.warning(
            "%s.unavailable: %s",
            self.name,
            self.fallback,
            extra={
                "dependency": self.name,
                "error": exc.__class__.__name__,
                "absorbed": absorbed,
                "retry_seconds": self.retry_seconds,
            },
        )

    def succeeded(self) -> None:
        if not self._down:
            return
        with self._lock:
            if not self._down:
                return
            absorbed = self._absorbed
            self._down, self._absorbed, self._logged_at = False, 0, None
        self.log.info("%s.back", self.name, extra={"dependency": self.name, "absorbed": absorbed})

    @property
    def down(self) -> bool:
        return self._down
