"""The dashboard's numbers come from the projection's bound rows (bench: benchmark 7): two
queries whatever the number of tenants (three with a sales channel), and the same numbers as
counting bound tenants from their contracts on every render (the computation they replace)."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from agreements.enums import Answer, ConsentMode, ConsentStatus, ContractStatus
from agreements.models import ConsentState, Contract
from agreements.services.consents.answers import consent_answer
from agreements.services.consents.projection import consent_state_rebuild, consent_states_open
from agreements.services.consents_bound import consent_states_bound_sync
from agreements.services.versions.effective import version_apply_effective
from core import clock
from tests.factories.agreements import ContractFactory, DocumentFactory, ProductFactory
from tests.factories.consents import (
    AFTER,
    BEFORE,
    EFFECTIVE_ON,
    admin_scope,
    bound_tenant,
    delivered,
    posted_version,
)
from tests.factories.tenants import PartnerFactory, TenantFactory
from web.console.selectors import (
    COLUMNS,
    bound_tenants,
    dashboard_rows,
    dashboard_tenants,
    live_versions,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ANSWERED = (
    ConsentStatus.ACCEPTED,
    ConsentStatus.DEEMED,
    ConsentStatus.REJECTED,
    ConsentStatus.OUTSTANDING,
    ConsentStatus.UNNOTIFIED,
)


def _old_rows(partner: str | None) -> dict[int, tuple[int, dict[str, int]]]:
    """The computation the bound rows replace: per live version, the tenants bound now from
    their contracts, and their projection rows counted by status; the rest are no_answer.

    As it was, except that it left `unnotified` (R3) out of the statuses it counted, so those
    tenants showed as no_answer and the unnotified column as 0; the bound rows count them."""
    rows = {}
    for version in live_versions():
        tenants = bound_tenants(document=version.document, partner=partner)
        counted = dict(
            ConsentState.objects.filter(version=version, status__in=ANSWERED)
            .filter(tenant__in=tenants)
            .values_list("status")
            .annotate(n=Count("pk"))
            .values_list("status", "n")
        )
        bound = tenants.count()
        counts = {s: counted.get(s, 0) for s in COLUMNS}
        counts[ConsentStatus.NO_ANSWER] = bound - sum(counts.values())
        rows[version.pk] = (bound, counts)
    return rows


def _end(contract: Contract, on: date) -> None:
    # What the end services write (agreements.services.contracts.ends), then their sync.
    Contract.objects.filter(pk=contract.pk).update(
        status=ContractStatus.ENDED, ended_on=on, end_reason="expired"
    )
    consent_states_bound_sync(tenant_ids=[contract.tenant_id])


def _world() -> object:
    """Two products; answers of every kind; contracts ended, starting later, added after the
    posting, two contracts of one tenant with one ended; direct tenants and a partner's."""
    partner = PartnerFactory()
    biz = posted_version()  # deemed mode (R3)
    idp = posted_version(
        DocumentFactory(product=ProductFactory(code="optim-id-plus")), mode=ConsentMode.EXPLICIT
    )
    made = {
        name: bound_tenant(biz.document, tenant=TenantFactory(partner=p)).tenant
        for name, p in [
            ("accepted", None),
            ("rejected", partner),
            ("deemed", None),
            ("deemed_partner", partner),
            ("unnotified", None),
            ("ended_later", partner),
            ("two_contracts", None),
        ]
    }
    second = ContractFactory(tenant=made["two_contracts"], product=biz.document.product)
    for name in ("accepted", "rejected", "ended_later"):
        bound_tenant(idp.document, tenant=made[name])
    idp_only = bound_tenant(idp.document).tenant
    ContractFactory()  # a tenant of a third product
    consent_states_open(version=biz)
    consent_states_open(version=idp)
    with clock.frozen_at(BEFORE):
        for name, answer in (("accepted", Answer.ACCEPTED), ("rejected", Answer.REJECTED)):
            tenant = made[name]
            for version in (biz, idp):
                consent_answer(
                    scope=admin_scope(tenant), tenant=tenant, version=version, answer=answer
                )
    delivered(biz, *(t for n, t in made.items() if n != "unnotified"))
    # Bound after the posting: the contract's start opens its row (no answer yet).
    late = bound_tenant(biz.document, tenant=TenantFactory(partner=partner)).tenant
    delivered(biz, late)
    with clock.frozen_at(EFFECTIVE_ON):
        version_apply_effective(version_id=biz.pk, today=EFFECTIVE_ON)
        version_apply_effective(version_id=idp.pk, today=EFFECTIVE_ON)
    with clock.frozen_at(AFTER):
        # Contracts that end after the effective date; one tenant keeps its other contract.
        _end(Contract.objects.get(tenant=made["ended_later"], product=biz.document.product), AFTER)
        _end(second, AFTER)
        # Signed today, starting next month: bound already (an active contract).
        bound_tenant(
            biz.document, tenant=TenantFactory(partner=partner), start_date=date(2025, 5, 1)
        )
    return {"partner": partner, "biz": biz, "idp": idp, "idp_only": idp_only, **made}


