"""What the schedule step checks (R2, R4, R7): one definition for the final step, which
refuses with the first problem under its lock, and for the console's review step, which
shows every problem at once before the notice e-mail preview."""

from __future__ import annotations

from datetime import date

from django.utils.translation import gettext

from agreements import rules
from agreements.enums import ConsentMode, LegalBasis, VersionStatus
from agreements.models import Article, TermsVersion
from agreements.selectors.versions import version_in_force
from agreements.services.consents.reach import lead_days_for
from agreements.services.version_text import version_diff, version_predecessor
from agreements.templatetags.jdates import format_date
from core import clock
from core.errors import DomainError, ValidationFailed


def _schedule_problems(
    *, notice_on: date, effective_on: date, today: date, lead_days: int, reasonable: bool = False
) -> ValidationFailed | None:
    problems = rules.validate_schedule(
        notice_on=notice_on, effective_on=effective_on, today=today, lead_days=lead_days
    )
    if not problems:
        return None
    earliest = rules.earliest_effective_on(notice_on=notice_on, lead_days=lead_days)
    # Dates as people read them (the one formatter, agreements/templatetags/jdates.py).
    values = {
        "notice_on": format_date(notice_on, weekday=True),
        "effective_on": format_date(effective_on, weekday=True),
        "today": format_date(today, weekday=True),
        "lead": lead_days,
        "earliest": format_date(earliest, weekday=True),
    }
    texts = {
        rules.NOTICE_IN_PAST: gettext("掲示日 %(notice_on)s は本日 %(today)s より前です。"),
        rules.EFFECTIVE_BEFORE_NOTICE: gettext(
            "効力発生日 %(effective_on)s は掲示日 %(notice_on)s より後にしてください。"
        ),
        rules.LEAD_TIME_TOO_SHORT: (
            gettext(
                "契約の目的に照らして合理的な変更（民法548条の4第1項2号）は、"
                "効力発生日を掲示日から%(lead)s日以上後（%(earliest)s 以降）にしてください。"
            )
            if reasonable
            else gettext(
                "効力発生日は掲示日から%(lead)s日以上後（%(earliest)s 以降）にしてください。"
            )
        ),
    }
    return ValidationFailed(
        " ".join(texts[p] % values for p in problems),
        code=problems[0],
        problems=problems,
        earliest_effective_on=earliest.isoformat(),
    )


# R4: the smallest grace period a gating policy may give after the effective date.
GATING_MIN_GRACE_DAYS = 1


def gating_policy(
    *, enabled: bool, rationale: str, grace_days: int | None, consent_mode: str
) -> tuple[bool, str, int | None]:
    """The version's gating policy as it will be stored (R4): off by default; on only for an
    explicit-consent revision, with a legal rationale and a grace period."""
    if not enabled:
        return False, "", None
    if consent_mode != ConsentMode.EXPLICIT:
        raise ValidationFailed(
            gettext("利用制限の方針は「明示の同意」方式の改定にのみ設定できます。"),
            code="gating_needs_explicit",
        )
    if not (rationale or "").strip():
        raise ValidationFailed(
            gettext(
                "利用制限の方針には、回答のないお客様の利用を制限できる法的根拠を入力してください。"
            ),
            code="gating_rationale_required",
        )
    if grace_days is None or grace_days < GATING_MIN_GRACE_DAYS:
        raise ValidationFailed(
            gettext("利用制限までの猶予期間を%(days)s日以上で入力してください。")
            % {"days": GATING_MIN_GRACE_DAYS},
            code="gating_grace_required",
        )
    return True, rationale.strip(), grace_days


