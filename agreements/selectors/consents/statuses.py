"""A tenant's consent statuses per bound document (portal, API, console): the consent truth
table read from the projection, the versions and the live R6 cases."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

from django.utils.translation import gettext as _

from agreements.enums import Answer, CaseStatus, ConsentMode, ConsentStatus, VersionStatus
from agreements.models import (
    ConsentRecord,
    ConsentState,
    TerminationCase,
    TermsDocument,
    TermsVersion,
)
from agreements.rules import (
    allowed_answers,
    answer_owed,
    is_version_effective,
    on_548_4_ground,
    status_after_effective,
)
from agreements.selectors.consents.access import tenant_in_scope
from agreements.selectors.consents.binding import IN_EFFECT, accepted_versions, binding_of
from agreements.selectors.consents.bound import ContractSpan, bound_documents, contract_spans
from core import clock

if TYPE_CHECKING:
    from tenants.models import Tenant
    from tenants.scope import Scope


def consent_status_label(status: str, *, legal_basis: str = "") -> str:
    """A tenant's status for a version as people read it. A revision on a CC 548-4(1) ground
    applies from its effective date whatever the tenant answered (R2, R4): an unanswered one
    is not "not consented, overdue" but simply unanswered while it applies."""
    if status == ConsentStatus.OUTSTANDING and on_548_4_ground(legal_basis):
        return _("回答なし（改定は適用されています）")
    return str(ConsentStatus(status).label)


LIVE_CASE_STATUSES = (CaseStatus.OPEN, CaseStatus.CONFIRMED)


@dataclass(frozen=True)
class DocumentStatus:
    """Where a tenant stands with one bound document (docs/rules.md, consent truth table)."""

    document: TermsDocument
    version: TermsVersion | None  # the latest posted version: what an answer answers
    version_in_force: TermsVersion | None
    pending_version: TermsVersion | None  # posted, not yet effective
    effective_on: date | None
    consent_mode: str | None
    status: ConsentStatus
    allowed_answers: frozenset[Answer]
    # Last day an answer still answers the pending change (the day before it takes effect).
    deadline: date | None
    record: ConsentRecord | None
    case: TerminationCase | None
    # Whether the tenant owes an answer to `version` at all (R4): one of its contracts binds it
    # on the version's effective date. A version that took effect before the tenant's contract
    # began, or takes effect after it ends, asks nothing of it: no answer is offered and it is
    # never pending, `no_answer` or `outstanding` for it.
    owed: bool = True
    # The version that binds the tenant (R4): the one in force, or the one before it for a
    # tenant that has not accepted a revision put to explicit consent. None: none recorded.
    binding_version: TermsVersion | None = None
    # The status split per version, as the products' status check gives it: the tenant's
    # standing on the version in force (None without one) and its answer to the pending
    # version (None without one). `status` is the one of `version`, whichever that is.
    version_status: ConsentStatus | None = None
    pending_version_status: ConsentStatus | None = None

    @property
    def binding_differs(self) -> bool:
        """Whether the tenant is bound by another version than the one in force (R4)."""
        return (
            self.binding_version is not None
            and self.version_in_force is not None
            and self.binding_version.pk != self.version_in_force.pk
        )


def latest_posted(versions: list[TermsVersion]) -> TermsVersion | None:
    """The posted scheduled version if any, else the version in force."""
    pending = [v for v in versions if v.status == VersionStatus.SCHEDULED and v.posted_at]
    if pending:
        return pending[0]
    in_force = [v for v in versions if v.status == VersionStatus.EFFECTIVE]
    return in_force[0] if in_force else None


def project_status(
    *, state_status: str | None, state_version_id: int | None, version: TermsVersion, today: date
) -> ConsentStatus:
    """The tenant's status for `version` from its projection row, before the job has run too:
    explicit-mode silence after the effective date is `outstanding` (R4)."""
    status = (
        ConsentStatus(state_status)
        if state_status is not None and state_version_id == version.pk
        else ConsentStatus.NO_ANSWER
    )
    assert version.effective_on is not None  # noqa: S101 -- posted versions are dated
    if version.consent_mode == ConsentMode.EXPLICIT and is_version_effective(
        effective_on=version.effective_on, today=today
    ):
        status = status_after_effective(
            status=status,
            mode=ConsentMode.EXPLICIT,
            has_active_contract=True,
            notice_posted=version.posted_at is not None,
        )
    return status


def case_in_effect(case: TerminationCase | None, today: date) -> bool:
    """Whether a rejection case has ended (or is past the end of) the contract (R6)."""
    if case is None:
        return False
    if case.status == CaseStatus.EFFECTIVE:
        return True
    return (
        case.status == CaseStatus.CONFIRMED and case.end_date is not None and case.end_date < today
    )


def answer_by(version: TermsVersion, *, today: date) -> date | None:
    """The last day an answer still answers `version` before it takes effect, the deadline
    the portal and the e-mails give the tenant (the day before the effective date); None
    once the version is in effect (or undated). The console shows staff the same day."""
    if version.effective_on is None or is_version_effective(
        effective_on=version.effective_on, today=today
    ):
        return None
    return version.effective_on - timedelta(days=1)


def consent_status_for_tenant(*, scope: Scope, tenant: Tenant) -> list[DocumentStatus]:
    """Per bound document: versions in force and pending, status, allowed answers, deadline."""
    tenant_in_scope(scope=scope, tenant=tenant)
    today = clock.today()
    documents = bound_documents(tenant=tenant, on_date=today)
    ids = [d.pk for d in documents]
    versions: dict[int, list[TermsVersion]] = {}
    for version in TermsVersion.objects.filter(
        document_id__in=ids, status__in=[VersionStatus.SCHEDULED, *IN_EFFECT]
    ).order_by("-effective_on", "-pk"):
        versions.setdefault(version.document_id, []).append(version)
    # R4: which version binds the tenant is read from the versions in effect and its answers.
    accepted = {
        version_id
        for _tenant, version_id in accepted_versions(
            tenant_ids=[tenant.pk],
            versions=[v for vs in versions.values() for v in vs if v.status in IN_EFFECT],
        )
    }
    states = {
        s.document_id: s
        for s in ConsentState.objects.filter(tenant=tenant, document_id__in=ids).select_related(
            "record"
        )
    }
    cases: dict[int, TerminationCase] = {}
    for case in TerminationCase.objects.filter(
        tenant=tenant,
        version__document_id__in=ids,
        status__in=[*LIVE_CASE_STATUSES, CaseStatus.EFFECTIVE],
    ).order_by("pk"):
        cases[case.version_id] = case
    spans: list[ContractSpan] | None = None
    result: list[DocumentStatus] = []
    for document in documents:
        doc_versions = versions.get(document.pk, [])
        version = latest_posted(doc_versions)
        in_force = next((v for v in doc_versions if v.status == VersionStatus.EFFECTIVE), None)
        in_effect = [v for v in doc_versions if v.status in IN_EFFECT]
        if in_effect and spans is None:
            spans = contract_spans(scope=scope, tenant=tenant)
        binding = (
            binding_of(
                versions=in_effect,
                accepted=accepted,
                spans=[(span.start, span.end) for span in spans or [] if span.binds(document)],
            )
            if in_effect
            else None
        )
        pending = (
            version if version is not None and version.status == VersionStatus.SCHEDULED else None
        )
        state = states.get(document.pk)
        if version is None:
            # Nothing posted yet (a document without versions in force): nothing to answer.
            result.append(
                DocumentStatus(
                    document=document,
                    version=None,
                    version_in_force=in_force,
                    pending_version=None,
                    effective_on=None,
                    consent_mode=None,
                    status=ConsentStatus.NO_ANSWER,
                    allowed_answers=frozenset(),
                    deadline=None,
                    record=None,
                    case=None,
                    binding_version=binding,
                )
            )
            continue
        assert version.effective_on is not None  # noqa: S101 -- posted versions are dated
        if spans is None:
            spans = contract_spans(scope=scope, tenant=tenant)
        record = state.record if state is not None and state.version_id == version.pk else None
        owed = record is not None or answer_owed(
            effective_on=version.effective_on,
            spans=[(span.start, span.end) for span in spans if span.binds(document)],
        )
        status = (
            project_status(
                state_status=state.status if state else None,
                state_version_id=state.version_id if state else None,
                version=version,
                today=today,
            )
            if owed
            else ConsentStatus.NO_ANSWER
        )
        effective = is_version_effective(effective_on=version.effective_on, today=today)
        case = cases.get(version.pk)
        version_status = (
            in_force_standing(
                tenant_id=tenant.pk,
                in_force=in_force,
                spans=[(span.start, span.end) for span in spans if span.binds(document)],
                today=today,
            )
            if pending is not None
            else (status if in_force is not None else None)
        )
        result.append(
            DocumentStatus(
                document=document,
                version=version,
                version_in_force=in_force,
                pending_version=pending,
                effective_on=version.effective_on,
                consent_mode=version.consent_mode,
                status=status,
                allowed_answers=(
                    allowed_answers(
                        status=status,
                        version_effective=effective,
                        case_in_effect=case_in_effect(case, today),
                    )
                    if owed
                    else frozenset()
                ),
                deadline=answer_by(version, today=today) if owed else None,
                record=record,
                case=case,
                owed=owed,
                binding_version=binding,
                version_status=version_status,
                pending_version_status=status if pending is not None else None,
            )
        )
    return result


def in_force_standing(
    *,
    tenant_id: int,
    in_force: TermsVersion | None,
    spans: list[tuple[date, date | None]],
    today: date,
) -> ConsentStatus | None:
    """The tenant's standing on the version in force while a newer one is pending (the
    projection has moved to the pending one), as the products' status check reads it
    (status_check.in_force_status): an explicit answer owed and missing is `outstanding` (R4),
    else the last answer recorded to it, else `no_answer` (nothing asked or recorded)."""
    if in_force is None:
        return None
    answer = (
        ConsentRecord.objects.filter(tenant_id=tenant_id, version_id=in_force.pk)
        .order_by("-seq")
        .values_list("answer", flat=True)
        .first()
    )
    if answer:
        return ConsentStatus(answer)
    owes = (
        in_force.consent_mode == ConsentMode.EXPLICIT
        and not in_force.is_historical
        and in_force.effective_on is not None
        and in_force.effective_on <= today
        and answer_owed(effective_on=in_force.effective_on, spans=spans)
    )
    return ConsentStatus.OUTSTANDING if owes else ConsentStatus.NO_ANSWER
