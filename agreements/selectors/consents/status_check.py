"""The products' status check: "may this tenant keep using the product?" (docs/rules.md, consent
truth table; R4, R6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, router
from django.utils.translation import gettext_lazy as _

from agreements.enums import (
    Answer,
    CaseStatus,
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    LegalBasis,
    VersionStatus,
)
from agreements.models import Contract, Product, TermsDocument
from agreements.rules import DocumentAnswer, gate_from, gate_in_force, is_tenant_allowed
from agreements.selectors.consents.access import tenant_in_scope
from core import clock, generations
from core.errors import NotFound
from core.replica import read_replica_first
from tenants.models import Tenant
from tenants.selectors import tenant_get

if TYPE_CHECKING:
    from tenants.models import Tenant
    from tenants.scope import Scope

# Flags of the status API (StatusCheck.flags).
FLAG_CONTRACT_INACTIVE = "contract_inactive"
FLAG_OUTSTANDING = "consent_outstanding"
FLAG_REJECTED = "terms_rejected"
FLAG_CASE_CONFIRMED = "termination_case_confirmed"


@dataclass(frozen=True)
class BindingVersion:
    document_id: int
    document_slug: str
    document_kind: str
    version_id: int | None  # in force
    version_label: str | None
    pending_version_id: int | None  # posted, not yet effective
    pending_version_label: str | None
    status: str  # the tenant's status for the latest posted version
    # R4: the day an `outstanding` status starts to withhold the service under the gating
    # policy of the version in force; None without a policy (silence never withholds it).
    gate_from: date | None = None
    # R4: the version that binds the tenant — the one in force, or for a tenant that has not
    # accepted a revision put to explicit consent the one before it (rules.binding_version).
    binding_version_id: int | None = None
    binding_version_label: str | None = None


@dataclass(frozen=True)
class StatusCheck:
    """ "May this tenant keep using the product?" (docs/rules.md, consent truth table; R4, R6)."""

    tenant_id: int
    product_id: int
    allowed: bool
    contract_active: bool
    contract_ids: tuple[int, ...]
    versions: tuple[BindingVersion, ...]
    flags: tuple[str, ...]
    case_end_date: date | None  # a confirmed rejection case ends the contract on this date


def status_check_cached(
    *,
    scope: Scope,
    tenant_id: int,
    product: Product,
    read: Callable[[], tuple[StatusCheck, float]],
) -> StatusCheck:
    """A product's status check, cached per tenant × product × business day under the tenant's
    generation and the terms' generation (core/generations.py).

    Everything the answer is read from bumps one of them after commit: the tenant's answers,
    contracts and their options, rejection cases and projection rows, the tenant itself (its
    generation), and products, documents, versions (posted, taking effect, lapsing, withdrawn,
    their gating policy) and set-based projection writes (the terms' generation). The business
    day is in the key because the answer also moves with the date (a grace period running out,
    a contract's end). `read()` returns the answer and how long it may be cached (0: not at
    all). Staff checks are not cached. Refusals (404) are not cached: they raise.
    """
    if not scope.is_product:
        return read()[0]
    names = [generations.tenant_generation(tenant_id), generations.TERMS]
    found = generations.shared_get_many(names)
    if found is None:
        return read()[0]
    key = generations.cache_key(
        f"status:{product.pk}:{tenant_id}:{clock.today().isoformat()}", names, found
    )
    cached = generations.shared_get_many([key])
    if cached and isinstance(cached.get(key), StatusCheck):
        return cached[key]
    check, seconds = read()
    if seconds > 0:
        generations.shared_set(key, check, seconds)
    return check


def tenant_status(*, scope: Scope, tenant_id: int, product: Product) -> StatusCheck:
    """The status API's answer: from the cache (status_check_cached), else read from the
    replica where one is fit and the answer may stand (trusted_from_replica), else from the
    primary. An answer read from the replica is cached no longer than the replica may lag: it
    may predate the change that bumped the generation it is cached under."""
    read_from = [DEFAULT_DB_ALIAS]

    def read_once() -> StatusCheck:
        read_from[0] = router.db_for_read(TermsDocument)
        # A product reaches a tenant through its contracts for the product, which the check
        # reads anyway (none: 404), so no lookup of the tenant row first.
        tenant = Tenant(pk=tenant_id) if scope.is_product else tenant_get(scope=scope, pk=tenant_id)
        return tenant_is_allowed(scope=scope, tenant=tenant, product=product)

    def read() -> tuple[StatusCheck, float]:
        check = read_replica_first(read_once, trust=trusted_from_replica)
        if read_from[0] == DEFAULT_DB_ALIAS:
            return check, generations.SHORT_SECONDS
        return check, min(generations.SHORT_SECONDS, settings.TERMS_REPLICA_MAX_LAG_SECONDS)

    return status_check_cached(scope=scope, tenant_id=tenant_id, product=product, read=read)


def trusted_from_replica(check: StatusCheck) -> bool:
    """Whether a replica's answer may stand without asking the primary (docs/operations.md,
    "Scale"). The replica may be up to TERMS_REPLICA_MAX_LAG_SECONDS behind, and what a tenant
    changes by its own hand is a consent: "not allowed" or "outstanding" read from the replica
    just after it accepted would gate it wrongly, so those answers (and a tenant the replica
    does not have yet, a 404) are read again on the primary. An "allowed" answer that is
    seconds old harms no one: what withdraws the service (a gate's grace period running out, a
    contract or rejection case taking effect) is dated by the day, not the second."""
    return check.allowed and FLAG_OUTSTANDING not in check.flags


def tenant_is_allowed(*, scope: Scope, tenant: Tenant, product: Product) -> StatusCheck:
    """The status API: two indexed queries (the tenant's contracts for the product with their
    options and dates; the product's documents with the in-force and pending versions, the
    tenant's projection row, its last answer to the version in force and live case, in one
    hand-written statement: `_DOCUMENTS_WITH_STATUS_SQL`).

    A document is `outstanding` when the tenant is outstanding on the latest posted version or
    still owes an answer to the explicit version in force (bound on its effective date, no
    ledger row for it) and has not accepted the newer posted one. `outstanding` withholds the
    service (`allowed` false) only where that version's gating policy is in force (R4).
    """
    if scope.is_product and scope.product_id != product.pk:
        raise NotFound(_("製品が見つかりません。"), code="product_not_found")
    if not scope.is_product:
        tenant_in_scope(scope=scope, tenant=tenant)
    contract_rows = list(
        Contract.objects.filter(tenant=tenant, product=product).values_list(
            "pk", "status", "options", "start_date", "ended_on"
        )
    )
    if scope.is_product and not contract_rows:
        raise NotFound(_("テナントが見つかりません。"), code="tenant_not_found")
    active_ids = sorted({row[0] for row in contract_rows if row[1] == ContractStatus.ACTIVE})
    options = {row[2] for row in contract_rows if row[1] == ContractStatus.ACTIVE and row[2]}
    today = clock.today()

    def bound_on(day: date, option_id: int | None) -> bool:
        # R1 on a past date, as bound_tenants_q(on_date=day) reads it (dates, not status).
        return any(
            start <= day
            and (ended is None or ended >= day)
            and (option_id is None or option == option_id)
            for _pk, _status, option, start, ended in contract_rows
        )

    documents = _documents_with_status(tenant=tenant, product=product)
    versions: list[BindingVersion] = []
    answers: list[DocumentAnswer] = []
    flags: list[str] = []
    case_end: date | None = None
    for row in documents:
        if row["option_id"] is not None and row["option_id"] not in options:
            continue  # individual rules bind only with their option (R1)
        latest_id = row["pending_id"] or row["in_force_id"]
        if latest_id is None:
            continue
        latest_status = (
            ConsentStatus(row["state_status"])
            if row["state_status"] and row["state_version_id"] == latest_id
            else ConsentStatus.NO_ANSWER
        )
        # R4: silence on the explicit version in force is `outstanding` for a tenant bound on
        # its effective date — also before the job has written it, and also after a newer
        # version was posted (the projection then follows the newer version). Only accepting
        # that newer version lifts the gate: it is the one answer still open to the tenant.
        owes_in_force = (
            row["in_force_id"] is not None
            and row["in_force_mode"] == ConsentMode.EXPLICIT
            and not row["in_force_historical"]
            and row["in_force_answer"] is None
            and row["in_force_effective_on"] is not None
            and row["in_force_effective_on"] <= today
            and bound_on(row["in_force_effective_on"], row["option_id"])
        )
        status = latest_status
        if owes_in_force and latest_status in (ConsentStatus.NO_ANSWER, ConsentStatus.REJECTED):
            status = ConsentStatus.OUTSTANDING
        # R4: the gating policy of the version the tenant is outstanding on — the latest
        # posted one when the projection says so (the job may run before the version's own
        # status moves), else the explicit version in force it still owes an answer to.
        prefix = "pending" if row["pending_id"] and not owes_in_force else "in_force"
        gating = bool(row[f"{prefix}_gating"]) and row[f"{prefix}_effective_on"] is not None
        gated_on, grace = row[f"{prefix}_effective_on"], row[f"{prefix}_grace_days"]
        answers.append(
            DocumentAnswer(
                status=status,
                gate_in_force=gate_in_force(
                    gating_enabled=gating, effective_on=gated_on, grace_days=grace, today=today
                ),
            )
        )
        versions.append(
            BindingVersion(
                document_id=row["pk"],
                document_slug=row["slug"],
                document_kind=row["kind"],
                version_id=row["in_force_id"],
                version_label=row["in_force_label"],
                pending_version_id=row["pending_id"],
                pending_version_label=row["pending_label"],
                status=status,
                gate_from=(
                    gate_from(effective_on=gated_on, grace_days=grace or 0) if gating else None
                ),
                binding_version_id=row["binding_id"],
                binding_version_label=row["binding_label"],
            )
        )
        if status == ConsentStatus.OUTSTANDING:
            flags.append(FLAG_OUTSTANDING)
        if latest_status == ConsentStatus.REJECTED:
            flags.append(FLAG_REJECTED)
        if row["case_status"] == CaseStatus.CONFIRMED:
            flags.append(FLAG_CASE_CONFIRMED)
            case_end = min(filter(None, [case_end, row["case_end_date"]]), default=None)
    contract_active = bool(active_ids)
    if not contract_active:
        flags.insert(0, FLAG_CONTRACT_INACTIVE)
    return StatusCheck(
        tenant_id=tenant.pk,
        product_id=product.pk,
        allowed=is_tenant_allowed(contract_active=contract_active, documents=answers),
        contract_active=contract_active,
        contract_ids=tuple(active_ids),
        versions=tuple(versions),
        flags=tuple(dict.fromkeys(flags)),
        case_end_date=case_end,
    )


# The status check's per-document row in one hand-written statement: the ORM spent about 60 %
# of the check's CPU compiling the twelve correlated subqueries this replaces, on every call.
# Same semantics as those subqueries (latest row by id or seq, LIMIT 1), each read through an
# index: versions by (document, status), the projection by (tenant, document), the ledger and
# the cases by tenant. Its last join is the hand-written form of rules.binding_version (R4):
# the newest version in effect that binds the tenant — on a 548-4(1) ground, imported as
# history, accepted last, or not owed (no contract of the tenant bound by the document on its
# effective date); tests/agreements/test_binding_version.py holds it equal to the rule.
_DOCUMENTS_WITH_STATUS_SQL = """
SELECT d.id, d.slug, d.kind, d.option_id,
       f.id, f.label, f.consent_mode, f.is_historical, f.effective_on,
       f.gating_enabled, f.gating_grace_days,
       (SELECT r.answer FROM agreements_consentrecord r
           JOIN agreements_termsversion rv ON rv.id = r.version_id
         WHERE r.document_id = d.id AND r.tenant_id = %(tenant)s AND rv.status = %(effective)s
         ORDER BY r.seq DESC LIMIT 1),
       p.id, p.label, p.effective_on, p.gating_enabled, p.gating_grace_days,
       s.status, s.version_id,
       c.status, c.end_date,
       b.id, b.label
  FROM agreements_termsdocument d
  LEFT JOIN LATERAL (
       SELECT v.id, v.label, v.consent_mode, v.is_historical, v.effective_on,
              v.gating_enabled, v.gating_grace_days
         FROM agreements_termsversion v
        WHERE v.document_id = d.id AND v.status = %(effective)s ORDER BY v.id DESC LIMIT 1
  ) f ON TRUE
  LEFT JOIN LATERAL (
       SELECT v.id, v.label, v.effective_on, v.gating_enabled, v.gating_grace_days
         FROM agreements_termsversion v
        WHERE v.document_id = d.id AND v.status = %(scheduled)s AND v.posted_at IS NOT NULL
        ORDER BY v.id DESC LIMIT 1
  ) p ON TRUE
  LEFT JOIN LATERAL (
       SELECT st.status, st.version_id FROM agreements_consentstate st
        WHERE st.document_id = d.id AND st.tenant_id = %(tenant)s LIMIT 1
  ) s ON TRUE
  LEFT JOIN LATERAL (
       SELECT tc.status, tc.end_date FROM agreements_terminationcase tc
         JOIN agreements_termsversion cv ON cv.id = tc.version_id
        WHERE tc.tenant_id = %(tenant)s AND cv.document_id = d.id
          AND tc.status IN (%(case_open)s, %(case_confirmed)s)
        ORDER BY tc.id DESC LIMIT 1
  ) c ON TRUE
  LEFT JOIN LATERAL (
       SELECT bv.id, bv.label FROM agreements_termsversion bv
        WHERE bv.document_id = d.id AND bv.status IN (%(effective)s, %(superseded)s)
          AND (bv.is_historical
               OR bv.legal_basis IN (%(general_interest)s, %(reasonable)s)
               OR (bv.legal_basis = '' AND bv.consent_mode <> %(explicit_mode)s)
               OR (SELECT r.answer FROM agreements_consentrecord r
                    WHERE r.tenant_id = %(tenant)s AND r.version_id = bv.id
                    ORDER BY r.seq DESC LIMIT 1) = %(accepted)s
               OR NOT EXISTS (
                    SELECT 1 FROM agreements_contract k
                     WHERE k.tenant_id = %(tenant)s AND k.product_id = d.product_id
                       AND k.start_date <= bv.effective_on
                       AND (k.ended_on IS NULL OR k.ended_on >= bv.effective_on)
                       AND (d.option_id IS NULL OR EXISTS (
                            SELECT 1 FROM agreements_contract_options ko
                             WHERE ko.contract_id = k.id AND ko.option_id = d.option_id))))
        ORDER BY bv.effective_on DESC, bv.id DESC LIMIT 1
  ) b ON TRUE
 WHERE d.product_id = %(product)s
 ORDER BY d.precedence, d.slug