def schedule_refusals(
    *,
    version: TermsVersion,
    notice_on: date,
    effective_on: date,
    consent_mode: str,
    legal_basis: str,
    rationale: str,
    gating_enabled: bool = False,
    gating_rationale: str = "",
    gating_grace_days: int | None = None,
) -> list[DomainError]:
    """Every reason scheduling `version` with these values is refused, in the order the
    final step checks them (it raises the first). Who may schedule (four eyes) and whether
    the reviewed text changed are the final step's own checks."""
    refusals: list[DomainError] = []
    if legal_basis not in LegalBasis.values:
        refusals.append(
            ValidationFailed(
                gettext(
                    "法的根拠（民法548条の4第1項1号・2号、又は個別の同意）を選択してください。"
                ),
                code="legal_basis_required",
            )
        )
    if not (rationale or "").strip():
        refusals.append(
            ValidationFailed(
                gettext("変更の必要性・相当性（変更の理由）を入力してください。"),
                code="rationale_required",
            )
        )
    if consent_mode not in ConsentMode.values:
        refusals.append(
            ValidationFailed(gettext("同意の方式が正しくありません。"), code="invalid_mode")
        )
    if legal_basis == LegalBasis.EXPLICIT_CONSENT and consent_mode != ConsentMode.EXPLICIT:
        # R2: a change that is neither in the general interest nor reasonable needs
        # each customer's consent (R4), never deemed consent.
        refusals.append(
            ValidationFailed(
                gettext("個別の同意による変更は「明示の同意」方式でのみ予定登録できます。"),
                code="explicit_consent_required",
            )
        )
    try:
        gating_policy(
            enabled=gating_enabled,
            rationale=gating_rationale,
            grace_days=gating_grace_days,
            consent_mode=consent_mode,
        )
    except ValidationFailed as error:
        refusals.append(error)
    problem = _schedule_problems(
        notice_on=notice_on,
        effective_on=effective_on,
        today=clock.today(),
        # R2: the lead time of the revision's basis, checked here against the planned notice
        # date so that a type-(ii) change is not accepted only to lapse at its effective date.
        # (An unknown basis, refused above, is measured by the general lead time.)
        lead_days=lead_days_for(legal_basis if legal_basis in LegalBasis.values else ""),
        reasonable=legal_basis == LegalBasis.REASONABLE,
    )
    if problem is not None:
        refusals.append(problem)
    if version.is_excerpt:
        # R2 posts the new text itself; an excerpt (only the passages a notice quoted) is
        # not the whole text a customer agrees to.
        refusals.append(
            ValidationFailed(
                gettext("抜粋の版は予定登録できません。全文を取り込んでから改定してください。"),
                code="excerpt_not_schedulable",
            )
        )
    if not Article.objects.filter(version=version).exists():
        refusals.append(
            ValidationFailed(gettext("条のない版は予定登録できません。"), code="empty_version")
        )
    base = version.based_on
    if base is not None and base.status in (VersionStatus.WITHDRAWN, VersionStatus.LAPSED):
        # R7: the base never took effect, and customers were told so; a draft built on it
        # would bring its withdrawn changes back (by silence, in deemed mode) unannounced.
        refusals.append(
            ValidationFailed(
                gettext(
                    "この改定案の元にした版「%(label)s」は%(status)sのため、予定登録できません。"
                    "現在有効な版を元に改定案を作り直すか、元の版の変更を残すかを確認してください。"
                )
                % {"label": base.label, "status": base.get_status_display()},
                code="based_on_withdrawn",
                based_on=base.pk,
            )
        )
    current = version_in_force(document=version.document, on_date=clock.today())
    if current is not None and current.effective_on and effective_on <= current.effective_on:
        refusals.append(
            ValidationFailed(
                gettext("効力発生日は現行の版（%(current)s）より後にしてください。")
                % {"current": format_date(current.effective_on, weekday=True)},
                code="effective_not_after_current",
            )
        )
    predecessor = version_predecessor(version)
    if not version_diff(before=predecessor, after=version).has_changes:
        refusals.append(
            ValidationFailed(gettext("元の版から変更がありません。"), code="no_changes")
        )
    other = (
        TermsVersion.objects.filter(document=version.document, status=VersionStatus.SCHEDULED)
        .exclude(pk=version.pk)
        .first()
    )
    if other is not None:
        refusals.append(
            ValidationFailed(
                gettext(
                    "この文書にはすでに予定登録済みの版（%(label)s）があります。撤回してから登録してください。"
                )
                % {"label": other.label},
                code="already_scheduled",
                scheduled_version=other.pk,
            )
        )
    return refusals
