"""Consent receipts: one ledger row as a printable page and as a PDF (weasyprint), and the
row-level integrity check the receipt and the public /verify/ page show.

The PDF embeds a subset of Noto Sans CJK JP (fonts-noto-cjk), so the Japanese text shows
on any viewer: a receipt is evidence and must not depend on the reader's fonts (P1).
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from agreements.ledger.rows import record_is_intact
from agreements.models import ConsentRecord


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
    }


def render_receipt_pdf(record: ConsentRecord, *, language: str, verify_url: str) -> bytes:
    """The receipt as a PDF in `language`, fonts embedded."""
    from weasyprint import HTML  # noqa: PLC0415 -- heavy import, only for this download

    with translation.override(language):
        html = render_to_string(
            "agreements/portal/receipt_pdf.html",
            {**receipt_context(record), "verify_url": verify_url, "LANGUAGE_CODE": language},
        )
    return HTML(string=html).write_pdf()
