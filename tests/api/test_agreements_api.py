"""Terms, contracts, consent and the products' endpoints, end to end through HTTP."""

from __future__ import annotations

import json
from datetime import date

import pytest

from agreements.enums import ContractStatus, DeletionStatus, TerminationReason
from agreements.ledger.verify import ledger_verify
from agreements.models import ConsentRecord, Contract, DataDeletion
from core.models import Event
from tests.api.conftest import World

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

EVIDENCE = {
    "person_name": "山田 太郎",
    "person_email": "yamada@customer.example",
    "obtained_at": "2025-03-09T14:05:00+09:00",
    "method": "partner portal checkbox",
    "ip_address": "203.0.113.7",
    "user_agent": "Mozilla/5.0",
}


def body(response) -> dict:
    return json.loads(response.content)


# --- terms --------------------------------------------------------------------------------------


def test_products_list_options_nested(world: World) -> None:
    data = body(world.client("product").get("/api/v1/products/"))
    assert [p["code"] for p in data["results"]] == ["optimal-biz", "optim-id-plus"]


def test_version_detail_has_articles_and_excerpt_flag(world: World) -> None:
    data = body(world.client("own_partner").get(f"/api/v1/versions/{world.v2.pk}/"))
    assert data["is_excerpt"] is False
    assert [a["number"] for a in data["articles"]] == [1, 2]
    assert data["articles"][0]["paragraphs"][0]["text"] == "本規約は本製品の利用に適用されます。"


def test_version_diff_against_defaults_to_based_on(world: World) -> None:
    data = body(world.client("own_partner").get(f"/api/v1/versions/{world.v2.pk}/diff/"))
    assert data["before"] == {"id": world.v1.pk, "label": "2024-01-01"}
    assert data["has_changes"] is False  # the factory writes the same two articles


def test_version_diff_against_unknown_version_is_a_field_error(world: World) -> None:
    response = world.client("own_partner").get(
        f"/api/v1/versions/{world.v2.pk}/diff/?against=999999"
    )
    assert response.status_code == 400
    assert body(response)["errors"][0]["field"] == "against"


def test_notices_list_posted_versions_only(world: World) -> None:
    data = body(world.client("product").get("/api/v1/notices/"))
    assert [n["version"] for n in data["results"]] == [world.v2.pk]
    assert data["results"][0]["effective_on"] == "2025-04-01"


# --- contracts ---------------------------------------------------------------------------------


def test_contract_create_shows_sources_and_deadlines(world: World) -> None:
    response = world.client("own_partner").post(
        "/api/v1/contracts/",
        {
            "tenant": world.tenant.pk,
            "product": "optim-id-plus",
            "start_date": "2025-04-01",
            "billing_cycle": "annual",
            "amount_jpy": 120000,
        },
    )
    assert response.status_code == 201, response.content
    data = body(response)
    assert (data["auto_renew"], data["auto_renew_source"], data["notice_months"]) == (
        True,
        "terms",
        1,
    )
    assert data["facts"]["period_end"] == "2026-03-31"
    assert data["facts"]["current_deadline"] == "2026-02-28"
    # R17 is Biz 12.4: the ID+ terms as available have no cap, so none is computed.
    assert data["facts"]["liability_cap_jpy"] is None
    assert data["facts"]["liability_cap_other_reading_jpy"] is None


def test_r17_contract_facts_give_both_readings_of_a_biz_lump_sum_cap(world: World) -> None:
    response = world.client("own_partner").post(
        "/api/v1/contracts/",
        {
            "tenant": world.tenant.pk,
            "product": "optimal-biz",
            "start_date": "2025-04-01",
            "term_months": 36,
            "billing_cycle": "lump_sum",
            "lump_sum_jpy": 360000,
        },
    )
    assert response.status_code == 201, response.content
    facts = body(response)["facts"]
    assert (facts["liability_cap_jpy"], facts["liability_cap_other_reading_jpy"]) == (
        30000,
        360000,
    )


def test_contract_create_with_unknown_product_is_a_field_error(world: World) -> None:
    response = world.client("own_partner").post(
        "/api/v1/contracts/",
        {
            "tenant": world.tenant.pk,
            "product": "nope",
            "start_date": "2025-04-01",
            "billing_cycle": "monthly",
        },
    )
    assert response.status_code == 400
    assert [e["field"] for e in body(response)["errors"]] == ["product"]


def test_non_renewal_late_names_deadline_and_next_end_r11(world: World) -> None:
    client = world.client("own_partner")
    url = f"/api/v1/contracts/{world.contract.pk}/non-renewal/"
    late = client.post(url, {})
    assert late.status_code == 409
    problem = body(late)
    assert problem["code"] == "non_renewal_late"
    assert (problem["deadline"], problem["next_possible_end"]) == ("2025-02-28", "2026-03-31")
    accepted = client.post(url, {"end_date": problem["next_possible_end"]})
    assert accepted.status_code == 201, accepted.content
    assert (body(accepted)["end_date"], body(accepted)["deadline"]) == ("2026-03-31", "2026-02-28")


