"""The rate-limit budget on every API answer, refusals made before the throttle runs included
(docs/api.md, Conventions): an identified caller is told its key's budget, a request without
a valid credential the client address's; a refusal before the throttle counts nothing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.test import override_settings
from rest_framework.test import APIClient

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "RateLimit-Policy")

# (what, how to send it, the status it answers) — each refused before the throttle would count.
Send = Callable[[APIClient], Any]
REFUSALS: list[tuple[str, Send, int]] = [
    ("406", lambda c: c.get("/api/v1/tenants/", HTTP_ACCEPT="text/html"), 406),
    (
        "413",
        lambda c: c.post(
            "/api/v1/tenants/",
            data=b"{" + b" " * (1024 * 1024 + 1) + b"}",
            content_type="application/json",
        ),
        413,
    ),
    (
        "415",
        lambda c: c.post(
            "/api/v1/tenants/", data=b"{}", content_type="application/json; charset=utf-16"
        ),
        415,
    ),
    (
        "415 text/plain",
        lambda c: c.post("/api/v1/tenants/", data=b"name=x", content_type="text/plain"),
        415,
    ),
    ("405", lambda c: c.delete("/api/v1/tenants/"), 405),
    (
        "405 PUT",
        lambda c: c.put("/api/v1/tenants/", data=b"{}", content_type="application/json"),
        405,
    ),
    ("405 PUT on the clock", lambda c: c.put("/api/v1/sandbox/clock/"), 405),
    ("unrouted 404", lambda c: c.get("/api/v1/no-such-thing/"), 404),
]


def _budget(response: Any) -> tuple[str, str, str]:
    missing = [name for name in HEADERS if name not in response]
    assert missing == [], (response.status_code, missing)
    return (
        response["RateLimit-Limit"],
        response["RateLimit-Remaining"],
        response["RateLimit-Policy"],
    )


@override_settings(TERMS_API_THROTTLE_RATE="5/min")
@pytest.mark.parametrize(("what", "send", "status"), REFUSALS, ids=[r[0] for r in REFUSALS])
def test_a_refusal_before_the_throttle_reports_the_keys_budget_uncounted(
    partner_client: APIClient, what: str, send: Send, status: int
) -> None:
    assert _budget(partner_client.get("/api/v1/tenants/")) == ("5", "4", "5;w=60")
    refused = send(partner_client)
    assert refused.status_code == status, refused.content
    assert _budget(refused) == ("5", "4", "5;w=60")
    # Nothing was counted: the next counted request leaves three.
    assert _budget(partner_client.get("/api/v1/tenants/"))[1] == "3"


@override_settings(TERMS_API_THROTTLE_RATE="5/min")
def test_wrong_caller_reports_the_product_keys_budget(
    product_client: APIClient, partner_client: APIClient
) -> None:
    assert _budget(product_client.get("/api/v1/products/"))[1] == "4"
    refused = product_client.get("/api/v1/tenants/")
    assert (refused.status_code, refused.json()["code"]) == (403, "wrong_caller")
    assert _budget(refused) == ("5", "4", "5;w=60")
    # Another key's budget is its own.
    assert _budget(partner_client.get("/api/v1/tenants/"))[1] == "4"


@override_settings(TERMS_API_THROTTLE_RATE="5/min")
def test_a_read_only_key_refused_a_write_reports_its_budget_uncounted(
    read_only_client: APIClient,
) -> None:
    """The key check refuses before the throttle: `missing_scope` counts nothing, as
    `wrong_caller` (docs/api.md, Throttling)."""
    assert _budget(read_only_client.get("/api/v1/tenants/"))[1] == "4"
    refused = read_only_client.post("/api/v1/tenants/", {"name": "x"}, format="json")
    assert (refused.status_code, refused.json()["code"]) == (403, "missing_scope")
    assert _budget(refused) == ("5", "4", "5;w=60")
    assert _budget(read_only_client.get("/api/v1/tenants/"))[1] == "3"


@override_settings(TERMS_API_THROTTLE_RATE="5/min")
@pytest.mark.parametrize("key", [None, "tpk_00000000_unknown", "garbled key"])
def test_a_request_without_a_valid_key_reports_the_address_budget(
    anonymous_client: APIClient, key: str | None
) -> None:
    """The anonymous budget is the client address's, the one the API root counts against."""
    if key is not None:
        anonymous_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    assert _budget(APIClient().get("/api/v1/"))[1] == "4"  # the root counts the address
    refused = anonymous_client.get("/api/v1/tenants/")
    assert refused.status_code == 401
    assert _budget(refused) == ("5", "4", "5;w=60")
    too_large = anonymous_client.post(
        "/api/v1/tenants/", data=b"[" * 10, content_type="application/json; charset=latin-1"
    )
    assert too_large.status_code == 415
    assert _budget(too_large) == ("5", "4", "5;w=60")


@override_settings(TERMS_API_THROTTLE_RATE="5/min")
def test_a_staff_session_refused_before_any_view_reports_its_own_budget(
    staff_client: APIClient,
) -> None:
    assert _budget(staff_client.get("/api/v1/tenants/"))[1] == "4"
    refused = staff_client.get("/api/v1/no-such-thing/")
    assert refused.status_code == 404
    assert _budget(refused)[1] == "4"


def test_the_schema_and_its_pages_carry_no_budget(anonymous_client: APIClient) -> None:
    for path in ("/api/v1/schema/", "/api/v1/docs/"):
        response = anonymous_client.get(path)
        assert response.status_code == 200
        assert "RateLimit-Limit" not in response, path


@override_settings(TERMS_API_THROTTLE_RATE="2/min")
@pytest.mark.parametrize(
    ("what", "send", "status"),
    [r for r in REFUSALS if r[2] in (405, 415)],
    ids=[r[0] for r in REFUSALS if r[2] in (405, 415)],
)
def test_a_spent_budget_does_not_hide_a_mistake_of_form(
    partner_client: APIClient, what: str, send: Send, status: int
) -> None:
    """405 and 415 are answered before the throttle: a key whose budget is spent is told what
    is wrong with the request, not 429."""
    for _ in range(2):
        assert partner_client.get("/api/v1/tenants/").status_code == 200
    assert partner_client.get("/api/v1/tenants/").status_code == 429
    assert send(partner_client).status_code == status
