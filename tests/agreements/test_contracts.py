from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext

from agreements.catalog import catalog_ensure
from agreements.enums import (
    BillingCycle,
    ContractStatus,
    TerminationReason,
    TerminationStatus,
)
from agreements.models import Contract, ContractPeriod, NonRenewalRequest, Termination
from agreements.selectors.contracts import contract_facts, contract_get, contract_list
from agreements.services.contracts.create import contract_create
from agreements.services.contracts.roll import contracts_roll_due
from agreements.services.contracts.terminations import termination_request
from core import clock
from core.enums import EventKind
from core.errors import NotFound, PermissionDenied, ValidationFailed
from core.models import AuditEntry, Event, Outbox
from tenants.enums import Role
from tenants.models import WebhookEndpoint
from tenants.notify import Note, notify
from tenants.scope import Scope
from tests.factories.agreements import OptionFactory, ProductFactory
from tests.factories.contracts import (
    biz_product,
    device_auth_option,
    idplus_product,
    make_contract,
    partner_scope,
    product_scope,
    staff_scope,
    tenant_scope,
)
from tests.factories.tenants import MembershipFactory, PartnerFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def periods(contract: Contract) -> list[tuple[int, date, date, str]]:
    return list(
        ContractPeriod.objects.filter(contract=contract)
        .order_by("seq")
        .values_list("seq", "start_date", "end_date", "status")
    )


# --- contract_create ----------------------------------------------------------------------


def test_contract_create_r9_r10_opens_period_one_from_account_issue_date():
    scope = staff_scope()
    tenant = TenantFactory()
    contract = contract_create(
        scope=scope,
        tenant=tenant,
        product=biz_product(),
        start_date=date(2024, 4, 1),
        billing_cycle=BillingCycle.ANNUAL,
        amount_jpy=120_000,
        order_ref="PO-1",
    )
    assert contract.start_date == date(2024, 4, 1)
    assert periods(contract) == [(1, date(2024, 4, 1), date(2025, 3, 31), "open")]
    entry = AuditEntry.objects.get(object_type="agreements.contract", object_id=contract.pk)
    assert (entry.action, entry.actor) == ("create", scope.user)


def test_contract_create_r10_product_that_does_not_count_the_start_day():
    product = ProductFactory(code="cc140", start_day_counts=False)
    contract = make_contract(tenant=TenantFactory(), product=product)
    assert periods(contract) == [(1, date(2024, 4, 1), date(2025, 4, 1), "open")]


def test_contract_create_r10_idplus_counts_from_the_next_day_cc140_biz_counts_the_start_day():
    # ID+ 5.3 forms the contract when the permissions are notified, within a day, and its
    # available text has no counting rule: CC 140 (初日不算入) applies. Biz keeps its default.
    catalog = catalog_ensure()
    assert (catalog.id_plus.start_day_counts, catalog.biz.start_day_counts) == (False, True)
    idplus = make_contract(tenant=TenantFactory(), product=catalog.id_plus)
    biz = make_contract(tenant=TenantFactory(), product=catalog.biz)
    assert periods(idplus) == [(1, date(2024, 4, 1), date(2025, 4, 1), "open")]
    assert periods(biz) == [(1, date(2024, 4, 1), date(2025, 3, 31), "open")]


def test_contract_create_r11_idplus_takes_renewal_and_notice_from_terms():
    contract = make_contract(tenant=TenantFactory(), product=idplus_product())
    assert (contract.auto_renew, contract.auto_renew_source) == (True, "terms")
    assert (contract.notice_months, contract.notice_source) == (1, "terms")


def test_contract_create_r11_idplus_order_may_derogate_and_says_so():
    contract = make_contract(tenant=TenantFactory(), notice_months=2)
    assert (contract.auto_renew_source, contract.notice_months, contract.notice_source) == (
        "terms",
        2,
        "order",
    )


