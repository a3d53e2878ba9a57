"""Answers to terms versions (the consent truth table), the effective-date job (R3, R4), R6
termination cases, and the ConsentState projection kept in step with the ledger."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from agreements.consent_cache import generation_bump
from agreements.enums import (
    ActorKind,
    Answer,
    CaseStatus,
    Channel,
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    TerminationReason,
    TerminationStatus,
    VersionStatus,
)
from agreements.models import (
    ConsentRecord,
    ConsentState,
    Contract,
    Termination,
    TerminationCase,
    TermsVersion,
)
from agreements.rules import (
    DEEMED_NOT_ALLOWED,
    TransitionNotAllowed,
    consent_transition,
    is_version_effective,
    rejection_end_date,
)
from agreements.selectors.consents import (
    LIVE_CASE_STATUSES,
    bound_contracts,
    bound_tenants_q,
    case_in_effect,
    latest_posted,
    project_status,
)
from agreements.services.ledger import (
    GENESIS_HASH,
    EvidenceInput,
    append_locked,
    chain_hash,
    head_lock,
    heads_lock,
    heads_save,
    last_record,
    ledger_payload,
    version_body_hash_of,
)
from core import clock
from core.enums import AuditAction, EventKind
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants.enums import Role
from tenants.models import Tenant
from tenants.notify import notify_tenant

if TYPE_CHECKING:
    from tenants.scope import Scope

BATCH_SIZE = 500
_STATUS_OF_ANSWER = {
    Answer.ACCEPTED: ConsentStatus.ACCEPTED,
    Answer.REJECTED: ConsentStatus.REJECTED,
    Answer.DEEMED: ConsentStatus.DEEMED,
}


# --- Checks -----------------------------------------------------------------------------------


def _check_caller(scope: Scope, tenant: Tenant) -> None:
    """Who may answer for `tenant`: its admins, its partner (write key), staff, the system."""
    if scope.kind == "tenant_user":
        if scope.tenant_id != tenant.pk:
            raise NotFound(_("テナントが見つかりません。"), code="tenant_not_found")
        if scope.role != Role.ADMIN:
            raise PermissionDenied(
                _("規約への回答はテナントの管理者だけが行えます。"), code="admin_required"
            )
    elif scope.kind == "partner":
        if tenant.partner_id is None or tenant.partner_id != scope.partner_id:
            raise NotFound(_("テナントが見つかりません。"), code="tenant_not_found")
        if not scope.can_write:
            raise PermissionDenied(
                _("このAPIキーには更新の権限がありません。"), code="write_scope_required"
            )
    elif scope.kind not in ("staff", "system"):
        raise PermissionDenied(_("この操作は許可されていません。"), code="forbidden")


def _check_answerable(version: TermsVersion) -> None:
    """Answers go to the latest posted version of a document (DESIGN: truth table)."""
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
    if newer is not None or version.status == VersionStatus.SUPERSEDED:
        raise Conflict(
            _("より新しい版が掲示されています。新しい版に回答してください。"),
            code="version_not_latest",
            version_id=version.pk,
            latest_version_id=newer,
        )


def _require_staff(scope: Scope) -> None:
    if not scope.is_staff:
        raise PermissionDenied(_("この操作は当社スタッフだけが行えます。"), code="staff_only")


# --- Answers ----------------------------------------------------------------------------------


@transaction.atomic
def consent_answer(
    *,
    scope: Scope,
    tenant: Tenant,
    version: TermsVersion,
    answer: str,
    evidence: EvidenceInput | None = None,
) -> tuple[ConsentRecord, bool]:
    """Record a tenant's answer to `version` per the consent truth table (R3, R4, R6).

    Returns (record, created): a repeat of the current answer returns the existing row and
    False. A rejection opens an R6 case per bound active contract; switching to accept drops
    the live cases. Raises TransitionNotAllowed (e.g. a rejection after the effective date in
    deemed mode: the remedy is ending the contract, R13), NotFound, PermissionDenied, Conflict.
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
            return ConsentRecord.objects.get(pk=state.record_id), False
        return last_record(tenant_id=tenant.pk, version_id=version.pk), False

    contracts = list(bound_contracts(document=version.document, on_date=None).filter(tenant=tenant))
    if not contracts:
        raise Conflict(
            _("この規約が適用される有効な契約がありません。"),
            code="not_bound",
            version_id=version.pk,
        )
    record = append_locked(
        head=head,
        version=version,
        answer=answer,
        actor_kind=scope.actor_kind,
        actor_ref=scope.actor_ref,
        channel=scope.channel,
        evidence=evidence,
    )
    _state_write(state, tenant=tenant, version=version, status=new_status, record=record)
    notify_tenant(
        kind=EventKind.ANSWER_RECORDED,
        tenant=tenant,
        key=f"consent:{record.pk}",
        subject=record,
        payload={
            "record_id": record.pk,
            "seq": record.seq,
            "document_id": version.document_id,
            "version_id": version.pk,
            "version_label": version.label,
            "answer": str(answer),
            "status": str(new_status),
            "recorded_at": record.recorded_at.isoformat(),
        },
    )
    if new_status == ConsentStatus.REJECTED:
        _cases_open(tenant=tenant, version=version, record=record, contracts=contracts)
    elif current == ConsentStatus.REJECTED:
        cases = TerminationCase.objects.select_for_update().filter(
            tenant=tenant, version=version, status__in=LIVE_CASE_STATUSES
        )
        for case in cases:
            _case_close(case, note=str(_("お客様が変更に同意したため取り下げ")))
    if scope.is_staff:
        audit_add(
            actor=scope.user,
            action=AuditAction.CREATE,
            obj=record,
            tenant_id=tenant.pk,
            summary=f"consent {answer} for {version}",
            data={"version_id": version.pk, "answer": str(answer), "seq": record.seq},
        )
    # Cached consent lookups (the portal's gate) must see this answer whatever its channel.
    transaction.on_commit(lambda: generation_bump(tenant.pk))
    return record, True


