"""Every console page: login redirect for anonymous, 403 without the right group, 200 with it.

Groups (web/console/access.py): viewer reads; editor drafts and keeps customer records;
publisher schedules, withdraws and takes the decisions that bind the company.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.console.conftest import make_staff

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
