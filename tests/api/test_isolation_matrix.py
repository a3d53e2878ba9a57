"""Isolation matrix: every endpoint × method under /api/v1/ × every kind of caller.

The operations come from the URL configuration, so a new endpoint fails here until it is given
an audience, a valid request, the status it answers with and, for a write staff may make, the
staff action the console needs for the same change (SPECS below); the expected status of every
caller is then derived from the audience and the authorization table (docs/security.md):

- anonymous and revoked keys: 401; a caller outside the audience: 403;
- a read-only partner key on a write: 403;
- another partner on an object (or a body reference) of the partner's: 404, and no response
  to it ever names the partner's tenant or webhook;
- staff by role — viewer, editor, publisher, no group, superuser (tests/api/conftest.py
  STAFF_ACTORS): a read needs `read`, a write the Spec's `staff` action; a role the table
  (tenants/authz.py ROLES_FOR) does not give it: 403; superusers: every action;
- everyone else in the audience: the operation's success status.
Each caller's request runs in a savepoint that is rolled back, so every caller meets the same
state.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver

from tenants.authz import ROLES_FOR, Action, StaffRole
from tests.api.conftest import CALLERS, STAFF_ACTORS, World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

API_PREFIX = "api/v1/"
METHODS = ("get", "post", "put", "patch", "delete")

PUBLIC = frozenset({"anonymous", "partner", "product", "staff"})  # schema and docs
EVERYONE = frozenset({"partner", "product", "staff"})
PARTNERS = frozenset({"partner", "staff"})
PRODUCTS = frozenset({"product", "staff"})
PRODUCT_ONLY = frozenset({"product"})
PARTNER_ONLY = frozenset({"partner"})

EVIDENCE = {
    "person_name": "山田 太郎",
    "obtained_at": "2025-03-09T14:05:00+09:00",
    "method": "partner portal checkbox",
}


@dataclass(frozen=True)
class Spec:
    audience: frozenset[str]
    success: int = 200
    # Whether the request names an object of the partner's (path or body): another partner → 404.
    owned: bool = False
    body: Callable[[World, str], dict[str, Any]] | None = None
    query: Callable[[World, str], str] = field(default=lambda w, c: "")
    # For a write staff may make: the action the console asks for the same change.
    staff: Action | None = None
    # Only a sandbox key may call it: every live key (the matrix's callers) gets a 403
    # (tests/api/test_sandbox_isolation.py calls it with sandbox keys).
    sandbox_only: bool = False


@pytest.fixture
def world(module_world: World, today: Any) -> World:
    return module_world


def is_staff_caller(caller: str) -> bool:
    return caller in STAFF_ACTORS


def _staff_partner(w: World, caller: str) -> dict[str, Any]:
    return {"partner": w.partner.pk} if is_staff_caller(caller) else {}


SPECS: dict[tuple[str, str], Spec] = {
    ("root", "GET"): Spec(PUBLIC),
    ("schema", "GET"): Spec(PUBLIC),
    ("docs", "GET"): Spec(PUBLIC),
    ("redoc", "GET"): Spec(PUBLIC, success=301),  # leads to the reference (web/api/reference.py)
    # tenants and users
    ("tenants", "GET"): Spec(PARTNERS),
    ("tenants", "POST"): Spec(
        PARTNERS, 201, body=lambda w, c: {"name": "マトリクス商事"}, staff=Action.OPERATE
    ),
    # A lookup never 404s (an empty page for what is out of reach); isolation below holds
    # that another partner's key finds nothing of the partner's tenant.
    ("tenant-lookup", "GET"): Spec(
        EVERYONE, query=lambda w, c: "?corporate_number=1234567890123&external_ref=x"
    ),
    ("tenant", "GET"): Spec(PARTNERS, owned=True),
    ("tenant", "PATCH"): Spec(
        PARTNERS,
        owned=True,
        body=lambda w, c: {"contact_email": "new@customer.example"},
        staff=Action.OPERATE,
    ),
    ("tenant-invitations", "POST"): Spec(
        PARTNERS,
        201,
        owned=True,
        body=lambda w, c: {"email": "new@customer.example"},
        staff=Action.OPERATE,
    ),
    ("tenant-invitations", "GET"): Spec(PARTNERS, owned=True),
    ("tenant-invitation", "GET"): Spec(PARTNERS, owned=True),
    ("tenant-invitation-revoke", "POST"): Spec(PARTNERS, owned=True, staff=Action.OPERATE),
    ("tenant-memberships", "GET"): Spec(PARTNERS, owned=True),
    ("tenant-membership", "DELETE"): Spec(PARTNERS, 204, owned=True, staff=Action.OPERATE),
    # webhooks and events
    ("webhooks", "GET"): Spec(PARTNERS),
    ("webhooks", "POST"): Spec(
        PARTNERS,
        201,
        body=lambda w, c: {"url": "https://hooks.example/terms", **_staff_partner(w, c)},
        staff=Action.DECIDE,
    ),
    ("webhook", "GET"): Spec(PARTNERS, owned=True),
    ("webhook", "PATCH"): Spec(
        PARTNERS,
        owned=True,
        body=lambda w, c: {"event_kinds": ["contract.created"]},
        staff=Action.DECIDE,
    ),
    ("webhook", "DELETE"): Spec(PARTNERS, 204, owned=True, staff=Action.DECIDE),
    ("webhook-enable", "POST"): Spec(PARTNERS, owned=True, staff=Action.DECIDE),
    ("webhook-test", "POST"): Spec(PARTNERS, 202, owned=True, staff=Action.DECIDE),
    ("webhook-deliveries", "GET"): Spec(PARTNERS, owned=True),
    ("webhook-delivery-resend", "POST"): Spec(PARTNERS, 202, owned=True, staff=Action.DECIDE),
    ("webhook-rotate-secret", "POST"): Spec(PARTNERS, owned=True, staff=Action.DECIDE),
    ("webhook-disable", "POST"): Spec(PARTNERS, owned=True, staff=Action.DECIDE),
    ("events", "GET"): Spec(PARTNERS),
    ("event", "GET"): Spec(PARTNERS, owned=True),
    # terms (public information, but only for key holders and staff)
    ("products", "GET"): Spec(EVERYONE),
    ("documents", "GET"): Spec(EVERYONE),
    ("document-versions", "GET"): Spec(EVERYONE),
    ("version", "GET"): Spec(EVERYONE),
    ("version-diff", "GET"): Spec(EVERYONE),
    ("notices", "GET"): Spec(EVERYONE),
    # contracts
    ("contracts", "GET"): Spec(PARTNERS),
    ("contracts", "POST"): Spec(
        PARTNERS,
        201,
        owned=True,
        body=lambda w, c: {
            "tenant": w.tenant.pk,
            "product": "optim-id-plus",
            "start_date": "2025-04-01",
            "billing_cycle": "monthly",
            "amount_jpy": 1000,
        },
        staff=Action.OPERATE,
    ),
    ("contract", "GET"): Spec(PARTNERS, owned=True),
    ("contract-periods", "GET"): Spec(PARTNERS, owned=True),
    ("contract-non-renewal", "POST"): Spec(
        PARTNERS,
        201,
        owned=True,
        body=lambda w, c: {"end_date": "2026-03-31"},
        staff=Action.OPERATE,
    ),
    ("contract-non-renewal-withdraw", "POST"): Spec(PARTNERS, owned=True, staff=Action.OPERATE),
    ("contract-terminations", "POST"): Spec(
        PARTNERS,
        201,
        owned=True,
        # Before the period end (2025-03-31): an end at or after it is a non-renewal (R11/R13).
        body=lambda w, c: {"end_date": "2025-03-25"},
        staff=Action.DECIDE,
    ),
    ("contract-deletions", "POST"): Spec(PARTNERS, 201, owned=True, staff=Action.DECIDE),
    # consent
    ("tenant-consents", "GET"): Spec(PARTNERS, owned=True),
    ("tenant-consents", "POST"): Spec(
        PARTNERS,
        201,
        owned=True,
        body=lambda w, c: {"version": w.v2.pk, "answer": "accepted", "evidence": EVIDENCE},
        staff=Action.DECIDE,
    ),
    ("tenant-ledger", "GET"): Spec(PARTNERS, owned=True),
    # the products
    ("status-bulk", "GET"): Spec(
        PRODUCTS,
        query=lambda w, c: (
            f"?tenants={w.tenant.pk},{w.other_tenant.pk}"
            + ("&product=optim-id-plus" if is_staff_caller(c) else "")
        ),
    ),
    ("status", "GET"): Spec(
        PRODUCTS, query=lambda w, c: "?product=optim-id-plus" if is_staff_caller(c) else ""
    ),
    ("deletions", "GET"): Spec(PRODUCTS),
    # sandbox (docs/api.md, "Sandbox"): a live key issues sandbox keys; the rest needs one
    ("sandbox", "POST"): Spec(PARTNER_ONLY, 201),
    # Its keys, listed and revoked with the live key (another partner's: 404).
    ("sandbox-keys", "GET"): Spec(PARTNER_ONLY),
    ("sandbox-product-keys", "GET"): Spec(PARTNER_ONLY),
    ("sandbox-key-revoke", "POST"): Spec(PARTNER_ONLY, owned=True),
    ("sandbox-product-key-revoke", "POST"): Spec(PARTNER_ONLY, owned=True),
    ("sandbox-clock", "GET"): Spec(PARTNER_ONLY, sandbox_only=True),
    ("sandbox-clock-advance", "POST"): Spec(
        PARTNER_ONLY, body=lambda w, c: {"to": "2025-04-01T09:00:00+09:00"}, sandbox_only=True
    ),
    ("sandbox-revisions", "POST"): Spec(
        PARTNER_ONLY,
        201,
        body=lambda w, c: {
            "product": "optim-id-plus",
            "effective_on": "2025-05-01",
            "consent_mode": "explicit",
        },
        sandbox_only=True,
    ),
    ("deletion-ack", "POST"): Spec(
        # Before TODAY's 09:00 JST: a completion in the future is refused (completed_in_future).
        PRODUCT_ONLY,
        body=lambda w, c: {"completed_at": "2025-03-10T08:00:00+09:00"},
    ),
}


def _sandbox_key_id(world: World, name: str) -> int:
    """A key of the partner's sandbox, opened on first use (in the test's transaction)."""
    from agreements.models import ProductKey
    from agreements.services.sandbox import sandbox_open
    from tenants.models import PartnerAPIKey
    from tenants.scope import Scope

    if not PartnerAPIKey.objects.filter(partner__sandbox_of=world.partner).exists():
        live = world.partner.api_keys.filter(revoked_at__isnull=True, scopes__contains=["write"])
        sandbox_open(scope=Scope.partner(live.first()))
    keys = (
        ProductKey.objects.filter(product__sandbox__sandbox_of=world.partner)
        if name == "sandbox-product-key-revoke"
        else PartnerAPIKey.objects.filter(partner__sandbox_of=world.partner)
    )
    return keys.order_by("pk").values_list("pk", flat=True)[0]


def _path_params(world: World, name: str) -> dict[str, int]:
    # The contract with a timely non-renewal serves the operations that need a known end.
    contract = (
        world.renewing
        if name in ("contract-non-renewal-withdraw", "contract-deletions")
        else world.contract
    )
    if name in ("sandbox-key-revoke", "sandbox-product-key-revoke"):
        return {"key_id": _sandbox_key_id(world, name)}
    return {
        "tenant_id": world.tenant.pk,
        "membership_id": world.viewer.pk,
        "invitation_id": world.invitation.pk,
        "webhook_id": world.webhook.pk,
        "delivery_id": world.delivery.pk,
        "event_id": world.event.pk,
        "document_id": world.document.pk,
        "version_id": world.v2.pk,
        "contract_id": contract.pk,
        "deletion_id": world.deletion.pk,
    }


@dataclass(frozen=True)
class Operation:
    name: str
    method: str
    route: str  # e.g. "api/v1/tenants/<int:tenant_id>/"

    @property
    def id(self) -> str:
        return f"{self.method} /{self.route}"


def _methods(callback: Any) -> list[str]:
    operations = getattr(callback, "operations", None)
    if operations:
        return sorted(operations)
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    return sorted(m.upper() for m in METHODS if view is not None and hasattr(view, m))


def _walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any, str]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback, pattern.name or ""


def api_operations() -> list[Operation]:
    """Every method of every URL under /api/v1/, read from the URL configuration."""
    found = []
    for route, callback, name in _walk(get_resolver().url_patterns, ""):
        if not route.startswith(API_PREFIX):
            continue
        found += [Operation(name, method, route) for method in _methods(callback)]
    return found


OPERATIONS = api_operations()


def expected_status(spec: Spec, caller: str, method: str) -> int:
    if spec.audience == PUBLIC:
        return spec.success
    if caller in ("anonymous", "revoked"):
        return 401
    kind = (
        "staff"
        if is_staff_caller(caller)
        else {
            "own_partner": "partner",
            "other_partner": "partner",
            "read_only": "partner",
            "product": "product",
        }[caller]
    )
    if kind not in spec.audience:
        return 403
    if kind == "staff":
        return spec.success if staff_may(caller, spec, method) else 403
    if caller == "read_only" and method != "GET":
        return 403
    if spec.sandbox_only:
        return 403  # every caller here holds a live key
    if caller == "other_partner" and spec.owned:
        return 404
    return spec.success


def staff_may(actor: str, spec: Spec, method: str) -> bool:
    """The authorization table's answer for a staff actor (superusers: every action)."""
    action = Action.READ if method == "GET" else spec.staff
    if action is None:
        return False
    if actor == "superuser":
        return True
    if actor == "staff_no_group":
        return False
    return StaffRole(actor.removeprefix("staff_")) in ROLES_FOR[action]


