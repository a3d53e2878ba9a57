"""The products' status check: "may this tenant keep using the product?" (docs/rules.md, consent
truth table; R4, R6)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, router
from django.utils.translation import gettext_lazy as _

from agreements.enums import CaseStatus, ConsentMode, ConsentStatus, ContractStatus
from agreements.models import Product, TermsDocument
from agreements.rules import DocumentAnswer, gate_from, gate_in_force, is_tenant_allowed
from agreements.selectors.consents.access import tenant_in_scope
from agreements.selectors.consents.status_sql import ContractRow, status_rows
from core import clock, generations
from core.errors import NotFound, PermissionDenied
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
    # `status` split in two: the tenant's standing on the version in force (None without
    # one) and its answer to the posted pending version (None without one).
    version_status: str | None = None
    pending_version_status: str | None = None
    pending_version_effective_on: date | None = None


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


def status_cache_names(tenant_id: int) -> list[str]:
    """The generations a tenant's cached status check is read under."""
    return [generations.tenant_generation(tenant_id), generations.TERMS]


def status_cache_entry(*, product_id: int, tenant_id: int) -> str:
    """The cache entry of a tenant's status check for a product today (stored with the numbers
    of its generations, status_cache_names: core/generations.py)."""
    return f"status:{product_id}:{tenant_id}:{clock.today().isoformat()}"


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
    seconds = [0.0]

    def load() -> StatusCheck:
        check, seconds[0] = read()
        return check

    return generations.read_through(
        status_cache_entry(product_id=product.pk, tenant_id=tenant_id),
        status_cache_names(tenant_id),
        load,
        timeout=lambda _check: seconds[0],
        kind=StatusCheck,
    )


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
    """The status API: one statement (status_sql.py) reads the tenant's contracts for the
    product with their options and dates, and the product's documents with the in-force and
    pending versions, the tenant's projection row, its last answer to the version in force,
    its live case and the version binding it.

    A document is `outstanding` when the tenant is outstanding on the latest posted version or
    still owes an answer to the explicit version in force (bound on its effective date, no
    ledger row for it) and has not accepted the newer posted one. `outstanding` withholds the
    service (`allowed` false) only where that version's gating policy is in force (R4).
    """
    if scope.is_product and scope.product_id != product.pk:
        # The product exists (the product list is public): this key is another product's.
        raise PermissionDenied(
            _("この製品キーでは他の製品の状態を確認できません。"), code="product_not_allowed"
        )
    if not scope.is_product:
        tenant_in_scope(scope=scope, tenant=tenant)
    rows = status_rows(tenant_id=tenant.pk, product_id=product.pk, any_tenant=not scope.is_product)
    if scope.is_product and not rows.contracts:
        # A product reaches a tenant through its contracts for the product.
        raise NotFound(_("テナントが見つかりません。"), code="tenant_not_found")
    return status_from_rows(
        tenant_id=tenant.pk,
        product_id=product.pk,
        contract_rows=rows.contracts,
        documents=rows.documents,
        today=clock.today(),
    )


def status_from_rows(
    *,
    tenant_id: int,
    product_id: int,
    contract_rows: list[ContractRow],
    documents: list[dict[str, Any]],
    today: date,
) -> StatusCheck:
    """The status check from what it reads: the tenant's contracts for the product and the
    per-document rows of the statement (status_sql.py). One assembly for the single and the
    bulk check, so both give the same answer."""
    active_ids = sorted({row[0] for row in contract_rows if row[1] == ContractStatus.ACTIVE})
    options = {row[2] for row in contract_rows if row[1] == ContractStatus.ACTIVE and row[2]}

    def bound_on(day: date, option_id: int | None) -> bool:
        # R1 on a past date, as bound_tenants_q(on_date=day) reads it (dates, not status).
        return any(
            start <= day
            and (ended is None or ended >= day)
            and (option_id is None or option == option_id)
            for _pk, _status, option, start, ended in contract_rows
        )

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
                version_status=in_force_status(row, status=status, owes_in_force=owes_in_force),
                pending_version_status=latest_status if row["pending_id"] else None,
                pending_version_effective_on=row["pending_effective_on"],
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
        tenant_id=tenant_id,
        product_id=product_id,
        allowed=is_tenant_allowed(contract_active=contract_active, documents=answers),
        contract_active=contract_active,
        contract_ids=tuple(active_ids),
        versions=tuple(versions),
        flags=tuple(dict.fromkeys(flags)),
        case_end_date=case_end,
    )


def in_force_status(row: dict[str, Any], *, status: str, owes_in_force: bool) -> str | None:
    """The tenant's standing on the version in force, apart from its answer to a pending one.

    Without a pending version the projection follows the version in force: `status`. With
    one, the projection has moved to it, so the version in force is read from the ledger: an
    explicit answer owed and missing is `outstanding` (R4), else the last answer recorded to
    it (accepted, rejected, deemed), else `no_answer` (nothing recorded: a version the tenant
    was never asked about, R4)."""
    if row["in_force_id"] is None:
        return None
    if not row["pending_id"]:
        return status
    if owes_in_force:
        return ConsentStatus.OUTSTANDING
    return row["in_force_answer"] or ConsentStatus.NO_ANSWER
