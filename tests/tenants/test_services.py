from __future__ import annotations

import pytest

from core.enums import AuditAction
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.models import AuditEntry
from tenants.enums import Locale, Role
from tenants.models import Membership, Partner, Tenant
from tenants.scope import Scope
from tenants.services import memberships
from tenants.services.memberships import membership_remove, membership_set_role
from tenants.services.partners import partner_create
from tenants.services.tenants import clean_corporate_number, tenant_create, tenant_update
from tests.factories.tenants import MembershipFactory, PartnerFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

NTA = "7000012050002"  # 国税庁's own 法人番号, the published example of the check digit


def audits(obj) -> list[tuple[str, str]]:
    return list(
        AuditEntry.objects.filter(object_type=obj._meta.label_lower, object_id=obj.pk)
        .order_by("pk")
        .values_list("action", "actor_label")
    )


# --- partners ---------------------------------------------------------------------------------


def test_partner_create_by_staff_audited(staff_scope):
    partner = partner_create(
        scope=staff_scope, code="acme", name=" アクメ株式会社 ", contact_email="api@acme.example"
    )
    assert (partner.code, partner.name, partner.contact_email) == (
        "acme",
        "アクメ株式会社",
        "api@acme.example",
    )
    assert audits(partner) == [(AuditAction.CREATE, staff_scope.user.username)]


@pytest.mark.parametrize("caller", ["partner_scope", "member"])
def test_partner_create_refused_for_non_staff(caller, request, member_scope):
    scope = request.getfixturevalue(caller) if caller != "member" else member_scope(TenantFactory())
    with pytest.raises(PermissionDenied):
        partner_create(scope=scope, code="x", name="X")
    assert not Partner.objects.filter(code="x").exists()


def test_partner_create_duplicate_code_conflict(staff_scope):
    PartnerFactory(code="acme")
    with pytest.raises(Conflict) as exc:
        partner_create(scope=staff_scope, code="acme", name="別会社")
    assert exc.value.code == "partner_code_taken"


def test_partner_create_invalid_code_and_name(staff_scope):
    with pytest.raises(ValidationFailed) as exc:
        partner_create(scope=staff_scope, code="a b", name="")
    assert set(exc.value.details["fields"]) == {"code", "name"}


# --- corporate number -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        (NTA, NTA),
        ("７００００１２０５０００２", NTA),  # full-width digits from an IME
        ("7-0000-1205-0002", NTA),
        (" 7000 0120 50002 ", NTA),
        ("7180001021946", "7180001021946"),
        ("9400001000000", "9400001000000"),
        ("", None),
        (None, None),
    ],
)
def test_clean_corporate_number_accepts(typed, stored):
    assert clean_corporate_number(typed) == stored


@pytest.mark.parametrize(
    "typed",
    [
        "8000012050002",  # check digit off by one
        "0000012050002",  # a zero check digit never occurs
        "700001205000",  # 12 digits
        "70000120500021",  # 14 digits
        "700001205000A",
        "七000012050002",  # a kanji numeral is not a digit
    ],
)
def test_clean_corporate_number_refuses(typed):
    with pytest.raises(ValidationFailed) as exc:
        clean_corporate_number(typed)
    assert exc.value.code == "corporate_number_invalid"
    assert list(exc.value.details["fields"]) == ["corporate_number"]


# --- tenant_create ----------------------------------------------------------------------------


def test_tenant_create_staff_direct(staff_scope):
    tenant = tenant_create(
        scope=staff_scope, name="直販商事株式会社", corporate_number="７０００-０１２０-５０００２"
    )
    tenant.refresh_from_db()
    assert (tenant.partner_id, tenant.corporate_number, tenant.locale) == (None, NTA, "ja")
    assert audits(tenant) == [(AuditAction.CREATE, staff_scope.user.username)]


def test_tenant_create_staff_for_partner(staff_scope, partner):
    tenant = tenant_create(scope=staff_scope, name="販売先", partner=partner, locale="en")
    assert (tenant.partner_id, tenant.locale) == (partner.pk, Locale.EN)


def test_tenant_create_partner_forced_from_scope(partner_scope, partner):
    tenant = tenant_create(scope=partner_scope, name="販売先", external_ref="C-1")
    assert tenant.partner_id == partner.pk
    assert audits(tenant) == [(AuditAction.CREATE, partner_scope.actor_ref)]


def test_tenant_create_partner_naming_itself_allowed(partner_scope, partner):
    tenant = tenant_create(scope=partner_scope, name="販売先", partner=partner)
    assert tenant.partner_id == partner.pk


def test_tenant_create_partner_for_another_partner_refused(partner_scope):
    other = PartnerFactory()
    with pytest.raises(PermissionDenied) as exc:
        tenant_create(scope=partner_scope, name="X", partner=other)
    assert exc.value.code == "partner_mismatch"
    assert not Tenant.objects.exists()


