"""Receipts: one ledger row as a printable page and as a PDF (weasyprint), and the row-level
integrity check the receipt and the public /verify/ page show; and the receipt of each
customer request (non-renewal, termination, deletion; R13) with a digest of what was filed.

The PDF embeds a subset of Noto Sans CJK JP (fonts-noto-cjk), so the Japanese text shows
on any viewer: a receipt is evidence and must not depend on the reader's fonts (P1).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from agreements.enums import Answer, NoticeRoute
from agreements.ledger.requests import filed_at, request_digest
from agreements.ledger.rows import NOTICE_REACHED_KEY, record_is_intact
from agreements.models import ConsentRecord, TermsVersion
from agreements.selectors.consents import binding_versions_for_tenants
from agreements.selectors.receipts import request_receipt_by_digest
from agreements.services.consents.citing import objection_flow
from core.clock import TOKYO


def verify_url() -> str:
    """The public /verify/ page as printed on receipts: on the configured public base URL
    (TERMS_PORTAL_BASE_URL, as in e-mails), never the host a request happened to reach."""
    return str(settings.TERMS_PORTAL_BASE_URL).rstrip("/") + reverse("verify")


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


def verify_link(digest: str) -> str:
    """The /verify/ address with this receipt's hash or digest filled in: printed on the PDF,
    where nobody can copy a 64-character hash by hand."""
    return f"{verify_url()}?hash={digest}"


def receipt_file_name(record: ConsentRecord) -> str:
    """A consent receipt's PDF name that says what it is: the answer, the product and the
    day recorded, and its number in the tenant's ledger (ASCII, safe on every file system)."""
    day = record.recorded_at.astimezone(TOKYO).date().isoformat()
    return f"receipt-{record.answer}-{record.document.product.code}-{day}-no{record.seq}.pdf"


def request_receipt_file_name(kind: str, obj: Any) -> str:
    """A request receipt's PDF name: the kind of request, the product, the day filed and its
    receipt number."""
    day = filed_at(kind, obj).astimezone(TOKYO).date().isoformat()
    return f"receipt-{kind}-{obj.contract.product.code}-{day}-no{obj.pk}.pdf"


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
        # A rejection of a deemed-consent revision is an objection (R3): named so everywhere.
        "objection": record.answer == Answer.REJECTED and objection_flow(record.version),
        "evidence": evidence,
        "intact": record_is_intact(record),
        "notice_reached": notice_reached(record),
        "binding_before": binding_before(record),
        "verify_url": verify_url(),
        "verify_link": verify_link(record.hash),
    }


def binding_before(record: ConsentRecord) -> TermsVersion | None:
    """The version of the document that bound the tenant before the answered version took
    effect (R4): what the answer changes from. None when no recorded version did."""
    version = record.version
    return binding_versions_for_tenants(
        document=record.document, tenant_ids=[record.tenant_id], before=version.effective_on
    )[record.tenant_id]


def render_receipt_pdf(record: ConsentRecord, *, language: str) -> bytes:
    """The receipt as a PDF in `language`, fonts embedded."""
    from weasyprint import HTML  # noqa: PLC0415 -- heavy import, only for this download

    with translation.override(language):
        html = render_to_string(
            "agreements/portal/receipt_pdf.html",
            {**receipt_context(record), "LANGUAGE_CODE": language},
        )
    return HTML(string=html).write_pdf()


# --- Receipts for customer requests (R13) ----------------------------------------------------
# A non-renewal, a termination or a deletion request is not a ledger row (the chain records
# answers to versions), so its receipt carries the digest of what was filed
# (agreements.ledger.requests), stored when it was filed and recomputed on every display;
# /verify/ finds it like a ledger row's hash.


@dataclass(frozen=True)
class FilerShown:
    """The filer as a request's receipt names them. `recorded`: as stored at filing (name,
    title, address); otherwise the request predates that record and only the account's
    address is given, since its name and title today may not be those it had then."""

    name: str
    title: str
    email: str
    recorded: bool


def request_filer(obj: Any) -> FilerShown | None:
    """Who filed `obj`, as stored when it was filed (R13); None when nobody is named (a
    partner key, the system, or removed by the redaction at the backup purge, R15)."""
    if obj.filer_name is not None:
        name, email = obj.filer_name or "", obj.filer_email or ""
        if not (name or email):
            return None
        # A person without a full name was named by their address (or account name) alone.
        if name == email:
            name = ""
        return FilerShown(name=name, title=obj.filer_title or "", email=email, recorded=True)
    # Filed before the filer was recorded: the account's address only.
    person = getattr(obj, "actor_user", None) or getattr(obj, "requested_by", None)
    if person is None:
        return None
    address = person.email or person.get_username()
    return FilerShown(name="", title="", email=address, recorded=False) if address else None


def request_receipt_context(kind: str, obj: Any) -> dict[str, Any]:
    """What a request's receipt shows: who filed what, when, for which contract, and its dates.
    The filer is named as a consent receipt names the answerer: name and title (役職) as they
    were when the request was filed (stored with it), never as the profile says now."""
    digest = request_digest(kind, obj)
    receipt = request_receipt_by_digest(digest)
    return {
        "kind": kind,
        "req": obj,
        "contract": obj.contract,
        "tenant": obj.tenant,
        "filed_at": filed_at(kind, obj),
        "filer": request_filer(obj),
        "number": f"{kind.upper()}-{obj.pk}",
        "digest": digest,
        # Issued when filed; the digest recomputed now still matches it.
        "verifiable": receipt is not None,
        "verify_url": verify_url(),
        "verify_link": verify_link(digest),
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