def test_dashboard_numbers_equal_the_old_computation() -> None:
    world = _world()
    partner = world["partner"]
    for channel in (None, "direct", str(partner.pk)):
        old = _old_rows(channel)
        new = {row.version.pk: (row.bound, row.counts) for row in dashboard_rows(partner=channel)}
        assert new == old, channel
    biz = {row.version.pk: row for row in dashboard_rows()}[world["biz"].pk]
    # accepted, rejected, deemed ×3 (late included), unnotified, two_contracts (deemed),
    # next month's: no answer; ended_later is no longer bound.
    assert biz.bound == 8
    assert biz.counts[ConsentStatus.UNNOTIFIED] == 1
    idp = {row.version.pk: row for row in dashboard_rows()}[world["idp"].pk]
    assert (idp.bound, idp.counts[ConsentStatus.OUTSTANDING]) == (4, 2)
    # A rebuild of the projection keeps the flags.
    before = list(ConsentState.objects.order_by("pk").values_list("tenant_id", "bound"))
    consent_state_rebuild()
    assert list(ConsentState.objects.order_by("pk").values_list("tenant_id", "bound")) == before


def test_dashboard_drill_down_lists_exactly_the_counted_tenants() -> None:
    world = _world()
    for row in dashboard_rows():
        assert dashboard_tenants(version=row.version, status=None).count() == row.bound
        for status in COLUMNS:
            tenants = dashboard_tenants(version=row.version, status=status)
            assert tenants.count() == row.counts[status], status
    unnotified = dashboard_tenants(version=world["biz"], status=ConsentStatus.UNNOTIFIED)
    assert list(unnotified) == [world["unnotified"]]


def test_dashboard_numbers_queries_pinned_whatever_the_size() -> None:
    world = _world()

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            rows = dashboard_rows()
            rows_partner = dashboard_rows(partner=str(world["partner"].pk))
        assert rows
        assert rows_partner
        return len(captured.captured_queries)

    small = count()
    for _ in range(15):
        bound_tenant(world["biz"].document)
    # The versions and one GROUP BY; a sales channel adds its own GROUP BY.
    assert count() == small == 2 + 3


def test_dashboard_csv_render_queries_pinned(client, viewer) -> None:
    world = _world()
    client.force_login(viewer)

    def render() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get("/console/dashboard/?format=csv")
        assert response.status_code == 200
        return len(captured.captured_queries), response.content.decode("utf-8-sig")

    small, body = render()
    for _ in range(15):
        bound_tenant(world["biz"].document)
    large, body_large = render()
    assert large == small
    # The numbers: two queries (versions, one GROUP BY); the rest: the session and the user.
    assert small <= 6, small
    assert body != body_large


@pytest.mark.parametrize(
    "query", ["partner=999999", "partner=abc", "product=999999", "product=x&partner=direct"]
)
def test_a_filter_naming_nothing_shows_no_figures_rather_than_everyones(
    client, viewer, query: str
) -> None:
    world = _world()
    client.force_login(viewer)
    everyone = client.get("/console/dashboard/?format=csv").content
    page = client.get(f"/console/dashboard/?{query}")
    assert page.status_code == 400
    html = page.content.decode()
    assert 'data-testid="invalid-filter"' in html
    assert 'data-testid="dashboard-table"' not in html  # no unfiltered figures
    csv = client.get(f"/console/dashboard/?{query}&format=csv")
    assert csv.status_code == 400
    assert csv.content != everyone
    # The drill-down likewise: an unknown sales channel is not "every channel".
    version = world["biz"]  # type: ignore[index]
    drill = f"/console/dashboard/versions/{version.pk}/?status=bound"
    assert client.get(drill).status_code == 200
    for bad in ("&partner=abc", "&partner=999999", "&status=bogus"):
        refused = client.get(f"{drill}{bad}")
        assert refused.status_code == 400
        assert 'data-testid="invalid-filter"' in refused.content.decode()
        assert 'data-testid="drill-count"' not in refused.content.decode()
        assert client.get(f"{drill}{bad}&format=csv").status_code == 400
    filtered = client.get(f"{drill}&partner=direct").content.decode()
    assert 'data-testid="filter-summary"' in filtered
    assert client.get("/console/dashboard/?partner=direct").status_code == 200
    # A filtered CSV's name says its filter.
    named = client.get(f"/console/dashboard/?partner={world['partner'].pk}&format=csv")  # type: ignore[index]
    assert f"-partner-{world['partner'].pk}.csv" in named["Content-Disposition"]  # type: ignore[index]
    assert (
        "-partner-direct.csv"
        in client.get(f"{drill}&partner=direct&format=csv")["Content-Disposition"]
    )
    english = client.get(f"/console/dashboard/?{query}", HTTP_ACCEPT_LANGUAGE="en")
    assert "no figures are shown" in english.content.decode()
    english_csv = client.get(f"/console/dashboard/?{query}&format=csv", HTTP_ACCEPT_LANGUAGE="en")
    assert "no figures are shown" in english_csv.content.decode()
