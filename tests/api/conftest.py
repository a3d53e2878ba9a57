"""Callers of the API as configured clients: partners, products, staff, anonymous."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import transaction
from rest_framework.test import APIClient

from agreements.enums import DeletionKind, DeletionStatus, ProductKeyScope
from agreements.models import (
    Contract,
    DataDeletion,
    Product,
    ProductKey,
    TermsDocument,
    TermsVersion,
)
from agreements.services.sandbox import sandbox_open
from core import clock
from core.enums import OutboxChannel, OutboxStatus
from core.events import event_envelope
from core.models import Event, Outbox
from tenants.enums import KeyScope, Role
from tenants.keys import PRODUCT_KEY_TAG, hash_key, issue_key
from tenants.models import Invitation, Membership, Partner, Tenant, WebhookEndpoint
from tenants.scope import Scope
from tests.factories.agreements import DocumentFactory, ProductFactory, VersionFactory
from tests.factories.tenants import (
    MembershipFactory,
    PartnerFactory,
    StaffFactory,
    TenantFactory,
    make_partner_key,
)


def key_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def make_product_key(
    product: Product, *, scopes: list[str] | None = None, revoked: bool = False
) -> tuple[ProductKey, str]:
    issued = issue_key(PRODUCT_KEY_TAG)
    key = ProductKey.objects.create(
        product=product,
        name="test",
        prefix=issued.prefix,
        hashed_key=issued.hashed,
        scopes=scopes if scopes is not None else list(ProductKeyScope.values),
        revoked_at=clock.now() if revoked else None,
    )
    return key, issued.full


@pytest.fixture
def partner(db) -> Partner:
    return PartnerFactory()


@pytest.fixture
def other_partner(db) -> Partner:
    return PartnerFactory()


@pytest.fixture
def partner_client(partner: Partner) -> APIClient:
    _key, raw = make_partner_key(partner)
    return key_client(raw)


@pytest.fixture
def other_partner_client(other_partner: Partner) -> APIClient:
    _key, raw = make_partner_key(other_partner)
    return key_client(raw)


@pytest.fixture
def read_only_client(partner: Partner) -> APIClient:
    _key, raw = make_partner_key(partner, scopes=[KeyScope.READ])
    return key_client(raw)


@pytest.fixture
def revoked_client(partner: Partner) -> APIClient:
    _key, raw = make_partner_key(partner, revoked=True)
    return key_client(raw)


@pytest.fixture
def product(db) -> Product:
    return ProductFactory(code="optimal-biz", name="Optimal Biz")


@pytest.fixture
def product_client(product: Product) -> APIClient:
    _key, raw = make_product_key(product)
    return key_client(raw)


def make_staff(*groups: str, superuser: bool = False) -> Any:
    """A staff user in `groups` (tenants/authz.py: viewer, editor, publisher)."""
    user = StaffFactory(is_superuser=superuser)
    for name in groups:
        # get_or_create: tests that flush tables lose the rows the data migration made.
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


@pytest.fixture
def staff_client(db) -> APIClient:
    """A publisher: the staff role that may take every action the API offers."""
    client = APIClient()
    client.force_login(make_staff("publisher"))
    return client


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for_key() -> Callable[[str], APIClient]:
    return key_client


# --- A small world: two partners, their tenants and contracts, terms, a deletion order ------------

TODAY = date(
    2025, 3, 10
)  # V2 posted on 2025-03-01, effective 2025-04-01 (tests/factories/consents)


@dataclass
class World:
    partner: Partner
    partner_raw: str
    read_only_raw: str
    revoked_raw: str
    other_partner: Partner
    other_raw: str
    product: Product
    product_raw: str
    staff: Any  # a publisher: every staff action of the API
    staff_by_actor: dict[str, Any]  # STAFF_ACTORS → user
    tenant: Tenant
    admin: Membership
    viewer: Membership
    contract: Contract  # ID+ from 2024-04-01: its non-renewal deadline (2025-02-28) has passed
    renewing: Contract  # ID+ from 2024-06-01 with a timely non-renewal (ends 2025-05-31)
    document: TermsDocument
    v1: TermsVersion
    v2: TermsVersion
    webhook: WebhookEndpoint
    delivery: Outbox  # a dead delivery to `webhook`, which may be resent
    event: Event  # an event of `tenant`'s, in the partner's feed
    deletion: DataDeletion
    other_tenant: Tenant
    other_contract: Contract
    invitation: Invitation  # pending, to the tenant's portal

    def client(self, caller: str) -> APIClient:
        """A client for one of CALLERS."""
        if caller == "anonymous":
            return APIClient()
        if caller == "staff" or caller in STAFF_ACTORS:
            client = APIClient()
            client.force_login(self.staff if caller == "staff" else self.staff_by_actor[caller])
            return client
        raw = {
            "own_partner": self.partner_raw,
            "other_partner": self.other_raw,
            "product": self.product_raw,
            "revoked": self.revoked_raw,
            "read_only": self.read_only_raw,
        }[caller]
        return key_client(raw)


# Staff by role (tenants/authz.py): the isolation matrix's staff-role axis.
STAFF_ACTORS = ("staff_viewer", "staff_editor", "staff_publisher", "staff_no_group", "superuser")
CALLERS = (
    "own_partner",
    "other_partner",
    "product",
    "anonymous",
    "revoked",
    "read_only",
    *STAFF_ACTORS,
)


def build_world() -> World:
    """Everything the API touches, as of TODAY (call inside clock.frozen_at(TODAY))."""
    from agreements.services.contracts import non_renewal_request
    from tests.factories.consents import posted_version
    from tests.factories.contracts import biz_product, idplus_product, make_contract

    partner = PartnerFactory()
    other_partner = PartnerFactory()
    biz_product()
    idplus = idplus_product()
    tenant = TenantFactory(partner=partner)
    other_tenant = TenantFactory(partner=other_partner)
    admin = MembershipFactory(tenant=tenant, role=Role.ADMIN)
    viewer = MembershipFactory(tenant=tenant, role=Role.VIEWER)
    contract = make_contract(tenant=tenant, product=idplus, start_date=date(2024, 4, 1))
    renewing = make_contract(tenant=tenant, product=idplus, start_date=date(2024, 6, 1))
    other_contract = make_contract(tenant=other_tenant, product=idplus, start_date=date(2024, 4, 1))
    non_renewal_request(scope=Scope.system(), contract=renewing)
    document = DocumentFactory(product=idplus, slug="terms", title="OPTiM ID+ 利用規約")
    v1 = VersionFactory(document=document, label="2024-01-01")
    v2 = posted_version(document, label="2025-04-01", based_on=v1)
    webhook = WebhookEndpoint.objects.create(
        partner=partner, url="https://partner.example/hooks", secret="whsec_test"
    )
    WebhookEndpoint.objects.create(
        partner=other_partner, url="https://other.example/hooks", secret="whsec_other"
    )
    event = Event.objects.filter(partner_id=partner.pk, tenant_id=tenant.pk).order_by("pk").first()
    assert event is not None  # creating the tenant's contracts told the partner
    delivery = Outbox.objects.create(
        kind=event.kind,
        channel=OutboxChannel.WEBHOOK,
        dedupe_key=f"world:{event.pk}:webhook:{webhook.pk}",
        payload=event_envelope(event),
        recipient=webhook.url,
        tenant_id=tenant.pk,
        partner_id=partner.pk,
        webhook_endpoint_id=webhook.pk,
        event=event,
        status=OutboxStatus.DEAD,
        attempts=8,
        next_attempt_at=clock.now(),
        last_error="HTTP 503",
    )
    deletion = DataDeletion.objects.create(
        contract=contract,
        tenant=tenant,
        kind=DeletionKind.PRIMARY,
        status=DeletionStatus.ORDERED,
        due_on=date(2025, 3, 1),
        ordered_at=clock.now(),
    )
    invitation = Invitation.objects.create(
        tenant=tenant,
        email="invited@customer.example",
        token_hash=hash_key("world-invitation-token"),
        expires_at=clock.now() + timedelta(days=7),
    )
    _key, partner_raw = make_partner_key(partner)
    _key, read_only_raw = make_partner_key(partner, scopes=[KeyScope.READ])
    _key, revoked_raw = make_partner_key(partner, revoked=True)
    _key, other_raw = make_partner_key(other_partner)
    _key, product_raw = make_product_key(idplus)
    return World(
        partner=partner,
        partner_raw=partner_raw,
        read_only_raw=read_only_raw,
        revoked_raw=revoked_raw,
        other_partner=other_partner,
        other_raw=other_raw,
        product=idplus,
        product_raw=product_raw,
        staff=make_staff("publisher"),
        staff_by_actor={
            "staff_viewer": make_staff("viewer"),
            "staff_editor": make_staff("editor"),
            "staff_publisher": make_staff("publisher"),
            "staff_no_group": make_staff(),
            "superuser": make_staff(superuser=True),
        },
        tenant=tenant,
        admin=admin,
        viewer=viewer,
        contract=contract,
        renewing=renewing,
        document=document,
        v1=v1,
        v2=v2,
        webhook=webhook,
        delivery=delivery,
        event=event,
        deletion=deletion,
        other_tenant=other_tenant,
        other_contract=other_contract,
        invitation=invitation,
    )


@pytest.fixture
def today() -> Iterator[date]:
    with clock.frozen_at(TODAY):
        yield TODAY


@pytest.fixture
def world(db, today: date) -> World:
    return build_world()


def open_sandbox(world: World) -> tuple[Partner, str, dict[str, str]]:
    """The world's partner's sandbox, opened with its live write key: the sandbox row, the
    sandbox partner key and the sandbox product keys by product code (all plain)."""
    key = world.partner.api_keys.filter(revoked_at__isnull=True, scopes__contains=["write"]).first()
    sandbox_row, (_key, raw), product_keys = sandbox_open(scope=Scope.partner(key))
    return sandbox_row, raw, {k.product.code: r for k, r in product_keys}


@pytest.fixture(scope="module")
def module_world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """One world for a whole module, rolled back at its end; each test runs in a savepoint
    inside it. For modules that only read it, or whose tests tolerate each other's rows."""
    with django_db_blocker.unblock(), transaction.atomic():
        with clock.frozen_at(TODAY):
            made = build_world()
        yield made
        transaction.set_rollback(True)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """How much schemathesis ran: operations and generated requests."""
    module = sys.modules.get("tests.api.test_schemathesis")
    calls = getattr(module, "CALLS", None)
    if calls:
        terminalreporter.write_line(
            f"schemathesis: {len(calls)} operations, {sum(calls.values())} generated requests "
            f"(max {module.EXAMPLES} examples per operation and phase, seed {module.SEED}); "
            f"{sum(module.PROBLEMS_CHECKED.values())} problem codes checked against the "
            f"operation's documented codes; links followed: {dict(module.FOLLOWED)}"
        )