def test_every_api_operation_has_a_spec() -> None:
    found = {(op.name, op.method) for op in OPERATIONS}
    assert found - set(SPECS) == set(), "give each new operation a Spec"
    assert set(SPECS) - found == set(), "a Spec names an operation that is no longer routed"


def test_every_write_open_to_staff_names_its_staff_action() -> None:
    """A new write staff may call must say which console action it equals (else the matrix
    would expect a 403 for every staff role and hide the question)."""
    missing = [
        op.id
        for op in OPERATIONS
        if op.method != "GET"
        and "staff" in SPECS[(op.name, op.method)].audience
        and SPECS[(op.name, op.method)].staff is None
    ]
    assert missing == []


def test_matrix_covers_every_documented_operation(anonymous_client: Any) -> None:
    schema = json.loads(anonymous_client.get("/api/v1/schema/?format=json").content)
    documented = {
        (method.upper(), path.replace("{", "<int:").replace("}", ">"))
        for path, item in schema["paths"].items()
        for method in item
    }
    routed = {(op.method, "/" + op.route) for op in OPERATIONS}
    undocumented = {("GET", "/api/v1/schema/"), ("GET", "/api/v1/docs/"), ("GET", "/api/v1/redoc/")}
    assert routed - undocumented == documented


def _url(world: World, op: Operation, spec: Spec, caller: str) -> str:
    path = "/" + op.route
    for key, value in _path_params(world, op.name).items():
        path = path.replace(f"<int:{key}>", str(value))
    assert "<" not in path, f"no value for a parameter of {op.route}"
    return path + spec.query(world, caller)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.id)
