"""Posting an outbox webhook: the event envelope, signed afresh for each attempt."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass

from core.models import Outbox
from tenants.models import WebhookEndpoint
from tenants.webhooks import webhook_headers

WEBHOOK_TIMEOUT_SECONDS = 10


@dataclass
class SendResult:
    ok: bool
    status_code: int | None = None
    error: str = ""
    duration_ms: int = 0
    permanent: bool = False  # no point retrying (endpoint gone or disabled)


def elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def webhook_body(outbox: Outbox) -> bytes:
    """The exact bytes POSTed (and signed): the event envelope queued with the outbox row."""
    return json.dumps(
        outbox.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()


def webhook_post(outbox: Outbox, endpoint: WebhookEndpoint | None) -> SendResult:
    """POST the event to the partner's endpoint, signed over timestamp and body (each attempt
    signed afresh; the event id header stays the same so receivers can deduplicate)."""
    started = time.monotonic()
    if endpoint is None or not endpoint.is_active:
        return SendResult(ok=False, error="endpoint disabled or removed", permanent=True)
    body = webhook_body(outbox)
    headers = webhook_headers(
        body=body,
        endpoint=endpoint,
        event_id=outbox.payload.get("event_id", outbox.event_id or outbox.pk),
        kind=outbox.kind,
    )
    request = urllib.request.Request(endpoint.url, data=body, headers=headers, method="POST")  # noqa: S310 -- URLs are validated at registration
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            code = response.status
    except urllib.error.HTTPError as exc:
        code = exc.code
    except (urllib.error.URLError, OSError) as exc:
        return SendResult(
            ok=False, error=f"{type(exc).__name__}: {exc}", duration_ms=elapsed_ms(started)
        )
    ok = 200 <= code < 300
    return SendResult(
        ok=ok, status_code=code, error="" if ok else f"HTTP {code}", duration_ms=elapsed_ms(started)
    )
