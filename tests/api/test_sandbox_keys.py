"""A sandbox's keys, listed and revoked with the live partner key that issued them (docs/api.md,
"Sandbox"): own sandbox only, never with a sandbox key, revoked from the next request on."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.api.conftest import World, key_client

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _issue(world: World) -> dict[str, Any]:
    issued = world.client("own_partner").post("/api/v1/sandbox/")
    assert issued.status_code == 201, issued.content
    return issued.json()


def test_the_live_key_lists_and_revokes_its_sandboxs_keys(world: World) -> None:
    live = world.client("own_partner")
    first, second = _issue(world), _issue(world)
    listed = live.get("/api/v1/sandbox/keys/").json()["results"]
    assert [k["id"] for k in listed] == [second["key_id"], first["key_id"]]  # newest first
    assert [k["prefix"] for k in listed] == [second["key_prefix"], first["key_prefix"]]
    assert {k["revoked_at"] for k in listed} == {None}
    products = live.get("/api/v1/sandbox/product-keys/").json()["results"]
    issued_products = {(p["product"], p["key_id"]) for p in first["product_keys"]} | {
        (p["product"], p["key_id"]) for p in second["product_keys"]
    }
    assert {(p["product"], p["id"]) for p in products} == issued_products

    # Revoked: a 401 from the next request on; the other key still works.
    revoked = live.post(f"/api/v1/sandbox/keys/{first['key_id']}/revoke/")
    assert revoked.status_code == 200, revoked.content
    assert revoked.json()["revoked_at"] is not None
    assert key_client(first["key"]).get("/api/v1/sandbox/clock/").status_code == 401
    assert key_client(second["key"]).get("/api/v1/sandbox/clock/").status_code == 200
    # Again: nothing changes.
    again = live.post(f"/api/v1/sandbox/keys/{first['key_id']}/revoke/")
    assert (again.status_code, again.json()["revoked_at"]) == (200, revoked.json()["revoked_at"])

    product = first["product_keys"][0]
    status_path = "/api/v1/deletions/"
    assert key_client(product["key"]).get(status_path).status_code == 200
    gone = live.post(f"/api/v1/sandbox/product-keys/{product['key_id']}/revoke/")
    assert gone.status_code == 200, gone.content
    assert gone.json()["product"] == product["product"]
    assert key_client(product["key"]).get(status_path).status_code == 401


def test_only_the_own_live_key_reaches_a_sandboxs_keys(world: World) -> None:
    issued = _issue(world)
    mine = f"/api/v1/sandbox/keys/{issued['key_id']}/revoke/"
    other = world.client("other_partner")
    assert other.get("/api/v1/sandbox/keys/").json()["results"] == []
    refused = other.post(mine)
    assert (refused.status_code, refused.json()["code"]) == (404, "sandbox_key_not_found")
    # A sandbox key neither lists nor revokes (not even itself).
    sandbox = key_client(issued["key"])
    for response in (sandbox.get("/api/v1/sandbox/keys/"), sandbox.post(mine)):
        assert (response.status_code, response.json()["code"]) == (403, "live_key_required")
    # A live key's own id is not a sandbox key.
    live_key = world.partner.api_keys.filter(partner__sandbox_of__isnull=True).first()
    not_sandbox = world.client("own_partner").post(f"/api/v1/sandbox/keys/{live_key.pk}/revoke/")
    assert (not_sandbox.status_code, not_sandbox.json()["code"]) == (404, "sandbox_key_not_found")
    live_product = world.client("own_partner").post(
        f"/api/v1/sandbox/product-keys/{world.product.keys.first().pk}/revoke/"
    )
    assert live_product.status_code == 404
    # A read-only live key reads the list; revoking needs `write`.
    read_only = world.client("read_only")
    assert [k["id"] for k in read_only.get("/api/v1/sandbox/keys/").json()["results"]] == [
        issued["key_id"]
    ]
    write_needed = read_only.post(mine)
    assert (write_needed.status_code, write_needed.json()["code"]) == (403, "missing_scope")
    assert key_client(issued["key"]).get("/api/v1/sandbox/clock/").status_code == 200


def test_a_partner_without_a_sandbox_lists_no_keys(world: World) -> None:
    listed = world.client("own_partner").get("/api/v1/sandbox/keys/")
    assert (listed.status_code, listed.json()["results"]) == (200, [])
    revoke = world.client("own_partner").post("/api/v1/sandbox/keys/1/revoke/")
    assert (revoke.status_code, revoke.json()["code"]) == (404, "sandbox_key_not_found")


def test_live_key_required_says_what_was_refused(world: World) -> None:
    """`live_key_required` on a list or a revocation spoke of creating a sandbox: its detail
    names the operation the sandbox key was refused."""
    issued = _issue(world)
    sandbox = key_client(issued["key"])
    revoke = f"/api/v1/sandbox/keys/{issued['key_id']}/revoke/"
    product_revoke = f"/api/v1/sandbox/product-keys/{issued['product_keys'][0]['key_id']}/revoke/"
    cases = [
        (sandbox.post("/api/v1/sandbox/"), "作成できません", "create"),
        (sandbox.get("/api/v1/sandbox/keys/"), "一覧を取得できません", "list"),
        (sandbox.get("/api/v1/sandbox/product-keys/"), "一覧を取得できません", "list"),
        (sandbox.post(revoke), "失効させられません", "revoke"),
        (sandbox.post(product_revoke), "失効させられません", "revoke"),
        (
            sandbox.post(revoke, HTTP_ACCEPT_LANGUAGE="en"),
            "cannot revoke",
            "revoke in English",
        ),
        (
            sandbox.get("/api/v1/sandbox/keys/", HTTP_ACCEPT_LANGUAGE="en"),
            "cannot list",
            "list in English",
        ),
    ]
    for response, says, what in cases:
        assert (response.status_code, response.json()["code"]) == (403, "live_key_required"), what
        assert says in response.json()["detail"], (what, response.json()["detail"])
    for response, _says, what in cases[1:]:
        assert "作成" not in response.json()["detail"], what
        assert "create" not in response.json()["detail"], what


def test_the_sandbox_location_is_readable_by_the_key_that_created(world: World) -> None:
    """`POST /sandbox/` named `/sandbox/clock/`, which only a sandbox key reads: the live key
    that called got a 403 there. It names the key list the new key is read in."""
    live = world.client("own_partner")
    issued = live.post("/api/v1/sandbox/")
    assert issued.status_code == 201, issued.content
    assert issued["Location"] == "/api/v1/sandbox/keys/"
    listed = live.get(issued["Location"])
    assert listed.status_code == 200, listed.content
    assert issued.json()["key_id"] in [key["id"] for key in listed.json()["results"]]
    # A simulated revision's Location is read with the sandbox key that posted it.
    sandbox = key_client(issued.json()["key"])
    revision = sandbox.post(
        "/api/v1/sandbox/revisions/",
        {
            "product": "optim-id-plus",
            "effective_on": date.fromisoformat(issued.json()["today"]) + timedelta(days=40),
            "consent_mode": "explicit",
        },
        format="json",
    )
    assert revision.status_code == 201, revision.content
    assert sandbox.get(revision["Location"]).status_code == 200
