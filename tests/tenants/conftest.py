"""Callers for the tenants service tests: staff, partner keys and tenant users as Scopes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tenants.enums import KeyScope, Role
from tenants.models import Partner, Tenant
from tenants.scope import Scope
from tests.factories.tenants import (
    MembershipFactory,
    PartnerFactory,
    StaffFactory,
    make_partner_key,
)


@pytest.fixture
def staff_scope(db) -> Scope:
    return Scope.staff(StaffFactory())


@pytest.fixture
def partner(db) -> Partner:
    return PartnerFactory()


@pytest.fixture
def partner_scope(partner: Partner) -> Scope:
    key, _ = make_partner_key(partner)
    return Scope.partner(key)


@pytest.fixture
def other_partner_scope(db) -> Scope:
    key, _ = make_partner_key(PartnerFactory())
    return Scope.partner(key)


@pytest.fixture
def read_only_partner_scope(partner: Partner) -> Scope:
    key, _ = make_partner_key(partner, scopes=[KeyScope.READ])
    return Scope.partner(key)


@pytest.fixture
def member_scope(db) -> Callable[..., Scope]:
    """`member_scope(tenant, role)`: a new user with that role in `tenant`, as a portal Scope."""

    def make(tenant: Tenant, role: str = Role.ADMIN) -> Scope:
        return Scope.tenant_user(MembershipFactory(tenant=tenant, role=role))

    return make