def test_non_renewal_withdraw(world: World) -> None:
    response = world.client("own_partner").post(
        f"/api/v1/contracts/{world.renewing.pk}/non-renewal/withdraw/"
    )
    assert response.status_code == 200, response.content
    assert body(response)["status"] == "withdrawn"


def test_non_renewal_withdraw_without_one_is_404(world: World) -> None:
    response = world.client("own_partner").post(
        f"/api/v1/contracts/{world.contract.pk}/non-renewal/withdraw/"
    )
    assert response.status_code == 404
    assert body(response)["code"] == "non_renewal_not_found"


def test_termination_staff_only_reason_refused_for_partner_r13(world: World) -> None:
    response = world.client("own_partner").post(
        f"/api/v1/contracts/{world.contract.pk}/terminations/",
        {"end_date": "2025-06-30", "reason": TerminationReason.NON_PAYMENT},
    )
    assert response.status_code == 403
    assert body(response)["code"] == "staff_only_reason"


def test_termination_customer_request(world: World) -> None:
    response = world.client("own_partner").post(
        # Before the period end (2025-03-31): a later end is a non-renewal, late here (R11/R13).
        f"/api/v1/contracts/{world.contract.pk}/terminations/",
        {"end_date": "2025-03-25"},
    )
    assert response.status_code == 201, response.content
    assert (body(response)["reason"], body(response)["end_date"]) == (
        "customer_request",
        "2025-03-25",
    )
    assert Contract.objects.get(pk=world.contract.pk).status == ContractStatus.ACTIVE


def test_deletion_request_after_a_known_end_r15(world: World) -> None:
    response = world.client("own_partner").post(f"/api/v1/contracts/{world.renewing.pk}/deletions/")
    assert response.status_code == 201, response.content
    data = body(response)
    assert (data["kind"], data["due_on"]) == ("requested", "2025-06-01")


def test_contract_list_filters_by_tenant_and_hides_others(world: World) -> None:
    data = body(world.client("own_partner").get(f"/api/v1/contracts/?tenant={world.tenant.pk}"))
    assert [c["id"] for c in data["results"]] == [world.contract.pk, world.renewing.pk]
    other = world.client("own_partner").get(f"/api/v1/contracts/{world.other_contract.pk}/")
    assert other.status_code == 404


# --- consent -----------------------------------------------------------------------------------


def answer(world: World, value: str, **extra):
    return world.client("own_partner").post(
        f"/api/v1/tenants/{world.tenant.pk}/consents/",
        {"version": world.v2.pk, "answer": value, "evidence": EVIDENCE, **extra},
    )


def test_consent_status_per_bound_document(world: World) -> None:
    data = body(world.client("own_partner").get(f"/api/v1/tenants/{world.tenant.pk}/consents/"))
    assert len(data) == 1
    row = data[0]
    assert row["document"]["id"] == world.document.pk
    assert row["version_in_force"]["id"] == world.v1.pk
    assert row["pending_version"]["id"] == world.v2.pk
    assert (row["status"], row["allowed_answers"], row["deadline"]) == (
        "no_answer",
        ["accepted", "rejected"],
        "2025-03-31",
    )


def test_consent_answer_first_201_then_200_one_row(world: World) -> None:
    first = answer(world, "accepted")
    second = answer(world, "accepted")
    assert (first.status_code, second.status_code) == (201, 200)
    assert body(first)["id"] == body(second)["id"]
    assert body(first)["channel"] == "api"
    assert body(first)["actor_kind"] == "partner_key"
    assert ConsentRecord.objects.filter(tenant=world.tenant).count() == 1
    assert (
        Event.objects.filter(kind="consent.answer_recorded", partner_id=world.partner.pk).count()
        == 1
    )


def test_consent_answer_deemed_is_refused(world: World) -> None:
    response = answer(world, "deemed")
    assert response.status_code == 400
    assert body(response)["errors"][0]["field"] == "answer"
    assert not ConsentRecord.objects.exists()


def test_consent_answer_without_evidence_is_400(world: World) -> None:
    response = world.client("own_partner").post(
        f"/api/v1/tenants/{world.tenant.pk}/consents/",
        {"version": world.v2.pk, "answer": "accepted"},
    )
    assert response.status_code == 400
    assert [e["field"] for e in body(response)["errors"]] == ["evidence"]


def test_reject_after_effective_in_deemed_mode_points_to_termination(world: World) -> None:
    from core import clock

    with clock.frozen_at(date(2025, 4, 10)):
        response = answer(world, "rejected")
    assert response.status_code == 409
    assert body(response)["code"] == "reject_after_effective_deemed"
    assert body(response)["remedy"] == "termination"