def test_tenant_create_read_only_key_refused(read_only_partner_scope):
    with pytest.raises(PermissionDenied):
        tenant_create(scope=read_only_partner_scope, name="X")


def test_tenant_create_tenant_user_refused(member_scope):
    scope = member_scope(TenantFactory())
    with pytest.raises(PermissionDenied):
        tenant_create(scope=scope, name="X")


def test_tenant_create_validation_reports_every_field(staff_scope):
    with pytest.raises(ValidationFailed) as exc:
        tenant_create(
            scope=staff_scope,
            name=" ",
            corporate_number="123",
            locale="fr",
            contact_email="not-an-address",
        )
    assert set(exc.value.details["fields"]) == {
        "name",
        "corporate_number",
        "locale",
        "contact_email",
    }


def test_tenant_create_duplicate_corporate_number_conflict(staff_scope, partner_scope):
    # Unique among the partner's own tenants (and among direct ones), not across partners:
    # docs/security.md, tests/security/test_corporate_numbers.py.
    tenant_create(scope=partner_scope, name="A", corporate_number=NTA)
    with pytest.raises(Conflict) as exc:
        tenant_create(scope=partner_scope, name="B", corporate_number="７００００１２０５０００２")
    assert exc.value.code == "corporate_number_taken"
    assert exc.value.details == {"field": "corporate_number"}


def test_tenant_create_duplicate_external_ref_per_partner(partner_scope, other_partner_scope):
    tenant_create(scope=partner_scope, name="A", external_ref="C-1")
    with pytest.raises(Conflict) as exc:
        tenant_create(scope=partner_scope, name="B", external_ref="C-1")
    assert exc.value.code == "external_ref_taken"
    # Another partner's numbering is its own business.
    tenant_create(scope=other_partner_scope, name="C", external_ref="C-1")


# --- tenant_update ----------------------------------------------------------------------------


def test_tenant_update_partner_changes_own_tenant(partner_scope, partner):
    tenant = TenantFactory(partner=partner)
    updated = tenant_update(
        scope=partner_scope, tenant=tenant, name="新社名株式会社", corporate_number="7180001021946"
    )
    updated.refresh_from_db()
    assert (updated.name, updated.corporate_number) == ("新社名株式会社", "7180001021946")
    entry = AuditEntry.objects.get(object_id=tenant.pk, action=AuditAction.UPDATE)
    assert entry.data["changes"]["corporate_number"] == [None, "7180001021946"]


def test_tenant_update_other_partners_tenant_not_found(partner_scope):
    tenant = TenantFactory(partner=PartnerFactory())
    with pytest.raises(NotFound):
        tenant_update(scope=partner_scope, tenant=tenant, name="乗っ取り")


def test_tenant_update_partner_cannot_move_tenant(partner_scope, partner):
    tenant = TenantFactory(partner=partner)
    for target in (PartnerFactory(), None):
        with pytest.raises(PermissionDenied) as exc:
            tenant_update(scope=partner_scope, tenant=tenant, partner=target)
        assert exc.value.code == "partner_mismatch"
    tenant.refresh_from_db()
    assert tenant.partner_id == partner.pk


def test_tenant_update_partner_naming_current_partner_is_no_move(partner_scope, partner):
    tenant = TenantFactory(partner=partner)
    tenant_update(scope=partner_scope, tenant=tenant, partner=partner, locale="en")
    tenant.refresh_from_db()
    assert (tenant.partner_id, tenant.locale) == (partner.pk, "en")


def test_tenant_update_staff_moves_tenant_audited(staff_scope, partner):
    tenant = TenantFactory(partner=partner)
    other = PartnerFactory()
    tenant_update(scope=staff_scope, tenant=tenant, partner=other)
    tenant.refresh_from_db()
    assert tenant.partner_id == other.pk
    entry = AuditEntry.objects.get(object_id=tenant.pk, action=AuditAction.UPDATE)
    assert entry.data["changes"] == {"partner": [partner.pk, other.pk]}
    assert entry.actor == staff_scope.user


def test_tenant_update_tenant_admin_limited_fields(member_scope):
    tenant = TenantFactory()
    scope = member_scope(tenant, Role.ADMIN)
    tenant_update(scope=scope, tenant=tenant, contact_email="legal@customer.example")
    with pytest.raises(PermissionDenied):
        tenant_update(scope=scope, tenant=tenant, corporate_number=NTA)
    tenant.refresh_from_db()
    assert (tenant.contact_email, tenant.corporate_number) == ("legal@customer.example", None)


def test_tenant_update_viewer_refused(member_scope):
    tenant = TenantFactory()
    with pytest.raises(PermissionDenied):
        tenant_update(scope=member_scope(tenant, Role.VIEWER), tenant=tenant, name="X")