"""
# The portable form of the same statement (SQLite, which `make run` uses, has no LATERAL): each
# lateral row becomes a join on the id its correlated subquery picks. Same rows, same order.
_DOCUMENTS_WITH_STATUS_SQL_PORTABLE = """
SELECT d.id, d.slug, d.kind, d.option_id,
       f.id, f.label, f.consent_mode, f.is_historical, f.effective_on,
       f.gating_enabled, f.gating_grace_days,
       (SELECT r.answer FROM agreements_consentrecord r
           JOIN agreements_termsversion rv ON rv.id = r.version_id
         WHERE r.document_id = d.id AND r.tenant_id = %(tenant)s AND rv.status = %(effective)s
         ORDER BY r.seq DESC LIMIT 1),
       p.id, p.label, p.effective_on, p.gating_enabled, p.gating_grace_days,
       s.status, s.version_id,
       c.status, c.end_date,
       b.id, b.label
  FROM agreements_termsdocument d
  LEFT JOIN agreements_termsversion f ON f.id = (
       SELECT v.id FROM agreements_termsversion v
        WHERE v.document_id = d.id AND v.status = %(effective)s ORDER BY v.id DESC LIMIT 1)
  LEFT JOIN agreements_termsversion p ON p.id = (
       SELECT v.id FROM agreements_termsversion v
        WHERE v.document_id = d.id AND v.status = %(scheduled)s AND v.posted_at IS NOT NULL
        ORDER BY v.id DESC LIMIT 1)
  LEFT JOIN agreements_consentstate s ON s.id = (
       SELECT st.id FROM agreements_consentstate st
        WHERE st.document_id = d.id AND st.tenant_id = %(tenant)s LIMIT 1)
  LEFT JOIN agreements_terminationcase c ON c.id = (
       SELECT tc.id FROM agreements_terminationcase tc
         JOIN agreements_termsversion cv ON cv.id = tc.version_id
        WHERE tc.tenant_id = %(tenant)s AND cv.document_id = d.id
          AND tc.status IN (%(case_open)s, %(case_confirmed)s)
        ORDER BY tc.id DESC LIMIT 1)
  LEFT JOIN agreements_termsversion b ON b.id = (
       SELECT bv.id FROM agreements_termsversion bv
        WHERE bv.document_id = d.id AND bv.status IN (%(effective)s, %(superseded)s)
          AND (bv.is_historical
               OR bv.legal_basis IN (%(general_interest)s, %(reasonable)s)
               OR (bv.legal_basis = '' AND bv.consent_mode <> %(explicit_mode)s)
               OR (SELECT r.answer FROM agreements_consentrecord r
                    WHERE r.tenant_id = %(tenant)s AND r.version_id = bv.id
                    ORDER BY r.seq DESC LIMIT 1) = %(accepted)s
               OR NOT EXISTS (
                    SELECT 1 FROM agreements_contract k
                     WHERE k.tenant_id = %(tenant)s AND k.product_id = d.product_id
                       AND k.start_date <= bv.effective_on
                       AND (k.ended_on IS NULL OR k.ended_on >= bv.effective_on)
                       AND (d.option_id IS NULL OR EXISTS (
                            SELECT 1 FROM agreements_contract_options ko
                             WHERE ko.contract_id = k.id AND ko.option_id = d.option_id))))
        ORDER BY bv.effective_on DESC, bv.id DESC LIMIT 1)
 WHERE d.product_id = %(product)s
 ORDER BY d.precedence, d.slug
