"""Contracts: creation, renewals and non-renewal, terminations, ends and succession (R9–R14, R18, R19).

Every service is one transaction, takes the caller's Scope and raises core.errors. The
lifecycle job (`contracts_roll_due`) is the exception: it commits one transaction per batch,
with a constant number of queries per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Case, Exists, F, OuterRef, QuerySet, TextField, Value, When
from django.db.models.functions import Concat
from django.utils.translation import gettext as _

from agreements import rules
from agreements.enums import (
    ENDED_REASONS,
    STAFF_ONLY_REASONS,
    BillingCycle,
    CaseStatus,
    ContractStatus,
    DeletionKind,
    NonRenewalStatus,
    PeriodStatus,
    TerminationReason,
    TerminationStatus,
    TermsSource,
)
from agreements.models import (
    Contract,
    ContractPeriod,
    DataDeletion,
    NonRenewalRequest,
    Option,
    Product,
    Termination,
    TerminationCase,
)
from agreements.selectors.contracts import (
    active_non_renewal,
    contract_period_months,
    contracts_visible,
    open_period,
)
from core import clock
from core.delivery import delivery_ring_on_commit
from core.enums import AuditAction, EventKind, OutboxChannel
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import Outbox
from core.services import audit_add
from tenants.models import Tenant
from tenants.notify import notification_rows
from tenants.scope import Scope

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Biz 13.1 (1)–(5): staff may terminate without a prior demand to cure, never without notice (R14).
NOTICE_REQUIRED_REASONS = frozenset(
    {
        TerminationReason.NON_PAYMENT,
        TerminationReason.TERMS_VIOLATION,
        TerminationReason.STATUS_LOST,
        TerminationReason.ANTISOCIAL_FORCES,
        TerminationReason.OWNER_ANTISOCIAL_FORCES,
    }
)


# --- Notifications in bulk ----------------------------------------------------------------


@dataclass
class Note:
    """One notification to a tenant; `key` identifies the occurrence (see notify_tenant)."""

    kind: str
    tenant: Tenant
    key: str
    payload: dict[str, Any]
    subject: Any = None


def notify_many(notes: Sequence[Note], *, staff: Sequence[Note] = ()) -> list[int | None]:
    """notify_tenant for many tenants at once, in a constant number of queries.

    Writes exactly what tenants.notify.notify_tenant / notify_staff write (the same event,
    recipients, dedupe keys and payloads). Returns, per note, the id of the first outbox
    row queued for it (an e-mail, else a webhook), or None when the tenant has no recipient:
    the delivery reference a termination stores (R14).
    """
    # One implementation of "what notify_tenant writes", shared with notify_tenants.
    _events, rows = notification_rows(
        [(note.kind, note.tenant, note.key, note.payload, note.subject) for note in notes]
    )
    now = clock.now()
    for note in staff:
        rows.append(
            (
                -1,
                Outbox(
                    kind=str(note.kind),
                    channel=OutboxChannel.EMAIL,
                    dedupe_key=f"{note.kind}:{note.key}:staff",
                    payload=note.payload,
                    recipient=settings.TERMS_STAFF_EMAIL,
                    locale="ja",
                    next_attempt_at=now,
                ),
            )
        )
    # A key queued before stays queued once (outbox_add's get_or_create); PostgreSQL refuses
    # one statement touching a row twice, so repeated keys are dropped here first.
    unique: dict[str, tuple[int, Outbox]] = {}
    for index, row in rows:
        unique.setdefault(row.dedupe_key, (index, row))
    if unique:
        Outbox.objects.bulk_create(
            [row for _, row in unique.values()],
            update_conflicts=True,
            unique_fields=["dedupe_key"],
            update_fields=["updated_at"],
        )
        delivery_ring_on_commit()  # as outbox_add does: deliver once this commits
    first: list[int | None] = [None] * len(notes)
    for index, row in unique.values():
        if index >= 0 and first[index] is None:
            first[index] = row.pk
    return first


# --- Helpers --------------------------------------------------------------------------


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _contract_payload(contract: Contract) -> dict[str, Any]:
    return {
        "contract_id": contract.pk,
        "product_code": contract.product.code,
        "product_name": contract.product.name,
    }


def _actor_fields(scope: Scope) -> dict[str, Any]:
    return {
        "actor_kind": scope.actor_kind,
        "actor_user": scope.user if scope.kind in ("staff", "tenant_user") else None,
        "actor_key": scope.partner_key if scope.kind == "partner" else None,
        "channel": scope.channel,
    }


def _audit(scope: Scope, *, action: str, obj: Any, summary: str, data: dict[str, Any]) -> None:
    if scope.is_staff:
        user: AbstractBaseUser | None = scope.user
        audit_add(
            actor=user,
            action=action,
            obj=obj,
            summary=summary,
            data=data,
            tenant_id=getattr(obj, "tenant_id", None),
        )


def _reason(value: str) -> TerminationReason:
    try:
        return TerminationReason(value)
    except ValueError:
        raise ValidationFailed(
            _("終了事由「%(reason)s」は使えません。") % {"reason": value},
            code="invalid_reason",
            field="reason",
        ) from None


def _lock(contracts: QuerySet[Contract], contract: Contract | int) -> Contract:
    """Lock one contract of `contracts` with its product and tenant loaded, or NotFound."""
    pk = contract.pk if isinstance(contract, Contract) else contract
    locked = (
        contracts.select_for_update(of=("self",))
        .select_related("product", "tenant")
        .filter(pk=pk)
        .first()
    )
    if locked is None:
        raise NotFound(_("契約が見つかりません。"), code="contract_not_found")
    return locked


def contract_for_write(scope: Scope, contract: Contract | int) -> Contract:
    """Lock a contract the caller may change: another caller's → NotFound, read-only → 403."""
    locked = _lock(contracts_visible(scope), contract)
    if not scope.can_write:
        raise PermissionDenied(_("この操作を行う権限がありません。"), code="read_only")
    return locked


