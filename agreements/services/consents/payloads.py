"""What the answer-recorded and case e-mails say: the facts recorded (version, answer, time,
tenant, product, ledger number) and what they lead to, so that the message stands on its own
without a visit to the portal (JSON-serialisable; dates as ISO strings)."""

from __future__ import annotations

from typing import Any

from django.conf import settings

from agreements.models import ConsentRecord, Contract, TerminationCase, TermsVersion
from agreements.rules import needs_individual_consent, rejection_end_date
from agreements.services.notice_payloads import binding_facts
from core import clock


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def version_facts(version: TermsVersion) -> dict[str, Any]:
    """The revision an answer or a case is about: document, product, label, dates, basis."""
    product = version.document.product
    return {
        "version_id": version.pk,
        "version_label": version.label,
        # What customers read (the e-mails use it): never the internal working label.
        "version_name": version.display_name,
        "document_id": version.document_id,
        "document": version.document.title,
        "product": product.code,
        "product_name": product.name,
        "product_name_en": product.name_en,
        "effective_on": _iso(version.effective_on),
        "consent_mode": version.consent_mode,
        "legal_basis": version.legal_basis,
        # R4: a tenant that has not accepted such a revision stays bound by the version before.
        "needs_consent": needs_individual_consent(
            legal_basis=version.legal_basis,
            consent_mode=version.consent_mode,
            historical=version.is_historical,
        ),
    }


def answer_payload(
    *,
    record: ConsentRecord,
    version: TermsVersion,
    binding: TermsVersion | None,
    status: str,
    version_effective: bool,
    case_grounded: bool,
) -> dict[str, Any]:
    """The answer-recorded message: what was recorded and whether the rejection grounds an R6
    case (one per bound active contract, opened with it)."""
    return {
        **version_facts(version),
        **binding_facts(binding),
        "record_id": record.pk,
        "seq": record.seq,
        "answer": str(record.answer),
        "status": str(status),
        "channel": str(record.channel),
        "recorded_at": clock.api_instant(record.recorded_at),
        "version_effective": version_effective,
        "case_grounded": case_grounded,
    }


def case_payload(case: TerminationCase, contract: Contract | None = None) -> dict[str, Any]:
    """A termination case's message: the contract, the revision and the rejection behind it."""
    version = case.version
    contract = contract or case.contract
    payload = {
        **version_facts(version),
        "case_id": case.pk,
        "contract_id": contract.pk,
        "order_ref": contract.order_ref,
    }
    rejection = case.rejection
    if rejection is not None:
        payload["rejection_seq"] = rejection.seq
        payload["rejected_at"] = clock.api_instant(rejection.recorded_at)
    return payload


def case_opened_payload(case: TerminationCase, contract: Contract) -> dict[str, Any]:
    """R6: a case opened today ends the contract, if staff confirm it, no earlier than this."""
    notice_days = settings.TERMS_TERMINATION_NOTICE_DAYS
    assert case.version.effective_on is not None  # noqa: S101 -- posted versions are dated
    earliest = rejection_end_date(
        effective_on=case.version.effective_on,
        confirmed_on=clock.today(),
        notice_days=notice_days,
    )
    return {
        **case_payload(case, contract),
        "earliest_end": earliest.isoformat(),
        "notice_days": notice_days,
    }
