"""Signing webhook deliveries, and checking a signature the way a receiver should.

Every delivery is a POST with a JSON body and these headers:

- `X-Terms-Signature: t=<unix seconds>,v1=<hex>` — `<hex>` is
  HMAC-SHA256(secret, f"{t}." + body) in lowercase hex, over the exact bytes of the body.
  While a rotated-out secret is still valid (24 h after webhook_rotate_secret) a second
  `v1=` entry signed with the previous secret follows, so receivers can switch secrets
  without losing deliveries: accept the request when any `v1` matches.
- `X-Terms-Event-Id: <event id>` — the same for every retry of one event; deduplicate on it.
- `X-Terms-Event: <kind>` — e.g. `notice.posted` (core.enums.EventKind).
- `Content-Type: application/json; charset=utf-8`, `User-Agent: OPTiM-Terms-Webhook/1`.

Receivers should reject timestamps further than a few minutes from their clock (replay).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from datetime import datetime

from core import clock
from tenants.models import WebhookEndpoint

SIGNATURE_HEADER = "X-Terms-Signature"
EVENT_ID_HEADER = "X-Terms-Event-Id"
EVENT_KIND_HEADER = "X-Terms-Event"
USER_AGENT = "OPTiM-Terms-Webhook/1"
SIGNATURE_VERSION = "v1"
DEFAULT_TOLERANCE_SECONDS = 300


def webhook_signature(secret: str, timestamp: int, body: bytes) -> str:
    """HMAC-SHA256 hex of f"{timestamp}." + body under `secret`."""
    message = f"{int(timestamp)}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signing_secrets(endpoint: WebhookEndpoint, *, at: datetime | None = None) -> list[str]:
    """The current secret, then each secret rotated away while its own 24 h grace period
    lasts: the previous one, then the earlier ones (a second rotation within the grace period
    does not cut the first one's short)."""
    at = at or clock.now()
    secrets = [endpoint.secret]
    expires = endpoint.previous_secret_expires_at
    if endpoint.previous_secret and expires is not None and at < expires:
        secrets.append(endpoint.previous_secret)
    secrets += [secret for secret, until in earlier_secrets_live(endpoint, at=at)]
    return secrets


def earlier_secrets_live(endpoint: WebhookEndpoint, *, at: datetime) -> list[tuple[str, datetime]]:
    """The secrets rotated away before the previous one that still sign at `at`, newest first."""
    live = []
    for entry in getattr(endpoint, "earlier_secrets", None) or []:
        until = datetime.fromisoformat(entry["expires_at"])
        if at < until:
            live.append((str(entry["secret"]), until))
    return live


def signature_header(secrets: Iterable[str], timestamp: int, body: bytes) -> str:
    parts = [f"t={int(timestamp)}"]
    parts += [f"{SIGNATURE_VERSION}={webhook_signature(s, timestamp, body)}" for s in secrets]
    return ",".join(parts)


def webhook_headers(
    *,
    body: bytes,
    endpoint: WebhookEndpoint | None = None,
    secret: str | None = None,
    event_id: int | str | None = None,
    kind: str = "",
    timestamp: int | None = None,
    secrets_at: datetime | None = None,
) -> dict[str, str]:
    """The headers of one delivery attempt of `body` (see the module docstring).

    Pass `endpoint` so that a rotated-out secret keeps signing during its grace period; a bare
    `secret` signs with that one only. `timestamp` defaults to now: sign each attempt afresh so
    retries carry a current time. `secrets_at` is the instant the grace periods are judged at
    when it is not now: a sandbox's clock, on which its rotations' expiries were stated (the
    signature's `t=` stays real time, which receivers check their tolerance against).
    """
    # Real time even inside a sandbox's clock: receivers check `t=` against theirs.
    ts = int(clock.wall_now().timestamp()) if timestamp is None else int(timestamp)
    if endpoint is not None:
        keys = signing_secrets(endpoint, at=secrets_at or clock.now())
    elif secret:
        keys = [secret]
    else:
        raise TypeError("webhook_headers needs an endpoint or a secret")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(keys, ts, body),
    }
    if event_id is not None:
        headers[EVENT_ID_HEADER] = str(event_id)
    if kind:
        headers[EVENT_KIND_HEADER] = str(kind)
    return headers


def webhook_verify(
    *,
    secret: str,
    header: str,
    body: bytes,
    now: int | None = None,
    tolerance: int = DEFAULT_TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does: parse the header, check the age, compare every v1 in constant time."""
    timestamp: int | None = None
    candidates: list[str] = []
    for part in header.split(","):
        name, _, value = part.strip().partition("=")
        if name == "t" and value.isdigit():
            timestamp = int(value)
        elif name == SIGNATURE_VERSION and value:
            candidates.append(value)
    if timestamp is None or not candidates:
        return False
    current = int(clock.now().timestamp()) if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = webhook_signature(secret, timestamp, body)
    # Check every candidate so the time taken does not reveal which one matched.
    matches = [hmac.compare_digest(expected, c) for c in candidates]
    return any(matches)
