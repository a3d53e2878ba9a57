"""Idempotency compares parsed JSON; the rules for evidence on answers (docs/api.md)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from rest_framework.test import APIClient

from agreements.models import ConsentEvidence, ConsentRecord, TermsVersion
from core import clock
from tenants.models import Tenant
from tests.api.conftest import World
from web.api.idempotency import canonical_body

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

EVIDENCE = {
    "person_name": "山田 太郎",
    "person_email": "yamada@customer.example",
    "obtained_at": "2025-03-09T14:05:00+09:00",
    "method": "partner portal checkbox",
    "ip_address": "203.0.113.7",
    "user_agent": "Mozilla/5.0",
}


def raw_post(client: APIClient, path: str, text: str, key: str):
    return client.generic(
        "POST", path, text.encode(), content_type="application/json", HTTP_IDEMPOTENCY_KEY=key
    )


# --- idempotency on parsed JSON ----------------------------------------------------------------


@pytest.mark.unit
def test_canonical_body_ignores_key_order_and_whitespace() -> None:
    assert canonical_body(b'{"b": 1, "a": [1, 2]}') == canonical_body(b'{\n  "a":[1,2],"b":1\n}')
    assert canonical_body(b'{"a": 1}') != canonical_body(b'{"a": 2}')
    assert canonical_body(b'{"a": "x"}') != canonical_body(b'{"a": "x "}')
    assert canonical_body(b"not json") == b"raw:not json"
    # A member named twice is compared byte for byte: not as whichever repeat a reader keeps.
    twice = b'{"a": 1, "a": 2}'
    assert canonical_body(twice) == b"raw:" + twice
    assert canonical_body(twice) != canonical_body(b'{"a": 2}')
    assert canonical_body(b'[{"a": 1}, {"a": 2}]').startswith(b"json:")  # not a repeat


def test_a_refused_repeated_member_is_not_replaced_by_a_corrected_body_under_its_key(
    partner_client: APIClient,
) -> None:
    refused = raw_post(
        partner_client, "/api/v1/tenants/", '{"name": "甲", "name": "乙"}', "repeated"
    )
    assert refused.status_code == 400
    assert refused.json()["code"] == "parse_error"
    # The same bytes again: the stored refusal, replayed.
    again = raw_post(partner_client, "/api/v1/tenants/", '{"name": "甲", "name": "乙"}', "repeated")
    assert (again.status_code, again["Idempotent-Replayed"]) == (400, "true")
    # The body as a reader keeping the last repeat would see it is another request: 422, and
    # nothing is created under the key.
    corrected = raw_post(partner_client, "/api/v1/tenants/", '{"name": "乙"}', "repeated")
    assert corrected.status_code == 422
    assert corrected.json()["code"] == "idempotency_key_reused"
    assert not Tenant.objects.filter(name__in=["甲", "乙"]).exists()


def test_reordered_and_reindented_json_under_the_same_key_is_replayed(
    partner_client: APIClient,
) -> None:
    first = raw_post(
        partner_client,
        "/api/v1/tenants/",
        '{"name": "並べ替え商事", "contact_email": "it@x.example"}',
        "same-json",
    )
    again = raw_post(
        partner_client,
        "/api/v1/tenants/",
        '{\n    "contact_email":"it@x.example",\n    "name":"並べ替え商事"\n}',
        "same-json",
    )
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.content == first.content
    assert Tenant.objects.filter(name="並べ替え商事").count() == 1


def test_other_json_content_under_the_same_key_is_still_422(partner_client: APIClient) -> None:
    assert raw_post(partner_client, "/api/v1/tenants/", '{"name": "甲"}', "k2").status_code == 201
    response = raw_post(partner_client, "/api/v1/tenants/", '{"name": "乙"}', "k2")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"


def test_reordered_consent_answer_in_its_own_transaction_is_replayed(world: World) -> None:
    # The consent answer records its key inside the answer's transaction (another code path).
    client = world.client("own_partner")
    path = f"/api/v1/tenants/{world.tenant.pk}/consents/"
    body = {"version": world.v2.pk, "answer": "accepted", "evidence": EVIDENCE}
    first = raw_post(client, path, json.dumps(body), "answer-1")
    reordered = dict(reversed(list(body.items())))
    again = raw_post(client, path, json.dumps(reordered, indent=4), "answer-1")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true"


# --- evidence on a repeated answer ------------------------------------------------------------


def answer(world: World, evidence: dict):
    return world.client("own_partner").post(
        f"/api/v1/tenants/{world.tenant.pk}/consents/",
        {"version": world.v2.pk, "answer": "accepted", "evidence": evidence},
    )


def test_repeat_with_the_same_evidence_returns_the_record(world: World) -> None:
    first = answer(world, EVIDENCE)
    # The same instant written in UTC is the same evidence.
    again = answer(world, {**EVIDENCE, "obtained_at": "2025-03-09T05:05:00Z"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]


def test_repeat_with_other_evidence_is_refused_and_keeps_the_first(world: World) -> None:
    first = answer(world, EVIDENCE)
    other = answer(world, {**EVIDENCE, "person_name": "佐藤 花子"})
    assert other.status_code == 409
    problem = other.json()
    assert problem["code"] == "answer_evidence_differs"
    assert problem["record_id"] == first.json()["id"]
    assert ConsentRecord.objects.filter(tenant=world.tenant).count() == 1
    assert list(ConsentEvidence.objects.values_list("person_name", flat=True)) == ["山田 太郎"]


# --- obtained_at ---------------------------------------------------------------------------------


def test_obtained_at_without_an_offset_is_refused(world: World) -> None:
    response = answer(world, {**EVIDENCE, "obtained_at": "2025-03-09T14:05:00"})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "field": "evidence.obtained_at",
            "message": response.json()["errors"][0]["message"],
            "code": "offset_required",
        }
    ]
    assert not ConsentRecord.objects.exists()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("person_name", "山田\n太郎"),
        ("person_name", "山田\x1b[31m"),
        ("person_name", "\u202euorab"),
        ("person_name", "山田\u2028太郎"),
        ("person_name", "\u200b"),
        ("method", "checkbox\r\nX-Injected: 1"),
    ],
)
def test_evidence_names_are_one_line_as_in_the_portal(world: World, field: str, value: str) -> None:
    response = answer(world, {**EVIDENCE, field: value})
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["errors"]] == [f"evidence.{field}"]
    assert not ConsentRecord.objects.exists()


def test_obtained_at_in_the_future_is_refused(world: World) -> None:
    later = (clock.now() + timedelta(minutes=6)).isoformat()
    response = answer(world, {**EVIDENCE, "obtained_at": later})
    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "evidence_in_future"
    assert problem["tolerance_seconds"] == 300
    assert [e["field"] for e in problem["errors"]] == ["evidence.obtained_at"]
    assert not ConsentRecord.objects.exists()


@pytest.mark.parametrize(
    ("before", "expected"), [(timedelta(minutes=6), 400), (timedelta(minutes=4), 201)]
)
def test_obtained_at_before_the_notice_was_posted_is_refused(
    world: World, before: timedelta, expected: int
) -> None:
    """No one can have answered a text not yet posted: evidence dated before the version's
    notice is refused (1900, or the day before the posting), within the same clock skew."""
    posted_at = TermsVersion.objects.get(pk=world.v2.pk).posted_at
    assert posted_at is not None
    early = (posted_at - before).isoformat()
    response = answer(world, {**EVIDENCE, "obtained_at": early})
    assert response.status_code == expected, response.content
    if expected == 400:
        problem = response.json()
        assert problem["code"] == "evidence_before_notice"
        assert problem["tolerance_seconds"] == 300
        assert problem["posted_at"] == clock.api_instant(posted_at)  # Japan time
        assert [e["field"] for e in problem["errors"]] == ["evidence.obtained_at"]
        assert not ConsentRecord.objects.exists()


def test_obtained_at_within_the_clock_skew_is_accepted(world: World) -> None:
    skewed = (clock.now() + timedelta(minutes=4)).isoformat()
    assert answer(world, {**EVIDENCE, "obtained_at": skewed}).status_code == 201