def test_ledger_read_with_chain_hashes(world: World) -> None:
    answer(world, "rejected")
    answer(world, "accepted")
    data = body(world.client("own_partner").get(f"/api/v1/tenants/{world.tenant.pk}/ledger/"))
    rows = data["results"]
    assert [r["answer"] for r in rows] == ["rejected", "accepted"]
    assert rows[1]["prev_hash"] == rows[0]["hash"]
    assert ledger_verify(tenant_ids=[world.tenant.pk]) == []


# --- the products ------------------------------------------------------------------------------


def test_status_check_for_a_product_key(world: World) -> None:
    response = world.client("product").get(f"/api/v1/status/{world.tenant.pk}/")
    assert response.status_code == 200, response.content
    data = body(response)
    assert data["allowed"] is True
    assert data["contract_ids"] == [world.contract.pk, world.renewing.pk]
    assert data["versions"][0]["pending_version"] == world.v2.pk
    assert data["flags"] == []


def test_status_check_for_staff_needs_the_product(world: World) -> None:
    client = world.client("staff")
    assert client.get(f"/api/v1/status/{world.tenant.pk}/").status_code == 400
    ok = client.get(f"/api/v1/status/{world.tenant.pk}/?product=optim-id-plus")
    assert ok.status_code == 200


def test_status_check_for_a_tenant_without_contract_of_the_product_is_404(world: World) -> None:
    from tests.factories.tenants import TenantFactory

    stranger = TenantFactory()
    assert world.client("product").get(f"/api/v1/status/{stranger.pk}/").status_code == 404


def test_status_check_query_count(world: World, django_assert_max_num_queries) -> None:
    # Key lookup, tenant, contracts, documents with subqueries (plus the session-less overhead).
    with django_assert_max_num_queries(6):
        world.client("product").get(f"/api/v1/status/{world.tenant.pk}/")


def test_deletion_orders_and_acknowledgement_r15(world: World) -> None:
    client = world.client("product")
    orders = body(client.get("/api/v1/deletions/?status=ordered"))["results"]
    assert [o["id"] for o in orders] == [world.deletion.pk]
    response = client.post(
        f"/api/v1/deletions/{world.deletion.pk}/ack/",
        {"completed_at": "2025-03-10T08:00:00+09:00", "reference": "DEL-1"},
    )
    assert response.status_code == 200, response.content
    row = DataDeletion.objects.get(pk=world.deletion.pk)
    assert row.status == DeletionStatus.ACKNOWLEDGED
    assert row.ack_evidence["reference"] == "DEL-1"


def test_deletion_ack_repeat_is_idempotent_and_other_evidence_is_a_409(world: World) -> None:
    client = world.client("product")
    path = f"/api/v1/deletions/{world.deletion.pk}/ack/"
    first = {"completed_at": "2025-03-10T08:00:00+09:00", "reference": "DEL-1"}
    assert client.post(path, first, format="json").status_code == 200
    same = {"completed_at": "2025-03-09T23:00:00Z", "reference": "DEL-1"}
    assert client.post(path, same, format="json").status_code == 200
    other = client.post(path, {**first, "reference": "DEL-2"}, format="json")
    assert other.status_code == 409
    assert other.json()["code"] == "ack_evidence_differs"
    assert DataDeletion.objects.get(pk=world.deletion.pk).ack_evidence["reference"] == "DEL-1"


def test_deletion_ack_in_the_future_is_refused(world: World) -> None:
    response = world.client("product").post(
        f"/api/v1/deletions/{world.deletion.pk}/ack/",
        {"completed_at": "2025-03-10T12:00:00+09:00"},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "completed_in_future"
    assert response.json()["tolerance_seconds"] == 300
    assert DataDeletion.objects.get(pk=world.deletion.pk).status == DeletionStatus.ORDERED


def test_deletion_ack_is_for_the_product_only(world: World) -> None:
    response = world.client("staff").post(
        f"/api/v1/deletions/{world.deletion.pk}/ack/", {"completed_at": "2025-03-10T10:00:00Z"}
    )
    assert response.status_code == 403


def test_deletion_ack_without_an_offset_is_refused(world: World) -> None:
    """`completed_at` is an instant like `evidence.obtained_at`: with its offset or refused."""
    for value in ("2025-03-10T08:00:00", "2025-03-10"):
        response = world.client("product").post(
            f"/api/v1/deletions/{world.deletion.pk}/ack/", {"completed_at": value}, format="json"
        )
        assert response.status_code == 400, value
        assert response.json()["errors"][0]["code"] == "offset_required"
    assert DataDeletion.objects.get(pk=world.deletion.pk).status == DeletionStatus.ORDERED
