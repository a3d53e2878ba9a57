"""Old import path of the outbox delivery, kept only until its last callers move.

The doorbell is `core.outbox`; delivery itself (rendering, sending, retries, dead letters) is
`tenants.delivery`. Core may not import tenants, so the moved names are looked up by module name
on first use instead of imported: this module adds no import edge, and it goes away once
nothing imports it.
"""

from __future__ import annotations

import importlib
from typing import Any

from core.outbox import delivery_ring_on_commit

# name -> the module that holds it now
_MOVED = {
    "outbox_deliver_due": "tenants.delivery.outbox",
    "outbox_deliver_batch": "tenants.delivery.outbox",
    "outbox_retry": "tenants.delivery.outbox",
    "retry_delay": "tenants.delivery.outbox",
    "email_render": "tenants.delivery.email",
    "email_message": "tenants.delivery.email",
    "portal_links": "tenants.delivery.email",
    "webhook_body": "tenants.delivery.webhooks",
    "webhook_post": "tenants.delivery.webhooks",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(importlib.import_module(_MOVED[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["delivery_ring_on_commit", *_MOVED]