def _is_newer(candidate: TermsVersion, version: TermsVersion) -> bool:
    if candidate.effective_on is None or version.effective_on is None:
        return False
    return (candidate.effective_on, candidate.pk) > (version.effective_on, version.pk)


def _state_write(
    state: ConsentState | None,
    *,
    tenant: Tenant,
    version: TermsVersion,
    status: ConsentStatus,
    record: ConsentRecord | None,
) -> ConsentState:
    if state is None:
        return ConsentState.objects.create(
            tenant=tenant,
            document_id=version.document_id,
            version=version,
            status=status,
            record=record,
        )
    state.version, state.status, state.record = version, status, record
    state.save(update_fields=["version", "status", "record", "updated_at"])
    return state


def _cases_open(
    *, tenant: Tenant, version: TermsVersion, record: ConsentRecord, contracts: list[Contract]
) -> list[TerminationCase]:
    """R6: a rejection opens a discretionary termination case per bound active contract."""
    live = set(
        TerminationCase.objects.filter(
            contract__in=contracts, version=version, status__in=LIVE_CASE_STATUSES
        ).values_list("contract_id", flat=True)
    )
    now = clock.now()
    opened = []
    for contract in contracts:
        if contract.pk in live:
            continue
        case = TerminationCase.objects.create(
            tenant=tenant, contract=contract, version=version, rejection=record, opened_at=now
        )
        notify_tenant(
            kind=EventKind.CASE_OPENED,
            tenant=tenant,
            key=f"case:{case.pk}:opened",
            subject=case,
            payload={
                "case_id": case.pk,
                "contract_id": contract.pk,
                "version_id": version.pk,
                "version_label": version.label,
                "effective_on": version.effective_on.isoformat() if version.effective_on else None,
            },
        )
        opened.append(case)
    return opened