def _require_active(contract: Contract) -> None:
    if contract.status != ContractStatus.ACTIVE:
        raise Conflict(
            _("この契約は%(ended_on)sに終了しています。") % {"ended_on": _iso(contract.ended_on)},
            code="contract_not_active",
            ended_on=contract.ended_on,
        )


def _require_not_before_start(end_date: date, contract: Contract) -> None:
    if end_date < contract.start_date:
        raise ValidationFailed(
            _("終了日 %(end)s が利用開始日 %(start)s より前です。")
            % {"end": _iso(end_date), "start": _iso(contract.start_date)},
            code="end_before_start",
            field="end_date",
        )


# --- contract_create (R9–R12, R18) ------------------------------------------------------


def _missing_prerequisites(tenant: Tenant, options: Iterable[Option]) -> list[Option]:
    required = {o.requires_product_id for o in options if o.requires_product_id is not None}
    if not required:
        return []
    held = set(
        Contract.objects.filter(
            tenant=tenant, product_id__in=required, status=ContractStatus.ACTIVE
        ).values_list("product_id", flat=True)
    )
    return [
        o
        for o in options
        if o.requires_product_id is not None and o.requires_product_id not in held
    ]


@transaction.atomic
def contract_create(
    *,
    scope: Scope,
    tenant: Tenant,
    product: Product,
    start_date: date,
    term_months: int = 12,
    auto_renew: bool | None = None,
    notice_months: int | None = None,
    billing_cycle: str,
    amount_jpy: int | None = None,
    lump_sum_jpy: int | None = None,
    cycle_months: int | None = None,
    options: Iterable[Option] = (),
    order_ref: str = "",
    external_ref: str = "",
) -> Contract:
    """Create a contract starting on the admin account's issue date (R9) with period 1 open.

    Renewal and notice come from the product's terms where they have a clause (ID+ 5.4–5.5),
    otherwise from the order (Biz); each is stored with its source (R11).
    """
    if scope.kind in ("tenant_user", "product"):
        raise PermissionDenied(_("契約を登録する権限がありません。"), code="forbidden")
    if not scope.tenants().filter(pk=tenant.pk).exists():
        raise NotFound(_("テナントが見つかりません。"), code="tenant_not_found")
    if not scope.can_write:
        raise PermissionDenied(_("この操作を行う権限がありません。"), code="read_only")
    if tenant.redacted_at is not None or not tenant.is_active:
        raise Conflict(_("このテナントには契約を登録できません。"), code="tenant_inactive")
    if term_months is None or term_months < 1:
        raise ValidationFailed(
            _("利用期間は1か月以上で指定してください。"), code="invalid_term", field="term_months"
        )
    if notice_months is not None and notice_months < 0:
        raise ValidationFailed(
            _("更新拒絶期間は0か月以上で指定してください。"),
            code="invalid_notice",
            field="notice_months",
        )

    # R11: the terms' clause where there is one; an order may still derogate from it.
    if product.terms_auto_renewal:
        terms_notice = product.terms_notice_months
        if terms_notice is None:
            terms_notice = settings.TERMS_ID_PLUS_NOTICE_MONTHS
        renew = True if auto_renew is None else bool(auto_renew)
        renew_source = TermsSource.TERMS if renew else TermsSource.ORDER
        notice = terms_notice if notice_months is None else notice_months
        notice_source = TermsSource.TERMS if notice == terms_notice else TermsSource.ORDER
    else:
        renew, renew_source = bool(auto_renew), TermsSource.ORDER
        notice, notice_source = notice_months, TermsSource.ORDER
    if renew and notice is None:
        raise ValidationFailed(
            _("自動更新する契約には、注文書に定める更新拒絶期間（月）が必要です。"),
            code="notice_months_required",
            field="notice_months",
        )

    # R12: billing fields only; no proration is ever computed.
    try:
        cycle = BillingCycle(billing_cycle)
    except ValueError:
        raise ValidationFailed(
            _("請求サイクル「%(cycle)s」は使えません。") % {"cycle": billing_cycle},
            code="invalid_billing_cycle",
            field="billing_cycle",
        ) from None
    if cycle == BillingCycle.MULTI_YEAR and (cycle_months is None or cycle_months <= 12):
        raise ValidationFailed(
            _("複数年の請求サイクルには、13か月以上の請求サイクル（月）が必要です。"),
            code="cycle_months_required",
            field="cycle_months",
        )
    for name, value in (("amount_jpy", amount_jpy), ("lump_sum_jpy", lump_sum_jpy)):
        if value is not None and value < 0:
            raise ValidationFailed(
                _("料金は0円以上で指定してください。"), code="invalid_amount", field=name
            )

    option_list = list(options)
    foreign = [o for o in option_list if o.product_id != product.pk]
    if foreign:
        raise ValidationFailed(
            _("オプション「%(names)s」はこの製品のものではありません。")
            % {"names": "、".join(o.name for o in foreign)},
            code="option_not_of_product",
            field="options",
        )
    missing = _missing_prerequisites(tenant, option_list)
    if missing:
        # R18 (ID+ 3.2): e.g. device authentication needs the tenant's own Optimal Biz contract.
        names = "、".join(
            f"{o.name}（{o.requires_product.name}）" for o in missing if o.requires_product
        )
        raise ValidationFailed(
            _("オプションの前提となる製品の有効な契約がありません: %(names)s") % {"names": names},
            code="option_prerequisite_missing",
            field="options",
            options=[o.code for o in missing],
            requires=[o.requires_product.code for o in missing if o.requires_product],
        )

    contract = Contract.objects.create(
        tenant=tenant,
        product=product,
        start_date=start_date,
        term_months=term_months,
        auto_renew=renew,
        auto_renew_source=renew_source,
        notice_months=notice,
        notice_source=notice_source,
        billing_cycle=cycle,
        cycle_months=cycle_months,
        amount_jpy=amount_jpy,
        lump_sum_jpy=lump_sum_jpy,
        order_ref=order_ref,
        external_ref=external_ref,
    )
    if option_list:
        contract.options.set(option_list)
    end = rules.period_end(
        start=start_date, months=term_months, start_day_counts=product.start_day_counts
    )
    ContractPeriod.objects.create(
        contract=contract, tenant=tenant, seq=1, start_date=start_date, end_date=end
    )
    _audit(
        scope,
        action=AuditAction.CREATE,
        obj=contract,
        summary=f"{tenant.name} / {product.name}: {start_date.isoformat()}–{end.isoformat()}",
        data={"start_date": start_date.isoformat(), "period_end": end.isoformat()},
    )
    return contract