def test_contract_create_r11_biz_renewal_and_notice_come_from_the_order():
    plain = make_contract(tenant=TenantFactory(), product=biz_product())
    assert (plain.auto_renew, plain.auto_renew_source, plain.notice_months) == (
        False,
        "order",
        None,
    )
    renewing = make_contract(
        tenant=TenantFactory(), product=biz_product(), auto_renew=True, notice_months=3
    )
    assert (renewing.auto_renew, renewing.auto_renew_source) == (True, "order")
    assert (renewing.notice_months, renewing.notice_source) == (3, "order")


def test_contract_create_r11_biz_auto_renewal_without_notice_refused():
    with pytest.raises(ValidationFailed) as refused:
        make_contract(tenant=TenantFactory(), product=biz_product(), auto_renew=True)
    assert refused.value.code == "notice_months_required"


def test_contract_create_r12_billing_fields_and_multi_year_cycle():
    contract = make_contract(
        tenant=TenantFactory(),
        billing_cycle=BillingCycle.MULTI_YEAR,
        amount_jpy=360_000,
        cycle_months=36,
        lump_sum_jpy=50_000,
    )
    assert (contract.billing_cycle, contract.amount_jpy, contract.cycle_months) == (
        "multi_year",
        360_000,
        36,
    )
    with pytest.raises(ValidationFailed) as refused:
        make_contract(tenant=TenantFactory(), billing_cycle=BillingCycle.MULTI_YEAR)
    assert refused.value.code == "cycle_months_required"


def test_contract_create_option_of_another_product_refused():
    option = OptionFactory(product=biz_product())
    with pytest.raises(ValidationFailed) as refused:
        make_contract(tenant=TenantFactory(), product=idplus_product(), options=[option])
    assert refused.value.code == "option_not_of_product"


def test_contract_create_r18_option_without_prerequisite_contract_refused():
    option = device_auth_option()
    tenant = TenantFactory()
    with pytest.raises(ValidationFailed) as refused:
        make_contract(tenant=tenant, options=[option])
    assert refused.value.code == "option_prerequisite_missing"
    assert refused.value.details["requires"] == ["optimal-biz"]
    assert "Optimal Biz" in refused.value.message
    # Another tenant's Biz contract does not count (R18: the same tenant).
    make_contract(tenant=TenantFactory(), product=biz_product())
    with pytest.raises(ValidationFailed):
        make_contract(tenant=tenant, options=[option])
    make_contract(tenant=tenant, product=biz_product())
    contract = make_contract(tenant=tenant, options=[option])
    assert list(contract.options.all()) == [option]


def test_contract_create_partner_only_for_its_own_tenants():
    partner = PartnerFactory()
    own = TenantFactory(partner=partner)
    scope = partner_scope(partner)
    contract = make_contract(tenant=own, scope=scope)
    assert contract.tenant == own
    with pytest.raises(NotFound):
        make_contract(tenant=TenantFactory(partner=PartnerFactory()), scope=scope)
    with pytest.raises(NotFound):
        make_contract(tenant=TenantFactory(), scope=scope)
    with pytest.raises(PermissionDenied):
        make_contract(tenant=own, scope=partner_scope(partner, write=False))
    assert not AuditEntry.objects.exists()  # partners are not staff


def test_contract_create_tenant_users_and_products_may_not():
    tenant = TenantFactory()
    with pytest.raises(PermissionDenied):
        make_contract(tenant=tenant, scope=tenant_scope(tenant))
    with pytest.raises(PermissionDenied):
        make_contract(tenant=tenant, scope=product_scope(idplus_product()))
    assert not Contract.objects.exists()


# --- contracts_roll_due -------------------------------------------------------------------


def test_contracts_roll_due_r10_monthly_chain_from_31st():
    contract = make_contract(tenant=TenantFactory(), start_date=date(2024, 1, 31), term_months=1)
    assert contracts_roll_due(today=date(2024, 2, 29))["renewed"] == 0  # not before the day after
    assert contracts_roll_due(today=date(2024, 3, 1))["renewed"] == 1
    assert contracts_roll_due(today=date(2024, 4, 1))["renewed"] == 1
    assert periods(contract) == [
        (1, date(2024, 1, 31), date(2024, 2, 29), "closed"),
        (2, date(2024, 3, 1), date(2024, 3, 31), "closed"),
        (3, date(2024, 4, 1), date(2024, 4, 30), "open"),
    ]


