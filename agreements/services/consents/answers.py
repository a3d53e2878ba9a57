"""Answers to terms versions: the consent truth table (docs/rules.md; R3, R4, R6), one ledger row
per answer under the tenant's head lock, with the projection and the R6 cases in step."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from agreements.enums import Answer, CaseStatus, ConsentStatus, VersionStatus
from agreements.ledger.append import append_one, entry_for
from agreements.ledger.heads import head_lock
from agreements.ledger.rows import EvidenceInput
from agreements.models import (
    ConsentRecord,
    ConsentState,
    Contract,
    TerminationCase,
    TermsVersion,
)
from agreements.rulebook import rulebook_for
from agreements.rules import (
    DEEMED_NOT_ALLOWED,
    TransitionNotAllowed,
    answer_owed,
    consent_transition,
    is_version_effective,
)
from agreements.selectors.consents.binding import binding_versions_for_tenants
from agreements.selectors.consents.bound import bound_contracts, contract_spans, filed_end
from agreements.selectors.consents.ledger import last_record
from agreements.selectors.consents.statuses import (
    LIVE_CASE_STATUSES,
    case_in_effect,
    project_status,
)
from agreements.services.consents.cases import case_close, cases_open
from agreements.services.consents.citing import cited_body_hash
from agreements.services.consents.evidence import evidence_check, evidence_repeat_check
from agreements.services.consents.payloads import answer_payload
from agreements.services.consents.projection import state_write
from core import clock, generations
from core.enums import AuditAction, EventKind
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants.enums import Role
from tenants.models import Tenant
from tenants.notify import Note, notify

if TYPE_CHECKING:
    from tenants.scope import Scope


def _check_caller(scope: Scope, tenant: Tenant) -> None:
    """Who may answer for `tenant`: its admins, its partner (write key), staff, the system."""
    if scope.is_tenant_user:
        if scope.tenant_id != tenant.pk:
            raise NotFound(_("テナントが見つかりません。"), code="tenant_not_found")
        if scope.role != Role.ADMIN:
            raise PermissionDenied(
                _("規約への回答はテナントの管理者だけが行えます。"), code="admin_required"
            )
    elif scope.is_partner:
        if tenant.partner_id is None or tenant.partner_id != scope.partner_id:
            raise NotFound(_("テナントが見つかりません。"), code="tenant_not_found")
        if not scope.can_write:
            raise PermissionDenied(
                _("このAPIキーには更新の権限がありません。"), code="write_scope_required"
            )
    elif not scope.is_privileged:
        raise PermissionDenied(_("この操作は許可されていません。"), code="forbidden")


def _check_answerable(version: TermsVersion) -> None:
    """Answers go to the latest posted version of a document (docs/rules.md, consent truth table)."""
    if version.status == VersionStatus.DRAFT or (
        version.status == VersionStatus.SCHEDULED and version.posted_at is None
    ):
        raise Conflict(
            _("この版はまだ掲示されていません。"), code="version_not_posted", version_id=version.pk
        )
    if version.status in (VersionStatus.WITHDRAWN, VersionStatus.LAPSED):
        raise Conflict(
            _("この版は撤回または失効しています。"),
            code="version_not_answerable",
            version_id=version.pk,
        )
    newer = _newer_cached(version)
    if newer is not None or version.status == VersionStatus.SUPERSEDED:
        raise Conflict(
            _("より新しい版が掲示されています。新しい版に回答してください。"),
            code="version_not_latest",
            version_id=version.pk,
            latest_version_id=newer,
        )


def _newer_cached(version: TermsVersion) -> int | None:
    """_newer, from the cache under the terms' generation (core/generations.py)."""
    return generations.read_through(
        f"version-newer:{version.pk}:{version.status}",
        [generations.TERMS],
        lambda: _newer(version),
    )