def _case_close(case: TerminationCase, *, note: str) -> None:
    """Drop a live case and cancel the termination it scheduled (R6: never once in effect)."""
    now = clock.now()
    case.status = CaseStatus.DROPPED
    case.closed_at = now
    case.note = "\n".join(filter(None, [case.note, note]))
    case.save(update_fields=["status", "closed_at", "note", "updated_at"])
    # A confirmed case scheduled a Termination (contracts.termination_schedule); it must not
    # end the contract any more.
    Termination.objects.filter(case=case, status=TerminationStatus.SCHEDULED).update(
        status=TerminationStatus.CANCELLED, updated_at=now
    )
    notify_tenant(
        kind=EventKind.CASE_DROPPED,
        tenant=case.tenant,
        key=f"case:{case.pk}:dropped",
        subject=case,
        payload={
            "case_id": case.pk,
            "contract_id": case.contract_id,
            "version_id": case.version_id,
        },
    )


def cases_drop_for_version(*, version: TermsVersion, note: str) -> int:
    """Drop the live R6 cases opened by rejections of a withdrawn or lapsed version (R7, R2).

    The version never takes effect, so its rejection no longer grounds a discontinuation;
    each case is closed as by staff (a scheduled termination is cancelled, the tenant told).
    The rejections stay in the ledger. Runs in the caller's transaction; returns the count.
    """
    cases = list(
        TerminationCase.objects.select_for_update(of=("self",))
        .select_related("tenant")
        .filter(version=version, status__in=LIVE_CASE_STATUSES)
        .order_by("pk")
    )
    for case in cases:
        _case_close(case, note=note)
    return len(cases)


# --- Staff handling of R6 cases -------------------------------------------------------------------


def _case_locked(case: TerminationCase) -> TerminationCase:
    return (
        TerminationCase.objects.select_for_update(of=("self",))
        .select_related("version", "contract", "tenant")
        .get(pk=case.pk)
    )


@transaction.atomic
def case_confirm(*, scope: Scope, case: TerminationCase, note: str = "") -> TerminationCase:
    """Staff confirm a rejection case (R6): the contract ends on the later of the version's
    effective date and today + the termination notice period, never retroactively."""
    _require_staff(scope)
    case = _case_locked(case)
    if case.status != CaseStatus.OPEN:
        raise Conflict(
            _("この解約案件は対応待ちではありません。"), code="case_not_open", status=case.status
        )
    if case.contract.status != ContractStatus.ACTIVE:
        raise Conflict(_("契約はすでに終了しています。"), code="contract_not_active")
    today = clock.today()
    assert case.version.effective_on is not None  # noqa: S101 -- posted versions are dated
    end_date = rejection_end_date(
        effective_on=case.version.effective_on,
        confirmed_on=today,
        notice_days=settings.TERMS_TERMINATION_NOTICE_DAYS,
    )
    case.status = CaseStatus.CONFIRMED
    case.confirmed_at = clock.now()
    case.confirmed_by = scope.user
    case.end_date = end_date
    if note:
        case.note = "\n".join(filter(None, [case.note, note]))
    case.save(
        update_fields=["status", "confirmed_at", "confirmed_by", "end_date", "note", "updated_at"]
    )
    # contracts.py imports the consent selectors; importing it here at module level would
    # make the two service modules a cycle.
    from agreements.services.contracts import termination_schedule  # noqa: PLC0415 -- cycle

    termination_schedule(
        contract=case.contract,
        end_date=end_date,
        reason=TerminationReason.TERMS_REJECTED,
        scope=scope,
        case=case,
        note=note,
    )
    audit_add(
        actor=scope.user,
        action=AuditAction.CONFIRM,
        obj=case,
        tenant_id=case.tenant_id,
        summary=f"terms_rejected case confirmed, contract ends {end_date.isoformat()}",
        data={"end_date": end_date.isoformat(), "contract_id": case.contract_id, "note": note},
    )
    notify_tenant(
        kind=EventKind.CASE_CONFIRMED,
        tenant=case.tenant,
        key=f"case:{case.pk}:confirmed",
        subject=case,
        payload={
            "case_id": case.pk,
            "contract_id": case.contract_id,
            "version_id": case.version_id,
            "end_date": end_date.isoformat(),
        },
    )
    return case


