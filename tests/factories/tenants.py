from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from tenants.enums import KeyScope, Role
from tenants.keys import PARTNER_KEY_TAG, issue_key
from tenants.models import Membership, Partner, PartnerAPIKey, Tenant, WebhookEndpoint


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}@example.com")
    email = factory.LazyAttribute(lambda o: o.username)
    password = factory.django.Password("pass-1234-word")


class StaffFactory(UserFactory):
    username = factory.Sequence(lambda n: f"staff{n}")
    email = factory.Sequence(lambda n: f"staff{n}@optim.example")
    is_staff = True


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    code = factory.Sequence(lambda n: f"partner-{n}")
    name = factory.Sequence(lambda n: f"パートナー{n}株式会社")
    contact_email = factory.Sequence(lambda n: f"api{n}@partner.example")


def make_partner_key(
    partner: Partner | None = None, *, scopes: list[str] | None = None, revoked: bool = False
) -> tuple[PartnerAPIKey, str]:
    """A stored partner key and its plain text (which only the caller ever sees)."""
    issued = issue_key(PARTNER_KEY_TAG)
    key = PartnerAPIKey.objects.create(
        partner=partner or PartnerFactory(),
        name="test",
        prefix=issued.prefix,
        hashed_key=issued.hashed,
        scopes=scopes if scopes is not None else [KeyScope.READ, KeyScope.WRITE],
    )
    if revoked:
        from core import clock

        key.revoked_at = clock.now()
        key.save(update_fields=["revoked_at"])
    return key, issued.full


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"テスト商事{n}株式会社")
    partner = None
    contact_email = factory.Sequence(lambda n: f"it{n}@customer.example")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    user = factory.SubFactory(UserFactory)
    tenant = factory.SubFactory(TenantFactory)
    role = Role.ADMIN


class WebhookEndpointFactory(factory.django.DjangoModelFactory):
    """A partner's webhook endpoint: active, every event kind unless `event_kinds` is given."""

    class Meta:
        model = WebhookEndpoint

    partner = factory.SubFactory(PartnerFactory)
    url = factory.Sequence(lambda n: f"https://hooks.example/{n}")
    secret = "s"
