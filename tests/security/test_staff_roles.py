"""Staff roles reach past the console: the attacks of the review, through /api/v1/.

A console viewer, or a staff user in no group, used to write through the API with nothing but
a session: move a tenant to another partner (R19), invite an outside address as admin of any
tenant, register a webhook for another partner and receive its events, end a contract for a
staff-only reason. Each now meets the console's answer (tenants/authz.py) and leaves nothing
behind; the same person with the role the console asks for still gets through.

The last tests keep the authorization table in docs/security.md equal to the code.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Group
from rest_framework.test import APIClient

from agreements.models import Termination
from tenants.authz import ROLES_FOR, Action, StaffRole, may
from tenants.models import Invitation, Tenant, WebhookEndpoint
from tenants.scope import Scope
from tests.api.conftest import World, build_world
from tests.factories.tenants import StaffFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DOC = Path(__file__).resolve().parents[2] / "docs" / "security.md"


def staff(*groups: str, superuser: bool = False) -> Any:
    user = StaffFactory(is_superuser=superuser)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])
    return user


def session(user: Any) -> APIClient:
    # A signed-in browser also carries the CSRF token; the token's own check is tested below.
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def world(db: None) -> Iterator[World]:
    from core import clock
    from tests.api.conftest import TODAY

    with clock.frozen_at(TODAY):
        yield build_world()


WEAK = {"viewer": ("viewer",), "no_group": ()}


@pytest.mark.parametrize("who", list(WEAK))
def test_staff_without_operate_cannot_move_a_tenant_to_another_partner(
    world: World, who: str
) -> None:
    """Moving a tenant (R19 governs transfers) is the console's tenant edit: editor or up."""
    response = session(staff(*WEAK[who])).patch(
        f"/api/v1/tenants/{world.tenant.pk}/", {"partner": world.other_partner.pk}, format="json"
    )
    assert (response.status_code, response.json()["code"]) == (403, "staff_role")
    assert Tenant.objects.get(pk=world.tenant.pk).partner_id == world.partner.pk


