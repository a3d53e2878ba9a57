"""The demo's people: staff in each role, two partners with API keys, the products' keys
and the tenants with an admin and a viewer each. Idempotent: existing rows are reused.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from agreements.catalog import Catalog
from agreements.demo.summary import DemoSummary
from agreements.models.products import ProductKey
from tenants.enums import KeyScope, Role
from tenants.keys import PARTNER_KEY_TAG, PRODUCT_KEY_TAG, hash_key, issue_key
from tenants.models import Membership, Partner, PartnerAPIKey, Tenant
from tenants.scope import Scope

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 -- demo data only, printed by loaddemo
MARKER_PARTNER = "demo-partner-a"


def _user(username: str, *, email: str, staff: bool = False, superuser: bool = False):
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username, defaults={"email": email, "is_staff": staff, "is_superuser": superuser}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def _demo_secret(name: str) -> str:
    # Demo keys are derived from their name so that re-running loaddemo prints the same key.
    return f"demo-{name}-not-for-production"


def partner_with_key(
    code: str, name: str, email: str, summary: DemoSummary
) -> tuple[Partner, Scope]:
    partner, _ = Partner.objects.get_or_create(
        code=code, defaults={"name": name, "contact_email": email}
    )
    issued = issue_key(PARTNER_KEY_TAG, secret=_demo_secret(code))
    key, _ = PartnerAPIKey.objects.get_or_create(
        hashed_key=issued.hashed,
        defaults={
            "partner": partner,
            "name": "demo",
            "prefix": issued.prefix,
            "scopes": [KeyScope.READ, KeyScope.WRITE],
        },
    )
    summary.keys.append((partner.name, issued.full))
    return partner, Scope.partner(key)


def product_keys(catalog: Catalog, summary: DemoSummary) -> None:
    for product in (catalog.biz, catalog.id_plus):
        issued = issue_key(PRODUCT_KEY_TAG, secret=_demo_secret(product.code))
        if not ProductKey.objects.filter(hashed_key=issued.hashed).exists():
            ProductKey.objects.create(
                product=product,
                name="demo",
                prefix=issued.prefix,
                hashed_key=hash_key(issued.full),
                scopes=["status:read", "deletion:ack"],
            )
        summary.keys.append((f"{product.name} (product)", issued.full))


def staff_users(summary: DemoSummary) -> dict[str, object]:
    admin = _user("admin", email="admin@optim.example", staff=True, superuser=True)
    summary.logins.append(("admin / console (superuser)", admin.username, DEMO_PASSWORD))
    staff = {"admin": admin}
    for group_name in ("editor", "publisher", "viewer"):
        user = _user(f"staff-{group_name}", email=f"{group_name}@optim.example", staff=True)
        user.groups.add(Group.objects.get(name=group_name))
        staff[group_name] = user
        summary.logins.append((f"console ({group_name})", user.username, DEMO_PASSWORD))
    return staff


def _tenant(
    name: str, slug: str, partner: Partner | None, summary: DemoSummary, *, locale: str = "ja"
) -> tuple[Tenant, Membership]:
    tenant, _ = Tenant.objects.get_or_create(
        name=name,
        defaults={"partner": partner, "contact_email": f"it@{slug}.example", "locale": locale},
    )
    admin_membership = None
    for role in (Role.ADMIN, Role.VIEWER):
        email = f"{role}@{slug}.example"
        user = _user(email, email=email)
        membership, _ = Membership.objects.get_or_create(
            user=user, tenant=tenant, defaults={"role": role}
        )
        if role == Role.ADMIN:
            admin_membership = membership
        summary.logins.append((f"portal {role} ({name})", email, DEMO_PASSWORD))
    assert admin_membership is not None  # noqa: S101 -- created above
    return tenant, admin_membership


def tenants_with_admins(
    partner_a: Partner, partner_b: Partner, summary: DemoSummary
) -> dict[str, tuple[Tenant, Membership]]:
    """The demo tenants by slug, each with its admin's membership (the portal login)."""
    return {
        slug: _tenant(name, slug, partner, summary, locale=locale)
        for name, slug, partner, locale in (
            ("株式会社デモ商事", "shoji", None, "ja"),
            ("デモ製作所株式会社", "seisakusho", partner_a, "ja"),
            ("デモ物流株式会社", "butsuryu", partner_a, "ja"),
            ("デモ建設株式会社", "kensetsu", partner_b, "ja"),
            ("Demo Trading K.K.", "trading", None, "en"),
            ("デモ医療法人", "iryo", partner_b, "ja"),
            ("デモ学園", "gakuen", None, "ja"),
            ("デモ旧商店", "shoten", partner_a, "ja"),
        )
    }
