from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser

from core import clock
from core.errors import NotFound, PermissionDenied
from tenants import selectors
from tenants.enums import Role
from tenants.models import Tenant
from tenants.scope import Scope
from tests.factories.tenants import (
    MembershipFactory,
    PartnerFactory,
    TenantFactory,
    UserFactory,
    make_partner_key,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def world(partner):
    """Two tenants of `partner`, one of another partner, one direct."""
    return {
        "mine_a": TenantFactory(
            partner=partner, name="あさひ商事", corporate_number="7000012050002"
        ),
        "mine_b": TenantFactory(partner=partner, name="いろは工業", external_ref="C-77"),
        "theirs": TenantFactory(partner=PartnerFactory(), name="うみ物産"),
        "direct": TenantFactory(partner=None, name="えがお電機"),
    }


def names(qs) -> list[str]:
    return [t.name for t in qs]


def test_tenant_list_by_caller(world, staff_scope, partner_scope, member_scope):
    assert names(selectors.tenant_list(scope=staff_scope)) == [
        "あさひ商事",
        "いろは工業",
        "うみ物産",
        "えがお電機",
    ]
    assert names(selectors.tenant_list(scope=partner_scope)) == ["あさひ商事", "いろは工業"]
    assert names(selectors.tenant_list(scope=member_scope(world["direct"], Role.VIEWER))) == [
        "えがお電機"
    ]


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("いろは", ["いろは工業"]),
        ("７０００-０１２０-５０００２", ["あさひ商事"]),  # 法人番号 as typed
        ("7000012050002", ["あさひ商事"]),
        ("C-77", ["いろは工業"]),
        ("うみ", []),  # another partner's tenant stays invisible
        ("  ", ["あさひ商事", "いろは工業"]),
    ],
)
def test_tenant_list_search(world, partner_scope, search, expected):
    assert names(selectors.tenant_list(scope=partner_scope, search=search)) == expected


def test_tenant_list_search_by_id(world, staff_scope):
    pk = world["theirs"].pk
    assert world["theirs"] in selectors.tenant_list(scope=staff_scope, search=str(pk))


def test_tenant_list_updated_since_oldest_first(world, partner_scope):
    cutoff = clock.now()
    Tenant.objects.filter(pk=world["mine_b"].pk).update(updated_at=cutoff + timedelta(seconds=1))
    Tenant.objects.filter(pk=world["mine_a"].pk).update(updated_at=cutoff + timedelta(seconds=2))
    Tenant.objects.filter(pk=world["theirs"].pk).update(updated_at=cutoff + timedelta(seconds=3))
    assert names(selectors.tenant_list(scope=partner_scope, updated_since=cutoff)) == [
        "いろは工業",
        "あさひ商事",
    ]


def test_tenant_list_queries_do_not_grow(partner, partner_scope, django_assert_num_queries):
    TenantFactory(partner=partner)
    with django_assert_num_queries(1):
        assert [t.partner.name for t in selectors.tenant_list(scope=partner_scope)] == [
            partner.name
        ]
    TenantFactory.create_batch(2, partner=partner)
    with django_assert_num_queries(1):
        assert len([t.partner.name for t in selectors.tenant_list(scope=partner_scope)]) == 3


def test_tenant_get_other_partners_tenant_not_found(world, partner_scope, member_scope):
    assert selectors.tenant_get(scope=partner_scope, pk=world["mine_a"].pk) == world["mine_a"]
    for pk in (world["theirs"].pk, world["direct"].pk, 10**9, "abc"):
        with pytest.raises(NotFound):
            selectors.tenant_get(scope=partner_scope, pk=pk)
    with pytest.raises(NotFound):
        selectors.tenant_get(scope=member_scope(world["direct"]), pk=world["mine_a"].pk)


def test_membership_list_admins_first_and_scoped(world, partner_scope, django_assert_num_queries):
    tenant = world["mine_a"]
    viewer = MembershipFactory(tenant=tenant, role=Role.VIEWER, user=UserFactory(username="a@x.jp"))
    admin = MembershipFactory(tenant=tenant, role=Role.ADMIN, user=UserFactory(username="z@x.jp"))
    MembershipFactory(tenant=world["theirs"])
    with django_assert_num_queries(2):  # the tenant check, then the list with users
        members = [
            (m.pk, m.user.username)
            for m in selectors.membership_list(scope=partner_scope, tenant=tenant)
        ]
    assert members == [(admin.pk, "z@x.jp"), (viewer.pk, "a@x.jp")]
    with pytest.raises(NotFound):
        selectors.membership_list(scope=partner_scope, tenant=world["theirs"])


def test_membership_get_scoped(world, member_scope):
    scope = member_scope(world["mine_a"])
    mine = MembershipFactory(tenant=world["mine_a"], role=Role.VIEWER)
    other = MembershipFactory(tenant=world["mine_b"])
    assert selectors.membership_get(scope=scope, pk=mine.pk) == mine
    with pytest.raises(NotFound):
        selectors.membership_get(scope=scope, pk=other.pk)


def test_memberships_for_user_skips_inactive_tenants():
    user = UserFactory()
    b = MembershipFactory(user=user, tenant=TenantFactory(name="B社"), role=Role.VIEWER)
    a = MembershipFactory(user=user, tenant=TenantFactory(name="A社"))
    MembershipFactory(user=user, tenant=TenantFactory(name="C社", is_active=False))
    MembershipFactory(tenant=TenantFactory(name="D社"))
    assert list(selectors.memberships_for_user(user)) == [a, b]
    assert list(selectors.memberships_for_user(AnonymousUser())) == []
    assert list(selectors.memberships_for_user(None)) == []


def test_partner_list_by_caller(partner, staff_scope, partner_scope, member_scope):
    other = PartnerFactory()
    assert set(selectors.partner_list(scope=staff_scope)) == {partner, other}
    assert list(selectors.partner_list(scope=partner_scope)) == [partner]
    with pytest.raises(PermissionDenied):
        selectors.partner_list(scope=member_scope(TenantFactory()))
    with pytest.raises(NotFound):
        selectors.partner_get(scope=partner_scope, pk=other.pk)


def test_partner_key_list(partner, staff_scope, partner_scope):
    key, _ = make_partner_key(partner)
    own = partner_scope.partner_key
    other_key, _ = make_partner_key(PartnerFactory())
    assert set(selectors.partner_key_list(scope=staff_scope, partner=partner)) == {key, own}
    assert set(selectors.partner_key_list(scope=partner_scope, partner=partner)) == {key, own}
    with pytest.raises(NotFound):
        selectors.partner_key_list(scope=partner_scope, partner=other_key.partner)
    assert selectors.partner_key_get(scope=staff_scope, pk=other_key.pk) == other_key
    with pytest.raises(NotFound):
        selectors.partner_key_get(scope=partner_scope, pk=other_key.pk)


def test_system_scope_sees_everything(world):
    assert selectors.tenant_list(scope=Scope.system()).count() == 4