def test_tenant_update_unchanged_writes_nothing(staff_scope):
    tenant = TenantFactory(name="同じ名前")
    tenant_update(scope=staff_scope, tenant=tenant, name="同じ名前")
    assert not AuditEntry.objects.filter(action=AuditAction.UPDATE).exists()


def test_tenant_update_unknown_field_refused(staff_scope):
    tenant = TenantFactory()
    with pytest.raises(ValidationFailed) as exc:
        tenant_update(scope=staff_scope, tenant=tenant, redacted_at=None)
    assert exc.value.code == "unknown_field"


def test_tenant_update_duplicate_corporate_number_conflict(staff_scope):
    TenantFactory(corporate_number=NTA)
    tenant = TenantFactory()
    with pytest.raises(Conflict):
        tenant_update(scope=staff_scope, tenant=tenant, corporate_number=NTA)


# --- memberships ------------------------------------------------------------------------------


def test_membership_remove_last_admin_conflict(member_scope):
    tenant = TenantFactory()
    scope = member_scope(tenant, Role.ADMIN)
    admin = Membership.objects.get(tenant=tenant, user=scope.user)
    with pytest.raises(Conflict) as exc:
        membership_remove(scope=scope, membership=admin)
    assert exc.value.code == "last_admin"
    assert Membership.objects.filter(pk=admin.pk).exists()


def test_membership_set_role_last_admin_cannot_be_demoted(staff_scope):
    admin = MembershipFactory(role=Role.ADMIN)
    MembershipFactory(tenant=admin.tenant, role=Role.VIEWER)
    with pytest.raises(Conflict):
        membership_set_role(scope=staff_scope, membership=admin, role=Role.VIEWER)
    admin.refresh_from_db()
    assert admin.role == Role.ADMIN


def test_membership_with_second_admin_can_be_demoted_and_removed(partner_scope, partner):
    tenant = TenantFactory(partner=partner)
    first = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    second = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    membership_set_role(scope=partner_scope, membership=first, role=Role.VIEWER)
    with pytest.raises(Conflict):
        membership_remove(scope=partner_scope, membership=second)
    membership_remove(scope=partner_scope, membership=first)
    assert list(Membership.objects.filter(tenant=tenant).values_list("pk", "role")) == [
        (second.pk, Role.ADMIN)
    ]
    assert list(
        AuditEntry.objects.filter(tenant_id=tenant.pk).order_by("pk").values_list("action")
    ) == [(AuditAction.UPDATE,), (AuditAction.REMOVE,)]


def test_membership_viewer_cannot_change_members(member_scope):
    tenant = TenantFactory()
    admin = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    viewer_scope = member_scope(tenant, Role.VIEWER)
    with pytest.raises(PermissionDenied):
        membership_set_role(scope=viewer_scope, membership=admin, role=Role.VIEWER)
    with pytest.raises(PermissionDenied):
        membership_remove(scope=viewer_scope, membership=admin)


def test_membership_of_another_partner_not_found(partner_scope):
    membership = MembershipFactory(tenant=TenantFactory(partner=PartnerFactory()))
    with pytest.raises(NotFound):
        membership_remove(scope=partner_scope, membership=membership)


def test_membership_of_another_tenant_not_found(member_scope):
    scope = member_scope(TenantFactory(), Role.ADMIN)
    elsewhere = MembershipFactory(role=Role.VIEWER)
    with pytest.raises(NotFound):
        membership_remove(scope=scope, membership=elsewhere)


def test_membership_set_role_invalid_role(staff_scope):
    membership = MembershipFactory()
    with pytest.raises(ValidationFailed):
        membership_set_role(scope=staff_scope, membership=membership, role="owner")


def test_system_scope_may_remove_viewer():
    viewer = MembershipFactory(role=Role.VIEWER)
    membership_remove(scope=Scope.system(), membership=viewer)
    assert not Membership.objects.filter(pk=viewer.pk).exists()
    assert AuditEntry.objects.get(action=AuditAction.REMOVE).actor_label == "system"


@pytest.mark.django_db(transaction=True)
def test_two_admins_demoting_each_other_at_once_leave_one_admin(monkeypatch):
    """Both requests count the other admin; the tenant lock makes the second count again."""
    import threading
    import time

    from django.db import connection

    tenant = TenantFactory()
    first = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    second = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    counted = memberships._other_admins

    def slow_count(membership):
        result = counted(membership)
        time.sleep(0.3)  # widen the window between the count and the write
        return result

    monkeypatch.setattr(memberships, "_other_admins", slow_count)
    outcomes: list[str] = []

    def demote(membership):
        try:
            membership_set_role(scope=Scope.system(), membership=membership, role=Role.VIEWER)
            outcomes.append("demoted")
        except Conflict:
            outcomes.append("conflict")
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=(m,)) for m in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    assert sorted(outcomes) == ["conflict", "demoted"]
    assert Membership.objects.filter(tenant=tenant, role=Role.ADMIN).count() == 1
