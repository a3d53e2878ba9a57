"""The effective-date job's consents: R3 `deemed` rows (deemed mode, for tenants the notice
reached), `unnotified` (deemed mode, the notice never reached them) or R4 `outstanding`
(explicit mode) for every bound tenant that has not answered, set-based in batches; and the
catch-up that deems an `unnotified` tenant once a delivery is recorded and the lead time ran."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import transaction

from agreements.db import redoable_batch
from agreements.enums import ActorKind, Answer, Channel, ConsentMode, ConsentStatus, VersionStatus
from agreements.ledger.append import append_cited, entry_for
from agreements.ledger.heads import LockedHead, heads_lock
from agreements.models import ConsentRecord, ConsentState, TermsVersion
from agreements.selectors.consents.bound import bound_tenants_q
from agreements.selectors.consents.per_tenant import answered_tenants
from agreements.selectors.consents.reach import Reach, notice_reach
from agreements.services.consents.citing import cited_body_hash, effective_mode
from agreements.services.consents.projection import (
    BATCH_SIZE,
    StateRow,
    states_upsert_following,
)
from agreements.services.consents.reach import lead_days_for
from core import clock
from tenants import partition
from tenants.models import Tenant


def consents_apply_effective(
    *, version: TermsVersion, today: date, batch_size: int | None = None
) -> dict[str, int]:
    """At the effective date: R3 `deemed` rows (deemed mode) or R4 `outstanding` (explicit).

    Deemed mode writes a system row citing the notice and how it reached the tenant for each
    tenant bound on the effective date (a contract active that day) that has not answered and
    that the notice reached before that date (R3); the others become `unnotified`. Deemed mode
    needs the product's terms to contain the deemed-consent clause (its rulebook's R3): without
    it silence is asked for an answer as in explicit mode (`outstanding`), and no `deemed`
    entry cites another product's article. Explicit mode marks non-responders `outstanding`.

    Batches of `batch_size` tenants, each its own transaction with a constant number of
    queries (`_batch_apply`), so a tenant's answer waits for at most one batch's head locks,
    never for the whole run. Called outside a transaction (the effective-date job calls it
    after committing the status change, versions.effective); inside one, the batches are
    savepoints of it. Idempotent, and safe to run twice at once: each batch re-checks under
    its locks, so a second run writes nothing.
    """
    counts = {"deemed": 0, "outstanding": 0, "unnotified": 0, "batches": 0}
    batch_size = batch_size or BATCH_SIZE
    if version.effective_on is None or today < version.effective_on:
        return counts
    if version.status not in (VersionStatus.SCHEDULED, VersionStatus.EFFECTIVE):
        return counts
    mode = effective_mode(version)
    if mode == ConsentMode.DEEMED and not _notice_posted_in_time(version):
        return counts  # R3: no posted notice, no deemed consent; silence stays `no_answer`
    candidates = Tenant.objects.filter(
        bound_tenants_q(document=version.document, on_date=version.effective_on)
    ).exclude(pk__in=ConsentRecord.objects.filter(version=version).values("tenant_id"))
    settled = (
        ConsentStatus.OUTSTANDING if mode == ConsentMode.EXPLICIT else ConsentStatus.UNNOTIFIED
    )
    candidates = candidates.exclude(
        pk__in=ConsentState.objects.filter(version=version, status=settled).values("tenant_id")
    )
    body_hash = cited_body_hash(version) if mode == ConsentMode.DEEMED else ""
    # One read of the candidates, then batches of it: re-running the anti-join for every batch
    # costs O(bound tenants) each time (bench: benchmark 4). Each batch re-checks under its
    # locks, so an answer given meanwhile is still respected.
    todo = list(candidates.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(todo), batch_size):
        with redoable_batch():  # the run is recorded done after it (versions.effective)
            batch = _batch_apply(version, mode, todo[start : start + batch_size], body_hash)
        counts["batches"] += 1
        for name, value in batch.items():
            counts[name] += value
    return counts


def _batch_apply(
    version: TermsVersion, mode: ConsentMode, ids: list[int], body_hash: str
) -> dict[str, int]:
    """One batch, in the caller's transaction: lock the heads (one SELECT ... FOR UPDATE, an
    INSERT first only for tenants that have none), re-read answers and lock the projection
    rows, then one INSERT of the deemed rows, one UPDATE of their heads and one upsert of
    the projection; deemed mode reads the notice's reach first (two queries)."""
    counts = {"deemed": 0, "outstanding": 0, "unnotified": 0}
    reached: dict[int, Reach] = {}
    if mode == ConsentMode.DEEMED:
        assert version.effective_on is not None  # noqa: S101 -- checked by the caller
        reached = notice_reach(
            version=version, tenant_ids=ids, before=clock.start_of_day(version.effective_on)
        )
    heads, todo = _unanswered_locked(version, ids)
    if not todo:
        return counts
    now = clock.now()
    records: dict[int, int] = {}
    if mode == ConsentMode.DEEMED:
        deem = [tenant_id for tenant_id in todo if tenant_id in reached]
        records = dict(_deem(version, deem, body_hash, reached, now, heads))
        counts["deemed"] = len(records)
    silent = ConsentStatus.OUTSTANDING if mode == ConsentMode.EXPLICIT else ConsentStatus.UNNOTIFIED
    states: list[StateRow] = []
    for tenant_id in todo:
        record_id = records.get(tenant_id)
        if record_id is None:
            counts[str(silent)] += 1
        states.append(
            (tenant_id, ConsentStatus.DEEMED if record_id is not None else silent, record_id)
        )
    # A newer version's notice posted meanwhile (the batches commit one by one) has moved the
    # row on: it stays there (R7); the ledger row above is the record of this version.
    states_upsert_following(states, version=version)
    return counts


