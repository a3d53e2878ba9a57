"""Helpers for consent tests: posted versions, bound tenants, scopes and ready-made chains."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from agreements.enums import ActorKind, Answer, Channel, ConsentMode, NoticeRoute, VersionStatus
from agreements.ledger.append import entry_for
from agreements.ledger.rows import GENESIS_HASH, chained_row
from agreements.models import (
    ConsentRecord,
    Contract,
    LedgerHead,
    NoticeDelivery,
    TermsDocument,
    TermsVersion,
)
from agreements.services.consents_bound import consent_states_bound_sync
from core import clock
from tenants.enums import Role
from tenants.models import Tenant
from tenants.scope import Scope
from tests.factories.agreements import (
    ContractFactory,
    DocumentFactory,
    ProductFactory,
    VersionFactory,
)
from tests.factories.tenants import MembershipFactory, TenantFactory

# The running example: V1 in force since 2024-01-01; V2 posted 2025-03-01, effective 2025-04-01.
NOTICE_ON = date(2025, 3, 1)
EFFECTIVE_ON = date(2025, 4, 1)
BEFORE = date(2025, 3, 10)  # V2 scheduled and posted
AFTER = date(2025, 4, 10)  # V2 effective


def posted_version(
    document: TermsDocument | None = None,
    *,
    mode: str = ConsentMode.DEEMED,
    notice_on: date = NOTICE_ON,
    effective_on: date = EFFECTIVE_ON,
    posted: bool = True,
    status: str = VersionStatus.SCHEDULED,
    **kwargs: object,
) -> TermsVersion:
    """A scheduled version posted at 09:00 JST on its notice date (or not posted).

    Without a document, one of Optimal Biz: its terms contain the deemed-consent clause (R3)
    that the consent tests exercise."""
    return VersionFactory(
        document=document or DocumentFactory(product=ProductFactory(code="optimal-biz")),
        status=status,
        consent_mode=mode,
        notice_on=notice_on,
        effective_on=effective_on,
        posted_at=clock.start_of_day(notice_on) + timedelta(hours=9) if posted else None,
        **kwargs,
    )


def bound_tenant(
    document: TermsDocument, tenant: Tenant | None = None, **contract: object
) -> Contract:
    """An active contract making `document` bind its tenant (with the option for individual rules)."""
    made = ContractFactory(tenant=tenant or TenantFactory(), product=document.product, **contract)
    if document.option_id is not None:
        made.options.add(document.option_id)
        consent_states_bound_sync(tenant_ids=[made.tenant_id])
    return made


def admin_scope(tenant: Tenant, role: str = Role.ADMIN) -> Scope:
    return Scope.tenant_user(MembershipFactory(tenant=tenant, role=role))


def chain_rows(
    tenant: Tenant, version: TermsVersion, count: int, *, start: datetime | None = None
) -> list[ConsentRecord]:
    """Bulk-insert a valid chain of `count` rows for `tenant` and move its head (rows built
    by the ledger's own row builder; only the transport is the test's)."""
    at = start or clock.start_of_day(date(2024, 1, 1))
    head, _ = LedgerHead.objects.get_or_create(tenant=tenant)
    prev, seq = head.hash, head.seq
    rows = []
    for offset in range(count):
        seq += 1
        entry = entry_for(
            version,
            answer=Answer.ACCEPTED.value,
            actor_kind=ActorKind.SYSTEM.value,
            actor_ref="system",
            channel=Channel.SYSTEM.value,
            at=at + timedelta(seconds=offset),
            body_hash=version.body_hash,
        )
        row = chained_row(entry, tenant_id=tenant.pk, seq=seq, prev_hash=prev)
        rows.append(ConsentRecord(**row))
        prev = row["hash"]
    ConsentRecord.objects.bulk_create(rows, batch_size=2000)
    LedgerHead.objects.filter(pk=head.pk).update(seq=seq, hash=prev)
    return rows


__all__ = [
    "AFTER",
    "BEFORE",
    "EFFECTIVE_ON",
    "GENESIS_HASH",
    "NOTICE_ON",
    "admin_scope",
    "bound_tenant",
    "chain_rows",
    "posted_version",
]


def delivered(
    version: TermsVersion,
    *tenants: Tenant,
    route: str = NoticeRoute.POST,
    at: datetime | None = None,
) -> None:
    """Record that `version`'s notice reached each tenant (R3): by default by post at the
    posting time."""
    when = at or version.posted_at or clock.start_of_day(version.notice_on or NOTICE_ON)
    for tenant in tenants:
        NoticeDelivery.objects.create(tenant=tenant, version=version, route=route, reached_at=when)
