"""Applying scheduled versions on their effective date: effective (the previous version
superseded, consents deemed or outstanding: R3, R4, R5), or lapsed (CC 548-4(3), R2)."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext

from agreements import rules
from agreements.enums import VersionStatus
from agreements.models import TermsVersion
from agreements.services.consents.effective import consents_apply_effective
from agreements.services.consents.reach import lead_days_for
from agreements.services.versions.common import (
    NOTIFY_BATCH_SIZE,
    bound_tenants,
    projection_restore,
    version_payload,
)
from core import clock, generations
from core.enums import AuditAction, EventKind
from core.services import audit_add, event_add
from tenants import partition
from tenants.notify import Note, StaffNote, notify


def version_lock_for_apply(pk: int, today: date) -> TermsVersion | None:
    """Lock a scheduled version whose date has come, for applying it.

    The row lock serialises concurrent runs; the status filter is re-checked after the wait,
    so the second run finds nothing to do. FOR NO KEY UPDATE, not FOR UPDATE: every answer
    inserts rows referencing this version, and their foreign-key check (FOR KEY SHARE, at
    commit) would wait for the whole run while holding the tenant's chain head, which the run
    then waits for: a deadlock between an answer and the effective-date job.
    """
    return (
        TermsVersion.objects.select_for_update(of=("self",), no_key=True)
        .select_related("document", "document__product")
        .filter(pk=pk, status=VersionStatus.SCHEDULED, effective_on__lte=today)
        .first()
    )


def version_apply_effective(*, version_id: int, today: date) -> str | None:
    """Apply one scheduled version whose date has come: effective (returns "effective" or
    "superseded_previous") or lapsed (R2, returns "lapsed"); None when there is nothing to do.

    Two steps: the status change in one transaction (version_take_effect), then the consents
    it owes in batches of their own (version_consents_settle)."""
    outcome = version_take_effect(version_id=version_id, today=today)
    version_consents_settle(version_id=version_id, today=today)
    return outcome


@transaction.atomic
def version_take_effect(*, version_id: int, today: date) -> str | None:
    """The status change of version_apply_effective, in one short transaction: lapsed (R2),
    or effective with the previous version superseded (R5) and its consents marked owed
    (`consents_owed`), which version_consents_settle then writes batch by batch.

    The lifecycle job calls it for exactly the versions it claimed, inside the claim's
    transaction, and settles the consents after that transaction has committed."""
    pk = version_id
    version = version_lock_for_apply(pk, today)
    if version is None:
        return None
    assert version.effective_on is not None  # noqa: S101 -- scheduled versions are dated
    now = clock.now()
    # Taking effect or lapsing changes every bound tenant's status check.
    generations.bump_on_commit(generations.TERMS)
    posted_on = clock.business_date(version.posted_at) if version.posted_at else None
    if version.legal_basis and rules.revision_lapses(
        legal_basis=version.legal_basis,
        posted_on=posted_on,
        effective_on=version.effective_on,
        lead_days=lead_days_for(version.legal_basis),
    ):
        # CC 548-4(3): a type-(ii) change not posted before its effective date, or whose
        # real posting (a notice job that ran late) left less than its minimum lead time,
        # never takes effect (R2).
        TermsVersion.objects.filter(pk=pk, status=VersionStatus.SCHEDULED).update(
            status=VersionStatus.LAPSED, lapsed_at=now, updated_at=now
        )
        version.refresh_from_db()
        payload = version_payload(version)
        key = f"version:{pk}:lapsed"
        # Staff always; tenants only if they saw the (late) notice: tell them it does not
        # take effect.
        told = (
            bound_tenants(version.document, NOTIFY_BATCH_SIZE)
            if version.posted_at is not None
            else ()
        )
        notify(
            (
                Note(
                    kind=EventKind.VERSION_LAPSED,
                    tenant=tenant,
                    key=key,
                    payload=payload,
                    subject=version,
                )
                for tenant in told
            ),
            staff=[StaffNote(kind=EventKind.VERSION_LAPSED, key=key, payload=payload)],
            batch_size=NOTIFY_BATCH_SIZE,
        )
        projection_restore(
            version, note=gettext("改定が効力を生じなかった（失効）ため取り下げ"), cause="lapsed"
        )
        audit_add(
            actor=None,
            action=AuditAction.UPDATE,
            obj=version,
            summary=(
                f"lapsed {version.label}: posted {posted_on or 'never'}, less than "
                f"{lead_days_for(version.legal_basis)} days before {version.effective_on}"
            ),
            data={"posted_at": version.posted_at.isoformat() if version.posted_at else None},
        )
        return "lapsed"
    # R5: the version takes effect on its date, whatever the state of consent.
    superseded = (
        TermsVersion.objects.filter(document=version.document, status=VersionStatus.EFFECTIVE)
        .exclude(pk=pk)
        .update(status=VersionStatus.SUPERSEDED, superseded_on=version.effective_on, updated_at=now)
    )
    TermsVersion.objects.filter(pk=pk, status=VersionStatus.SCHEDULED).update(
        status=VersionStatus.EFFECTIVE, consents_owed=True, updated_at=now
    )
    version.refresh_from_db()
    event_add(
        kind=EventKind.VERSION_EFFECTIVE,
        tenant_id=None,
        # A live version's is a staff event (no partner); a sandbox's simulated revision
        # reaches its own sandbox only (docs/api.md, "Sandbox").
        partner_id=version.document.product.sandbox_id,
        subject=version,
        payload=version_payload(version),
    )
    audit_add(
        actor=None,
        action=AuditAction.UPDATE,
        obj=version,
        summary=f"effective {version.label} on {version.effective_on}",
        data={"superseded": superseded},
    )
    return "superseded_previous" if superseded else "effective"


def version_consents_settle(*, version_id: int, today: date) -> dict[str, int] | None:
    """Write the consents an effective version owes (R3 deemed / unnotified, R4 outstanding),
    each batch in its own transaction (consents_apply_effective), then clear `consents_owed`
    and record the counts in the audit trail. None when nothing is owed.

    Not one transaction for the run: a batch holds its tenants' chain heads only until it
    commits, so an answer waits for one batch at most (bench: benchmark 4). A run cut short
    leaves the version owed and the next run carries on; two runs at once write each row once
    (the batches re-check under their locks)."""
    version = (
        TermsVersion.objects.select_related("document", "document__product")
        .filter(pk=version_id, status=VersionStatus.EFFECTIVE, consents_owed=True)
        .first()
    )
    if version is None:
        return None
    consents = consents_apply_effective(version=version, today=today)
    with transaction.atomic():
        # Conditional: of two runs at once, one records the outcome.
        if TermsVersion.objects.filter(pk=version.pk, consents_owed=True).update(
            consents_owed=False, updated_at=clock.now()
        ):
            audit_add(
                actor=None,
                action=AuditAction.UPDATE,
                obj=version,
                summary=f"consents of {version.label} settled on {today}",
                data={"consents": consents},
            )
    return consents


def versions_consents_settle(*, today: date) -> dict[str, int]:
    """Settle the consents of every effective version that still owes them (a run cut short,
    or the lifecycle job after its claim committed)."""
    counts = {"versions": 0, "deemed": 0, "outstanding": 0, "unnotified": 0, "batches": 0}
    owed = TermsVersion.objects.filter(
        partition.product_q("document__product__"),
        status=VersionStatus.EFFECTIVE,
        consents_owed=True,
    )
    for pk in owed.order_by("effective_on", "pk").values_list("pk", flat=True):
        consents = version_consents_settle(version_id=pk, today=today)
        if consents is not None:
            counts["versions"] += 1
            for name, value in consents.items():
                counts[name] = counts.get(name, 0) + value
    return counts


def versions_apply_effective(*, today: date) -> dict[str, int]:
    """Apply scheduled versions whose effective date has come: effective (and the previous
    version superseded), or lapsed (R2). Idempotent; each version in its own transaction."""
    due = list(
        TermsVersion.objects.filter(status=VersionStatus.SCHEDULED, effective_on__lte=today)
        .order_by("effective_on", "pk")
        .values_list("pk", flat=True)[: settings.TERMS_JOB_BATCH_SIZE]
    )
    counts = {"due": len(due), "effective": 0, "superseded": 0, "lapsed": 0}
    for pk in due:
        outcome = version_apply_effective(version_id=pk, today=today)
        if outcome == "lapsed":
            counts["lapsed"] += 1
        elif outcome is not None:
            counts["effective"] += 1
            counts["superseded"] += outcome == "superseded_previous"
    versions_consents_settle(today=today)  # what an earlier run cut short left owed
    return counts