def _notice_posted_in_time(version: TermsVersion) -> bool:
    assert version.effective_on is not None  # noqa: S101 -- checked by the caller
    return version.posted_at is not None and version.posted_at < clock.start_of_day(
        version.effective_on
    )


def _unanswered_locked(
    version: TermsVersion, ids: list[int]
) -> tuple[dict[int, LockedHead], list[int]]:
    heads = heads_lock(ids)
    # Re-read under the locks: an answer may have committed since the candidate query.
    answered = answered_tenants(version_id=version.pk, tenant_ids=ids)
    return heads, [tenant_id for tenant_id in ids if tenant_id not in answered]


def _deem(
    version: TermsVersion,
    ids: list[int],
    body_hash: str,
    reached: dict[int, Reach],
    now: datetime,
    heads: dict[int, LockedHead],
) -> list[tuple[int, int]]:
    """Append a `deemed` row per tenant, citing the notice and how it reached it (R3);
    (tenant id, row id) per row."""
    if not ids:
        return []
    # The same answer to the same version at the same instant, citing the notice the deemed
    # consent relies on and, per tenant, how that notice reached it (R3).
    entry = entry_for(
        version,
        answer=Answer.DEEMED.value,
        actor_kind=ActorKind.SYSTEM.value,
        actor_ref="system",
        channel=Channel.SYSTEM.value,
        at=now,
        body_hash=body_hash,
    )
    return append_cited(heads=heads, entry=entry, citations=[(t, reached[t].citation) for t in ids])


def deemed_after_late_delivery(*, today: date, batch_size: int = BATCH_SIZE) -> dict[str, int]:
    """Deem `unnotified` tenants whose notice has since reached them, once the minimum lead
    time of the revision's basis has run from that delivery without an answer (R3).

    The ledger row cites the delivery. A tenant that answered meanwhile keeps its answer (the
    locked re-check), and a tenant whose contract ended before the lead time ran is left as
    it is. Idempotent: a deemed tenant is no longer `unnotified`.
    """
    counts = {"deemed": 0, "waiting": 0}
    versions = TermsVersion.objects.filter(
        partition.product_q("document__product__"),
        status=VersionStatus.EFFECTIVE,
        pk__in=ConsentState.objects.filter(status=ConsentStatus.UNNOTIFIED).values("version_id"),
    ).select_related("document", "document__product")
    for version in versions:
        lead = timedelta(days=lead_days_for(version.legal_basis))
        ids = list(
            ConsentState.objects.filter(version=version, status=ConsentStatus.UNNOTIFIED)
            .order_by("tenant_id")
            .values_list("tenant_id", flat=True)
        )
        body_hash = cited_body_hash(version)
        for start in range(0, len(ids), batch_size):
            batch = ids[start : start + batch_size]
            reached = notice_reach(version=version, tenant_ids=batch, before=None)
            due = [t for t, r in reached.items() if _lead_ran(r.reached_at, lead, today)]
            counts["waiting"] += len(reached) - len(due)
            due = _still_bound(version, due, today)
            if due:
                with transaction.atomic():
                    counts["deemed"] += _deemed_batch(version, sorted(due), body_hash, reached)
    return counts


def _deemed_batch(
    version: TermsVersion, ids: list[int], body_hash: str, reached: dict[int, Reach]
) -> int:
    heads, todo = _unanswered_locked(version, ids)
    records = _deem(version, todo, body_hash, reached, clock.now(), heads)
    states_upsert_following(
        [(tenant_id, ConsentStatus.DEEMED, record_id) for tenant_id, record_id in records],
        version=version,
    )
    return len(records)


def _lead_ran(reached_at: datetime, lead: timedelta, today: date) -> bool:
    return clock.business_date(reached_at) + lead <= today


def _still_bound(version: TermsVersion, ids: list[int], today: date) -> list[int]:
    if not ids:
        return []
    return list(
        Tenant.objects.filter(bound_tenants_q(document=version.document, on_date=today))
        .filter(pk__in=ids)
        .values_list("pk", flat=True)
    )
