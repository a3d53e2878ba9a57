"""Consents, by transition: `answers` (the consent truth table), `cases` (R6 termination
cases), `effective` (the effective-date job: R3 deemed, R4 outstanding) and `projection`
(ConsentState: opened on posting, written with each answer, rebuilt from the ledger).

Re-exports what callers outside the package import from `agreements.services.consents`.
"""

from __future__ import annotations

from agreements.ledger.rows import GENESIS_HASH, EvidenceInput
from agreements.services.consents.answers import answer_context_entry, consent_answer
from agreements.services.consents.cases import case_confirm, case_drop, cases_drop_for_version
from agreements.services.consents.effective import consents_apply_effective
from agreements.services.consents.projection import consent_state_rebuild, consent_states_open
from agreements.services.consents.reach import notice_delivery_record, notice_seen_in_portal

__all__ = [
    "GENESIS_HASH",
    "EvidenceInput",
    "answer_context_entry",
    "case_confirm",
    "case_drop",
    "cases_drop_for_version",
    "consent_answer",
    "consent_state_rebuild",
    "consent_states_open",
    "consents_apply_effective",
    "notice_delivery_record",
    "notice_seen_in_portal",
]