def test_contracts_roll_due_r11_renews_for_the_same_length_and_tells_the_deadline():
    contract = make_contract(tenant=TenantFactory())
    counts = contracts_roll_due(today=date(2025, 4, 1))
    assert counts == {"terminated": 0, "renewed": 1, "ended_non_renewal": 0, "expired": 0}
    assert periods(contract)[-1] == (2, date(2025, 4, 1), date(2026, 3, 31), "open")
    event = Event.objects.get(kind=EventKind.RENEWED)
    assert (event.payload["period_start"], event.payload["period_end"]) == (
        "2025-04-01",
        "2026-03-31",
    )
    assert event.payload["non_renewal_deadline"] == "2026-02-28"
    assert Outbox.objects.filter(event=event).count() == 1  # the contact address


def test_contracts_roll_due_r11_renewal_email_says_where_the_renewal_comes_from():
    """Biz has no renewal clause: its renewal e-mail says the order renewed it (R11)."""
    from tenants.delivery.email import email_render

    contract = make_contract(
        tenant=TenantFactory(),
        product=biz_product(),
        auto_renew=True,
        notice_months=1,
    )
    assert contract.auto_renew_source == "order"
    contracts_roll_due(today=date(2025, 4, 1))
    row = Outbox.objects.get(event__kind=EventKind.RENEWED, event__subject_id=contract.pk)
    _subject, text, html = email_render(row)
    assert "ご契約（注文書）の定めにより自動更新しました。" in text
    assert "ご契約（注文書）の定めにより自動更新しました。" in html


def test_contracts_roll_due_r10_catches_up_missed_periods():
    contract = make_contract(tenant=TenantFactory(), start_date=date(2024, 1, 31), term_months=1)
    assert contracts_roll_due(today=date(2024, 5, 15))["renewed"] == 3
    assert periods(contract)[-1] == (4, date(2024, 5, 1), date(2024, 5, 31), "open")
    assert [p[2] for p in periods(contract)] == [
        date(2024, 2, 29),
        date(2024, 3, 31),
        date(2024, 4, 30),
        date(2024, 5, 31),
    ]


def test_contracts_roll_due_r11_without_auto_renewal_expires():
    contract = make_contract(tenant=TenantFactory(), product=biz_product())
    counts = contracts_roll_due(today=date(2025, 4, 1))
    assert counts["expired"] == 1
    contract.refresh_from_db()
    assert (contract.status, contract.ended_on, contract.end_reason) == (
        ContractStatus.ENDED,
        date(2025, 3, 31),
        TerminationReason.EXPIRED,
    )
    termination = Termination.objects.get(contract=contract)
    assert (termination.reason, termination.status, termination.end_date) == (
        "expired",
        "effective",
        date(2025, 3, 31),
    )
    assert termination.notice_outbox_id == Outbox.objects.get(kind=EventKind.ENDED).pk
    assert periods(contract) == [(1, date(2024, 4, 1), date(2025, 3, 31), "closed")]


def test_contracts_roll_due_second_run_does_nothing():
    make_contract(tenant=TenantFactory())
    make_contract(tenant=TenantFactory(), product=biz_product())
    first = contracts_roll_due(today=date(2025, 4, 1))
    events = Event.objects.count()
    second = contracts_roll_due(today=date(2025, 4, 1))
    assert first == {"terminated": 0, "renewed": 1, "ended_non_renewal": 0, "expired": 1}
    assert second == {"terminated": 0, "renewed": 0, "ended_non_renewal": 0, "expired": 0}
    assert Event.objects.count() == events
    assert ContractPeriod.objects.count() == 3


def test_contracts_roll_due_r14_termination_on_period_end_wins_over_renewal():
    contract = make_contract(tenant=TenantFactory())
    # A staff termination: a customer's end on the period end after the deadline is refused (R11).
    with clock.frozen_at(date(2025, 3, 1)):
        termination_request(
            scope=staff_scope(),
            contract=contract,
            end_date=date(2025, 3, 31),
            reason="listed_grounds",
            note="利用料金の未払い",
        )
    counts = contracts_roll_due(today=date(2025, 4, 1))
    assert (counts["terminated"], counts["renewed"]) == (1, 0)
    contract.refresh_from_db()
    assert (contract.status, contract.end_reason) == ("terminated", "listed_grounds")
    assert Termination.objects.get(contract=contract).status == TerminationStatus.EFFECTIVE