# --- Non-renewal (R11) --------------------------------------------------------------------


@transaction.atomic
def non_renewal_request(
    *, scope: Scope, contract: Contract, end_date: date | None = None
) -> NonRenewalRequest:
    """Apply not to renew at the current period end, or at the next possible end when asked (R11).

    An application on day D (JST) is timely when D <= deadline. A late one is refused with the
    deadline and the next possible end, unless the caller asks for exactly that later end. Any
    other end date is a termination (R13).
    """
    locked = contract_for_write(scope, contract)
    _require_active(locked)
    if not locked.auto_renew or locked.notice_months is None:
        raise Conflict(
            _("この契約は自動更新されません。利用期間の満了をもって終了します。"),
            code="not_auto_renewing",
        )
    existing = active_non_renewal(locked)
    if existing is not None:
        raise Conflict(
            _("更新しない旨の申込は受付済みです（終了日 %(end)s）。")
            % {"end": _iso(existing.end_date)},
            code="non_renewal_exists",
            end_date=existing.end_date,
            deadline=existing.deadline,
        )
    period = open_period(locked)
    if period is None:  # an active contract always has one; the roll job keeps it so
        raise Conflict(_("現在の利用期間がありません。"), code="no_open_period")
    today = clock.today()
    months = contract_period_months(locked, period)
    notice = locked.notice_months
    current_end = period.end_date
    deadline = rules.non_renewal_deadline(end=current_end, notice_months=notice)
    earliest = rules.earliest_non_renewal_end(
        applied_on=today, end=current_end, months=months, notice_months=notice
    )
    if end_date is not None and end_date != current_end and end_date != earliest:
        raise ValidationFailed(
            _(
                "更新しない旨の申込で終了できるのは利用期間の末日（%(earliest)s）だけです。"
                "%(requested)s に終了するには解約の申込をしてください。"
            )
            % {"earliest": _iso(earliest), "requested": _iso(end_date)},
            code="non_renewal_not_period_end",
            field="end_date",
            next_possible_end=earliest,
            use="termination",
        )
    if earliest != current_end and end_date != earliest:
        raise Conflict(
            _(
                "更新しない旨の申込期限（%(deadline)s）を過ぎているため、%(end)s では終了できません。"
                "次に終了できるのは %(next_end)s です。"
                "%(next_end)s での終了を希望する場合は、終了日に %(next_end)s を指定して申し込んでください。"
            )
            % {"deadline": _iso(deadline), "end": _iso(current_end), "next_end": _iso(earliest)},
            code="non_renewal_late",
            deadline=deadline,
            period_end=current_end,
            next_possible_end=earliest,
        )
    target_deadline = rules.non_renewal_deadline(end=earliest, notice_months=notice)
    request = NonRenewalRequest.objects.create(
        contract=locked,
        tenant=locked.tenant,
        requested_on=today,
        requested_at=clock.now(),
        end_date=earliest,
        deadline=target_deadline,
        **_actor_fields(scope),
    )
    Contract.objects.filter(pk=locked.pk).update(updated_at=clock.now())
    notify_many(
        [
            Note(
                kind=EventKind.NON_RENEWAL_RECEIVED,
                tenant=locked.tenant,
                key=f"non_renewal:{request.pk}:received",
                subject=request,
                payload={
                    **_contract_payload(locked),
                    "request_id": request.pk,
                    "requested_on": _iso(today),
                    "end_date": _iso(earliest),
                    "deadline": _iso(target_deadline),
                    "withdrawable_until": _iso(target_deadline),
                },
            )
        ]
    )
    _audit(
        scope,
        action=AuditAction.CREATE,
        obj=request,
        summary=f"non-renewal: end {earliest.isoformat()} (deadline {target_deadline.isoformat()})",
        data={"end_date": earliest.isoformat(), "deadline": target_deadline.isoformat()},
    )
    return request


