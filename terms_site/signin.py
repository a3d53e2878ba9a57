"""Sign-in throttling on django-axes: what counts, per whom, and what a refusal looks like.

Every sign-in form (/console/login/, /admin/login/, /portal/login/) authenticates through
Django's `authenticate()`, so axes sees them all: `axes.backends.AxesStandaloneBackend`
(first in AUTHENTICATION_BACKENDS) refuses a locked account or address before any password
is checked, and the signals of failed and successful sign-ins reach `SignInThrottle`.

Stock axes has one failure limit for every lockout parameter, keys the account on the name as
typed, and counts username and address values in one key space. `SignInThrottle` keeps axes'
flow and changes those three things:

- the account is keyed on `web.ratelimit.account_name` (NFKC, case-folded): 「ａｄｍｉｎ」,
  `Admin` and `admin` share one budget, across the three forms;
- its own limit per parameter: AXES_FAILURE_LIMIT failures per account,
  TERMS_SIGNIN_ADDRESS_FAILURE_LIMIT per client address (`web.ratelimit.client_address`,
  behind the trusted-proxy settings); the attempt after the last allowed failure is refused;
- only failures count: a successful sign-in clears its account's failures and never touches
  the address's, so neither a busy office nor an attacker's own valid account refills a budget.

A locked account or address is refused until AXES_COOLOFF_TIME has passed since its last
counted failure; attempts while locked are not counted (they learn nothing). The counters live
on the shared cache; when it is unreachable they fall back to the process's memory
(`web.ratelimit.resilient`), logged as an error.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta
from functools import partial
from typing import Any

from axes.handlers.cache import AxesCacheHandler
from axes.helpers import get_client_username, get_cool_off, get_failure_limit
from django.conf import settings
from django.core.cache import BaseCache
from django.http import HttpRequest, HttpResponse

from web import ratelimit

log = logging.getLogger(__name__)


def signin_username(request: HttpRequest, credentials: dict[str, Any] | None = None) -> str:
    """AXES_USERNAME_CALLABLE: the account name a sign-in is counted against."""
    field = str(getattr(settings, "AXES_USERNAME_FORM_FIELD", "username"))
    if credentials and credentials.get(field) is not None:
        return ratelimit.account_name(credentials[field])
    data = getattr(request, "data", None) or request.POST
    return ratelimit.account_name(data.get(field, ""))


def counter_key(parameter: str, value: str) -> str:
    # The parameter is part of the key: a user named "203.0.113.5" must not spend the budget
    # of the address 203.0.113.5 (stock axes hashes the bare value).
    digest = hashlib.sha256(f"{parameter}\0{value}".encode()).hexdigest()
    return f"axes:{parameter}:{digest}"


class SignInThrottle(AxesCacheHandler):  # type: ignore[misc]  # axes ships no types
    """AXES_HANDLER: failures per normalised account and per client address, each with its
    own limit, on the shared cache (module docstring)."""

    def __init__(self) -> None:
        # The cache is looked up per call (web.ratelimit.resilient), not held: a test or an
        # outage can swap it under a running process.
        pass

    def _counters(
        self, request: HttpRequest, credentials: dict[str, Any] | None
    ) -> list[tuple[str, int]]:
        address = str(getattr(request, "axes_ip_address", None) or "unknown")
        counters = [
            (counter_key("ip_address", address), int(settings.TERMS_SIGNIN_ADDRESS_FAILURE_LIMIT))
        ]
        name = get_client_username(request, credentials)
        if name:
            counters.append(
                (counter_key("username", name), get_failure_limit(request, credentials))
            )
        return counters

    def _counts(
        self, request: HttpRequest, credentials: dict[str, Any] | None
    ) -> list[tuple[int, int]]:
        """(failures so far, limit) per counter, in one cache round trip."""
        counters = self._counters(request, credentials)
        keys = [key for key, _limit in counters]
        values: dict[str, Any] = ratelimit.resilient(lambda cache: cache.get_many(keys))
        return [(int(values.get(key) or 0), limit) for key, limit in counters]

    def get_failures(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> int:
        return max(count for count, _limit in self._counts(request, credentials))

    def is_locked(self, request: HttpRequest, credentials: dict[str, Any] | None = None) -> bool:
        if not getattr(settings, "AXES_LOCK_OUT_AT_FAILURE", True):
            return False
        return any(count >= limit for count, limit in self._counts(request, credentials))

    def user_login_failed(
        self,
        sender: Any,
        credentials: dict[str, Any],
        request: HttpRequest | None = None,
        **kwargs: Any,
    ) -> None:
        if request is None:
            log.error("signin.failure_without_request")
            return
        # Refused by the lock before any password check: counting it would only extend the
        # lock for whoever keeps knocking.
        if getattr(request, "axes_locked_out", False):
            return
        if self.is_whitelisted(request, credentials):
            return
        cool_off = get_cool_off(request) or timedelta(minutes=15)
        timeout = int(cool_off.total_seconds())

        def count(cache: BaseCache, *, key: str) -> int:
            if cache.add(key, 1, timeout=timeout):
                return 1
            try:
                value = int(cache.incr(key))
            except ValueError:  # expired between add() and incr()
                cache.add(key, 1, timeout=timeout)
                return 1
            cache.touch(key, timeout=timeout)  # the lock ends a cool-off after the last failure
            return value

        for key, limit in self._counters(request, credentials):
            if ratelimit.resilient(partial(count, key=key)) == limit:
                log.warning("signin.locked", extra={"counter": key.split(":")[1]})

    def user_logged_in(self, sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
        key = counter_key("username", ratelimit.account_name(user.get_username()))
        ratelimit.resilient(partial(_delete, key=key))

    def reset_attempts(
        self,
        *,
        ip_address: str | None = None,
        username: str | None = None,
        ip_or_username: bool = False,
    ) -> int:
        """`manage.py axes_reset_ip` / `axes_reset_username`: an operator lifts a lock."""
        keys = []
        if ip_address:
            keys.append(counter_key("ip_address", ip_address))
        if username:
            keys.append(counter_key("username", ratelimit.account_name(username)))
        for key in keys:
            ratelimit.resilient(partial(_delete, key=key))
        return len(keys)


def _delete(cache: BaseCache, *, key: str) -> bool:
    return bool(cache.delete(key))


def lockout_response(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: 429 with Retry-After. The console and the portal already render
    their form with the message (status 429); elsewhere (the admin) a plain-text answer."""
    if original_response is not None and original_response.status_code == 429:
        response = original_response
    else:
        response = HttpResponse(
            str(ratelimit.SIGNIN_LOCKED_OUT),
            status=ratelimit.TOO_MANY_REQUESTS,
            content_type="text/plain; charset=utf-8",
        )
    cool_off = get_cool_off(request) or timedelta(minutes=15)
    response["Retry-After"] = str(int(cool_off.total_seconds()))
    return response