@transaction.atomic
def case_drop(*, scope: Scope, case: TerminationCase, note: str = "") -> TerminationCase:
    """Staff decide not to discontinue (R6 is discretionary); a scheduled end is cancelled."""
    _require_staff(scope)
    case = _case_locked(case)
    if case.status not in LIVE_CASE_STATUSES:
        raise Conflict(
            _("この解約案件は取り下げできません。"), code="case_not_live", status=case.status
        )
    _case_close(case, note=note)
    audit_add(
        actor=scope.user,
        action=AuditAction.DROP,
        obj=case,
        tenant_id=case.tenant_id,
        summary="terms_rejected case dropped",
        data={"note": note},
    )
    return case


# --- Jobs: posting and the effective date (set-based, batched) ---------------------------------


def _latest_posted_id(document_id: int) -> int | None:
    versions = list(
        TermsVersion.objects.filter(
            document_id=document_id, status__in=[VersionStatus.SCHEDULED, VersionStatus.EFFECTIVE]
        ).order_by("-effective_on", "-pk")
    )
    latest = latest_posted(versions)
    return latest.pk if latest else None


@transaction.atomic
def consent_states_open(*, version: TermsVersion) -> int:
    """On posting: the document's projection moves to `version` as `no_answer` (set-based).

    Existing rows of the document move to the new version; tenants bound now (an active
    contract for the product, and the option for individual rules) without a row get one.
    Returns the number of rows written; a second call writes nothing.
    """
    if _latest_posted_id(version.document_id) != version.pk:
        return 0
    document = version.document
    now = clock.now()
    moved = (
        ConsentState.objects.filter(document=document)
        .exclude(version=version)
        .update(version=version, status=ConsentStatus.NO_ANSWER, record=None, updated_at=now)
    )
    missing = list(
        Tenant.objects.filter(bound_tenants_q(document=document, on_date=None))
        .exclude(consent_states__document=document)
        .values_list("pk", flat=True)
    )
    ConsentState.objects.bulk_create(
        [
            ConsentState(
                tenant_id=tenant_id,
                document=document,
                version=version,
                status=ConsentStatus.NO_ANSWER,
            )
            for tenant_id in missing
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )
    return moved + len(missing)


def consents_apply_effective(
    *, version: TermsVersion, today: date, batch_size: int = BATCH_SIZE
) -> dict[str, int]:
    """At the effective date: R3 `deemed` rows (deemed mode) or R4 `outstanding` (explicit).

    Deemed mode writes a system row citing the notice for each tenant bound on the effective
    date (a contract active that day) that has not answered, only when the notice was posted
    before that date. Explicit mode marks the same non-responders `outstanding`. Batches of
    `batch_size` tenants, each an atomic block with a constant number of queries: lock the
    batch's heads in one SELECT ... FOR UPDATE, chain in Python, bulk insert rows, bulk update
    heads and projection rows. The effective-date job calls this inside the transaction that
    makes the version effective, so the rows commit with the status change (and the heads stay
    locked until then). Idempotent: a second run writes nothing.
    """
    counts = {"deemed": 0, "outstanding": 0, "batches": 0}
    if version.effective_on is None or today < version.effective_on:
        return counts
    if version.status not in (VersionStatus.SCHEDULED, VersionStatus.EFFECTIVE):
        return counts
    mode = ConsentMode(version.consent_mode)
    if mode == ConsentMode.DEEMED and not _notice_posted_in_time(version):
        return counts  # R3: no posted notice, no deemed consent; silence stays `no_answer`
    candidates = Tenant.objects.filter(
        bound_tenants_q(document=version.document, on_date=version.effective_on)
    ).exclude(pk__in=ConsentRecord.objects.filter(version=version).values("tenant_id"))
    if mode == ConsentMode.EXPLICIT:
        candidates = candidates.exclude(
            pk__in=ConsentState.objects.filter(
                version=version, status=ConsentStatus.OUTSTANDING
            ).values("tenant_id")
        )
    body_hash = version_body_hash_of(version) if mode == ConsentMode.DEEMED else ""
    # One read of the candidates, then batches of it: re-running the anti-join for every batch
    # costs O(bound tenants) each time (bench: benchmark 4). Each batch re-checks under its
    # locks (_unanswered_locked), so an answer given meanwhile is still respected.
    todo = list(candidates.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(todo), batch_size):
        with transaction.atomic():
            ids = todo[start : start + batch_size]
            counts["batches"] += 1
            if mode == ConsentMode.DEEMED:
                counts["deemed"] += _deemed_batch(version, ids, body_hash)
            else:
                counts["outstanding"] += _outstanding_batch(version, ids)
    return counts


def _states_upsert(states: list[ConsentState]) -> None:
    """Insert projection rows or move existing ones (one per tenant × document), one statement."""
    ConsentState.objects.bulk_create(
        states,
        update_conflicts=True,
        unique_fields=["tenant", "document"],
        update_fields=["version", "status", "record", "updated_at"],
    )


def _notice_posted_in_time(version: TermsVersion) -> bool:
    assert version.effective_on is not None  # noqa: S101 -- checked by the caller
    return version.posted_at is not None and version.posted_at < clock.start_of_day(
        version.effective_on
    )


def _unanswered_locked(version: TermsVersion, ids: list[int]) -> tuple[dict[int, Any], list[int]]:
    heads = heads_lock(ids)
    # Re-read under the locks: an answer may have committed since the candidate query.
    answered = set(
        ConsentRecord.objects.filter(version=version, tenant_id__in=ids).values_list(
            "tenant_id", flat=True
        )
    )
    return heads, [tenant_id for tenant_id in ids if tenant_id not in answered]


def _deemed_batch(version: TermsVersion, ids: list[int], body_hash: str) -> int:
    heads, todo = _unanswered_locked(version, ids)
    if not todo:
        return 0
    now = clock.now()
    records: list[ConsentRecord] = []
    for tenant_id in todo:
        head = heads[tenant_id]
        fields: dict[str, Any] = {
            "tenant_id": tenant_id,
            "seq": head.seq + 1,
            "document_id": version.document_id,
            "version_id": version.pk,
            "answer": Answer.DEEMED.value,
            "actor_kind": ActorKind.SYSTEM.value,
            "actor_ref": "system",
            "channel": Channel.SYSTEM.value,
            "recorded_at": now,
            "version_body_hash": body_hash,
            "notice_posted_at": version.posted_at,  # the notice the deemed consent relies on
            "evidence_digests": {},
        }
        digest = chain_hash(head.hash, ledger_payload(**fields))
        records.append(ConsentRecord(**fields, prev_hash=head.hash, hash=digest))
        head.seq, head.hash, head.updated_at = head.seq + 1, digest, now
    ConsentRecord.objects.bulk_create(records)
    heads_save([heads[t] for t in todo])
    _states_upsert(
        [
            ConsentState(
                tenant_id=record.tenant_id,
                document_id=version.document_id,
                version=version,
                status=ConsentStatus.DEEMED,
                record=record,
            )
            for record in records
        ]
    )
    return len(records)


def _outstanding_batch(version: TermsVersion, ids: list[int]) -> int:
    _heads, todo = _unanswered_locked(version, ids)
    _states_upsert(
        [
            ConsentState(
                tenant_id=tenant_id,
                document_id=version.document_id,
                version=version,
                status=ConsentStatus.OUTSTANDING,
                record=None,
            )
            for tenant_id in todo
        ]
    )
    return len(todo)


# --- Rebuilding the projection ----------------------------------------------------------------


def consent_state_rebuild(*, tenant_ids: Iterable[int] | None = None) -> int:
    """Recompute ConsentState from the ledger and the versions; returns rows changed.

    For each document with a posted version V (scheduled and posted, else in force), the
    pairs rebuilt are: existing rows, tenants with rows in the ledger, tenants bound now when
    V's notice was posted (posting opened their rows), and, for an effective explicit V that
    went through the effective-date job (not imported as historical), those bound on its
    effective date. Status: the last ledger row for V decides (accepted / rejected /
    deemed); without one, `outstanding` for such an explicit V whose tenant was bound on its
    effective date, else `no_answer`. A missing row reads as `no_answer` everywhere, so rows
    for tenants that contracted after the posting are harmless additions.
    """
    only = set(tenant_ids) if tenant_ids is not None else None
    changed = 0
    versions = (
        TermsVersion.objects.filter(status__in=[VersionStatus.SCHEDULED, VersionStatus.EFFECTIVE])
        .select_related("document")
        .order_by("document_id", "-effective_on", "-pk")
    )
    by_document: dict[int, list[TermsVersion]] = {}
    for version in versions:
        by_document.setdefault(version.document_id, []).append(version)
    for doc_versions in by_document.values():
        latest = latest_posted(doc_versions)
        if latest is not None:
            changed += _rebuild_document(latest, only)
    return changed


@transaction.atomic
def _rebuild_document(version: TermsVersion, only: set[int] | None) -> int:
    document = version.document
    explicit_effective = (
        version.status == VersionStatus.EFFECTIVE
        and version.consent_mode == ConsentMode.EXPLICIT
        and not version.is_historical
    )
    pair_q = Q(pk__in=ConsentState.objects.filter(document=document).values("tenant_id")) | Q(
        pk__in=ConsentRecord.objects.filter(document=document).values("tenant_id")
    )
    if version.posted_at is not None:
        pair_q |= bound_tenants_q(document=document, on_date=None)
    owed: set[int] = set()
    if explicit_effective:
        owed_q = bound_tenants_q(document=document, on_date=version.effective_on)
        owed = set(Tenant.objects.filter(owed_q).values_list("pk", flat=True))
        pair_q |= owed_q
    tenants = Tenant.objects.filter(pair_q)
    if only is not None:
        tenants = tenants.filter(pk__in=only)
    ids = list(tenants.order_by("pk").values_list("pk", flat=True))
    changed = 0
    for start in range(0, len(ids), BATCH_SIZE):
        batch = ids[start : start + BATCH_SIZE]
        heads_lock(batch)  # answers of these tenants wait while their rows are recomputed
        last: dict[int, tuple[int, str]] = {}
        for tenant_id, record_id, answer in (
            ConsentRecord.objects.filter(version=version, tenant_id__in=batch)
            .order_by("tenant_id", "seq")
            .values_list("tenant_id", "pk", "answer")
        ):
            last[tenant_id] = (record_id, answer)
        existing = {
            s.tenant_id: s
            for s in ConsentState.objects.filter(document=document, tenant_id__in=batch)
        }
        writes: list[ConsentState] = []
        for tenant_id in batch:
            if tenant_id in last:
                record_id, answer = last[tenant_id]
                status, record = _STATUS_OF_ANSWER[Answer(answer)], record_id
            elif explicit_effective and tenant_id in owed:
                status, record = ConsentStatus.OUTSTANDING, None
            else:
                status, record = ConsentStatus.NO_ANSWER, None
            state = existing.get(tenant_id)
            if (
                state is not None
                and state.version_id == version.pk
                and state.status == status
                and state.record_id == record
            ):
                continue
            writes.append(
                ConsentState(
                    tenant_id=tenant_id,
                    document=document,
                    version=version,
                    status=status,
                    record_id=record,
                )
            )
        _states_upsert(writes)
        changed += len(writes)
    return changed


__all__ = [
    "GENESIS_HASH",
    "EvidenceInput",
    "case_confirm",
    "case_drop",
    "cases_drop_for_version",
    "consent_answer",
    "consent_state_rebuild",
    "consent_states_open",
    "consents_apply_effective",
]