@transaction.atomic
def non_renewal_withdraw(*, scope: Scope, request: NonRenewalRequest) -> NonRenewalRequest:
    """Withdraw a non-renewal on or before its deadline; the contract renews again (R11).

    A requested data deletion that depended on that end is cancelled with it (R15).
    """
    locked_contract = contract_for_write(scope, request.contract_id)
    row = (
        NonRenewalRequest.objects.select_for_update()
        .filter(pk=request.pk, contract_id=locked_contract.pk)
        .first()
    )
    if row is None:
        raise NotFound(_("申込が見つかりません。"), code="non_renewal_not_found")
    if row.status != NonRenewalStatus.ACTIVE:
        raise Conflict(
            _("この申込は取り下げられないか、既に適用されています。"), code="non_renewal_not_active"
        )
    today = clock.today()
    if today > row.deadline:
        raise Conflict(
            _("取り下げの期限（%(deadline)s）を過ぎています。契約は %(end)s に終了します。")
            % {"deadline": _iso(row.deadline), "end": _iso(row.end_date)},
            code="non_renewal_withdraw_late",
            deadline=row.deadline,
            end_date=row.end_date,
        )
    now = clock.now()
    row.status = NonRenewalStatus.WITHDRAWN
    row.withdrawn_at = now
    row.save(update_fields=["status", "withdrawn_at", "updated_at"])
    DataDeletion.objects.filter(
        contract_id=locked_contract.pk, kind=DeletionKind.REQUESTED, status="scheduled"
    ).update(status="cancelled", updated_at=now)
    Contract.objects.filter(pk=locked_contract.pk).update(updated_at=now)
    period = open_period(locked_contract)
    notify_many(
        [
            Note(
                kind=EventKind.NON_RENEWAL_WITHDRAWN,
                tenant=locked_contract.tenant,
                key=f"non_renewal:{row.pk}:withdrawn",
                subject=row,
                payload={
                    **_contract_payload(locked_contract),
                    "request_id": row.pk,
                    "withdrawn_on": _iso(today),
                    "cancelled_end_date": _iso(row.end_date),
                    "period_end": _iso(period.end_date if period else None),
                    "renews_on": _iso(rules.next_period_start(previous_end=row.end_date)),
                },
            )
        ]
    )
    _audit(
        scope,
        action=AuditAction.WITHDRAW,
        obj=row,
        summary=f"non-renewal withdrawn (end {row.end_date.isoformat()})",
        data={"end_date": row.end_date.isoformat()},
    )
    return row


# --- Ends (R14, R15, R18) ---------------------------------------------------------------


@dataclass
class _End:
    contract: Contract  # locked and active, with product and tenant loaded
    end_date: date
    reason: TerminationReason
    termination: Termination | None = None  # a scheduled row that now takes effect
    written_consent_ref: str = ""
    successor: Contract | None = None
    note: str = ""


def _end_payload(end: _End) -> dict[str, Any]:
    payload = {
        **_contract_payload(end.contract),
        "reason": str(end.reason),
        "end_date": _iso(end.end_date),
        "status": str(rules.end_status_for_reason(end.reason)),
        "claims_window_closes": _iso(rules.claims_window_closes(end=end.end_date)),
    }
    if end.reason != TerminationReason.SUCCESSION:
        if settings.TERMS_DELETION_PRIMARY_ALLOWED:
            payload["primary_deletion_from"] = _iso(rules.primary_deletion_from(end=end.end_date))
        payload["backup_purge_due"] = _iso(rules.backup_purge_due(end=end.end_date))
    return payload


