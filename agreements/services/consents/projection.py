"""The ConsentState projection (tenant × document): written with every answer and job in
the same transaction as the ledger rows, opened on posting, and rebuildable from the ledger
(docs/ledger.md)."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction
from django.db.models import Q

from agreements.enums import Answer, ConsentMode, ConsentStatus, VersionStatus
from agreements.ledger.heads import heads_lock
from agreements.models import ConsentRecord, ConsentState, TermsVersion
from agreements.selectors.consents.bound import bound_tenants_q
from agreements.selectors.consents.statuses import latest_posted
from agreements.services.consents.citing import effective_mode, latest_posted_id
from core import clock, generations
from core.lookups import bigint_array, text_array
from tenants.models import Tenant

BATCH_SIZE = 500
_STATUS_OF_ANSWER = {
    Answer.ACCEPTED: ConsentStatus.ACCEPTED,
    Answer.REJECTED: ConsentStatus.REJECTED,
    Answer.DEEMED: ConsentStatus.DEEMED,
}


def state_write(
    state: ConsentState | None,
    *,
    tenant: Tenant,
    version: TermsVersion,
    status: ConsentStatus,
    record: ConsentRecord | None,
) -> ConsentState:
    """Move one tenant's row for the version's document (or create it) after an answer."""
    if state is None:
        return ConsentState.objects.create(
            tenant=tenant,
            document_id=version.document_id,
            version=version,
            status=status,
            record=record,
            bound=True,  # an answer needs a contract the document binds (consent_answer)
        )
    state.version, state.status, state.record = version, status, record
    state.updated_at = clock.now()
    # One UPDATE written by hand (the answer's hot path, bench #2: building it cost more than
    # running it), so the save signal's bump is here: cached gate and status lookups see the
    # answer at once (core/generations.py).
    with connection.cursor() as cursor:
        cursor.execute(
            _state_move_sql(),
            [version.pk, str(status), getattr(record, "pk", None), state.updated_at, state.pk],
        )
    generations.bump_on_commit(generations.tenant_generation(tenant.pk))
    return state


@functools.cache
def _state_move_sql() -> str:
    table = connection.ops.quote_name(ConsentState._meta.db_table)
    return (
        f"UPDATE {table} SET version_id = %s, status = %s, record_id = %s, updated_at = %s "  # noqa: S608 -- placeholders only
        "WHERE id = %s"
    )


def states_upsert(states: list[ConsentState]) -> None:
    """Insert projection rows or move existing ones (one per tenant × document), one statement."""
    if not states:
        return
    # Set-based, so no signal: every cached status check is read again (core/generations.py).
    generations.bump_on_commit(generations.TERMS)
    ConsentState.objects.bulk_create(
        states,
        update_conflicts=True,
        unique_fields=["tenant", "document"],
        update_fields=["version", "status", "record", "bound", "updated_at"],
    )


# A projection row written by a job: (tenant id, status, ledger row id or None).
StateRow = tuple[int, str, int | None]


def states_upsert_following(states: list[StateRow], *, version: TermsVersion) -> None:
    """states_upsert for rows of `version` that follow it: a row that a newer version's
    notice moved on meanwhile (R7) is left as it is. One INSERT ... ON CONFLICT DO UPDATE ...
    WHERE (PostgreSQL and SQLite alike); the conflicting row is locked and re-read before the
    WHERE is applied, so a posting that commits first always wins."""
    if not states:
        return
    # Deemed / unnotified rows change these tenants' status check; set-based, no signal.
    generations.bump_on_commit(generations.TERMS)
    table = connection.ops.quote_name(ConsentState._meta.db_table)
    now = clock.now()
    conflict = (
        "ON CONFLICT (tenant_id, document_id) DO UPDATE SET "
        "version_id = EXCLUDED.version_id, status = EXCLUDED.status, "
        "record_id = EXCLUDED.record_id, updated_at = EXCLUDED.updated_at "
        "WHERE s.version_id = %s"
    )
    columns = "tenant_id, document_id, version_id, status, record_id, bound, updated_at"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Three arrays in their text form (core/lookups.py), the rest once: a VALUES list
            # of 500 rows × 7 values cost the server more to parse and plan than to write
            # (bench: benchmark 4). `bound`: a new row's tenant was bound on the effective date.
            cursor.execute(
                f"INSERT INTO {table} AS s ({columns}) "  # noqa: S608 -- placeholders only
                "SELECT v.tenant_id, %s, %s, v.status, v.record_id, TRUE, %s "
                "FROM unnest(%s::bigint[], %s::text[], %s::bigint[]) "
                f"AS v(tenant_id, status, record_id) {conflict}",
                [
                    version.document_id,
                    version.pk,
                    now,
                    bigint_array(tenant_id for tenant_id, _status, _record in states),
                    text_array(str(status) for _tenant, status, _record in states),
                    bigint_array(record_id for _tenant, _status, record_id in states),
                    version.pk,
                ],
            )
            return
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * len(states))
        params: list[Any] = []
        for tenant_id, status, record_id in states:
            params += [
                tenant_id,
                version.document_id,
                version.pk,
                str(status),
                record_id,
                True,
                now,
            ]
        params.append(version.pk)
        cursor.execute(
            f"INSERT INTO {table} AS s ({columns}) VALUES {values} {conflict}",  # noqa: S608 -- placeholders only
            params,
        )


@transaction.atomic
def consent_states_open(*, version: TermsVersion) -> int:
    """On posting: the document's projection moves to `version` as `no_answer` (set-based).

    Existing rows of the document move to the new version; tenants bound now (an active
    contract for the product, and the option for individual rules) without a row get one.
    Returns the number of rows written; a second call writes nothing.
    """
    if latest_posted_id(version.document_id) != version.pk:
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
    generations.bump_on_commit(generations.TERMS)  # set-based, no signal
    ConsentState.objects.bulk_create(
        [
            ConsentState(
                tenant_id=tenant_id,
                document=document,
                version=version,
                status=ConsentStatus.NO_ANSWER,
                bound=True,  # the tenants bound now, by definition
            )
            for tenant_id in missing
        ],
        batch_size=BATCH_SIZE,
        ignore_conflicts=True,
    )
    return moved + len(missing)


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
    live_effective = version.status == VersionStatus.EFFECTIVE and not version.is_historical
    mode = effective_mode(version)
    explicit_effective = live_effective and mode == ConsentMode.EXPLICIT
    # R3: a deemed-mode version posted in time leaves a bound tenant without a `deemed` row
    # only when the notice never reached it: `unnotified`.
    unnotified_effective = (
        live_effective
        and mode == ConsentMode.DEEMED
        and version.posted_at is not None
        and version.effective_on is not None
        and version.posted_at < clock.start_of_day(version.effective_on)
    )
    pair_q = Q(pk__in=ConsentState.objects.filter(document=document).values("tenant_id")) | Q(
        pk__in=ConsentRecord.objects.filter(document=document).values("tenant_id")
    )
    if version.posted_at is not None:
        pair_q |= bound_tenants_q(document=document, on_date=None)
    owed: set[int] = set()
    if explicit_effective or unnotified_effective:
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
        bound_now = set(
            Tenant.objects.filter(bound_tenants_q(document=document, on_date=None))
            .filter(pk__in=batch)
            .values_list("pk", flat=True)
        )
        writes: list[ConsentState] = []
        for tenant_id in batch:
            if tenant_id in last:
                record_id, answer = last[tenant_id]
                status, record = _STATUS_OF_ANSWER[Answer(answer)], record_id
            elif explicit_effective and tenant_id in owed:
                status, record = ConsentStatus.OUTSTANDING, None
            elif unnotified_effective and tenant_id in owed:
                status, record = ConsentStatus.UNNOTIFIED, None
            else:
                status, record = ConsentStatus.NO_ANSWER, None
            state = existing.get(tenant_id)
            if (
                state is not None
                and state.version_id == version.pk
                and state.status == status
                and state.record_id == record
                and state.bound == (tenant_id in bound_now)
            ):
                continue
            writes.append(
                ConsentState(
                    tenant_id=tenant_id,
                    document=document,
                    version=version,
                    status=status,
                    record_id=record,
                    bound=tenant_id in bound_now,
                )
            )
        states_upsert(writes)
        changed += len(writes)
    return changed
