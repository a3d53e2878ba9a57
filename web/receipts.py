"""Receipts: one ledger row as a printable page and as a PDF (weasyprint), and the row-level
integrity check the receipt and the public /verify/ page show; and the receipt of each
customer request (non-renewal, termination, deletion; R13) with a digest of what was filed.

The PDF embeds a subset of Noto Sans CJK JP (fonts-noto-cjk), so the Japanese text shows
on any viewer: a receipt is evidence and must not depend on the reader's fonts (P1).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from agreements.enums import NoticeRoute
from agreements.ledger.rows import NOTICE_REACHED_KEY, record_is_intact
from agreements.models import ConsentRecord, TermsVersion
from agreements.selectors.consents import binding_versions_for_tenants


@dataclass(frozen=True)
class NoticeReached:
    """How the notice a deemed consent relies on reached the tenant (R3), as the ledger row
    cites it: route, instant and the record (outbox message or recorded delivery)."""

    route: NoticeRoute
    reached_at: datetime
    ref: str


def notice_reached(record: ConsentRecord) -> NoticeReached | None:
    """The row's `notice_reached` citation ("route@instant#ref") read back for the receipt;
    None for a row that cites none (answers, rows written before reachability) or one that
    does not parse (shown as nothing rather than as a guess)."""
    citation = (record.evidence_digests or {}).get(NOTICE_REACHED_KEY)
    if not isinstance(citation, str) or "@" not in citation or "#" not in citation:
        return None
    route, rest = citation.split("@", 1)
    instant, ref = rest.rsplit("#", 1)
    try:
        reached_at = datetime.strptime(instant, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        return NoticeReached(route=NoticeRoute(route), reached_at=reached_at, ref=ref)
    except ValueError:
        return None


def receipt_context(record: ConsentRecord) -> dict[str, Any]:
    """What a receipt shows: who, when, which version with its body hash, channel, chain."""
    # None once redacted (R15) or for a system row; the digests stay in the chain either way.
    # (RelatedObjectDoesNotExist is an AttributeError, so getattr's default applies.)
    evidence = getattr(record, "evidence", None)
    return {
        "record": record,
        "tenant": record.tenant,
        "document": record.document,
        "version": record.version,
        "evidence": evidence,
        "intact": record_is_intact(record),
        "notice_reached": notice_reached(record),
        "binding_before": binding_before(record),
    }


def binding_before(record: ConsentRecord) -> TermsVersion | None:
    """The version of the document that bound the tenant before the answered version took
    effect (R4): what the answer changes from. None when no recorded version did."""
    version = record.version
    return binding_versions_for_tenants(
        document=record.document, tenant_ids=[record.tenant_id], before=version.effective_on
    )[record.tenant_id]


def render_receipt_pdf(record: ConsentRecord, *, language: str, verify_url: str) -> bytes:
    """The receipt as a PDF in `language`, fonts embedded."""
    from weasyprint import HTML  # noqa: PLC0415 -- heavy import, only for this download

    with translation.override(language):
        html = render_to_string(
            "agreements/portal/receipt_pdf.html",
            {**receipt_context(record), "verify_url": verify_url, "LANGUAGE_CODE": language},
        )
    return HTML(string=html).write_pdf()


# --- Receipts for customer requests (R13) ----------------------------------------------------
# A non-renewal, a termination or a deletion request is not a ledger row (the chain records
# answers to versions), so its receipt carries a digest of what was filed instead of a chain
# hash: the SHA-256 of the request's canonical fields, recomputed on every display, so a
# printed receipt can be compared with what the service holds.

_REQUEST_FIELDS = {
    "non-renewal": ("requested_on", "end_date", "deadline", "actor_kind", "channel"),
    "termination": ("end_date", "reason", "actor_kind", "channel"),
    "deletion": ("requested_on", "due_on"),
}


def _filed_at(kind: str, obj: Any) -> Any:
    return obj.created_at if kind == "deletion" else obj.requested_at


def request_digest(kind: str, obj: Any) -> str:
    """SHA-256 of the request as filed: kind, ids, filing instant and its own dates."""
    body: dict[str, Any] = {
        "kind": kind,
        "id": obj.pk,
        "tenant": obj.tenant_id,
        "contract": obj.contract_id,
        "filed_at": _filed_at(kind, obj).isoformat(),
    }
    for name in _REQUEST_FIELDS[kind]:
        value = getattr(obj, name)
        body[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def request_receipt_context(kind: str, obj: Any) -> dict[str, Any]:
    """What a request's receipt shows: who filed what, when, for which contract, and its dates."""
    person = getattr(obj, "actor_user", None) or getattr(obj, "requested_by", None)
    return {
        "kind": kind,
        "req": obj,
        "contract": obj.contract,
        "tenant": obj.tenant,
        "filed_at": _filed_at(kind, obj),
        "person": person,
        "number": f"{kind.upper()}-{obj.pk}",
        "digest": request_digest(kind, obj),
    }


def render_request_receipt_pdf(kind: str, obj: Any, *, language: str) -> bytes:
    """A request's receipt as a PDF in `language`, fonts embedded (as a consent receipt)."""
    from weasyprint import HTML  # noqa: PLC0415 -- heavy import, only for this download

    with translation.override(language):
        html = render_to_string(
            "agreements/portal/request_receipt_pdf.html",
            {**request_receipt_context(kind, obj), "LANGUAGE_CODE": language},
        )
    return HTML(string=html).write_pdf()
