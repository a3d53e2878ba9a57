"""Answers to terms versions: the consent truth table (docs/rules.md; R3, R4, R6), one ledger row
per answer under the tenant's head lock, with the projection and the R6 cases in step."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from agreements.enums import Answer, CaseStatus, ConsentStatus, VersionStatus
from agreements.ledger.append import append_one, entry_for
from agreements.ledger.heads import head_lock, head_lock_within
from agreements.ledger.rows import EvidenceInput
from agreements.models import ConsentRecord, LedgerHead, TerminationCase, TermsVersion
from agreements.rulebook import rulebook_for
from agreements.rules import (
    DEEMED_NOT_ALLOWED,
    TransitionNotAllowed,
    answer_owed,
    consent_transition,
    is_version_effective,
)
from agreements.selectors.consents.answer_facts import AnswerFacts, ContractReach, answer_facts
from agreements.selectors.consents.binding import IN_EFFECT, binding_of, in_effect
from agreements.selectors.consents.bound import bound_contracts
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
from tenants.notify import Note, notify_one
from tenants.selectors import tenant_get

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


def _check_answerable(version: TermsVersion, context: _VersionContext) -> None:
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
    newer = context.newer
    if newer is not None or version.status == VersionStatus.SUPERSEDED:
        raise Conflict(
            _("より新しい版が掲示されています。新しい版に回答してください。"),
            code="version_not_latest",
            version_id=version.pk,
            latest_version_id=newer,
        )


@dataclass(frozen=True)
class _VersionContext:
    """What an answer to a version reads of the terms, whoever answers."""

    # The posted version an answer should go to instead, if any (_newer).
    newer: int | None
    # The versions of its document in effect before its effective date, newest first: the
    # one binding the tenant until the change is among them (R4, the answer's message).
    before: list[TermsVersion]


def answer_context_entry(version_id: int) -> tuple[str, list[str]]:
    """The cache entry of what an answer to the version reads of the terms, and its
    generations (generations.lookup's shape). The terms' generation moves with any change of
    any version, its status included, so the version's id names it alone."""
    return f"answer-context:{version_id}", [generations.TERMS]


def _version_context(version: TermsVersion) -> _VersionContext:
    """_VersionContext, from the cache under the terms' generation (core/generations.py):
    any version saved, posted, taking effect, lapsing or withdrawn bumps it."""
    return generations.read_through(
        *answer_context_entry(version.pk),
        lambda: _VersionContext(newer=_newer(version), before=_in_effect_before(version)),
        kind=_VersionContext,
    )


def _in_effect_before(version: TermsVersion) -> list[TermsVersion]:
    """binding_versions_for_tenants' candidates for `before=version.effective_on`, with only
    the fields the binding rule and the message read (the cached value stays small)."""
    if version.effective_on is None:  # a draft: refused before anything else is read
        return []
    return list(
        TermsVersion.objects.filter(
            document_id=version.document_id,
            status__in=IN_EFFECT,
            effective_on__lt=version.effective_on,
        )
        .only(*_BINDING_FIELDS)
        .order_by("-effective_on", "-pk")
    )


# What binding_of (rules.binding_version) and payloads.binding_facts read of a version.
_BINDING_FIELDS = (
    "id",
    "document_id",
    "status",
    "label",
    "public_name",
    "effective_on",
    "legal_basis",
    "consent_mode",
    "is_historical",
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
    tenant: Tenant | None = None,
    tenant_id: int | None = None,
    version: TermsVersion,
    answer: str,
    evidence: EvidenceInput | None = None,
    within: Callable[[ConsentRecord, bool], None] | None = None,
    refuse_other_evidence: bool = False,
) -> tuple[ConsentRecord, bool]:
    """Record a tenant's answer to `version` per the consent truth table (R3, R4, R6).

    The tenant is `tenant`, or `tenant_id` looked up in the caller's reach together with the
    head lock (the API; a tenant out of reach is NotFound as tenants.selectors.tenant_get has
    it, and nothing is written).

    Returns (record, created): a repeat of the current answer returns the existing row and
    False. With `refuse_other_evidence` (the API, where the caller supplies the evidence) a
    repeat that brings evidence other than the row's is refused (`answer_evidence_differs`)
    instead of being dropped; evidence obtained in the future is always refused
    (agreements/services/consents/evidence.py). A rejection opens an R6 case per bound active contract where the product's
    rulebook has R6; switching to accept drops the live cases. Raises TransitionNotAllowed (e.g. a rejection after the effective date in
    deemed mode: the remedy is ending the contract, R13), NotFound, PermissionDenied, Conflict.

    `within(record, created)` runs inside the answer's transaction, last: what it writes
    commits or rolls back with the answer (the API's Idempotency-Key record).

    What it reads under the head lock is one statement (answer_facts); what it writes is the
    ledger row, its evidence, the head, the projection row and, in one statement, the event
    and its outbox rows (notify_one).
    """
    head: LedgerHead | None = None
    if tenant is None:
        assert tenant_id is not None  # noqa: S101 -- one of the two is given
        head, tenant = _lock_within_reach(scope, tenant_id)
    _check_caller(scope, tenant)
    try:
        answer = Answer(answer)
    except ValueError:
        raise ValidationFailed(_("回答が正しくありません。"), code="answer_invalid") from None
    if answer == Answer.DEEMED:
        # Only the R3 job writes `deemed`; no caller, staff included, may claim it.
        raise TransitionNotAllowed(DEEMED_NOT_ALLOWED, "deemed consent is written by the system")
    context = _version_context(version)
    _check_answerable(version, context)
    evidence_check(evidence, now=clock.now(), posted_at=version.posted_at)
    today = clock.today()
    assert version.effective_on is not None  # noqa: S101 -- posted versions are dated
    effective = is_version_effective(effective_on=version.effective_on, today=today)

    # The head lock serialises every answer and job write of this tenant, so the rows read
    # below cannot change under us: twenty identical requests give one row.
    if head is None:
        head = head_lock(tenant.pk)
    document = version.document
    facts = answer_facts(
        tenant_id=tenant.pk,
        document_id=document.pk,
        product_id=document.product_id,
        option_id=document.option_id,
        answers_to=[v.pk for v in context.before if in_effect(v).needs_consent],
    )
    state = facts.state
    if (
        state is not None
        and state.version_id != version.pk
        and facts.state_effective_on is not None
        and (facts.state_effective_on, state.version_id) > (version.effective_on, version.pk)
    ):
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
    in_effect_case = False
    if current == ConsentStatus.REJECTED and answer == Answer.ACCEPTED:
        live = TerminationCase.objects.filter(
            tenant=tenant, version=version, status__in=[*LIVE_CASE_STATUSES, CaseStatus.EFFECTIVE]
        )
        in_effect_case = any(case_in_effect(case, today) for case in live)
    new_status = consent_transition(
        current=current, answer=answer, version_effective=effective, case_in_effect=in_effect_case
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

    if not any(contract.active for contract in facts.contracts):
        raise Conflict(
            _("この規約が適用される有効な契約がありません。"),
            code="not_bound",
            version_id=version.pk,
        )
    answered = state is not None and state.version_id == version.pk and state.record_id is not None
    if not answered and not _owed(version, facts.contracts, today):
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
        document.product.code
    ).has("R6")
    notify_one(
        Note(
            kind=EventKind.ANSWER_RECORDED,
            tenant=tenant,
            key=f"consent:{record.pk}",
            subject=record,
            payload=answer_payload(
                record=record,
                version=version,
                binding=_binding_before(context, facts),
                status=new_status,
                version_effective=effective,
                case_grounded=case_grounded,
            ),
        )
    )
    if case_grounded:
        contracts = list(bound_contracts(document=document, on_date=None).filter(tenant=tenant))
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


def _lock_within_reach(scope: Scope, tenant_id: int) -> tuple[LedgerHead, Tenant]:
    """The tenant's head, locked, and the tenant, if the caller may see it: one statement for
    a tenant with a chain. Without one, the tenant is looked up as every tenant read looks it
    up (tenant_get: NotFound out of reach) and its head created, locked."""
    head = head_lock_within(tenant_id, scope.tenant_sql("t"))
    if head is not None:
        return head, head.tenant
    tenant = tenant_get(scope=scope, pk=tenant_id)
    return head_lock(tenant.pk), tenant


def _owed(version: TermsVersion, contracts: Sequence[ContractReach], today: date) -> bool:
    """Whether the tenant owes an answer to `version` (rules.answer_owed, as the consent status
    decides it): an active contract begun by the effective date owes it once that date has
    come (it runs past it, whatever end is filed); otherwise any contract the document binds,
    up to the end it has or has filed, in force on that date."""
    effective_on = version.effective_on
    assert effective_on is not None  # noqa: S101 -- posted versions are dated
    if effective_on <= today and any(c.active and c.start <= effective_on for c in contracts):
        return True
    return answer_owed(effective_on=effective_on, spans=[(c.start, c.filed_end) for c in contracts])


def _binding_before(context: _VersionContext, facts: AnswerFacts) -> TermsVersion | None:
    """The version that bound the tenant until `version` (R4), as
    binding_versions_for_tenants(before=version.effective_on) has it, from the rows read."""
    if not context.before:
        return None
    accepted = {pk for pk, last in facts.last_answers.items() if last == Answer.ACCEPTED}
    spans = [(contract.start, contract.ended_on) for contract in facts.contracts]
    return binding_of(versions=context.before, accepted=accepted, spans=spans)
