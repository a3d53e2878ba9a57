"""Posting outbox webhooks: the event envelope, signed afresh for each attempt, to a public
address only, one endpoint at a time and different endpoints side by side.

Isolation (docs/security.md, webhooks): the rows of one batch are grouped by endpoint; each
endpoint's rows go one after another on one worker thread (an endpoint never receives
concurrent deliveries from one batch), endpoints run in parallel on up to
TERMS_WEBHOOK_CONCURRENCY threads, and every post has one total deadline
(TERMS_WEBHOOK_TIMEOUT_SECONDS). When an endpoint cannot be reached, its remaining rows of the
batch are not tried: they back off together with the failed one (a circuit per endpoint), so a
dead endpoint costs a batch one deadline, not one per message. Rows an endpoint could not start
within the batch's budget are released untried for the next batch.
"""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from django.conf import settings

from core.models import Outbox
from tenants.delivery import transport
from tenants.delivery.destinations import DestinationRefused, destination_check
from tenants.models import WebhookEndpoint
from tenants.webhooks import webhook_headers

logger = logging.getLogger(__name__)

DEFAULT_TIMEOUT_SECONDS = 10.0
DEFAULT_CONCURRENCY = 8


@dataclass
class SendResult:
    ok: bool
    status_code: int | None = None
    error: str = ""
    duration_ms: int = 0
    permanent: bool = False  # no point retrying (endpoint gone, disabled or not allowed)
    unreachable: bool = False  # no HTTP answer: the endpoint's other rows wait with this one
    untried: bool = False  # never sent: the claim is given back without counting an attempt
    wait_for: int | None = None  # untried because of this row: retry when it retries
    logged_only: bool = False  # a development mail backend took it: shown, delivered to nobody


def elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def webhook_timeout() -> float:
    return float(getattr(settings, "TERMS_WEBHOOK_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))


def webhook_concurrency() -> int:
    return max(1, int(getattr(settings, "TERMS_WEBHOOK_CONCURRENCY", DEFAULT_CONCURRENCY)))


def webhook_body(outbox: Outbox) -> bytes:
    """The exact bytes POSTed (and signed): the event envelope queued with the outbox row."""
    return json.dumps(
        outbox.payload, ensure_ascii=False, sort_keys=True, separators=(",", ":")
    ).encode()


def _event_id(outbox: Outbox) -> int | str:
    """The event id of a delivery: the envelope's `id` (rows queued before the envelope
    carried `event_id`)."""
    payload = outbox.payload if isinstance(outbox.payload, dict) else {}
    found = payload.get("id", payload.get("event_id"))
    return found if found is not None else (outbox.event_id or outbox.pk)


def webhook_post(outbox: Outbox, endpoint: WebhookEndpoint | None) -> SendResult:
    """POST the event to the partner's endpoint, signed over timestamp and body (each attempt
    signed afresh; the event id header stays the same so receivers can deduplicate).

    The URL is checked again now (its name may resolve elsewhere since registration), the
    connection goes to an address that check approved, a redirect is a failed attempt and the
    whole exchange has one deadline.
    """
    started = time.monotonic()
    if endpoint is None or not endpoint.is_active:
        return SendResult(ok=False, error="endpoint disabled or removed", permanent=True)
    try:
        destination = destination_check(endpoint.url)
    except DestinationRefused as exc:
        return SendResult(
            ok=False,
            error=f"destination refused ({exc.code}): {exc}",
            duration_ms=elapsed_ms(started),
            permanent=exc.permanent,
            unreachable=True,
        )
    body = webhook_body(outbox)
    headers = webhook_headers(
        body=body,
        endpoint=endpoint,
        event_id=_event_id(outbox),
        kind=outbox.kind,
        # A sandbox's row: its rotated secrets expire on the sandbox's clock (read with the
        # claim), as the API states their expiry.
        secrets_at=getattr(outbox, "sandbox_clock", None),
    )
    try:
        code = transport.post(destination, body=body, headers=headers, timeout=webhook_timeout())
    except DestinationRefused as exc:
        return SendResult(
            ok=False,
            error=f"destination refused ({exc.code}): {exc}",
            duration_ms=elapsed_ms(started),
            unreachable=True,
        )
    except OSError as exc:  # includes the deadline, TLS and connection errors
        return SendResult(
            ok=False,
            error=f"{type(exc).__name__}: {exc}",
            duration_ms=elapsed_ms(started),
            unreachable=True,
        )
    ok = 200 <= code < 300
    return SendResult(
        ok=ok, status_code=code, error="" if ok else f"HTTP {code}", duration_ms=elapsed_ms(started)
    )


def _post_endpoint_rows(
    rows: list[Outbox], endpoint: WebhookEndpoint | None, *, start_by: float
) -> dict[int, SendResult]:
    """One endpoint's rows of a batch, in order, stopping at the first unreachable answer."""
    results: dict[int, SendResult] = {}
    failed: tuple[int, str] | None = None
    for row in rows:
        if failed is not None:
            results[row.id] = SendResult(
                ok=False, error=failed[1], untried=True, unreachable=True, wait_for=failed[0]
            )
            continue
        if time.monotonic() > start_by:
            results[row.id] = SendResult(ok=False, error="batch budget spent", untried=True)
            continue
        started = time.monotonic()
        try:
            result = webhook_post(row, endpoint)
        except Exception as exc:  # any failure is retried with backoff, as for e-mail
            logger.warning("outbox %s: webhook failed: %s", row.pk, exc)
            result = SendResult(
                ok=False, error=f"{type(exc).__name__}: {exc}", duration_ms=elapsed_ms(started)
            )
        results[row.id] = result
        # A permanent refusal (disabled, plain http, an inside literal) is decided without the
        # network, so the other rows are decided the same way; only waiting opens the circuit.
        if result.unreachable and not result.permanent:
            failed = (
                row.id,
                f"not tried: the endpoint failed earlier in this batch ({result.error})",
            )
    return results


class WebhookBatch:
    """The webhook rows of one batch, posted in the background while e-mail goes out."""

    def __init__(self, rows: list[Outbox], endpoints: dict[int, WebhookEndpoint]) -> None:
        groups: dict[int, list[Outbox]] = defaultdict(list)
        for row in rows:
            groups[row.webhook_endpoint_id or 0].append(row)
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future[dict[int, SendResult]]] = []
        if not groups:
            return
        # A group may start a post only within one deadline of the batch's start, so a batch
        # lasts at most about two deadlines however many rows one endpoint has.
        start_by = time.monotonic() + webhook_timeout()
        self._pool = ThreadPoolExecutor(
            max_workers=min(webhook_concurrency(), len(groups)), thread_name_prefix="webhook"
        )
        self._futures = [
            self._pool.submit(_post_endpoint_rows, group, endpoints.get(key), start_by=start_by)
            for key, group in groups.items()
        ]

    def results(self) -> dict[int, SendResult]:
        """Wait for every endpoint's rows; one result per outbox row id."""
        merged: dict[int, SendResult] = {}
        try:
            for future in self._futures:
                merged.update(future.result())
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
        return merged
