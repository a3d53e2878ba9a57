"""The caller's reach, built once per request; every selector filters by it.

staff see everything; a partner sees its own tenants; a product sees the contracts of its
product; a tenant user sees the one tenant they are working in; the system (jobs) sees all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from django.db import connection
from django.db.models import Q, QuerySet

from tenants import authz
from tenants.authz import Action, StaffRole
from tenants.enums import KeyScope, Role
from tenants.models import Membership, PartnerAPIKey, Tenant

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ScopeKind = Literal["staff", "partner", "product", "tenant_user", "system"]


@dataclass(frozen=True)
class Scope:
    kind: ScopeKind
    user: User | None = None
    partner_id: int | None = None
    partner_key: PartnerAPIKey | None = None
    product_id: int | None = None
    product_key_id: int | None = None
    product_scopes: tuple[str, ...] = ()
    tenant_id: int | None = None
    role: str | None = None
    # A staff scope's roles (tenants/authz.py), read once per request by the interfaces;
    # None when built without them (services and jobs), and then looked up on demand.
    staff_roles: frozenset[StaffRole] | None = None
    # The interface a staff member acts through, when not the console: "api" for a staff
    # session on the REST API, so what it records names the channel it came by (docs/ledger.md).
    staff_channel: str | None = None

    # --- constructors -----------------------------------------------------------------
    @classmethod
    def staff(
        cls,
        user: User,
        *,
        roles: frozenset[StaffRole] | None = None,
        channel: str | None = None,
    ) -> Scope:
        return cls(kind="staff", user=user, staff_roles=roles, staff_channel=channel)

    @classmethod
    def staff_with_roles(cls, user: User, *, channel: str | None = None) -> Scope:
        """A staff scope carrying the user's roles, as the console and the API build it
        (`channel="api"` from the API)."""
        return cls.staff(user, roles=authz.staff_roles(user), channel=channel)

    @classmethod
    def system(cls) -> Scope:
        return cls(kind="system")

    @classmethod
    def partner(cls, key: PartnerAPIKey) -> Scope:
        return cls(kind="partner", partner_id=key.partner_id, partner_key=key)

    @classmethod
    def product(cls, *, product_id: int, key_id: int | None, scopes: tuple[str, ...]) -> Scope:
        return cls(
            kind="product", product_id=product_id, product_key_id=key_id, product_scopes=scopes
        )

    @classmethod
    def tenant_user(cls, membership: Membership) -> Scope:
        return cls(
            kind="tenant_user",
            user=membership.user,
            tenant_id=membership.tenant_id,
            role=membership.role,
        )

    # --- predicates ---------------------------------------------------------------------
    @property
    def is_staff(self) -> bool:
        return self.kind == "staff"

    @property
    def is_system(self) -> bool:
        return self.kind == "system"

    @property
    def is_partner(self) -> bool:
        return self.kind == "partner"

    @property
    def is_product(self) -> bool:
        return self.kind == "product"

    @property
    def is_tenant_user(self) -> bool:
        return self.kind == "tenant_user"

    @property
    def acting_user(self) -> User | None:
        """The person who acted, where a person did: a staff member or a tenant user."""
        return self.user if self.kind in ("staff", "tenant_user") else None

    @property
    def acting_key(self) -> PartnerAPIKey | None:
        """The partner key that acted, where a partner did."""
        return self.partner_key if self.kind == "partner" else None

    @property
    def is_privileged(self) -> bool:
        """Staff and the system may do what no customer or partner may (R14, R19)."""
        return self.kind in ("staff", "system")

    @property
    def can_write(self) -> bool:
        if self.kind == "partner":
            return self.partner_key is not None and KeyScope.WRITE in self.partner_key.scopes
        if self.kind == "tenant_user":
            return self.role == Role.ADMIN
        return self.kind != "product"  # products only read and acknowledge

    def may(self, action: Action | str) -> bool:
        """Whether this caller may take a staff `action` (tenants/authz.py); the system may,
        partners, products and tenant users never take staff actions."""
        if self.kind == "system":
            return True
        if self.kind != "staff" or self.user is None:
            return False
        roles = self.staff_roles if self.staff_roles is not None else authz.staff_roles(self.user)
        superuser = bool(self.user.is_superuser and self.user.is_staff and self.user.is_active)
        return authz.roles_may(roles, action, superuser=superuser)

    def has_product_scope(self, scope: str) -> bool:
        return self.kind == "product" and scope in self.product_scopes

    # --- query filters ------------------------------------------------------------------
    def tenant_q(self, prefix: str = "") -> Q:
        """A filter for rows whose tenant is `prefix` (e.g. "tenant__" or "" for Tenant itself)."""
        if self.kind in ("staff", "system"):
            return Q()
        if self.kind == "partner":
            return Q(**{f"{prefix}partner_id": self.partner_id})
        if self.kind == "tenant_user":
            return Q(**{f"{prefix}id": self.tenant_id})
        if self.kind == "product":
            # A product sees tenants holding a contract for it.
            return Q(**{f"{prefix}contracts__product_id": self.product_id})
        return Q(pk__in=[])  # unknown kinds see nothing

    def tenant_sql(self, alias: str) -> tuple[str, list[Any]]:
        """tenant_q as an SQL condition on a tenants row named `alias`, with its parameters:
        for the statements hot paths write by hand (tests hold the two equal for every kind)."""
        if self.kind in ("staff", "system"):
            return "TRUE", []
        if self.kind == "partner" and self.partner_id is not None:
            return f"{alias}.partner_id = %s", [self.partner_id]
        if self.kind == "tenant_user" and self.tenant_id is not None:
            return f"{alias}.id = %s", [self.tenant_id]
        if self.kind == "product" and self.product_id is not None:
            contracts = connection.ops.quote_name(
                Tenant._meta.get_field("contracts").related_model._meta.db_table  # type: ignore[union-attr]
            )
            return (
                f"EXISTS (SELECT 1 FROM {contracts} c "  # noqa: S608 -- placeholders only
                f"WHERE c.tenant_id = {alias}.id AND c.product_id = %s)",
                [self.product_id],
            )
        return "FALSE", []  # unknown kinds, or a scope without its id, see nothing

    def tenants(self, queryset: QuerySet[Any] | None = None) -> QuerySet[Any]:
        qs = queryset if queryset is not None else Tenant.objects.all()
        qs = qs.filter(self.tenant_q(""))
        return qs.distinct() if self.kind == "product" else qs

    def owned(self, queryset: QuerySet[Any], *, tenant_field: str = "tenant") -> QuerySet[Any]:
        """Filter any tenant-owned queryset to the caller's reach."""
        if self.kind in ("staff", "system"):
            return queryset
        if self.kind == "product":
            return queryset.filter(
                **{f"{tenant_field}__contracts__product_id": self.product_id}
            ).distinct()
        return queryset.filter(self.tenant_q(f"{tenant_field}__"))

    # --- actor --------------------------------------------------------------------------
    @property
    def actor_kind(self) -> str:
        return {
            "staff": "staff",
            "system": "system",
            "partner": "partner_key",
            "tenant_user": "user",
            "product": "system",
        }[self.kind]

    @property
    def actor_ref(self) -> str:
        """A stable, non-personal reference to who acted (goes into the ledger)."""
        if self.kind == "partner" and self.partner_key is not None:
            return f"key:{self.partner_key.prefix}"
        if self.kind == "product":
            return f"product:{self.product_id}"
        if self.user is not None:
            return f"{self.kind}:{self.user.pk}"
        return "system"

    @property
    def channel(self) -> str:
        if self.kind == "staff" and self.staff_channel:
            return self.staff_channel
        return {
            "staff": "console",
            "system": "system",
            "partner": "api",
            "tenant_user": "portal",
            "product": "api",
        }[self.kind]
