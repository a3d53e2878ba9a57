"""Reads of contracts, their periods and deadlines, always built from the caller's Scope."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.db.models import Prefetch, QuerySet
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from agreements import rules
from agreements.enums import (
    ContractStatus,
    DeletionKind,
    DeletionStatus,
    NonRenewalStatus,
    PeriodStatus,
    TerminationReason,
    TerminationStatus,
)
from agreements.models import (
    Contract,
    ContractPeriod,
    DataDeletion,
    NonRenewalRequest,
    Termination,
)
from agreements.rulebook import Rulebook, article_en, article_ja, rulebook_for
from core.errors import NotFound
from tenants import partition

if TYPE_CHECKING:
    from tenants.models import Tenant
    from tenants.scope import Scope


def contracts_visible(scope: Scope) -> QuerySet[Contract]:
    """Contracts within the caller's reach: a product sees only the contracts of its product."""
    queryset = Contract.objects.all()
    if scope.is_product:
        return queryset.filter(product_id=scope.product_id)
    return scope.owned(queryset)


def _with_related(queryset: QuerySet[Contract]) -> QuerySet[Contract]:
    # One query per relation, whatever the number of contracts (a list costs a constant number).
    return queryset.select_related(
        "tenant", "tenant__partner", "product", "predecessor"
    ).prefetch_related(
        "options",
        Prefetch(
            "periods",
            queryset=ContractPeriod.objects.filter(status=PeriodStatus.OPEN),
            to_attr="open_periods",
        ),
        Prefetch(
            "non_renewal_requests",
            queryset=NonRenewalRequest.objects.filter(status=NonRenewalStatus.ACTIVE),
            to_attr="active_non_renewals",
        ),
        Prefetch(
            "terminations",
            queryset=Termination.objects.exclude(status=TerminationStatus.CANCELLED).order_by(
                "-pk"
            ),
            to_attr="live_terminations",
        ),
        Prefetch(
            "deletions",
            queryset=DataDeletion.objects.exclude(status=DeletionStatus.CANCELLED).order_by(
                "due_on", "pk"
            ),
            to_attr="live_deletions",
        ),
    )


def contract_list(
    *, scope: Scope, tenant: Tenant | None = None, updated_since: datetime | None = None
) -> QuerySet[Contract]:
    """The caller's contracts, oldest first, with everything `contract_facts` reads prefetched.
    Staff lists leave partners' sandboxes out (docs/api.md, Sandbox); one by id stays open."""
    queryset = contracts_visible(scope)
    if scope.is_privileged:
        queryset = queryset.filter(partition.tenant_q("tenant__"))
    if tenant is not None:
        queryset = queryset.filter(tenant_id=tenant.pk)
    if updated_since is not None:
        queryset = queryset.filter(updated_at__gte=updated_since)
    return _with_related(queryset).order_by("pk")


def contract_get(*, scope: Scope, pk: Any) -> Contract:
    """One contract of the caller; another caller's contract is NotFound (never 403)."""
    try:
        return _with_related(contracts_visible(scope)).get(pk=pk)
    except (Contract.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("契約が見つかりません。"), code="contract_not_found") from None


# --- Facts shown on a contract (R10, R11, R15–R18) ----------------------------------------


@dataclass(frozen=True)
class DeletionFact:
    kind: str
    status: str
    due_on: date
    ordered_at: datetime | None = None
    acknowledged_at: datetime | None = None