def test_contracts_roll_due_r14_expiry_cancels_a_later_notice():
    contract = make_contract(tenant=TenantFactory(), product=biz_product())
    with clock.frozen_at(date(2025, 3, 1)):
        # A staff termination: a customer cannot end past a period end that ends it (R13).
        later = termination_request(
            scope=staff_scope(), contract=contract, end_date=date(2025, 6, 30), reason="non_payment"
        )
    contracts_roll_due(today=date(2025, 4, 1))
    later.refresh_from_db()
    assert later.status == TerminationStatus.CANCELLED
    assert Termination.objects.get(contract=contract, status="effective").reason == "expired"


def test_contracts_roll_due_r10_r14_catch_up_applies_period_ends_before_a_later_notice():
    """The job was down from 2025-04-01 to 2025-07-05: what happened first comes first.
    A contract without renewal expired on 2025-03-31 (its notice for 06-30 is moot); a
    renewing one renewed on 2025-04-01 and then ended on 06-30 by its notice."""
    expiring = make_contract(tenant=TenantFactory(), product=biz_product())
    renewing = make_contract(tenant=TenantFactory())
    with clock.frozen_at(date(2025, 3, 1)):
        for contract in (expiring, renewing):
            # Staff notices: a customer's end after the period end is a non-renewal (R11).
            termination_request(
                scope=staff_scope(),
                contract=contract,
                end_date=date(2025, 6, 30),
                # R14: each product's own grounds (Biz 13.1(2), ID+ 14.2).
                reason="terms_violation" if contract is expiring else "listed_grounds",
                note="規約違反",
            )
    with clock.frozen_at(date(2025, 7, 5)):
        counts = contracts_roll_due(today=date(2025, 7, 5))
    assert counts == {"terminated": 1, "renewed": 1, "ended_non_renewal": 0, "expired": 1}
    expiring.refresh_from_db()
    renewing.refresh_from_db()
    assert (expiring.status, expiring.ended_on, expiring.end_reason) == (
        ContractStatus.ENDED,
        date(2025, 3, 31),
        TerminationReason.EXPIRED,
    )
    assert (renewing.status, renewing.ended_on, renewing.end_reason) == (
        ContractStatus.TERMINATED,
        date(2025, 6, 30),
        TerminationReason.LISTED_GROUNDS,
    )
    assert periods(renewing) == [
        (1, date(2024, 4, 1), date(2025, 3, 31), "closed"),
        (2, date(2025, 4, 1), date(2026, 3, 31), "closed"),
    ]
    assert sorted(
        Termination.objects.filter(contract=expiring).values_list("reason", "status")
    ) == [("expired", "effective"), ("terms_violation", "cancelled")]


def test_contracts_roll_due_limit_bounds_the_work():
    for _ in range(3):
        make_contract(tenant=TenantFactory())
    assert contracts_roll_due(today=date(2025, 4, 1), limit=2)["renewed"] == 2
    assert contracts_roll_due(today=date(2025, 4, 1))["renewed"] == 1


