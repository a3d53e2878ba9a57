"""The rules for the evidence sent with an answer (docs/api.md, The consent flow).

- `obtained_at` may not lie in the future: a few minutes of clock skew between the partner's
  clock and ours are tolerated (`CLOCK_SKEW`), no more; nor before the version's notice was
  posted (with the same tolerance): no one can have answered a text not yet shown;
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
from core import clock
from core.errors import Conflict, ValidationFailed

CLOCK_SKEW = timedelta(minutes=5)


def evidence_check(
    evidence: EvidenceInput | None, *, now: datetime, posted_at: datetime | None = None
) -> None:
    """Refuses evidence obtained after `now`, or before the answered version's notice was
    posted (`posted_at`; none for a version in force that was imported, never posted here),
    each beyond the tolerated skew."""
    if evidence is None or evidence.obtained_at is None:
        return
    if posted_at is not None and evidence.obtained_at < posted_at - CLOCK_SKEW:
        raise ValidationFailed(
            _("回答を得た日時が、この版のお知らせの掲示より前になっています。"),
            code="evidence_before_notice",
            field="evidence.obtained_at",
            posted_at=clock.api_instant(posted_at),  # Japan time, as every instant sent
            tolerance_seconds=int(CLOCK_SKEW.total_seconds()),
        )
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
