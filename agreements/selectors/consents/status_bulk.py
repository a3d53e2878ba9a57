"""The products' bulk status check: the single check (status_check.py) for up to
BULK_STATUS_MAX tenants at once, with the same answer per tenant and a fixed number of
statements however many tenants are cold."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, router
from django.utils.translation import gettext_lazy as _

from agreements.models import Product, TermsDocument
from agreements.selectors.consents.status_check import (
    StatusCheck,
    status_cache_entry,
    status_cache_names,
    status_from_rows,
    trusted_from_replica,
)
from agreements.selectors.consents.status_sql import status_rows_many
from core import clock, generations
from core.errors import PermissionDenied
from core.replica import read_replica_first
from tenants.models import Tenant

if TYPE_CHECKING:
    from tenants.scope import Scope

# The most tenants one bulk check may name (docs/api.md).
BULK_STATUS_MAX = 100


@dataclass(frozen=True)
class BulkStatus:
    """The checks of the tenants found, in the order asked; the ids a single check would
    answer with 404 (no contract for the product, or out of the caller's reach)."""

    results: tuple[StatusCheck, ...]
    not_found: tuple[int, ...]


def _read_many(*, scope: Scope, tenant_ids: Sequence[int], product: Product) -> BulkStatus:
    """One statement for all of `tenant_ids` (two for staff: which tenants exist)."""
    if not scope.is_product:
        # Staff reach every tenant that exists; a tenant without a contract is answered
        # (contract_inactive), as the single check does.
        reach = set(
            scope.tenants(Tenant.objects.filter(pk__in=tenant_ids)).values_list("pk", flat=True)
        )
        tenant_ids = [pk for pk in tenant_ids if pk in reach]
    rows = status_rows_many(
        tenant_ids=tenant_ids, product_id=product.pk, any_tenant=not scope.is_product
    )
    if scope.is_product:
        # A product reaches a tenant through its contracts for the product (status_check.py).
        tenant_ids = [pk for pk in tenant_ids if rows[pk].contracts]
    today = clock.today()
    checks = tuple(
        status_from_rows(
            tenant_id=pk,
            product_id=product.pk,
            contract_rows=rows[pk].contracts,
            documents=rows[pk].documents,
            today=today,
        )
        for pk in tenant_ids
    )
    found = {check.tenant_id for check in checks}
    return BulkStatus(results=checks, not_found=tuple(pk for pk in rows if pk not in found))


def tenants_status(*, scope: Scope, tenant_ids: Sequence[int], product: Product) -> BulkStatus:
    """The status check of each of `tenant_ids` (distinct, at most BULK_STATUS_MAX) for
    `product`: from the cache where it holds one (the single check's entries, under the same
    generations), the others read together — replica first, on the primary when any answer
    read there may not stand (status_check.trusted_from_replica) — and cached for the next
    single or bulk check. Answers are those of `tenant_status`, tenant by tenant."""
    if scope.is_product and scope.product_id != product.pk:
        # The product exists (the product list is public): this key is another product's.
        raise PermissionDenied(
            _("この製品キーでは他の製品の状態を確認できません。"), code="product_not_allowed"
        )
    ids = list(dict.fromkeys(tenant_ids))
    cached: dict[int, StatusCheck] = {}
    entries = {pk: status_cache_entry(product_id=product.pk, tenant_id=pk) for pk in ids}
    # One round trip for every tenant's entry and generations (staff checks are not cached).
    found = (
        generations.lookup({entries[pk]: status_cache_names(pk) for pk in ids})
        if scope.is_product
        else None
    )
    if found is not None:
        for pk in ids:
            value = found.get(entries[pk], status_cache_names(pk), StatusCheck)
            if value is not generations.MISS:
                cached[pk] = value
    missing = [pk for pk in ids if pk not in cached]
    read = BulkStatus(results=(), not_found=())
    if missing:
        read_from = [DEFAULT_DB_ALIAS]

        def read_once() -> BulkStatus:
            read_from[0] = router.db_for_read(TermsDocument)
            return _read_many(scope=scope, tenant_ids=missing, product=product)

        read = read_replica_first(
            read_once,
            trust=lambda bulk: (
                not bulk.not_found and all(trusted_from_replica(check) for check in bulk.results)
            ),
        )
        seconds = float(generations.SHORT_SECONDS)
        if read_from[0] != DEFAULT_DB_ALIAS:
            seconds = min(seconds, settings.TERMS_REPLICA_MAX_LAG_SECONDS)
        if found is not None:
            found.store_many(
                {
                    entries[check.tenant_id]: (status_cache_names(check.tenant_id), check)
                    for check in read.results
                },
                seconds,
            )
    fresh = {check.tenant_id: check for check in read.results}
    return BulkStatus(
        results=tuple(cached.get(pk) or fresh[pk] for pk in ids if pk in cached or pk in fresh),
        not_found=tuple(pk for pk in ids if pk not in cached and pk not in fresh),
    )