def _due_rows(count: int) -> None:
    """`count` contracts whose period ended 2025-03-31, a third each renewing, not applied
    for, expiring; on ten tenants, half of them a partner's with a webhook."""
    idplus, biz = idplus_product(), biz_product()
    partner = PartnerFactory()
    WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example/t", secret="s")
    tenants = [TenantFactory(partner=partner if i % 2 else None) for i in range(10)]
    for tenant in tenants:
        MembershipFactory(tenant=tenant, role=Role.ADMIN)
    contracts = Contract.objects.bulk_create(
        [
            Contract(
                tenant=tenants[i % 10],
                product=biz if i % 3 == 2 else idplus,
                start_date=date(2024, 4, 1),
                auto_renew=i % 3 != 2,
                notice_months=1 if i % 3 != 2 else None,
                billing_cycle=BillingCycle.MONTHLY,
            )
            for i in range(count)
        ]
    )
    ContractPeriod.objects.bulk_create(
        [
            ContractPeriod(
                contract=c,
                tenant_id=c.tenant_id,
                seq=1,
                start_date=date(2024, 4, 1),
                end_date=date(2025, 3, 31),
            )
            for c in contracts
        ]
    )
    NonRenewalRequest.objects.bulk_create(
        [
            NonRenewalRequest(
                contract=c,
                tenant_id=c.tenant_id,
                requested_on=date(2025, 1, 10),
                requested_at=clock.now(),
                end_date=date(2025, 3, 31),
                deadline=date(2025, 2, 28),
                actor_kind="system",
                channel="system",
            )
            for i, c in enumerate(contracts)
            if i % 3 == 1
        ]
    )


def _count_queries(count: int, settings) -> int:
    settings.TERMS_JOB_BATCH_SIZE = 500
    if count:
        _due_rows(count)
    with CaptureQueriesContext(connection) as captured:
        counts = contracts_roll_due(today=date(2025, 4, 1))
    assert sum(counts.values()) == count
    assert counts["renewed"] == len(range(0, count, 3))
    return len(captured.captured_queries)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite splits bulk statements by its bound-variable limit, so counts grow there",
)
def test_contracts_roll_due_queries_constant_per_batch_at_10_and_1000(settings):
    # Three runs, each finding only its own rows due (earlier rows renewed or ended):
    # nothing due (the closing empty batches), 10 rows (one batch), 1,000 rows (two batches).
    empty = _count_queries(0, settings)
    ten = _count_queries(10, settings)
    thousand = _count_queries(1000, settings)
    per_batch = ten - empty
    # The second batch finds the partners' webhook endpoints in the cache: one read fewer.
    assert thousand == empty + 2 * per_batch - 1
    assert per_batch < 40, per_batch


# --- selectors ----------------------------------------------------------------------------


def test_contract_list_queries_do_not_grow_with_the_number_of_contracts(
    django_assert_num_queries,
):
    partner = PartnerFactory()
    scope = partner_scope(partner)
    tenant = TenantFactory(partner=partner)
    make_contract(tenant=tenant)
    with django_assert_num_queries(6):
        one = [contract_facts(c, date(2024, 6, 1)) for c in contract_list(scope=scope)]
    for _ in range(2):
        make_contract(tenant=tenant, product=biz_product())
    with django_assert_num_queries(6):
        three = [contract_facts(c, date(2024, 6, 1)) for c in contract_list(scope=scope)]
    assert (len(one), len(three)) == (1, 3)


def test_contract_list_and_get_only_the_callers_contracts():
    partner = PartnerFactory()
    mine = make_contract(tenant=TenantFactory(partner=partner))
    theirs = make_contract(tenant=TenantFactory(partner=PartnerFactory()))
    direct = make_contract(tenant=TenantFactory(), product=biz_product())
    scope = partner_scope(partner)
    assert list(contract_list(scope=scope)) == [mine]
    assert contract_get(scope=scope, pk=mine.pk) == mine
    for other in (theirs, direct):
        with pytest.raises(NotFound):
            contract_get(scope=scope, pk=other.pk)
    assert list(contract_list(scope=tenant_scope(direct.tenant))) == [direct]
    assert list(contract_list(scope=product_scope(biz_product()))) == [direct]
    assert set(contract_list(scope=Scope.system())) == {mine, theirs, direct}


def test_contract_list_updated_since_sees_renewals():
    contract = make_contract(tenant=TenantFactory())
    with clock.frozen_at(date(2025, 4, 1)) as moment:
        contracts_roll_due(today=date(2025, 4, 1))
    assert list(contract_list(scope=Scope.system(), updated_since=moment)) == [contract]