"""


def documents_with_status_sql(vendor: str) -> str:
    """The statement for this database: LATERAL on PostgreSQL, the portable form elsewhere."""
    if vendor == "postgresql":
        return _DOCUMENTS_WITH_STATUS_SQL
    return _DOCUMENTS_WITH_STATUS_SQL_PORTABLE


_DOCUMENTS_WITH_STATUS_COLUMNS = (
    "pk",
    "slug",
    "kind",
    "option_id",
    "in_force_id",
    "in_force_label",
    "in_force_mode",
    "in_force_historical",
    "in_force_effective_on",
    "in_force_gating",
    "in_force_grace_days",
    "in_force_answer",
    "pending_id",
    "pending_label",
    "pending_effective_on",
    "pending_gating",
    "pending_grace_days",
    "state_status",
    "state_version_id",
    "case_status",
    "case_end_date",
    "binding_id",
    "binding_label",
)


def documents_with_status_params(*, tenant_id: int, product_id: int) -> dict[str, Any]:
    """The statement's parameters: the caller's tenant and product, and the stored values of
    the statuses, legal bases and answers it compares with."""
    return {
        "tenant": tenant_id,
        "product": product_id,
        "effective": VersionStatus.EFFECTIVE.value,
        "superseded": VersionStatus.SUPERSEDED.value,
        "scheduled": VersionStatus.SCHEDULED.value,
        "case_open": CaseStatus.OPEN.value,
        "case_confirmed": CaseStatus.CONFIRMED.value,
        "general_interest": LegalBasis.GENERAL_INTEREST.value,
        "reasonable": LegalBasis.REASONABLE.value,
        "explicit_mode": ConsentMode.EXPLICIT.value,
        "accepted": Answer.ACCEPTED.value,
    }


def _documents_with_status(*, tenant: Tenant, product: Product) -> list[dict[str, Any]]:
    """Per document of `product`: the in-force and posted pending versions, the tenant's last
    answer to the version in force, its projection row, its live rejection case and the
    version that binds it (R4)."""
    # The same database the ORM reads of this check use (the replica inside reads_from_replica).
    connection = connections[router.db_for_read(TermsDocument)]
    with connection.cursor() as cursor:
        cursor.execute(
            documents_with_status_sql(connection.vendor),
            documents_with_status_params(tenant_id=tenant.pk, product_id=product.pk),
        )
        return [dict(zip(_DOCUMENTS_WITH_STATUS_COLUMNS, row, strict=True)) for row in cursor]