@dataclass(frozen=True)
class ContractFacts:
    """Everything a screen or notice states about a contract, as concrete dates (R11)."""

    status: str
    today: date
    period_seq: int | None
    period_start: date | None
    period_end: date | None
    period_months: int | None
    auto_renew: bool
    auto_renew_source: str
    notice_months: int | None
    notice_source: str
    # R11: the deadline for the current period end and whether it is still open today.
    current_deadline: date | None
    is_current_deadline_open: bool | None
    # The earliest end an application made today can reach, its deadline and days left.
    non_renewal_end: date | None
    non_renewal_deadline: date | None
    non_renewal_days_left: int | None
    next_possible_end: date | None
    non_renewal_requested_end: date | None
    non_renewal_requested_deadline: date | None
    termination_end: date | None
    termination_reason: str | None
    # The end the contract is heading for (ended, terminated, non-renewal, or no renewal).
    known_end: date | None
    ended_on: date | None
    end_reason: str | None
    claims_window_closes: date | None  # R16, on ended contracts, where the rulebook has it
    liability_cap_jpy: int | None  # R17, where the rulebook has it
    # R17: the cap under the other reading where the rulebook marks the reading disputed.
    liability_cap_other_jpy: int | None
    prerequisite_flagged_at: datetime | None  # R18
    primary_deletion_from: date | None  # R15, from the known end, per the rulebook's timetable
    backup_purge_due: date | None  # R15, from the known end, per the rulebook's timetable
    deletions: list[DeletionFact] = field(default_factory=list)
    rulebook: Rulebook = field(default_factory=lambda: rulebook_for(None))
    # R12: the product's terms say fees are not prorated (ID+ 7.3), or nothing (Biz).
    no_proration: bool = False
    # R12: a company-initiated end under terms that keep the settlement of fees (Biz 7.2).
    settlement_due: bool = False
    # R13: the terms remove the accounts on the end date (ID+ 9.2).
    accounts_removed_on_end: bool = False
    # The reason of the end, or of the scheduled termination, as the product's terms cite it.
    reason_code: str | None = None

    @property
    def termination_ends_it_first(self) -> bool:
        """A scheduled termination ends the contract no later than the current period and
        before any filed non-renewal: a non-renewal is then moot (R11, R14)."""
        end = self.termination_end
        if end is None or self.period_end is None or end > self.period_end:
            return False
        filed = self.non_renewal_requested_end
        return filed is None or end < filed

    @property
    def termination_comes_first(self) -> bool:
        """A scheduled termination ends the contract before any filed non-renewal would: the
        end people are shown is the termination's (R14)."""
        end = self.termination_end
        if end is None:
            return False
        filed = self.non_renewal_requested_end
        return filed is None or end < filed

    @property
    def termination_by_company(self) -> bool:
        """The scheduled termination is the company's decision, not the customer's request."""
        return bool(self.termination_reason) and (
            self.termination_reason != TerminationReason.CUSTOMER_REQUEST
        )

    @property
    def termination_reason_label(self) -> str:
        """The scheduled termination's reason as people read it, never its code."""
        if not self.termination_reason:
            return ""
        return str(TerminationReason(self.termination_reason).label)

    @property
    def requested_deletion(self) -> DeletionFact | None:
        """The customer's live deletion request (R15), if any."""
        return next((d for d in self.deletions if d.kind == DeletionKind.REQUESTED), None)

    @property
    def deletions_shown(self) -> list[DeletionFact]:
        """The deletions as one consistent timetable (R15): while a customer's request is
        live, it is what deletes the data, so the company's own later permission to delete
        (the scheduled `primary` row) is not listed beside it as a second, later date."""
        if self.requested_deletion is None:
            return self.deletions
        return [
            d
            for d in self.deletions
            if not (d.kind == DeletionKind.PRIMARY and d.status == DeletionStatus.SCHEDULED)
        ]

    def _cite(self, rule: str) -> str:
        entry = self.rulebook.entry(rule)
        return _in_language(entry.article) if entry.contained else ""

    @property
    def claims_article(self) -> str:
        """R16's article in the current language ("" where the terms have none)."""
        return self._cite("R16")

    @property
    def cap_article(self) -> str:
        return self._cite("R17")

    @property
    def deletion_article(self) -> str:
        return self._cite("R15")

    @property
    def billing_article(self) -> str:
        return self._cite("R12")

    @property
    def end_article(self) -> str:
        return self._cite("R13")

    @property
    def termination_article(self) -> str:
        return self._cite("R14")

    @property
    def succession_article(self) -> str:
        return self._cite("R19")

    @property
    def reason_article(self) -> str:
        """The article the end's reason rests on under this product's terms (R14)."""
        entry = self.rulebook.reason(self.reason_code) if self.reason_code else None
        return _in_language(entry.article) if entry else ""

    @property
    def reason_grounds(self) -> str:
        entry = self.rulebook.reason(self.reason_code) if self.reason_code else None
        return entry.grounds if entry else ""


