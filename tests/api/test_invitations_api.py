"""A tenant's invitations through the API: invite, list, read, revoke. Re-inviting an address
whose invitation is pending renews it under the same id, and the link sent before stops
working; another partner's key sees none of it."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import RequestFactory

from core import clock
from core.enums import EventKind
from core.errors import ValidationFailed
from core.models import Outbox
from tenants.enums import InvitationStatus
from tenants.services.invitations import invitation_accept
from tests.api.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

PASSWORD = "kawa-sakura-2025!"
ADDRESS = "yamada@customer.example"


def _base(world: World) -> str:
    return f"/api/v1/tenants/{world.tenant.pk}/invitations/"


def _invite(world: World, role: str = "viewer") -> dict:
    response = world.client("own_partner").post(
        _base(world), {"email": ADDRESS, "role": role}, format="json"
    )
    assert response.status_code == 201, response.content
    return response.json()


def _tokens() -> list[str]:
    """The links e-mailed so far, oldest first, as tokens."""
    rows = Outbox.objects.filter(kind=EventKind.INVITATION, recipient=ADDRESS).order_by("pk")
    return [row.payload["invitation_url"].rstrip("/").rsplit("/", 1)[-1] for row in rows]


def _accept(token: str):
    request = RequestFactory().post("/portal/invitations/")
    return invitation_accept(request=request, token=token, password=PASSWORD)


def test_reinviting_renews_the_same_invitation_and_the_old_link_stops_working(
    world: World,
) -> None:
    first = _invite(world)
    with clock.frozen_at(clock.now() + timedelta(days=2)):
        second = _invite(world, role="admin")
    assert second["id"] == first["id"]
    assert second["role"] == "admin"
    assert second["expires_at"] > first["expires_at"]
    old_token, new_token = _tokens()
    with pytest.raises(ValidationFailed) as refused:
        _accept(old_token)
    assert refused.value.code == "invitation_invalid"
    membership = _accept(new_token)
    assert membership.role == "admin"
    listed = world.client("own_partner").get(_base(world)).json()["results"]
    assert [(i["id"], i["status"]) for i in listed if i["email"] == ADDRESS] == [
        (first["id"], "accepted")
    ]


def test_list_read_and_revoke(world: World) -> None:
    client = world.client("own_partner")
    made = _invite(world)
    page = client.get(_base(world)).json()
    assert set(page) == {"next", "previous", "results"}
    assert [i["id"] for i in page["results"]] == [world.invitation.pk, made["id"]]
    read = client.get(f"{_base(world)}{made['id']}/")
    assert read.status_code == 200
    assert read.json() == made
    revoked = client.post(f"{_base(world)}{made['id']}/revoke/")
    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["status"] == "revoked"
    again = client.post(f"{_base(world)}{made['id']}/revoke/")
    assert (again.status_code, again.json()["status"]) == (200, "revoked")
    # The partner's feed hears of it once, never with the link.
    feed = client.get("/api/v1/events/", {"kind": "invitation.revoked"}).json()["results"]
    assert [(e["subject"]["id"], e["data"]["invitation_id"]) for e in feed] == [
        (made["id"], made["id"])
    ]
    assert "token" not in str(feed)
    (token,) = _tokens()
    with pytest.raises(ValidationFailed) as refused:
        _accept(token)
    assert refused.value.code == "invitation_revoked"
    only_pending = client.get(f"{_base(world)}?status=pending").json()["results"]
    assert [i["id"] for i in only_pending] == [world.invitation.pk]
    # After a revocation the address gets a new invitation, under a new id.
    assert _invite(world)["id"] != made["id"]


def test_an_accepted_invitation_cannot_be_revoked(world: World) -> None:
    made = _invite(world)
    _accept(_tokens()[0])
    refused = world.client("own_partner").post(f"{_base(world)}{made['id']}/revoke/")
    assert refused.status_code == 409
    assert refused.json()["code"] == "invitation_used"


def test_a_pending_invitation_past_its_expiry_reads_expired(world: World) -> None:
    with clock.frozen_at(clock.now() + timedelta(days=8)):
        read = world.client("own_partner").get(f"{_base(world)}{world.invitation.pk}/")
    assert read.json()["status"] == "expired"
    assert world.invitation.status == InvitationStatus.PENDING  # as stored


def test_another_partner_sees_nothing_of_the_invitations(world: World) -> None:
    made = _invite(world)
    other = world.client("other_partner")
    own_path = f"{_base(world)}{made['id']}/"
    for response in (
        other.get(_base(world)),
        other.get(own_path),
        other.post(f"{own_path}revoke/"),
        other.post(_base(world), {"email": "x@customer.example"}, format="json"),
    ):
        assert response.status_code == 404
        assert ADDRESS not in response.content.decode()
    # Nor through its own tenant's path: the invitation is found under its own tenant only.
    wrong_tenant = f"/api/v1/tenants/{world.other_tenant.pk}/invitations/{made['id']}/"
    assert other.get(wrong_tenant).status_code == 404
    assert other.post(f"{wrong_tenant}revoke/").status_code == 404
    assert world.client("own_partner").get(_base(world) + f"{made['id']}/").json()["status"] == (
        "pending"
    )
    # A product key is not a partner.
    assert world.client("product").get(_base(world)).status_code == 403


def test_invitation_list_costs_the_same_for_one_or_eleven(world: World) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tenants.keys import hash_key
    from tenants.models import Invitation

    client = world.client("own_partner")
    client.get(_base(world))  # the key is cached now

    def counted() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(_base(world)).status_code == 200
        return len(captured)

    one = counted()
    for n in range(10):
        Invitation.objects.create(
            tenant=world.tenant,
            email=f"many{n}@customer.example",
            token_hash=hash_key(f"many-{n}"),
            expires_at=clock.now() + timedelta(days=7),
        )
    assert counted() == one
