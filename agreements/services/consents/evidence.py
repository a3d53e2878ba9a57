"""The rules for the evidence sent with an answer (docs/api.md, The consent flow).

- `obtained_at` may not lie in the future: a few minutes of clock skew between the partner's
  clock and ours are tolerated (`CLOCK_SKEW`), no more;
- a repeat of the answer on record keeps the first answer's evidence. Where the caller supplies
  the evidence (the API) a repeat that brings the same evidence (a retry) returns the record,
  one that brings other evidence is refused (`answer_evidence_differs`) instead of being
  dropped in silence. The portal and the demo, whose evidence the service makes itself, keep
  the first without refusing a double submission.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

from agreements.ledger.rows import EVIDENCE_FIELDS, EvidenceInput
from agreements.models import ConsentEvidence, ConsentRecord
from core.errors import Conflict, ValidationFailed

CLOCK_SKEW = timedelta(minutes=5)


def evidence_check(evidence: EvidenceInput | None, *, now: datetime) -> None:
    """Refuses evidence obtained after `now` (plus the tolerated skew)."""
    if evidence is None or evidence.obtained_at is None:
        return
    if evidence.obtained_at > now + CLOCK_SKEW:
        raise ValidationFailed(
            _("回答を得た日時が未来になっています。"),
            code="evidence_in_future",
            field="evidence.obtained_at",
            tolerance_seconds=int(CLOCK_SKEW.total_seconds()),
        )


def evidence_repeat_check(record: ConsentRecord, evidence: EvidenceInput | None) -> None:
    """A repeated answer may bring no evidence, or the evidence already on record."""
    if evidence is None:
        return
    stored = ConsentEvidence.objects.filter(record=record).first()
    if stored is not None and all(
        getattr(stored, name) == getattr(evidence, name) for name in EVIDENCE_FIELDS
    ):
        return  # the same instant in another offset is the same evidence
    raise Conflict(
        _(
            "この回答はすでに記録されています。別の証跡は保存されません（記録済みの証跡が有効です）。"
        ),
        code="answer_evidence_differs",
        record_id=record.pk,
    )