def _in_language(article: str | None) -> str:
    """An article reference in the language being rendered: 第12条第3項 or Article 12(3)."""
    return article_en(article) if (get_language() or "ja").startswith("en") else article_ja(article)


def open_period(contract: Contract) -> ContractPeriod | None:
    """The contract's open period, from the prefetch when there is one."""
    cached = getattr(contract, "open_periods", None)
    if cached is not None:
        return cached[0] if cached else None
    return contract.periods.filter(status=PeriodStatus.OPEN).first()


def active_non_renewal(contract: Contract) -> NonRenewalRequest | None:
    cached = getattr(contract, "active_non_renewals", None)
    if cached is not None:
        return cached[0] if cached else None
    return contract.non_renewal_requests.filter(status=NonRenewalStatus.ACTIVE).first()


def scheduled_termination(contract: Contract) -> Termination | None:
    cached = getattr(contract, "live_terminations", None)
    if cached is not None:
        rows = [row for row in cached if row.status == TerminationStatus.SCHEDULED]
        return rows[0] if rows else None
    return contract.terminations.filter(status=TerminationStatus.SCHEDULED).first()


def _deletions(contract: Contract) -> list[DataDeletion]:
    cached = getattr(contract, "live_deletions", None)
    if cached is not None:
        return list(cached)
    return list(
        contract.deletions.exclude(status=DeletionStatus.CANCELLED).order_by("due_on", "pk")
    )


def period_months(*, start: date, end: date, fallback: int, first_day_counts: bool = True) -> int:
    """Length in months of the period `start`…`end` (R11: a renewal repeats it).

    A period that is not a whole number of months renews for `fallback` months.
    """
    months = (end.year - start.year) * 12 + (end.month - start.month)
    for candidate in (months, months + 1):
        if candidate >= 1 and (
            rules.period_end(start=start, months=candidate, start_day_counts=first_day_counts)
            == end
        ):
            return candidate
    return fallback


def contract_period_months(contract: Contract, period: ContractPeriod) -> int:
    """Months the next period repeats (R11); a successor's first period is the remainder of
    its predecessor's (R19), so it renews for the contract's term instead."""
    if period.seq == 1 and contract.predecessor_id is not None:
        return contract.term_months
    # Only the first period can begin mid-day (R9); renewals start at 00:00 (CC 140 proviso).
    first_day_counts = period.seq != 1 or contract.product.start_day_counts
    return period_months(
        start=period.start_date,
        end=period.end_date,
        fallback=contract.term_months,
        first_day_counts=first_day_counts,
    )


def contract_known_end(contract: Contract) -> date | None:
    """The date the contract ends or will end, where it is known (R11, R13, R15)."""
    if contract.ended_on is not None:
        return contract.ended_on
    candidates: list[date] = []
    termination = scheduled_termination(contract)
    if termination is not None:
        candidates.append(termination.end_date)
    request = active_non_renewal(contract)
    if request is not None:
        candidates.append(request.end_date)
    period = open_period(contract)
    if period is not None and not contract.auto_renew:
        candidates.append(period.end_date)
    return min(candidates) if candidates else None


