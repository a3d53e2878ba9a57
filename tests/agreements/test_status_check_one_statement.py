"""The status check reads the tenant's contracts and the per-document rows in one statement
(status_sql.py). Its answers are the ones the check gave when it read the contracts with their
own query (the ORM's values_list, kept here as the reference): several documents, an ended
contract, one not yet started, a product that does not reach the tenant, a tenant without any
contract; single and bulk, product key and staff."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from agreements.enums import (
    ConsentMode,
    ConsentStatus,
    ContractStatus,
    TerminationReason,
    VersionStatus,
)
from agreements.models import Contract, Product, TermsVersion
from agreements.selectors.consents import (
    FLAG_CONTRACT_INACTIVE,
    FLAG_OUTSTANDING,
    StatusCheck,
    tenant_is_allowed,
    tenants_status,
)
from agreements.selectors.consents.status_check import status_from_rows
from agreements.selectors.consents.status_sql import status_rows
from agreements.services.consents import consent_answer, consent_states_open
from core import clock
from core.errors import NotFound
from tenants.models import Tenant
from tenants.scope import Scope
from tests.factories.agreements import (
    ContractFactory,
    DocumentFactory,
    OptionFactory,
    ProductFactory,
    VersionFactory,
)
from tests.factories.consents import BEFORE, EFFECTIVE_ON, NOTICE_ON, admin_scope, posted_version
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TODAY = date(2025, 4, 10)  # B2 in force since 2025-04-01, its 3-day grace period run


@dataclass
class World:
    product: Product
    pending: TermsVersion  # A2: posted, effective 2025-05-01
    explicit: TermsVersion  # B2: explicit, gated, in force since 2025-04-01
    tenants: dict[str, Tenant]
    contracts: dict[str, Contract]


@pytest.fixture
def world() -> World:
    option = OptionFactory()
    product = option.product
    # A: deemed, V1 in force, V2 posted and pending. B: explicit revision in force, gated.
    # C: individual rules bound through the option. D: no version at all (not listed).
    doc_a = DocumentFactory(product=product, precedence=10)
    VersionFactory(document=doc_a)
    pending = posted_version(doc_a, effective_on=date(2025, 5, 1))
    doc_b = DocumentFactory(product=product, precedence=20)
    VersionFactory(document=doc_b, status=VersionStatus.SUPERSEDED)
    explicit = posted_version(
        doc_b,
        mode=ConsentMode.EXPLICIT,
        gating_enabled=True,
        gating_rationale="個別契約で合意した利用条件",
        gating_grace_days=3,
    )
    doc_c = DocumentFactory(product=product, kind="individual", option=option, precedence=30)
    VersionFactory(document=doc_c)
    DocumentFactory(product=product, precedence=40)

    names = ("silent", "accepted", "future", "ended", "elsewhere", "none")
    tenants = {name: TenantFactory() for name in names}
    contracts = {
        # Bound on B2's effective date, holds the option, never answers B2: outstanding, gated.
        "silent": ContractFactory(tenant=tenants["silent"], product=product),
        "silent_ended": ContractFactory(
            tenant=tenants["silent"],
            product=product,
            start_date=date(2023, 1, 1),
            status=ContractStatus.ENDED,
            ended_on=date(2024, 3, 31),
            end_reason=TerminationReason.EXPIRED,
        ),
        "accepted": ContractFactory(tenant=tenants["accepted"], product=product),
        # Starts after B2 took effect: B2 is not owed.
        "future": ContractFactory(
            tenant=tenants["future"], product=product, start_date=date(2025, 6, 1)
        ),
        "ended": ContractFactory(
            tenant=tenants["ended"],
            product=product,
            status=ContractStatus.TERMINATED,
            ended_on=date(2025, 1, 31),
            end_reason=TerminationReason.NON_PAYMENT,
        ),
        # Another product's contract: this product does not reach the tenant.
        "elsewhere": ContractFactory(tenant=tenants["elsewhere"], product=ProductFactory()),
    }
    contracts["silent"].options.add(option)
    for version in (pending, explicit):
        consent_states_open(version=version)
    with clock.frozen_at(BEFORE):
        consent_answer(
            scope=admin_scope(tenants["accepted"]),
            tenant=tenants["accepted"],
            version=explicit,
            answer="accepted",
        )
    TermsVersion.objects.filter(pk=explicit.pk).update(status=VersionStatus.EFFECTIVE)
    assert NOTICE_ON < BEFORE < EFFECTIVE_ON < TODAY
    return World(product, pending, explicit, tenants, contracts)


def _product(world: World) -> Scope:
    return Scope.product(product_id=world.product.pk, key_id=None, scopes=("status:read",))


STAFF = Scope.system()


def _reference(scope: Scope, tenant: Tenant, product: Product) -> StatusCheck:
    """The check as it read before: the contracts with their own query, then the documents."""
    contract_rows = list(
        Contract.objects.filter(tenant=tenant, product=product).values_list(
            "pk", "status", "options", "start_date", "ended_on"
        )
    )
    if scope.is_product and not contract_rows:
        raise NotFound("tenant_not_found")
    return status_from_rows(
        tenant_id=tenant.pk,
        product_id=product.pk,
        contract_rows=contract_rows,
        documents=status_rows(
            tenant_id=tenant.pk, product_id=product.pk, any_tenant=True
        ).documents,
        today=clock.today(),
    )


def _answer(scope: Scope, tenant: Tenant, product: Product) -> StatusCheck | None:
    try:
        return tenant_is_allowed(scope=scope, tenant=tenant, product=product)
    except NotFound:
        return None


def _expected(check: StatusCheck | None) -> tuple | None:
    if check is None:
        return None
    return (
        check.allowed,
        check.contract_active,
        check.flags,
        [(v.document_id, v.status, v.binding_version_id) for v in check.versions],
    )


@pytest.mark.parametrize("scope_name", ["product", "staff"])
def test_one_statement_answers_what_the_contracts_query_answered(
    world: World, scope_name: str
) -> None:
    scope = _product(world) if scope_name == "product" else STAFF
    with clock.frozen_at(TODAY):
        for name, tenant in world.tenants.items():
            reference: StatusCheck | None
            try:
                reference = _reference(scope, tenant, world.product)
            except NotFound:
                reference = None
            with CaptureQueriesContext(connection) as captured:
                answer = _answer(scope, tenant, world.product)
            assert answer == reference, name
            assert len(captured) == 1, name


def test_one_statement_literal_answers(world: World) -> None:
    """The same answers spelt out: whom the product reaches, which contracts are active."""
    w = world
    a, b, c = (
        w.pending.document_id,
        w.explicit.document_id,
        w.product.documents.get(kind="individual").pk,
    )
    v_a1 = w.pending.document.versions.get(status=VersionStatus.EFFECTIVE).pk
    v_b1 = w.explicit.document.versions.get(status=VersionStatus.SUPERSEDED).pk
    v_c1 = TermsVersion.objects.get(document_id=c).pk
    product = _product(w)
    with clock.frozen_at(TODAY):
        answers = {n: _answer(product, t, w.product) for n, t in w.tenants.items()}
        staff = {n: _answer(STAFF, t, w.product) for n, t in w.tenants.items()}
    no_answer, outstanding, accepted = (
        ConsentStatus.NO_ANSWER,
        ConsentStatus.OUTSTANDING,
        ConsentStatus.ACCEPTED,
    )
    assert {n: _expected(check) for n, check in answers.items()} == {
        # Gated since 2025-04-04; the ended contract is not listed, the option binds C.
        "silent": (
            False,
            True,
            (FLAG_OUTSTANDING,),
            [(a, no_answer, v_a1), (b, outstanding, v_b1), (c, no_answer, v_c1)],
        ),
        "accepted": (True, True, (), [(a, no_answer, v_a1), (b, accepted, w.explicit.pk)]),
        # Not bound when B2 took effect: B2 binds it without an answer.
        "future": (True, True, (), [(a, no_answer, v_a1), (b, no_answer, w.explicit.pk)]),
        # Its contract ended before B2 took effect: B2 binds it without an answer, but without
        # an active contract it may not use the product.
        "ended": (
            False,
            False,
            (FLAG_CONTRACT_INACTIVE,),
            [(a, no_answer, v_a1), (b, no_answer, w.explicit.pk)],
        ),
        "elsewhere": None,  # 404: the product does not reach the tenant
        "none": None,
    }
    assert answers["silent"].contract_ids == (w.contracts["silent"].pk,)
    assert answers["ended"].contract_ids == ()
    # Staff reach every tenant: the product's documents, no active contract.
    for name in ("elsewhere", "none"):
        check = staff[name]
        assert check is not None
        assert (check.allowed, check.contract_active, check.flags) == (
            False,
            False,
            (FLAG_CONTRACT_INACTIVE,),
        )
        assert [v.document_id for v in check.versions] == [a, b]
    assert {n: staff[n] for n in answers if answers[n]} == {
        n: check for n, check in answers.items() if check
    }


@pytest.mark.parametrize("scope_name", ["product", "staff"])
def test_one_statement_for_many_tenants_answers_each_single_check(
    world: World, scope_name: str
) -> None:
    scope = _product(world) if scope_name == "product" else STAFF
    ids = [t.pk for t in world.tenants.values()]
    with clock.frozen_at(TODAY):
        singles = {pk: _answer(scope, Tenant(pk=pk), world.product) for pk in ids}
        with CaptureQueriesContext(connection) as captured:
            bulk = tenants_status(scope=scope, tenant_ids=ids, product=world.product)
    assert list(bulk.results) == [check for check in singles.values() if check is not None]
    assert list(bulk.not_found) == [pk for pk, check in singles.items() if check is None]
    # Nothing cached yet: one statement (staff first ask which of the tenants exist).
    assert len(captured) == (1 if scope.is_product else 2)
