"""/ledger/checkpoints/: the signed checkpoints of the consent ledger and the public keys that
verify them (docs/ledger.md, "Checkpoints"), as a page and as JSON.

Published so that copies exist outside the database: anyone who saved this page can later
show that a checkpoint was removed or replaced. Only the signed statements are shown (time,
number of chains, digest over the heads), never the per-tenant heads themselves.
"""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from agreements.ledger.checkpoints import FORMAT, checkpoints_public
from agreements.ledger.keys import (
    CheckpointKeyInvalid,
    CheckpointKeyMissing,
    public_b64,
    public_pem,
    trusted_public_keys,
)
from agreements.ledger.rows import format_instant
from agreements.models import LedgerCheckpoint

logger = logging.getLogger("terms.ledger")
PAGE_SIZE = 50


def _public_keys() -> list[dict[str, str]]:
    try:
        keys = trusted_public_keys()
    except (CheckpointKeyInvalid, CheckpointKeyMissing):
        # A broken key setting is the checkpoint job's alarm to raise; this page stays up.
        logger.exception("ledger.checkpoint_public_keys_unreadable")
        return []
    return [
        {"key_id": kid, "public_key": public_b64(key), "pem": public_pem(key)}
        for kid, key in sorted(keys.items())
    ]


def _before(request: HttpRequest) -> int | None:
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() and len(value) < 10 else None


def _page(request: HttpRequest) -> tuple[list[LedgerCheckpoint], int | None]:
    checkpoints = list(checkpoints_public(before=_before(request), limit=PAGE_SIZE))
    more = len(checkpoints) == PAGE_SIZE and checkpoints[-1].number > 1
    return checkpoints, (checkpoints[-1].number if more else None)


@require_GET
def checkpoint_list(request: HttpRequest) -> HttpResponse:
    checkpoints, next_before = _page(request)
    return render(
        request,
        "agreements/public/checkpoint_list.html",
        {"checkpoints": checkpoints, "public_keys": _public_keys(), "next_before": next_before},
    )


def _item(checkpoint: LedgerCheckpoint) -> dict[str, Any]:
    return {
        "number": checkpoint.number,
        "kind": checkpoint.kind,
        "created_at": format_instant(checkpoint.created_at),
        "as_of": format_instant(checkpoint.as_of),
        "heads_count": checkpoint.heads_count,
        "heads_digest": checkpoint.heads_digest,
        "key_id": checkpoint.key_id,
        "digest": checkpoint.digest,
        "statement": checkpoint.statement,
        "signature": checkpoint.signature,
    }


@require_GET
def checkpoint_list_json(request: HttpRequest) -> JsonResponse:
    checkpoints, next_before = _page(request)
    next_url = None
    if next_before is not None:
        next_url = f"{reverse('public:checkpoint-list-json')}?before={next_before}"
    return JsonResponse(
        {
            "format": FORMAT,
            "algorithm": "Ed25519",
            "public_keys": _public_keys(),
            "checkpoints": [_item(checkpoint) for checkpoint in checkpoints],
            "next": next_url,
        },
        json_dumps_params={"ensure_ascii": False},
    )