@pytest.mark.parametrize("who", list(WEAK))
def test_staff_without_operate_cannot_invite_an_outside_admin(world: World, who: str) -> None:
    before = Invitation.objects.count()
    response = session(staff(*WEAK[who])).post(
        f"/api/v1/tenants/{world.other_tenant.pk}/invitations/",
        {"email": "attacker@outside.example", "role": "admin"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (403, "staff_role")
    assert Invitation.objects.count() == before
    assert not Invitation.objects.filter(email="attacker@outside.example").exists()


@pytest.mark.parametrize("who", [*WEAK, "editor"])
def test_staff_without_decide_cannot_register_a_webhook_for_another_partner(
    world: World, who: str
) -> None:
    groups = ("editor",) if who == "editor" else WEAK[who]
    response = session(staff(*groups)).post(
        "/api/v1/webhooks/",
        {"url": "https://attacker.example/hooks", "partner": world.other_partner.pk},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (403, "staff_role")
    assert not WebhookEndpoint.objects.filter(url="https://attacker.example/hooks").exists()


@pytest.mark.parametrize("who", [*WEAK, "editor"])
def test_staff_without_decide_cannot_end_a_contract_for_a_staff_only_reason(
    world: World, who: str
) -> None:
    groups = ("editor",) if who == "editor" else WEAK[who]
    response = session(staff(*groups)).post(
        f"/api/v1/contracts/{world.contract.pk}/terminations/",
        {"end_date": "2025-06-30", "reason": "non_payment"},
        format="json",
    )
    assert (response.status_code, response.json()["code"]) == (403, "staff_role")
    assert not Termination.objects.filter(contract=world.contract).exists()


def test_staff_without_a_group_cannot_even_read_through_the_api(world: World) -> None:
    response = session(staff()).get(f"/api/v1/tenants/{world.tenant.pk}/")
    assert (response.status_code, response.json()["code"]) == (403, "staff_role")


def test_staff_session_api_writes_need_the_csrf_token(world: World) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff("publisher"))
    response = client.post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example/terms", "partner": world.partner.pk},
        format="json",
    )
    assert response.status_code == 403
    assert not WebhookEndpoint.objects.filter(url="https://hooks.example/terms").exists()


def test_the_role_the_console_asks_for_gets_through_the_api(world: World) -> None:
    """The same table lets the right person through: an editor moves the tenant (the console's
    tenant edit needs OPERATE), a publisher registers the webhook and ends the contract."""
    editor = session(staff("editor"))
    moved = editor.patch(
        f"/api/v1/tenants/{world.tenant.pk}/", {"partner": world.other_partner.pk}, format="json"
    )
    assert moved.status_code == 200
    assert Tenant.objects.get(pk=world.tenant.pk).partner_id == world.other_partner.pk

    publisher = session(staff("publisher"))
    hook = publisher.post(
        "/api/v1/webhooks/",
        {"url": "https://hooks.example/terms", "partner": world.partner.pk},
        format="json",
    )
    assert hook.status_code == 201
    ended = publisher.post(
        f"/api/v1/contracts/{world.contract.pk}/terminations/",
        {"end_date": "2025-06-30", "reason": "listed_grounds", "note": "利用料金の未払い"},
        format="json",
    )
    assert (ended.status_code, ended.json()["reason"]) == (201, "listed_grounds")


def test_superuser_may_take_every_action_and_inactive_staff_none(db: None) -> None:
    root = staff(superuser=True)
    gone = staff("publisher")
    gone.is_active = False
    gone.save()
    assert [may(root, action) for action in Action] == [True] * len(Action)
    assert [may(gone, action) for action in Action] == [False] * len(Action)


# --- The table in docs/security.md is the table in the code -----------------------------------

BEGIN = "<!-- authz table: begin (checked by tests/security/test_staff_roles.py) -->"
END = "<!-- authz table: end -->"
ACTORS = ("viewer", "editor", "publisher", "no group", "superuser")


def authz_table_markdown() -> str:
    """The roles × actions table as docs/security.md shows it."""
    lines = [
        "| action | " + " | ".join(ACTORS) + " |",
        "|---|" + "---|" * len(ACTORS),
    ]
    for action in Action:
        roles = ROLES_FOR[action]
        cells = ["yes" if StaffRole(r) in roles else "—" for r in ACTORS[:3]] + ["—", "yes"]
        lines.append(f"| `{action.value}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def test_docs_security_shows_the_authorization_table_of_the_code() -> None:
    text = DOC.read_text(encoding="utf-8")
    found = re.search(re.escape(BEGIN) + r"\n(.*?)\n" + re.escape(END), text, re.S)
    assert found is not None, f"docs/security.md needs the block {BEGIN} … {END}"
    assert found.group(1).strip() == authz_table_markdown(), authz_table_markdown()


def test_the_table_gives_viewers_reads_only_and_no_action_to_nobody() -> None:
    assert {a for a, roles in ROLES_FOR.items() if StaffRole.VIEWER in roles} == {Action.READ}
    assert set(ROLES_FOR) == set(Action)
    assert all(roles for roles in ROLES_FOR.values())


def test_a_staff_scope_carries_its_roles_and_answers_from_the_table(world: World) -> None:
    viewer = staff("viewer")
    carried = Scope.staff_with_roles(viewer)
    assert carried.staff_roles == frozenset({StaffRole.VIEWER})
    assert [carried.may(a) for a in Action] == [a == Action.READ for a in Action]
    # Built without roles (services, jobs), the scope looks them up: same answer.
    assert [Scope.staff(viewer).may(a) for a in Action] == [a == Action.READ for a in Action]
    assert Scope.system().may(Action.DECIDE) is True
    assert Scope.tenant_user(world.admin).may(Action.READ) is False
