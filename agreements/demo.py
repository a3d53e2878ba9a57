"""The demo data set, laid out relative to an as-of date so that it is always live."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from tenants.enums import KeyScope, Role
from tenants.keys import PARTNER_KEY_TAG, issue_key
from tenants.models import Membership, Partner, PartnerAPIKey, Tenant

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 -- demo data only, printed by loaddemo
DEMO_PARTNER_SECRET = "demo-partner-secret-do-not-use-in-production"  # noqa: S105


@dataclass
class DemoSummary:
    as_of: date
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (where, user, password)
    keys: list[tuple[str, str]] = field(default_factory=list)  # (who, key)


def _user(username: str, *, email: str, staff: bool = False, superuser: bool = False):
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username, defaults={"email": email, "is_staff": staff, "is_superuser": superuser}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


@transaction.atomic
def demo_load(*, as_of: date) -> DemoSummary:
    """Create (or find) the demo staff, partner, key, tenants and users. Idempotent."""
    summary = DemoSummary(as_of=as_of)
    admin = _user("admin", email="admin@optim.example", staff=True, superuser=True)
    summary.logins.append(("admin / console", admin.username, DEMO_PASSWORD))
    for group_name in ("editor", "publisher", "viewer"):
        staff = _user(f"staff-{group_name}", email=f"{group_name}@optim.example", staff=True)
        staff.groups.add(Group.objects.get(name=group_name))
        summary.logins.append(("console", staff.username, DEMO_PASSWORD))

    partner, _ = Partner.objects.get_or_create(
        code="demo-partner",
        defaults={"name": "デモ販売パートナー株式会社", "contact_email": "api@partner.example"},
    )
    issued = issue_key(PARTNER_KEY_TAG, secret=DEMO_PARTNER_SECRET)
    PartnerAPIKey.objects.get_or_create(
        hashed_key=issued.hashed,
        defaults={
            "partner": partner,
            "name": "demo",
            "prefix": issued.prefix,
            "scopes": [KeyScope.READ, KeyScope.WRITE],
        },
    )
    summary.keys.append((partner.name, issued.full))

    tenants = [
        ("株式会社デモ商事", "direct", None),
        ("デモ製作所株式会社", "partner", partner),
    ]
    for index, (name, slug, owner) in enumerate(tenants, start=1):
        tenant, _ = Tenant.objects.get_or_create(
            name=name, defaults={"partner": owner, "contact_email": f"it@{slug}.example"}
        )
        for role in (Role.ADMIN, Role.VIEWER):
            user = _user(f"{role}{index}@{slug}.example", email=f"{role}{index}@{slug}.example")
            Membership.objects.get_or_create(user=user, tenant=tenant, defaults={"role": role})
            summary.logins.append((f"portal ({name})", user.username, DEMO_PASSWORD))
    return summary