def contract_facts(contract: Contract, today: date) -> ContractFacts:
    """Current period, R11 deadlines, R15 deletion dates, R16 claims window, R17 cap, R18 flag."""
    period = open_period(contract) if contract.status == ContractStatus.ACTIVE else None
    months = contract_period_months(contract, period) if period is not None else None
    current_deadline = is_open = None
    nr_end = nr_deadline = days_left = next_end = None
    if period is not None and months is not None:
        next_end = rules.next_possible_end(end=period.end_date, months=months)
        if contract.auto_renew and contract.notice_months is not None:
            current_deadline = rules.non_renewal_deadline(
                end=period.end_date, notice_months=contract.notice_months
            )
            is_open = today <= current_deadline
            nr_end = rules.earliest_non_renewal_end(
                applied_on=today,
                end=period.end_date,
                months=months,
                notice_months=contract.notice_months,
            )
            nr_deadline = rules.non_renewal_deadline(
                end=nr_end, notice_months=contract.notice_months
            )
            days_left = (nr_deadline - today).days
    request = active_non_renewal(contract) if contract.status == ContractStatus.ACTIVE else None
    termination = (
        scheduled_termination(contract) if contract.status == ContractStatus.ACTIVE else None
    )
    known_end = contract_known_end(contract)
    deletes_data = contract.end_reason != TerminationReason.SUCCESSION
    book = rulebook_for(contract.product.code)
    timetable = book.deletion_timetable if deletes_data else None
    claims_months = book.claims_window_months
    reason_code = contract.end_reason or (termination.reason if termination else None)
    return ContractFacts(
        status=contract.status,
        today=today,
        period_seq=period.seq if period else None,
        period_start=period.start_date if period else None,
        period_end=period.end_date if period else None,
        period_months=months,
        auto_renew=contract.auto_renew,
        auto_renew_source=contract.auto_renew_source,
        notice_months=contract.notice_months,
        notice_source=contract.notice_source,
        current_deadline=current_deadline,
        is_current_deadline_open=is_open,
        non_renewal_end=nr_end,
        non_renewal_deadline=nr_deadline,
        non_renewal_days_left=days_left,
        next_possible_end=next_end,
        non_renewal_requested_end=request.end_date if request else None,
        non_renewal_requested_deadline=request.deadline if request else None,
        termination_end=termination.end_date if termination else None,
        termination_reason=termination.reason if termination else None,
        known_end=known_end,
        ended_on=contract.ended_on,
        end_reason=contract.end_reason or None,
        claims_window_closes=(
            rules.claims_window_closes(end=contract.ended_on, months=claims_months)
            if contract.ended_on and claims_months
            else None
        ),
        liability_cap_jpy=contract_liability_cap(contract, book),
        liability_cap_other_jpy=contract_liability_cap_other_reading(contract, book),
        prerequisite_flagged_at=contract.prerequisite_flagged_at,
        primary_deletion_from=(
            rules.primary_deletion_from(end=known_end, months=timetable[0])
            if known_end and timetable
            else None
        ),
        backup_purge_due=(
            rules.backup_purge_due(end=known_end, months=timetable[1])
            if known_end and timetable
            else None
        ),
        deletions=[
            DeletionFact(
                kind=row.kind,
                status=row.status,
                due_on=row.due_on,
                ordered_at=row.ordered_at,
                acknowledged_at=row.acknowledged_at,
            )
            for row in _deletions(contract)
        ],
        rulebook=book,
        no_proration=book.no_proration,
        settlement_due=book.settles(reason=reason_code, billing_cycle=contract.billing_cycle),
        accounts_removed_on_end=book.accounts_removed_on_end,
        reason_code=reason_code,
    )


def contract_liability_cap(contract: Contract, book: Rulebook | None = None) -> int | None:
    """R17 where the product's terms cap liability (Biz 12.4); None elsewhere.

    A lump sum paid for the right of use converts over the contract's cycle (or term) length.
    """
    book = book or rulebook_for(contract.product.code)
    if not book.has_liability_cap:
        return None
    return rules.liability_cap(**_cap_inputs(contract))


def contract_liability_cap_other_reading(
    contract: Contract, book: Rulebook | None = None
) -> int | None:
    """R17: the cap under the disputed other reading, where the rulebook marks one and the
    two readings give different figures; None elsewhere."""
    book = book or rulebook_for(contract.product.code)
    if not (book.has_liability_cap and book.liability_cap_disputed):
        return None
    return rules.liability_cap_other_reading(**_cap_inputs(contract))


def _cap_inputs(contract: Contract) -> dict[str, Any]:
    return {
        "billing_cycle": contract.billing_cycle,
        "amount_jpy": contract.amount_jpy,
        "lump_sum_jpy": contract.lump_sum_jpy,
        "cycle_months": contract.cycle_months,
        "right_of_use_months": contract.cycle_months or contract.term_months,
    }