def _end_many(ends: Sequence[_End], *, scope: Scope) -> list[Termination]:
    """End locked, active contracts in a constant number of queries (R14, R15, R18).

    Sets status/ended_on/end_reason, closes the open period, makes the Termination row
    effective (every end has one), schedules the deletions, marks a non-renewal applied,
    flags options whose prerequisite contract ended and notifies tenants (and staff).
    """
    if not ends:
        return []
    now = clock.now()
    ids = [e.contract.pk for e in ends]
    for end in ends:
        contract = end.contract
        contract.status = rules.end_status_for_reason(end.reason)
        contract.ended_on = end.end_date
        contract.end_reason = end.reason
        contract.updated_at = now
    Contract.objects.bulk_update(
        [e.contract for e in ends], ["status", "ended_on", "end_reason", "updated_at"]
    )
    ContractPeriod.objects.filter(contract_id__in=ids, status=PeriodStatus.OPEN).update(
        status=PeriodStatus.CLOSED, updated_at=now
    )
    taking_effect = [e.termination.pk for e in ends if e.termination is not None]
    # A notice for a later date is moot once the contract has ended earlier (e.g. on expiry).
    Termination.objects.filter(contract_id__in=ids, status=TerminationStatus.SCHEDULED).exclude(
        pk__in=taking_effect
    ).update(status=TerminationStatus.CANCELLED, updated_at=now)
    if taking_effect:
        Termination.objects.filter(pk__in=taking_effect, status=TerminationStatus.SCHEDULED).update(
            status=TerminationStatus.EFFECTIVE, effective_at=now, updated_at=now
        )
    case_ids = [e.termination.case_id for e in ends if e.termination and e.termination.case_id]
    if case_ids:
        # R6: a confirmed rejection case is in effect once its termination ends the contract.
        TerminationCase.objects.filter(pk__in=case_ids, status=CaseStatus.CONFIRMED).update(
            status=CaseStatus.EFFECTIVE, closed_at=now, updated_at=now
        )
    # Any other live case of these contracts has nothing left to decide once the contract
    # has ended for another reason (its termination was cancelled above): close it.
    moot = _("契約が別の事由で終了したため終了")
    TerminationCase.objects.filter(
        contract_id__in=ids, status__in=[CaseStatus.OPEN, CaseStatus.CONFIRMED]
    ).exclude(pk__in=case_ids).update(
        status=CaseStatus.DROPPED,
        closed_at=now,
        updated_at=now,
        note=Case(
            When(note="", then=Value(moot)),
            default=Concat(F("note"), Value("\n" + moot), output_field=TextField()),
            output_field=TextField(),
        ),
    )
    non_renewals = [e.contract.pk for e in ends if e.reason == TerminationReason.NON_RENEWAL]
    if non_renewals:
        NonRenewalRequest.objects.filter(
            contract_id__in=non_renewals, status=NonRenewalStatus.ACTIVE
        ).update(status=NonRenewalStatus.APPLIED, updated_at=now)

    outbox_ids = notify_many(
        [
            Note(
                kind=EventKind.ENDED if e.reason in ENDED_REASONS else EventKind.TERMINATION,
                tenant=e.contract.tenant,
                key=f"contract:{e.contract.pk}:ended:{e.end_date.isoformat()}",
                subject=e.contract,
                payload=_end_payload(e),
            )
            for e in ends
        ]
    )
    created = Termination.objects.bulk_create(
        [
            Termination(
                contract=e.contract,
                tenant_id=e.contract.tenant_id,
                reason=e.reason,
                status=TerminationStatus.EFFECTIVE,
                end_date=e.end_date,
                requested_at=now,
                effective_at=now,
                written_consent_ref=e.written_consent_ref,
                successor=e.successor,
                note=e.note,
                notice_outbox_id=outbox_id,
                **_actor_fields(scope),
            )
            for e, outbox_id in zip(ends, outbox_ids, strict=True)
            if e.termination is None
        ]
    )

    # R15: a succession hands the data to the successor, so nothing is deleted.
    deletions: list[DataDeletion] = []
    for e in ends:
        if e.reason == TerminationReason.SUCCESSION:
            continue
        due_dates: list[tuple[DeletionKind, date]] = []
        if settings.TERMS_DELETION_PRIMARY_ALLOWED:
            due_dates.append((DeletionKind.PRIMARY, rules.primary_deletion_from(end=e.end_date)))
        due_dates.append((DeletionKind.BACKUP, rules.backup_purge_due(end=e.end_date)))
        deletions.extend(
            DataDeletion(
                contract=e.contract, tenant_id=e.contract.tenant_id, kind=kind, due_on=due_on
            )
            for kind, due_on in due_dates
        )
    if deletions:
        DataDeletion.objects.bulk_create(deletions, ignore_conflicts=True)

    _flag_lost_prerequisites(ends, now=now)
    return [*(e.termination for e in ends if e.termination is not None), *created]


def _flag_lost_prerequisites(ends: Sequence[_End], *, now: datetime) -> int:
    """R18 (ID+ 3.2): flag active contracts whose option required a product that just ended."""
    ended_pairs = {(e.contract.tenant_id, e.contract.product_id): e for e in ends}
    tenants = {e.contract.tenant_id: e.contract.tenant for e in ends}
    dependents = list(
        Contract.objects.filter(
            status=ContractStatus.ACTIVE,
            tenant_id__in=tenants,
            options__requires_product_id__in={p for _, p in ended_pairs},
        ).values_list(
            "pk",
            "tenant_id",
            "options__requires_product_id",
            "options__code",
            "options__name",
            "product__code",
        )
    )
    dependents = [row for row in dependents if (row[1], row[2]) in ended_pairs]
    if not dependents:
        return 0
    # Another active contract for the same product still satisfies the option.
    still_held = set(
        Contract.objects.filter(
            status=ContractStatus.ACTIVE,
            tenant_id__in={row[1] for row in dependents},
            product_id__in={row[2] for row in dependents},
        ).values_list("tenant_id", "product_id")
    )
    lost = [row for row in dependents if (row[1], row[2]) not in still_held]
    if not lost:
        return 0
    Contract.objects.filter(
        pk__in={row[0] for row in lost}, prerequisite_flagged_at__isnull=True
    ).update(prerequisite_flagged_at=now, updated_at=now)
    tenant_notes: list[Note] = []
    staff_notes: list[Note] = []
    for pk, tenant_id, product_id, option_code, option_name, product_code in lost:
        ended = ended_pairs[(tenant_id, product_id)]
        payload = {
            "contract_id": pk,
            "product_code": product_code,
            "option_code": option_code,
            "option_name": option_name,
            "prerequisite_contract_id": ended.contract.pk,
            "prerequisite_product_code": ended.contract.product.code,
            "prerequisite_ended_on": _iso(ended.end_date),
        }
        key = f"contract:{pk}:prerequisite:{ended.contract.pk}:{option_code}"
        tenant_notes.append(
            Note(
                kind=EventKind.OPTION_PREREQUISITE_LOST,
                tenant=tenants[tenant_id],
                key=key,
                payload=payload,
            )
        )
        staff_notes.append(
            Note(
                kind=EventKind.OPTION_PREREQUISITE_LOST,
                tenant=tenants[tenant_id],
                key=key,
                payload={"tenant_id": tenant_id, "tenant_name": tenants[tenant_id].name, **payload},
            )
        )
    notify_many(tenant_notes, staff=staff_notes)
    return len(lost)