def test_isolation(op: Operation, world: World) -> None:
    spec = SPECS[(op.name, op.method)]
    leaks = [world.tenant.name, world.webhook.url]
    results: dict[str, tuple[int, int]] = {}
    for caller in CALLERS:
        client = world.client(caller)
        url = _url(world, op, spec, caller)
        data = spec.body(world, caller) if spec.body else None
        with transaction.atomic():
            kwargs = {"format": "json"} if data is not None else {}
            response = getattr(client, op.method.lower())(url, data, **kwargs)
            transaction.set_rollback(True)
        expected = expected_status(spec, caller, op.method)
        results[caller] = (expected, response.status_code)
        if response.status_code >= 400:
            assert response["Content-Type"] == "application/problem+json", (caller, url)
        if response.status_code == 401:
            assert response["WWW-Authenticate"] == 'Api-Key realm="terms-api"'
        if response.status_code == 403 and is_staff_caller(caller) and spec.audience != PUBLIC:
            assert response.json()["code"] in ("staff_role", "wrong_caller"), (caller, url)
        if caller == "other_partner" and spec.audience != PUBLIC:
            text = response.content.decode()
            assert [leak for leak in leaks if leak in text] == [], (url, text[:300])
    wrong = {c: v for c, v in results.items() if v[0] != v[1]}
    assert wrong == {}, f"{op.id}: caller → (expected, got): {json.dumps(wrong)}"
