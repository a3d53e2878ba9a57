"""The consent status list: a bare array as it always was, and with `?paged=true` the envelope
every other list has (one page: one item per bound document)."""

from __future__ import annotations

import pytest

from tests.api.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_consents_list_is_a_bare_array_by_default_and_paged_on_request(world: World) -> None:
    client = world.client("own_partner")
    path = f"/api/v1/tenants/{world.tenant.pk}/consents/"
    bare = client.get(path)
    assert bare.status_code == 200
    assert isinstance(bare.json(), list)
    assert [item["document"]["id"] for item in bare.json()] == [world.document.pk]
    assert client.get(f"{path}?paged=false").json() == bare.json()
    paged = client.get(f"{path}?paged=true")
    assert paged.status_code == 200
    assert paged.json() == {"next": None, "previous": None, "results": bare.json()}
    assert client.get(f"{path}?paged=maybe").status_code == 400


def test_consents_paged_another_partner_gets_404(world: World) -> None:
    path = f"/api/v1/tenants/{world.tenant.pk}/consents/?paged=true"
    response = world.client("other_partner").get(path)
    assert response.status_code == 404
    assert world.tenant.name not in response.content.decode()
