"""Pure domain rules: periods, deadlines, caps and the consent truth table.

No ORM, no clock, no settings: callers pass dates (JST business dates, inclusive) and
configured values in. Rule numbers (R1…R19) refer to docs/rules.md; article numbers to the
Optimal Biz terms (Biz), the OPTiM ID+ terms (ID+) and the Civil Code (CC).

One module per subject: ``periods`` (R10, R11), ``endings`` (R6, R14-R17), ``versions``
(R2, R5), ``consents`` (the truth table) and ``binding`` (R1; and R4: which version binds a
tenant). The names are re-exported here so ``from agreements import rules;
rules.period_end(...)`` keeps working.
"""

from __future__ import annotations

from agreements.rules.binding import (
    ActiveContract,
    BindableDocument,
    VersionInEffect,
    binding_documents,
    binding_version,
    is_document_binding,
    needs_individual_consent,
    on_548_4_ground,
)
from agreements.rules.consents import (
    ANSWER_NOT_ALLOWED,
    CALLER_ANSWERS,
    CASE_IN_EFFECT,
    DEEMED_NOT_ALLOWED,
    REJECT_AFTER_EFFECTIVE,
    DocumentAnswer,
    TransitionNotAllowed,
    allowed_answers,
    answer_deadline,
    answer_owed,
    consent_transition,
    gate_from,
    gate_in_force,
    is_tenant_allowed,
    reminder_send_on,
    status_after_effective,
)
from agreements.rules.endings import (
    backup_purge_due,
    claims_window_closes,
    end_status_for_reason,
    liability_cap,
    liability_cap_other_reading,
    primary_deletion_from,
    rejection_end_date,
    requested_deletion_due,
)
from agreements.rules.periods import (
    ONE_DAY,
    chained_periods,
    earliest_non_renewal_end,
    is_non_renewal_timely,
    next_period_start,
    next_possible_end,
    non_renewal_deadline,
    period_containing,
    period_end,
)
from agreements.rules.versions import (
    EFFECTIVE_BEFORE_NOTICE,
    LEAD_TIME_TOO_SHORT,
    NOTICE_IN_PAST,
    earliest_effective_on,
    is_version_effective,
    minimum_lead_days,
    revision_lapses,
    validate_schedule,
)

__all__ = [
    "ANSWER_NOT_ALLOWED",
    "CALLER_ANSWERS",
    "CASE_IN_EFFECT",
    "DEEMED_NOT_ALLOWED",
    "EFFECTIVE_BEFORE_NOTICE",
    "LEAD_TIME_TOO_SHORT",
    "NOTICE_IN_PAST",
    "ONE_DAY",
    "REJECT_AFTER_EFFECTIVE",
    "ActiveContract",
    "BindableDocument",
    "DocumentAnswer",
    "TransitionNotAllowed",
    "VersionInEffect",
    "allowed_answers",
    "answer_deadline",
    "answer_owed",
    "backup_purge_due",
    "binding_documents",
    "binding_version",
    "chained_periods",
    "claims_window_closes",
    "consent_transition",
    "earliest_effective_on",
    "earliest_non_renewal_end",
    "end_status_for_reason",
    "gate_from",
    "gate_in_force",
    "is_document_binding",
    "is_non_renewal_timely",
    "is_tenant_allowed",
    "is_version_effective",
    "liability_cap",
    "liability_cap_other_reading",
    "minimum_lead_days",
    "needs_individual_consent",
    "next_period_start",
    "next_possible_end",
    "non_renewal_deadline",
    "on_548_4_ground",
    "period_containing",
    "period_end",
    "primary_deletion_from",
    "rejection_end_date",
    "reminder_send_on",
    "requested_deletion_due",
    "revision_lapses",
    "status_after_effective",
    "validate_schedule",
]