def _lock_active(contract: Contract | int) -> Contract:
    locked = _lock(Contract.objects.all(), contract)
    _require_active(locked)
    return locked


def _require_notice(termination: Termination) -> None:
    if termination.reason in NOTICE_REQUIRED_REASONS and termination.notice_outbox_id is None:
        # R14: no prior demand to cure is needed, but a notice is; refuse rather than end silently.
        raise Conflict(
            _("解約の通知先（管理者のメールアドレス、連絡先、Webhook）がないため解約できません。"),
            code="no_notice_recipient",
        )


@transaction.atomic
def contract_end(*, contract: Contract, end_date: date, reason: str, scope: Scope) -> Contract:
    """End an active contract on `end_date` (today or earlier) for `reason` (R14).

    Ends for non_renewal/expired leave it `ended`, every other end `terminated`; a scheduled
    termination for the same reason and date takes effect, any other is cancelled.
    """
    if not scope.is_privileged:
        raise PermissionDenied(_("契約を終了させる権限がありません。"), code="forbidden")
    why = _reason(reason)
    locked = _lock_active(contract)
    if end_date > clock.today():
        raise ValidationFailed(
            _("終了日 %(end)s は将来の日付です。解約の予定として登録してください。")
            % {"end": _iso(end_date)},
            code="end_in_future",
            field="end_date",
        )
    _require_not_before_start(end_date, locked)
    scheduled = Termination.objects.filter(
        contract=locked, status=TerminationStatus.SCHEDULED, reason=why, end_date=end_date
    ).first()
    (termination,) = _end_many(
        [_End(contract=locked, end_date=end_date, reason=why, termination=scheduled)], scope=scope
    )
    if scheduled is None:
        _require_notice(termination)
    _audit(
        scope,
        action=AuditAction.TERMINATE,
        obj=locked,
        summary=f"{why}: {end_date.isoformat()}",
        data={"reason": str(why), "end_date": end_date.isoformat()},
    )
    return locked


# --- Terminations (R6, R13, R14) -------------------------------------------------------


def _termination_create(
    *,
    contract: Contract,
    end_date: date,
    reason: TerminationReason,
    scope: Scope,
    case: TerminationCase | None = None,
    note: str = "",
) -> Termination:
    today = clock.today()
    if end_date < today:
        raise ValidationFailed(
            _(
                "終了日 %(end)s は過去の日付です（本日 %(today)s）。本日以降の日付を指定してください。"
            )
            % {"end": _iso(end_date), "today": _iso(today)},
            code="end_date_in_past",
            field="end_date",
            today=today,
        )
    _require_not_before_start(end_date, contract)
    existing = Termination.objects.filter(
        contract=contract, status=TerminationStatus.SCHEDULED
    ).first()
    if existing is not None:
        raise Conflict(
            _("この契約は %(end)s に終了する予定です。") % {"end": _iso(existing.end_date)},
            code="termination_exists",
            end_date=existing.end_date,
            reason=existing.reason,
        )
    termination = Termination.objects.create(
        contract=contract,
        tenant=contract.tenant,
        reason=reason,
        status=TerminationStatus.SCHEDULED,
        end_date=end_date,
        requested_at=clock.now(),
        case=case,
        note=note,
        **_actor_fields(scope),
    )
    payload = {
        **_contract_payload(contract),
        "termination_id": termination.pk,
        "reason": str(reason),
        "requested_on": _iso(today),
        "end_date": _iso(end_date),
        "status_after_end": str(rules.end_status_for_reason(reason)),
        "claims_window_closes": _iso(rules.claims_window_closes(end=end_date)),
        "backup_purge_due": _iso(rules.backup_purge_due(end=end_date)),
    }
    if settings.TERMS_DELETION_PRIMARY_ALLOWED:
        payload["primary_deletion_from"] = _iso(rules.primary_deletion_from(end=end_date))
    (outbox_id,) = notify_many(
        [
            Note(
                kind=EventKind.TERMINATION,
                tenant=contract.tenant,
                key=f"termination:{termination.pk}:notice",
                subject=termination,
                payload=payload,
            )
        ]
    )
    termination.notice_outbox_id = outbox_id
    termination.save(update_fields=["notice_outbox_id", "updated_at"])
    _require_notice(termination)
    Contract.objects.filter(pk=contract.pk).update(updated_at=clock.now())
    _audit(
        scope,
        action=AuditAction.TERMINATE,
        obj=termination,
        summary=f"{reason}: end {end_date.isoformat()}",
        data={"reason": str(reason), "end_date": end_date.isoformat(), "note": note},
    )
    return termination


@transaction.atomic
def termination_request(
    *,
    scope: Scope,
    contract: Contract,
    end_date: date,
    reason: str = TerminationReason.CUSTOMER_REQUEST,
    note: str = "",
) -> Termination:
    """Give notice of termination with an end date (R13), or terminate as staff (R14).

    Staff-only reasons (Biz 13.1) need a privileged scope; they need no prior demand to cure
    but always a notice, whose outbox id is stored on the Termination.
    """
    locked = contract_for_write(scope, contract)
    why = _reason(reason)
    if why in STAFF_ONLY_REASONS and not scope.is_privileged:
        raise PermissionDenied(
            _("この終了事由は当社のみが使えます。"), code="staff_only_reason", reason=str(why)
        )
    if why in ENDED_REASONS:
        raise ValidationFailed(
            _(
                "期間満了・更新しない旨の申込は解約ではありません。更新しない旨の申込をしてください。"
            ),
            code="not_a_termination_reason",
            field="reason",
        )
    if why in (TerminationReason.TERMS_REJECTED, TerminationReason.SUCCESSION):
        raise ValidationFailed(
            _("この終了事由は解約案件の確定または地位の承継の手続で登録されます。"),
            code="reason_has_own_procedure",
            field="reason",
        )
    _require_active(locked)
    return _termination_create(
        contract=locked, end_date=end_date, reason=why, scope=scope, note=note
    )