def _newer(version: TermsVersion) -> int | None:
    """The posted version an answer to `version` should go to instead, if any."""
    newer = None
    if version.status == VersionStatus.SUPERSEDED:
        newer = (
            TermsVersion.objects.filter(
                document_id=version.document_id,
                status__in=[VersionStatus.EFFECTIVE, VersionStatus.SCHEDULED],
            )
            .exclude(status=VersionStatus.SCHEDULED, posted_at__isnull=True)
            .order_by("-effective_on")
            .values_list("pk", flat=True)
            .first()
        )
    elif version.status == VersionStatus.EFFECTIVE:
        newer = (
            TermsVersion.objects.filter(
                document_id=version.document_id,
                status=VersionStatus.SCHEDULED,
                posted_at__isnull=False,
            )
            .values_list("pk", flat=True)
            .first()
        )
    return newer


@transaction.atomic
def consent_answer(
    *,
    scope: Scope,
    tenant: Tenant,
    version: TermsVersion,
    answer: str,
    evidence: EvidenceInput | None = None,
    within: Callable[[ConsentRecord, bool], None] | None = None,
    refuse_other_evidence: bool = False,
) -> tuple[ConsentRecord, bool]:
    """Record a tenant's answer to `version` per the consent truth table (R3, R4, R6).

    Returns (record, created): a repeat of the current answer returns the existing row and
    False. With `refuse_other_evidence` (the API, where the caller supplies the evidence) a
    repeat that brings evidence other than the row's is refused (`answer_evidence_differs`)
    instead of being dropped; evidence obtained in the future is always refused
    (agreements/services/consents/evidence.py). A rejection opens an R6 case per bound active contract where the product's
    rulebook has R6; switching to accept drops the live cases. Raises TransitionNotAllowed (e.g. a rejection after the effective date in
    deemed mode: the remedy is ending the contract, R13), NotFound, PermissionDenied, Conflict.

    `within(record, created)` runs inside the answer's transaction, last: what it writes
    commits or rolls back with the answer (the API's Idempotency-Key record).
    """
    _check_caller(scope, tenant)
    try:
        answer = Answer(answer)
    except ValueError:
        raise ValidationFailed(_("回答が正しくありません。"), code="answer_invalid") from None
    if answer == Answer.DEEMED:
        # Only the R3 job writes `deemed`; no caller, staff included, may claim it.
        raise TransitionNotAllowed(DEEMED_NOT_ALLOWED, "deemed consent is written by the system")
    _check_answerable(version)
    evidence_check(evidence, now=clock.now())
    today = clock.today()
    assert version.effective_on is not None  # noqa: S101 -- posted versions are dated
    effective = is_version_effective(effective_on=version.effective_on, today=today)

    # The head lock serialises every answer and job write of this tenant, so the projection
    # read below cannot change under us: twenty identical requests give one row.
    head = head_lock(tenant.pk)
    state = (
        ConsentState.objects.filter(tenant=tenant, document_id=version.document_id)
        .select_related("version")
        .first()
    )
    if state is not None and state.version_id != version.pk and _is_newer(state.version, version):
        # A newer version was posted after the check above; the answer is stale.
        raise Conflict(
            _("より新しい版が掲示されています。新しい版に回答してください。"),
            code="version_not_latest",
            version_id=version.pk,
            latest_version_id=state.version_id,
        )
    current = project_status(
        state_status=state.status if state else None,
        state_version_id=state.version_id if state else None,
        version=version,
        today=today,
    )
    in_effect = False
    if current == ConsentStatus.REJECTED and answer == Answer.ACCEPTED:
        live = TerminationCase.objects.filter(
            tenant=tenant, version=version, status__in=[*LIVE_CASE_STATUSES, CaseStatus.EFFECTIVE]
        )
        in_effect = any(case_in_effect(case, today) for case in live)
    new_status = consent_transition(
        current=current, answer=answer, version_effective=effective, case_in_effect=in_effect
    )
    if new_status is None:
        if state is not None and state.version_id == version.pk and state.record_id is not None:
            existing = ConsentRecord.objects.get(pk=state.record_id)
        else:
            existing = last_record(tenant_id=tenant.pk, version_id=version.pk)
        if refuse_other_evidence:
            evidence_repeat_check(existing, evidence)
        if within is not None:
            within(existing, False)
        return existing, False

    contracts = list(bound_contracts(document=version.document, on_date=None).filter(tenant=tenant))
    if not contracts:
        raise Conflict(
            _("この規約が適用される有効な契約がありません。"),
            code="not_bound",
            version_id=version.pk,
        )
    answered = state is not None and state.version_id == version.pk and state.record_id is not None
    if not answered and not _owed(scope, tenant, version, contracts, today):
        # The status lists no answers for it (`owed: false`): no contract of the tenant's is
        # in force on the version's effective date (it began after, or ends before), R4.
        raise Conflict(
            _(
                "このテナントにはこの版への回答は求められていません（効力発生日に有効な契約がありません）。"
            ),
            code="answer_not_owed",
            version_id=version.pk,
        )
    entry = entry_for(
        version,
        answer=answer,
        actor_kind=scope.actor_kind,
        actor_ref=scope.actor_ref,
        channel=scope.channel,
        at=clock.now(),
        body_hash=cited_body_hash(version),
    )
    record = append_one(head=head, entry=entry, evidence=evidence)
    # Saving the projection row bumps the tenant's generation (agreements/signals.py): cached
    # gate and status lookups see this answer at once, whatever its channel.
    state_write(state, tenant=tenant, version=version, status=new_status, record=record)
    # R6 rests on the product's own clause (Biz 2.4). Where the product's terms have none the
    # rejection stays recorded (ledger row, projection, the staff's dashboard) but grounds no
    # discontinuation, so no case is opened.
    case_grounded = new_status == ConsentStatus.REJECTED and rulebook_for(
        version.document.product.code
    ).has("R6")
    notify(
        [
            Note(
                kind=EventKind.ANSWER_RECORDED,
                tenant=tenant,
                key=f"consent:{record.pk}",
                subject=record,
                payload=answer_payload(
                    record=record,
                    version=version,
                    binding=binding_versions_for_tenants(
                        document=version.document,
                        tenant_ids=[tenant.pk],
                        before=version.effective_on,
                    )[tenant.pk],
                    status=new_status,
                    version_effective=effective,
                    case_grounded=case_grounded,
                ),
            )
        ]
    )
    if case_grounded:
        cases_open(tenant=tenant, version=version, record=record, contracts=contracts)
    elif new_status != ConsentStatus.REJECTED and current == ConsentStatus.REJECTED:
        cases = TerminationCase.objects.select_for_update().filter(
            tenant=tenant, version=version, status__in=LIVE_CASE_STATUSES
        )
        for case in cases:
            case_close(case, note=str(_("お客様が変更に同意したため取り下げ")), cause="accepted")
    if scope.is_staff:
        audit_add(
            actor=scope.user,
            action=AuditAction.CREATE,
            obj=record,
            tenant_id=tenant.pk,
            summary=f"consent {answer} for {version}",
            data={"version_id": version.pk, "answer": str(answer), "seq": record.seq},
        )
    if within is not None:
        within(record, True)
    return record, True


def _owed(
    scope: Scope, tenant: Tenant, version: TermsVersion, active: list[Contract], today: date
) -> bool:
    """Whether the tenant owes an answer to `version` (rules.answer_owed, as the consent status
    decides it): the active bound contracts first, without reading their filed ends where the
    version is already in effect (an active contract then runs past its effective date), and
    every contract of the tenant only when none of those is bound on that date."""
    effective_on = version.effective_on
    assert effective_on is not None  # noqa: S101 -- posted versions are dated
    started = [c for c in active if c.start_date <= effective_on]
    if started and effective_on <= today:
        return True
    if answer_owed(
        effective_on=effective_on, spans=[(c.start_date, filed_end(c)) for c in started]
    ):
        return True
    return answer_owed(
        effective_on=effective_on,
        spans=[
            (span.start, span.end)
            for span in contract_spans(scope=scope, tenant=tenant)
            if span.binds(version.document)
        ],
    )


def _is_newer(candidate: TermsVersion, version: TermsVersion) -> bool:
    if candidate.effective_on is None or version.effective_on is None:
        return False
    return (candidate.effective_on, candidate.pk) > (version.effective_on, version.pk)
