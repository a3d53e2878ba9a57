"""Live data and each sandbox's data, apart in every lifecycle job (docs/api.md, "Sandbox").

The jobs' due queries add one of these filters: outside a sandbox (core.sandbox.current() is
None) they keep to live tenants and live products, inside one to that sandbox's own. The
prefix leads from the queried model to the tenant (e.g. "contract__tenant__") or the product.
"""

from __future__ import annotations

from django.db.models import Q

from core import sandbox


def tenant_q(prefix: str = "") -> Q:
    """Rows whose tenant (reached through `prefix`) belongs to the data this context acts for.
    Direct customers (no partner) are live."""
    sandbox_id = sandbox.current()
    if sandbox_id is None:
        return Q(**{f"{prefix}partner__sandbox_of__isnull": True})
    return Q(**{f"{prefix}partner_id": sandbox_id})


def product_q(prefix: str = "") -> Q:
    """Rows whose product (reached through `prefix`) is a live product, or outside of live
    data this sandbox's copy of one."""
    sandbox_id = sandbox.current()
    if sandbox_id is None:
        return Q(**{f"{prefix}sandbox__isnull": True})
    return Q(**{f"{prefix}sandbox_id": sandbox_id})


def partner_ids_q(field: str = "partner_id") -> Q:
    """Rows carrying a partner id (events, outbox rows) of the data this context acts for."""
    from tenants.models import Partner  # noqa: PLC0415 -- leaf

    sandbox_id = sandbox.current()
    if sandbox_id is None:
        return ~Q(**{f"{field}__in": Partner.objects.filter(sandbox_of__isnull=False).values("pk")})
    return Q(**{field: sandbox_id})
