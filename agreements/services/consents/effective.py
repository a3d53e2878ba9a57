"""The effective-date job's consents: R3 `deemed` rows (deemed mode) or R4 `outstanding`
(explicit mode) for every bound tenant that has not answered, set-based in batches."""

from __future__ import annotations

from datetime import date

from django.db import transaction

from agreements.enums import ActorKind, Answer, Channel, ConsentMode, ConsentStatus, VersionStatus
from agreements.ledger.append import append_many, entry_for
from agreements.ledger.heads import heads_lock
from agreements.models import ConsentRecord, ConsentState, LedgerHead, TermsVersion
from agreements.selectors.consents.bound import bound_tenants_q
from agreements.services.consents.citing import cited_body_hash
from agreements.services.consents.projection import BATCH_SIZE, states_upsert
from core import clock
from tenants.models import Tenant


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
    body_hash = cited_body_hash(version) if mode == ConsentMode.DEEMED else ""
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


def _notice_posted_in_time(version: TermsVersion) -> bool:
    assert version.effective_on is not None  # noqa: S101 -- checked by the caller
    return version.posted_at is not None and version.posted_at < clock.start_of_day(
        version.effective_on
    )


def _unanswered_locked(
    version: TermsVersion, ids: list[int]
) -> tuple[dict[int, LedgerHead], list[int]]:
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
    # One system entry for the whole batch: the same answer to the same version at the same
    # instant, citing the notice the deemed consent relies on.
    entry = entry_for(
        version,
        answer=Answer.DEEMED.value,
        actor_kind=ActorKind.SYSTEM.value,
        actor_ref="system",
        channel=Channel.SYSTEM.value,
        at=clock.now(),
        body_hash=body_hash,
    )
    records = append_many(heads=heads, entries=[(tenant_id, entry) for tenant_id in todo])
    states_upsert(
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
    states_upsert(
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