@transaction.atomic
def termination_schedule(
    *,
    contract: Contract,
    end_date: date,
    reason: str,
    scope: Scope,
    case: TerminationCase | None = None,
    note: str = "",
) -> Termination:
    """Schedule a termination decided by the company, e.g. a confirmed R6 case; never retroactive."""
    if not scope.is_privileged:
        raise PermissionDenied(_("解約を予定する権限がありません。"), code="forbidden")
    why = _reason(reason)
    if why in ENDED_REASONS:
        raise ValidationFailed(
            _("期間満了・更新しない旨の申込は解約ではありません。"),
            code="not_a_termination_reason",
            field="reason",
        )
    locked = _lock_active(contract)
    return _termination_create(
        contract=locked, end_date=end_date, reason=why, scope=scope, case=case, note=note
    )


# --- Succession (R19) ------------------------------------------------------------------


@transaction.atomic
def succession(
    *,
    scope: Scope,
    contract: Contract,
    successor_tenant: Tenant,
    written_consent_ref: str,
    on_date: date,
) -> Contract:
    """Staff-only transfer with the company's prior written consent (R19; Biz 14, ID+ 20).

    The contract ends the day before `on_date` (reason succession, citing the consent) and a
    new contract for the successor starts on `on_date`, continuing the current period. No
    consent ledger row of either tenant is touched; no data deletion is scheduled.
    """
    if not scope.is_staff:
        raise PermissionDenied(
            _("契約上の地位の承継は、当社の書面による承諾に基づき当社スタッフのみが登録できます。"),
            code="staff_only",
        )
    ref = (written_consent_ref or "").strip()
    if not ref:
        raise ValidationFailed(
            _("当社の書面による承諾の記録（文書番号など）が必要です。"),
            code="written_consent_required",
            field="written_consent_ref",
        )
    locked = _lock_active(contract)
    if successor_tenant.pk == locked.tenant_id:
        raise ValidationFailed(
            _("承継先は別のテナントである必要があります。"),
            code="same_tenant",
            field="successor_tenant",
        )
    if on_date > clock.today():
        raise ValidationFailed(
            _("承継日 %(on)s は将来の日付です。承継の効力が生じた日以降に登録してください。")
            % {"on": _iso(on_date)},
            code="succession_in_future",
            field="on_date",
        )
    if on_date <= locked.start_date:
        raise ValidationFailed(
            _("承継日 %(on)s は利用開始日 %(start)s より後である必要があります。")
            % {"on": _iso(on_date), "start": _iso(locked.start_date)},
            code="succession_before_start",
            field="on_date",
        )
    period = open_period(locked)
    options = list(locked.options.all())
    successor = Contract.objects.create(
        tenant=successor_tenant,
        product=locked.product,
        start_date=on_date,
        term_months=locked.term_months,
        auto_renew=locked.auto_renew,
        auto_renew_source=locked.auto_renew_source,
        notice_months=locked.notice_months,
        notice_source=locked.notice_source,
        billing_cycle=locked.billing_cycle,
        cycle_months=locked.cycle_months,
        amount_jpy=locked.amount_jpy,
        lump_sum_jpy=locked.lump_sum_jpy,
        order_ref=locked.order_ref,
        predecessor=locked,
        succession_consent_ref=ref,
    )
    if options:
        successor.options.set(options)
        if _missing_prerequisites(successor_tenant, options):
            # R18: the successor may lack the prerequisite contract; staff and tenant must see it.
            successor.prerequisite_flagged_at = clock.now()
            successor.save(update_fields=["prerequisite_flagged_at", "updated_at"])
    # The successor steps into the running period; renewals then chain as before (R10).
    if period is not None and on_date <= period.end_date:
        first_end = period.end_date
    else:
        first_end = rules.period_end(start=on_date, months=locked.term_months)
    ContractPeriod.objects.create(
        contract=successor,
        tenant=successor_tenant,
        seq=1,
        start_date=on_date,
        end_date=first_end,
    )
    end_date = on_date - rules.ONE_DAY
    _end_many(
        [
            _End(
                contract=locked,
                end_date=end_date,
                reason=TerminationReason.SUCCESSION,
                written_consent_ref=ref,
                successor=successor,
            )
        ],
        scope=scope,
    )
    _audit(
        scope,
        action=AuditAction.SUCCESSION,
        obj=locked,
        summary=f"→ {successor_tenant.name} from {on_date.isoformat()} ({ref})",
        data={
            "successor_contract_id": successor.pk,
            "successor_tenant_id": successor_tenant.pk,
            "on_date": on_date.isoformat(),
            "written_consent_ref": ref,
        },
    )
    return successor


# --- The lifecycle job (R10, R11, R14) ---------------------------------------------------


