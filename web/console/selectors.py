"""Reads the console needs that no foundation selector provides: the consent dashboard,
the "upcoming" panel, termination cases, the staff search and an object's audit trail.
Read-only; every count is a database count.

Dashboard numbers, per document and the version its consent states point at (the latest
posted version, docs/ledger.md): `bound` = tenants bound by the document today (R1), i.e. its
rows with `bound` set (kept when contracts start and end: agreements.services.consents_bound);
each column = those rows with that status, `unnotified` (R3) included. So the columns always
add up to `bound`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, Model, OuterRef, Q, QuerySet

from agreements.enums import (
    CaseStatus,
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    DeletionKind,
    DeletionStatus,
    NonRenewalStatus,
    PeriodStatus,
    ReminderStatus,
    VersionStatus,
)
from agreements.models import (
    ConsentState,
    Contract,
    ContractPeriod,
    DataDeletion,
    NonRenewalRequest,
    ScheduledReminder,
    Termination,
    TerminationCase,
    TermsDocument,
    TermsVersion,
)
from agreements.rulebook import rulebook_for
from agreements.rules import non_renewal_deadline, on_548_4_ground, rejection_end_date
from agreements.selectors.consents import bound_tenants_q, consent_status_label
from agreements.services.consents.reminders import remindable
from core.enums import OutboxStatus
from core.models import AuditEntry, Outbox
from tenants import partition
from tenants.models import Partner, PartnerAPIKey, Tenant, WebhookEndpoint
from tenants.rules import CORPORATE_NUMBER_LENGTH, normalize_corporate_number

COLUMNS = (
    ConsentStatus.ACCEPTED,
    ConsentStatus.DEEMED,
    ConsentStatus.REJECTED,
    ConsentStatus.NO_ANSWER,
    ConsentStatus.OUTSTANDING,
    # R3: the notice never reached them; the drill-down lists them for staff to reach.
    ConsentStatus.UNNOTIFIED,
)


@dataclass
class DashboardRow:
    document: TermsDocument
    version: TermsVersion
    bound: int
    counts: dict[str, int] = field(default_factory=dict)
    # Reminders scheduled and still to go out (R4); the HTML page fills them in
    # (scheduled_reminders), the CSV needs none.
    reminders: list[ScheduledReminder] = field(default_factory=list)

    def percent(self, status: str) -> float:
        return round(100.0 * self.counts.get(status, 0) / self.bound, 1) if self.bound else 0.0

    @property
    def unanswered(self) -> int:
        """Tenants a reminder is for: no answer yet, or outstanding after the date (R4)."""
        return self.counts.get(ConsentStatus.NO_ANSWER, 0) + self.counts.get(
            ConsentStatus.OUTSTANDING, 0
        )

    @property
    def remindable(self) -> bool:
        """Whether the dashboard offers a reminder: the reminder service's own rule, and
        someone left to remind."""
        return self.unanswered > 0 and remindable(self.version)

    @property
    def cells(self) -> list[dict[str, Any]]:
        return [
            {
                "status": s,
                "label": consent_status_label(s, legal_basis=self.version.legal_basis),
                "count": self.counts.get(s, 0),
                "percent": self.percent(s),
                # Unanswered after the date, but the revision applies (CC 548-4(1)).
                "applies_anyway": s == ConsentStatus.OUTSTANDING
                and on_548_4_ground(self.version.legal_basis),
            }
            for s in COLUMNS
        ]


def _tenant_filter(partner: str | None, prefix: str = "") -> Q:
    if partner == "direct":
        return Q(**{f"{prefix}partner__isnull": True})
    if partner and str(partner).isdigit():
        return Q(**{f"{prefix}partner_id": int(partner)})
    return Q()


def bound_tenants(*, document: TermsDocument, partner: str | None = None) -> QuerySet[Tenant]:
    return Tenant.objects.filter(bound_tenants_q(document=document, on_date=None)).filter(
        _tenant_filter(partner)
    )


def bound_states(*, partner: str | None = None) -> QuerySet[ConsentState]:
    """The dashboard's one source: projection rows of tenants bound now (ConsentState.bound,
    kept by agreements.services.consents_bound), of one sales channel if asked."""
    return ConsentState.objects.filter(bound=True).filter(_tenant_filter(partner, "tenant__"))


def live_versions(*, product_id: int | None = None) -> QuerySet[TermsVersion]:
    """The versions consent states point at (one per document: its latest posted version), of
    live products only: a partner's sandbox is not the service's (docs/api.md, Sandbox)."""
    followed = Exists(ConsentState.objects.filter(version_id=OuterRef("pk")))
    qs = (
        TermsVersion.objects.filter(partition.product_q("document__product__"))
        .filter(followed | Q(status=VersionStatus.SCHEDULED, posted_at__isnull=False))
        .select_related("document", "document__product")
    )
    if product_id:
        qs = qs.filter(document__product_id=product_id)
    return qs.order_by("document__product__code", "document__slug", "-effective_on", "-pk")


def dashboard_rows(
    *, product_id: int | None = None, partner: str | None = None
) -> list[DashboardRow]:
    """One row per live version (live_versions): its bound tenants by status.

    Two queries whatever the number of tenants (three with a sales channel): the versions,
    and one GROUP BY over the projection on the index (version, status, bound), which also
    says which versions rows follow. Not live_versions' EXISTS: PostgreSQL answers it for a
    version without rows by reading the whole table (bench: benchmark 7)."""
    versions = TermsVersion.objects.filter(
        partition.product_q("document__product__")  # live products only, as live_versions
    ).select_related("document", "document__product")
    if product_id:
        versions = versions.filter(document__product_id=product_id)
    by_pk = {version.pk: version for version in versions}
    followed: set[int] = set()
    counted: dict[int, dict[str, int]] = {pk: {} for pk in by_pk}
    grouped = (
        ConsentState.objects.filter(version_id__in=list(by_pk))
        .values_list("version_id", "status", "bound")
        # COUNT(*), not COUNT(id): the index (version, status, bound) answers it alone, in
        # its own order.
        .annotate(n=Count("*"))
        .order_by()
    )
    for version_id, status, bound, n in grouped:
        followed.add(version_id)
        if bound and not partner:
            counted[version_id][status] = n
    if partner:
        for version_id, status, n in (
            bound_states(partner=partner)
            .filter(version_id__in=list(followed))
            .values_list("version_id", "status")
            .annotate(n=Count("*"))
            .order_by()
        ):
            counted[version_id][status] = n
    live = sorted(
        (
            version
            for version in by_pk.values()
            if version.pk in followed
            or (version.status == VersionStatus.SCHEDULED and version.posted_at is not None)
        ),
        key=_live_order,
    )
    rows: list[DashboardRow] = []
    for version in live:
        by_status = counted[version.pk]
        counts = {s: by_status.get(s, 0) for s in COLUMNS}
        rows.append(DashboardRow(version.document, version, sum(by_status.values()), counts))
    return rows


def _live_order(version: TermsVersion) -> tuple[str, str, int, int]:
    # live_versions' order: product, document, newest effective date first, newest first.
    effective = version.effective_on.toordinal() if version.effective_on else 0
    return (version.document.product.code, version.document.slug, -effective, -version.pk)


def dashboard_tenants(
    *, version: TermsVersion, status: str | None, partner: str | None = None
) -> QuerySet[Tenant]:
    """The tenants behind one number of the dashboard (status None or "bound": all bound),
    from the same rows the numbers count."""
    rows = bound_states(partner=partner).filter(version=version)
    if status is not None:
        rows = rows.filter(status=status)
    return (
        Tenant.objects.filter(pk__in=rows.values("tenant_id"))
        .select_related("partner")
        .order_by("name", "pk")
    )


# --- upcoming ---------------------------------------------------------------------------------


@dataclass
class Upcoming:
    notices: list[TermsVersion]
    effective: list[TermsVersion]
    renewals: list[ContractPeriod]
    deadlines: list[tuple[ContractPeriod, date]]
    deletions: list[DataDeletion]
    failed_deliveries: list[Outbox]
    failed_count: int
    lapsed: list[TermsVersion]


def upcoming(
    *,
    today: date,
    product_id: int | None = None,
    partner: str | None = None,
) -> Upcoming:
    """The "upcoming" panel under the dashboard's filter: revisions by product (a revision
    concerns every sales channel), contracts and deletions by product and sales channel.
    Delivery errors belong to no product and are never filtered (the page says so)."""
    # Live products and tenants only, as the numbers above (live_versions, dashboard_rows): a
    # partner's sandbox is not the service's.
    versions = TermsVersion.objects.filter(
        partition.product_q("document__product__")
    ).select_related("document")
    if product_id:
        versions = versions.filter(document__product_id=product_id)
    scheduled = versions.filter(status=VersionStatus.SCHEDULED)
    month_start = today.replace(day=1)
    next_month = (month_start + timedelta(days=32)).replace(day=1)
    open_periods = ContractPeriod.objects.filter(
        partition.product_q("contract__product__"),
        _tenant_filter(partner, "contract__tenant__"),
        status=PeriodStatus.OPEN,
        contract__status=ContractStatus.ACTIVE,
    ).select_related("contract", "contract__tenant", "contract__product")
    deletions = DataDeletion.objects.filter(
        partition.product_q("contract__product__"),
        _tenant_filter(partner, "tenant__"),
        status__in=[DeletionStatus.SCHEDULED, DeletionStatus.ORDERED],
        due_on__lte=today + timedelta(days=7),
    )
    if product_id:
        open_periods = open_periods.filter(contract__product_id=product_id)
        deletions = deletions.filter(contract__product_id=product_id)
    renewals = list(
        open_periods.filter(
            end_date__gte=month_start, end_date__lt=next_month, contract__auto_renew=True
        )
        .exclude(contract__non_renewal_requests__status=NonRenewalStatus.ACTIVE)
        .order_by("end_date", "pk")[:100]
    )
    # R11: the deadline of each auto-renewing contract's current period; a week ahead.
    week = today + timedelta(days=7)
    deadlines: list[tuple[ContractPeriod, date]] = []
    candidates = open_periods.filter(
        contract__auto_renew=True,
        contract__notice_months__isnull=False,
        end_date__gte=today,
        end_date__lte=today + timedelta(days=7 + 31 * 12),
    ).exclude(contract__non_renewal_requests__status=NonRenewalStatus.ACTIVE)
    for period in candidates.order_by("end_date", "pk")[:2000]:
        deadline = non_renewal_deadline(
            end=period.end_date, notice_months=period.contract.notice_months or 0
        )
        if today <= deadline <= week:
            deadlines.append((period, deadline))
    failed = Outbox.objects.filter(
        partition.partner_ids_q(), status__in=[OutboxStatus.FAILED, OutboxStatus.DEAD]
    )
    return Upcoming(
        # Every scheduled revision, however far off (one per document at most, R7): a card
        # that says なし while a version is scheduled would mislead.
        notices=list(scheduled.filter(posted_at__isnull=True).order_by("notice_on")),
        effective=list(scheduled.order_by("effective_on")),
        renewals=renewals,
        deadlines=sorted(deadlines, key=lambda pair: pair[1]),
        deletions=list(
            deletions.select_related("contract", "tenant", "contract__product").order_by(
                "due_on", "pk"
            )[:100]
        ),
        failed_deliveries=list(failed.order_by("-updated_at")[:20]),
        failed_count=failed.count(),
        lapsed=list(versions.filter(status=VersionStatus.LAPSED).order_by("-lapsed_at")[:20]),
    )


# --- termination cases ------------------------------------------------------------------------


def case_rows(
    *, status: str, today: date, notice_days: int, limit: int = 500
) -> list[dict[str, Any]]:
    """Termination cases oldest first (all when `status` is not a case status), each with
    `prospective`: the end date confirming it today would set (R6), for open cases only, so
    staff see it before the decision and never after."""
    cases = (
        TerminationCase.objects.filter(partition.tenant_q("tenant__"))  # live only
        .select_related("tenant", "contract", "contract__product", "version", "version__document")
        .order_by("opened_at", "pk")
    )
    if status in CaseStatus.values:
        cases = cases.filter(status=status)
    rows: list[dict[str, Any]] = []
    for case in cases[:limit]:
        prospective = None
        if case.status == CaseStatus.OPEN and case.version.effective_on:
            prospective = rejection_end_date(
                effective_on=case.version.effective_on,
                confirmed_on=today,
                notice_days=notice_days,
            )
        # R6: a case from a deemed-mode revision rests on a disputed reading of the terms.
        disputed = case.version.consent_mode == ConsentMode.DEEMED and (
            rulebook_for(case.contract.product.code).rejection_reach_disputed
        )
        rows.append({"case": case, "prospective": prospective, "reach_disputed": disputed})
    return rows


# --- search -----------------------------------------------------------------------------------


@dataclass
class SearchResult:
    tenants: list[Tenant]
    partners: list[Partner]
    contracts: list[Contract]

    @property
    def total(self) -> int:
        return len(self.tenants) + len(self.partners) + len(self.contracts)


def search(term: str, *, limit: int = 50) -> SearchResult:
    """A tenant, partner or contract by name, 法人番号 (as typed, full-width too), id or reference."""
    term = term.strip()
    if not term:
        return SearchResult([], [], [])
    digits = normalize_corporate_number(term)
    is_number = digits.isascii() and digits.isdigit()
    tenant_q = Q(name__icontains=term) | Q(external_ref=term) | Q(contact_email__iexact=term)
    partner_q = Q(name__icontains=term) | Q(code__iexact=term)
    contract_q = Q(tenant__name__icontains=term) | Q(order_ref=term) | Q(external_ref=term)
    if is_number and len(digits) == CORPORATE_NUMBER_LENGTH:
        tenant_q |= Q(corporate_number=digits)
        contract_q |= Q(tenant__corporate_number=digits)
    elif is_number and len(digits) <= 18:
        tenant_q |= Q(pk=int(digits))
        partner_q |= Q(pk=int(digits))
        contract_q |= Q(pk=int(digits))
    return SearchResult(
        # Live data only: sandboxes are the partners' test data (docs/api.md, "Sandbox").
        tenants=list(
            Tenant.objects.filter(tenant_q, partner__sandbox_of__isnull=True).select_related(
                "partner"
            )[:limit]
        ),
        partners=list(Partner.objects.filter(partner_q, sandbox_of__isnull=True)[:limit]),
        contracts=list(
            Contract.objects.filter(
                contract_q, tenant__partner__sandbox_of__isnull=True
            ).select_related("tenant", "product")[:limit]
        ),
    )


# --- audit ------------------------------------------------------------------------------------


def audit_for(obj: Model, limit: int = 50) -> QuerySet[AuditEntry]:
    """The audit trail of one object, newest first (every staff action is audited)."""
    return AuditEntry.objects.filter(
        object_type=obj._meta.label_lower,
        object_id=obj.pk,
    ).order_by("-at", "-pk")[:limit]


def audit_for_partner(partner: Partner, limit: int = 50) -> QuerySet[AuditEntry]:
    """The partner's audit trail with its keys' and webhooks' (issued, revoked, changed):
    what staff did about this partner, newest first."""
    owned = Q()
    for model in (PartnerAPIKey, WebhookEndpoint):
        owned |= Q(
            object_type=model._meta.label_lower,
            object_id__in=model.objects.filter(partner=partner).values("pk"),
        )
    return AuditEntry.objects.filter(
        Q(object_type=partner._meta.label_lower, object_id=partner.pk) | owned
    ).order_by("-at", "-pk")[:limit]


def scheduled_reminders(version_ids: list[int]) -> dict[int, list[ScheduledReminder]]:
    """The reminders still to go out per version (R4), by day: one query for the dashboard."""
    by_version: dict[int, list[ScheduledReminder]] = {pk: [] for pk in version_ids}
    for reminder in ScheduledReminder.objects.filter(
        version_id__in=version_ids, status=ReminderStatus.SCHEDULED
    ).order_by("send_on"):
        by_version[reminder.version_id].append(reminder)
    return by_version


def reminder_history(version: TermsVersion) -> list[ScheduledReminder]:
    """Every reminder scheduled for `version`, latest day first, with who scheduled it."""
    return list(
        ScheduledReminder.objects.filter(version=version)
        .select_related("created_by", "cancelled_by")
        .order_by("-send_on", "-pk")
    )


# --- customer requests ------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestRow:
    """One request on a contract as its record keeps it (R11, R13, R15): filed when, through
    which channel, by whom, and withdrawn when. Customers' requests are not staff actions and
    have no audit row: the request records are the history."""

    kind: str  # "non_renewal", "termination" or "deletion"
    kind_label: str
    contract: Contract
    filed_at: datetime
    withdrawn_at: datetime | None
    status: str
    status_label: str
    channel_label: str
    filer: str
    end_date: date | None = None
    due_on: date | None = None
    reason_label: str = ""


def _filer(row: Any, user: Any, key: Any, kind_label: str) -> str:
    """Who filed: the person as the receipt names them, else the account or key, else the kind
    of actor."""
    name = (row.filer_name or "").strip()
    email = (row.filer_email or "").strip()
    if name and email:
        return f"{name} <{email}>"
    if name or email:
        return name or email
    if user is not None:
        return str(getattr(user, "username", "")) or kind_label
    if key is not None:
        return f"key:{key.prefix}"
    return kind_label


def contract_requests(contracts: Any) -> list[RequestRow]:
    """Every non-renewal, termination and customer deletion request on `contracts` (a contract
    queryset or list), newest filing first, read from the request records."""
    rows: list[RequestRow] = []
    for n in NonRenewalRequest.objects.filter(contract__in=contracts).select_related(
        "contract__product", "actor_user", "actor_key"
    ):
        rows.append(
            RequestRow(
                kind="non_renewal",
                kind_label=str(NonRenewalRequest._meta.verbose_name),
                contract=n.contract,
                filed_at=n.requested_at,
                withdrawn_at=n.withdrawn_at,
                status=n.status,
                status_label=n.get_status_display(),
                channel_label=n.get_channel_display(),
                filer=_filer(n, n.actor_user, n.actor_key, n.get_actor_kind_display()),
                end_date=n.end_date,
            )
        )
    for t in Termination.objects.filter(contract__in=contracts).select_related(
        "contract__product", "actor_user", "actor_key"
    ):
        rows.append(
            RequestRow(
                kind="termination",
                kind_label=str(Termination._meta.verbose_name),
                contract=t.contract,
                filed_at=t.requested_at,
                withdrawn_at=None,
                status=t.status,
                status_label=t.get_status_display(),
                channel_label=t.get_channel_display(),
                filer=_filer(t, t.actor_user, t.actor_key, t.get_actor_kind_display()),
                end_date=t.end_date,
                reason_label=t.get_reason_display(),
            )
        )
    for d in DataDeletion.objects.filter(
        contract__in=contracts, kind=DeletionKind.REQUESTED
    ).select_related("contract__product", "requested_by", "requested_by_key"):
        rows.append(
            RequestRow(
                kind="deletion",
                kind_label=d.get_kind_display(),
                contract=d.contract,
                filed_at=d.created_at,
                withdrawn_at=d.withdrawn_at,
                status=d.status,
                status_label=d.get_status_display(),
                channel_label=d.get_channel_display() if d.channel else "—",
                filer=_filer(d, d.requested_by, d.requested_by_key, "—"),
                due_on=d.due_on,
            )
        )
    rows.sort(key=lambda r: r.filed_at, reverse=True)
    return rows
