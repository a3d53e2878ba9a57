"""Every console page: login redirect for anonymous, 403 without the right group, 200 with it.

Groups (web/console/access.py): viewer reads; editor drafts and keeps customer records;
publisher schedules, withdraws and takes the decisions that bind the company.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import transaction
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tenants.authz import ROLES_FOR, Action, StaffRole
from tests.console.conftest import make_staff
from tests.factories.tenants import StaffFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

READ, DRAFT, PUBLISH, OPERATE = "read", "draft", "publish", "operate"
ALLOWED = {
    READ: {"viewer", "editor", "publisher"},
    DRAFT: {"editor"},
    PUBLISH: {"publisher"},
    OPERATE: {"editor", "publisher"},
}

PAGES = [
    ("console:home", None, READ),
    ("console:dashboard", None, READ),
    ("console:search", None, READ),
    ("console:tenant-list", None, READ),
    ("console:partner-list", None, READ),
    ("console:contract-list", None, READ),
    ("console:case-list", None, READ),
    ("console:deletion-list", None, READ),
    ("console:audit-list", None, READ),
    ("console:products", None, READ),
    ("console:deliveries", None, READ),
    ("console:document-detail", "document", READ),
    ("console:compare", "document", READ),
    ("console:version-detail", "draft", READ),
    ("console:version-notice", "draft", READ),
    ("console:tenant-detail", "tenant", READ),
    ("console:partner-detail", "partner", READ),
    ("console:contract-detail", "contract", READ),
    ("console:version-edit", "draft", DRAFT),
    ("console:version-changes", "draft", DRAFT),
    ("console:version-schedule", "draft", PUBLISH),
    ("console:version-withdraw", "draft", PUBLISH),
    ("console:tenant-create", None, OPERATE),
    ("console:tenant-edit", "tenant", OPERATE),
    ("console:contract-create", "tenant", OPERATE),
]


def _url(world, name: str, obj: str | None) -> str:
    if obj is None:
        return reverse(name)
    return reverse(name, args=[getattr(world, obj).pk])


@pytest.mark.parametrize(("name", "obj", "need"), PAGES, ids=[p[0] for p in PAGES])
def test_anonymous_is_sent_to_the_console_login(client, world, name, obj, need) -> None:
    url = _url(world, name, obj)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("console:login") + "?next=")


@pytest.mark.parametrize(("name", "obj", "need"), PAGES, ids=[p[0] for p in PAGES])
def test_each_group_gets_200_or_403(client, world, name, obj, need) -> None:
    url = _url(world, name, obj)
    for group in ("viewer", "editor", "publisher"):
        client.force_login(make_staff(group))
        expected = 200 if group in ALLOWED[need] else 403
        assert client.get(url).status_code == expected, (group, url)


@pytest.mark.parametrize(("name", "obj", "need"), PAGES, ids=[p[0] for p in PAGES])
def test_superuser_sees_every_page(admin_client, world, name, obj, need) -> None:
    assert admin_client.get(_url(world, name, obj)).status_code == 200


@pytest.mark.parametrize(("name", "obj", "need"), PAGES, ids=[p[0] for p in PAGES])
def test_staff_without_a_group_gets_403_on_every_page(
    client, world, staff_without_group, name, obj, need
) -> None:
    client.force_login(staff_without_group)
    assert client.get(_url(world, name, obj)).status_code == 403


def test_staff_without_a_group_and_customers_get_403(
    client, world, staff_without_group, customer_user
) -> None:
    for user in (staff_without_group, customer_user):
        client.force_login(user)
        assert client.get(reverse("console:home")).status_code == 403


def test_posts_need_the_group_too(client, world, viewer, editor) -> None:
    """A viewer cannot create a draft, issue a key or schedule; an editor cannot schedule."""
    client.force_login(viewer)
    assert (
        client.post(
            reverse("console:document-detail", args=[world.document.pk]), {"label": "x"}
        ).status_code
        == 403
    )
    assert (
        client.post(
            reverse("console:partner-key-issue", args=[world.partner.pk]),
            {"name": "k", "scopes": ["read"]},
        ).status_code
        == 403
    )
    client.force_login(editor)
    assert (
        client.post(reverse("console:version-schedule", args=[world.draft.pk]), {}).status_code
        == 403
    )


def test_login_page_refuses_customers_and_admits_staff(
    client, world, viewer, customer_user
) -> None:
    url = reverse("console:login")
    assert client.get(url).status_code == 200
    refused = client.post(url, {"username": customer_user.username, "password": "pass-1234-word"})
    assert refused.status_code == 200
    assert "管理コンソールを利用できません" in refused.content.decode()
    admitted = client.post(url, {"username": viewer.username, "password": "pass-1234-word"})
    assert admitted.status_code == 302
    assert admitted["Location"] == reverse("console:home")


# --- Every console POST × every staff role, generated from the URL configuration --------------
#
# Each console view declares what it needs per method (`console_view(need, post=…)`, kept on
# the view as `view.authz`); the expected answer comes from the one table (tenants/authz.py).
# A new route without `console_view` fails here unless it is one of the sign-in pages.

CONSOLE_PREFIX = "console/"
UNGUARDED = {"login", "logout"}  # the sign-in pages themselves
STAFF_ACTORS = ("viewer", "editor", "publisher", "no_group", "superuser")


@dataclass(frozen=True)
class ConsoleRoute:
    name: str
    route: str
    needs: dict[str, Action] | None


def _walk(patterns: list[Any], prefix: str) -> Iterator[tuple[str, Any, str]]:
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield route, pattern.callback, pattern.name or ""


def console_routes() -> list[ConsoleRoute]:
    return [
        ConsoleRoute(name, route, getattr(callback, "authz", None))
        for route, callback, name in _walk(get_resolver().url_patterns, "")
        if route.startswith(CONSOLE_PREFIX)
    ]


ROUTES = console_routes()
POSTS = [r for r in ROUTES if r.needs and "POST" in r.needs]


def staff_actor(actor: str) -> Any:
    if actor == "superuser":
        return StaffFactory(is_superuser=True)
    return make_staff(None if actor == "no_group" else actor)


def console_may(actor: str, action: Action) -> bool:
    if actor == "superuser":
        return True
    return actor != "no_group" and StaffRole(actor) in ROLES_FOR[action]


def _console_url(world: Any, route: ConsoleRoute) -> str:
    objects = {
        "document-detail": world.document.pk,
        "partner-key-issue": world.partner.pk,
        "partner-key-revoke": world.partner.pk,
        "tenant-edit": world.tenant.pk,
        "tenant-invite": world.tenant.pk,
        "contract-create": world.tenant.pk,
    }
    pk = objects.get(route.name)
    if pk is None:
        pk = world.contract.pk if route.route.startswith("console/contracts/") else world.draft.pk
    values = {
        "pk": pk,
        "key_pk": 1,
        "article_pk": 1,
        "number": 1,
        "request_pk": 1,
        "tenant_pk": 1,
        "reminder_pk": 1,
    }
    path = "/" + route.route
    for key, value in values.items():
        path = path.replace(f"<int:{key}>", str(value))
    path = path.replace("<str:decision>", "confirm")
    assert "<" not in path, route.route
    return path


def test_every_console_route_declares_what_it_needs() -> None:
    unguarded = {r.name for r in ROUTES if r.needs is None}
    assert unguarded == UNGUARDED
    assert len(POSTS) >= 20  # the walk found the console's forms


@pytest.mark.parametrize("route", POSTS, ids=[r.name for r in POSTS])
def test_console_post_each_staff_role_as_the_table_says(client, world, route) -> None:
    assert route.needs is not None
    action = route.needs["POST"]
    url = _console_url(world, route)
    results = {}
    for actor in STAFF_ACTORS:
        client.force_login(staff_actor(actor))
        with transaction.atomic():
            status = client.post(url, {}).status_code
            transaction.set_rollback(True)
        allowed = console_may(actor, action)
        # Allowed: anything the view answers but a refusal (a form error, a redirect, a 404
        # for a made-up object id); refused: 403 before the view runs.
        results[actor] = (allowed, status != 403 and status < 500 if allowed else status == 403)
    assert {a: r for a, r in results.items() if not r[1]} == {}, (route.name, action)


@pytest.mark.parametrize("route", POSTS, ids=[r.name for r in POSTS])
def test_console_post_refuses_customers_and_sends_anonymous_to_login(
    client, world, customer_user, route
) -> None:
    url = _console_url(world, route)
    anonymous = client.post(url, {})
    assert (anonymous.status_code, anonymous["Location"].split("?")[0]) == (
        302,
        reverse("console:login"),
    )
    client.force_login(customer_user)
    assert client.post(url, {}).status_code == 403