def _roll_terminations(*, today: date, size: int, counts: dict[str, int]) -> int:
    with transaction.atomic():
        due = list(
            Termination.objects.select_for_update(skip_locked=True, of=("self", "contract"))
            .select_related("contract", "contract__product", "contract__tenant")
            .filter(
                status=TerminationStatus.SCHEDULED,
                end_date__lt=today,
                contract__status=ContractStatus.ACTIVE,
            )
            .order_by("end_date", "pk")[:size]
        )
        _end_many(
            [
                _End(
                    contract=t.contract,
                    end_date=t.end_date,
                    reason=TerminationReason(t.reason),
                    termination=t,
                )
                for t in due
            ],
            scope=Scope.system(),
        )
        counts["terminated"] += len(due)
        return len(due)


def _roll_periods(*, today: date, size: int, counts: dict[str, int]) -> int:
    with transaction.atomic():
        periods = list(
            ContractPeriod.objects.select_for_update(skip_locked=True, of=("self", "contract"))
            .select_related("contract", "contract__product", "contract__tenant")
            .filter(
                status=PeriodStatus.OPEN,
                end_date__lt=today,
                contract__status=ContractStatus.ACTIVE,
            )
            # A notice ending on or before the period's last day wins over the period end;
            # the termination step applies it.
            .exclude(
                Exists(
                    Termination.objects.filter(
                        contract_id=OuterRef("contract_id"),
                        status=TerminationStatus.SCHEDULED,
                        end_date__lte=OuterRef("end_date"),
                    )
                )
            )
            .order_by("end_date", "pk")[:size]
        )
        if not periods:
            return 0
        requests = {
            row.contract_id: row
            for row in NonRenewalRequest.objects.filter(
                contract_id__in=[p.contract_id for p in periods], status=NonRenewalStatus.ACTIVE
            )
        }
        renew: list[ContractPeriod] = []
        ends: list[_End] = []
        for period in periods:
            contract = period.contract
            request = requests.get(contract.pk)
            if request is not None and request.end_date == period.end_date:
                ends.append(_End(contract, period.end_date, TerminationReason.NON_RENEWAL))
            elif contract.auto_renew:
                renew.append(period)
            else:
                ends.append(_End(contract, period.end_date, TerminationReason.EXPIRED))
        if renew:
            _renew(renew)
        _end_many(ends, scope=Scope.system())
        counts["renewed"] += len(renew)
        counts["ended_non_renewal"] += sum(e.reason == TerminationReason.NON_RENEWAL for e in ends)
        counts["expired"] += sum(e.reason == TerminationReason.EXPIRED for e in ends)
        return len(periods)


def _renew(periods: Sequence[ContractPeriod]) -> None:
    """Close each period and open the next for the same length, the day after its end (R10, R11)."""
    now = clock.now()
    ContractPeriod.objects.filter(pk__in=[p.pk for p in periods], status=PeriodStatus.OPEN).update(
        status=PeriodStatus.CLOSED, updated_at=now
    )
    new_periods: list[ContractPeriod] = []
    notes: list[Note] = []
    for period in periods:
        contract = period.contract
        months = contract_period_months(contract, period)
        start = rules.next_period_start(previous_end=period.end_date)
        end = rules.period_end(start=start, months=months)
        new_periods.append(
            ContractPeriod(
                contract=contract,
                tenant_id=period.tenant_id,
                seq=period.seq + 1,
                start_date=start,
                end_date=end,
            )
        )
        payload = {
            **_contract_payload(contract),
            "period_seq": period.seq + 1,
            "previous_end": _iso(period.end_date),
            "period_start": _iso(start),
            "period_end": _iso(end),
            "months": months,
        }
        if contract.notice_months is not None:
            payload["non_renewal_deadline"] = _iso(
                rules.non_renewal_deadline(end=end, notice_months=contract.notice_months)
            )
        notes.append(
            Note(
                kind=EventKind.RENEWED,
                tenant=contract.tenant,
                key=f"contract:{contract.pk}:renewed:{start.isoformat()}",
                subject=contract,
                payload=payload,
            )
        )
    ContractPeriod.objects.bulk_create(new_periods)
    Contract.objects.filter(pk__in=[p.contract_id for p in periods]).update(updated_at=now)
    notify_many(notes)


def contracts_roll_due(*, today: date, limit: int | None = None) -> dict[str, int]:
    """Renew or end contracts the day after their period ends; end due terminations (R10–R14).

    Periods go first, except one that a scheduled termination ends on or before its last day
    (the notice wins over the renewal or expiry); then due terminations. So a catch-up after
    missed days applies ends in date order: an expiry before a later notice, a renewal before
    a notice in the next period. Each batch is one transaction with a constant number of queries; rows are
    claimed with FOR UPDATE SKIP LOCKED and changed by conditional updates, so a second run
    (or a concurrent one) finds nothing left to do. `limit` bounds the rows of each phase.
    """
    counts = {"terminated": 0, "renewed": 0, "ended_non_renewal": 0, "expired": 0}
    batch = max(1, int(settings.TERMS_JOB_BATCH_SIZE))
    for step in (_roll_periods, _roll_terminations):
        remaining = limit
        while remaining is None or remaining > 0:
            size = batch if remaining is None else min(batch, remaining)
            done = step(today=today, size=size, counts=counts)
            if done == 0:
                break
            if remaining is not None:
                remaining -= done
    return counts


__all__ = [
    "NOTICE_REQUIRED_REASONS",
    "Note",
    "contract_create",
    "contract_end",
    "contract_for_write",
    "contracts_roll_due",
    "non_renewal_request",
    "non_renewal_withdraw",
    "notify_many",
    "succession",
    "termination_request",
    "termination_schedule",
]