def test_r16_claims_window_shown_on_ended_contract():
    contract = make_contract(tenant=TenantFactory(), product=biz_product())
    assert contract_facts(contract, date(2025, 3, 1)).claims_window_closes is None
    contracts_roll_due(today=date(2025, 4, 1))
    facts = contract_facts(contract_get(scope=Scope.system(), pk=contract.pk), date(2025, 4, 2))
    assert (facts.ended_on, facts.claims_window_closes) == (date(2025, 3, 31), date(2025, 6, 30))
    assert (facts.primary_deletion_from, facts.backup_purge_due) == (
        date(2025, 5, 1),
        date(2026, 4, 1),
    )
    assert facts.period_end is None


@pytest.mark.parametrize(
    ("cycle", "amount", "lump", "cycle_months", "cap"),
    [
        (BillingCycle.MONTHLY, 10_000, None, None, 30_000),
        (BillingCycle.ANNUAL, 1_200_000, None, None, 300_000),
        (BillingCycle.ANNUAL, 1_200_000, 200_000, None, 200_000),
        (BillingCycle.MULTI_YEAR, 3_600_000, None, 36, 300_000),
        # R17: a lump sum alone is converted over the 12-month right of use (was 500,000).
        (BillingCycle.LUMP_SUM, None, 500_000, None, 125_000),
    ],
)
def test_r17_liability_cap_on_contract_facts(cycle, amount, lump, cycle_months, cap):
    contract = make_contract(
        tenant=TenantFactory(),
        product=biz_product(),
        billing_cycle=cycle,
        amount_jpy=amount,
        lump_sum_jpy=lump,
        cycle_months=cycle_months,
    )
    assert contract_facts(contract, date(2024, 6, 1)).liability_cap_jpy == cap


def test_notify_with_outbox_ids_writes_what_plain_notify_writes():
    # Terminations ask for the outbox ids (R14), which takes another insert path.
    partner = PartnerFactory()
    WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example/a", secret="s")
    tenant = TenantFactory(partner=partner)
    MembershipFactory(tenant=tenant, role=Role.ADMIN)
    MembershipFactory(tenant=tenant, role=Role.VIEWER)
    payload = {"end_date": "2025-03-31"}
    notify([Note(kind=EventKind.ENDED, tenant=tenant, key="a", payload=payload)])
    notify([Note(kind=EventKind.ENDED, tenant=tenant, key="b", payload=payload)], outbox_ids=True)

    def shape(key: str) -> list[tuple]:
        rows = Outbox.objects.filter(dedupe_key__contains=f":{key}:").order_by("pk")
        return [
            (
                r.kind,
                r.channel,
                r.dedupe_key.replace(f":{key}:", ":*:"),
                r.recipient,
                r.locale,
                r.partner_id,
                {k: v for k, v in r.payload.items() if k not in ("id", "event_id", "occurred_at")},
            )
            for r in rows
        ]

    assert shape("a") == shape("b")
    assert len(shape("a")) == 3  # admin, contact address, webhook
    events = list(Event.objects.order_by("pk").values_list("kind", "payload", "partner_id"))
    assert events[0] == events[1]


@pytest.mark.django_db(transaction=True)
def test_contracts_roll_due_concurrent_runs_renew_each_period_once(settings):
    settings.TERMS_JOB_BATCH_SIZE = 7
    _due_rows(60)
    barrier = threading.Barrier(3)
    results: list[dict[str, int]] = []

    def run() -> None:
        try:
            barrier.wait()
            results.append(contracts_roll_due(today=date(2025, 4, 1)))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    total = {key: sum(r[key] for r in results) for key in results[0]}
    assert total == {"terminated": 0, "renewed": 20, "ended_non_renewal": 20, "expired": 20}
    assert ContractPeriod.objects.count() == 80
    assert Event.objects.filter(kind=EventKind.RENEWED).count() == 20
    assert Termination.objects.filter(status="effective").count() == 40


# --- Per-product rulebooks on contract facts (R12, R15–R17) -------------------------------


def test_contract_facts_r15_r16_r17_idplus_applies_no_biz_rule():
    contract = make_contract(tenant=TenantFactory(), billing_cycle=BillingCycle.ANNUAL)
    with clock.frozen_at(date(2024, 9, 10)):
        termination_request(
            scope=tenant_scope(contract.tenant), contract=contract, end_date=date(2024, 10, 15)
        )
    contracts_roll_due(today=date(2024, 10, 16))
    facts = contract_facts(contract_get(scope=Scope.system(), pk=contract.pk), date(2024, 10, 16))
    assert facts.ended_on == date(2024, 10, 15)
    assert (
        facts.claims_window_closes,
        facts.liability_cap_jpy,
        facts.primary_deletion_from,
        facts.backup_purge_due,
    ) == (None, None, None, None)
    assert (facts.claims_article, facts.cap_article, facts.deletion_article) == ("", "", "")
    assert facts.accounts_removed_on_end is True


def test_contract_facts_r16_biz_window_with_its_article():
    contract = make_contract(tenant=TenantFactory(), product=biz_product())
    contracts_roll_due(today=date(2025, 4, 1))
    facts = contract_facts(contract_get(scope=Scope.system(), pk=contract.pk), date(2025, 4, 2))
    assert (facts.claims_window_closes, facts.claims_article) == (date(2025, 6, 30), "第12条第3項")
    assert facts.accounts_removed_on_end is False


@pytest.mark.parametrize(
    ("product", "no_proration", "article"),
    [("biz", False, "第7条第2項"), ("idplus", True, "第7条第3項")],
)
def test_contract_facts_r12_no_proration_only_where_the_terms_say_so(
    product, no_proration, article
):
    made = biz_product() if product == "biz" else idplus_product()
    facts = contract_facts(make_contract(tenant=TenantFactory(), product=made), date(2024, 6, 1))
    assert (facts.no_proration, facts.billing_article, facts.settlement_due) == (
        no_proration,
        article,
        False,
    )


@pytest.mark.parametrize(
    ("term_months", "lump", "cap"),
    [(36, 360_000, 30_000), (12, 360_000, 90_000), (24, 240_000, 30_000)],
)
def test_contract_facts_r17_lump_sum_alone_is_converted_to_annual(term_months, lump, cap):
    contract = make_contract(
        tenant=TenantFactory(),
        product=biz_product(),
        term_months=term_months,
        billing_cycle=BillingCycle.LUMP_SUM,
        amount_jpy=None,
        lump_sum_jpy=lump,
    )
    assert contract_facts(contract, date(2024, 6, 1)).liability_cap_jpy == cap


@pytest.mark.parametrize(
    ("cycle", "amount", "lump", "months", "cap", "other"),
    [
        # The disputed reading: a lump sum as its own cap (作成者不利の原則 favours it).
        (BillingCycle.LUMP_SUM, None, 360_000, 36, 30_000, 360_000),
        (BillingCycle.LUMP_SUM, 240_000, None, 24, 30_000, 240_000),
        # A 3-month right of use: both readings give the payment, nothing in dispute.
        (BillingCycle.LUMP_SUM, None, 30_000, 3, 30_000, None),
        # Periodic fees are not in dispute, with or without a lump sum beside them.
        (BillingCycle.MONTHLY, 10_000, None, None, 30_000, None),
        (BillingCycle.ANNUAL, 1_200_000, 200_000, None, 200_000, None),
    ],
)
def test_r17_lump_sum_cap_reading_disputed_both_figures(cycle, amount, lump, months, cap, other):
    contract = make_contract(
        tenant=TenantFactory(),
        product=biz_product(),
        term_months=months or 12,
        billing_cycle=cycle,
        amount_jpy=amount,
        lump_sum_jpy=lump,
    )
    facts = contract_facts(contract, date(2024, 6, 1))
    assert (facts.liability_cap_jpy, facts.liability_cap_other_jpy) == (cap, other)


def test_r17_idplus_has_no_cap_and_no_disputed_reading():
    contract = make_contract(
        tenant=TenantFactory(),
        product=idplus_product(),
        term_months=36,
        billing_cycle=BillingCycle.LUMP_SUM,
        amount_jpy=None,
        lump_sum_jpy=360_000,
    )
    facts = contract_facts(contract, date(2024, 6, 1))
    assert (facts.liability_cap_jpy, facts.liability_cap_other_jpy) == (None, None)
