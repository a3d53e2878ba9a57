"""The version that binds each tenant (R4, CC 548-4; R1), read from the ledger and the versions:
the consent status (portal, console, partner API), the products' status check and the console's
drill-down agree on it."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from agreements.enums import Answer, ConsentMode, LegalBasis
from agreements.models import TermsDocument, TermsVersion
from agreements.selectors.consents import consent_status_for_tenant, tenant_is_allowed
from agreements.selectors.consents.binding import binding_versions_for_tenants
from agreements.selectors.consents.status_sql import STATUS_COLUMNS, status_params, status_sql
from agreements.services.consents import consent_answer, consent_states_open
from agreements.services.versions.effective import version_apply_effective
from core import clock
from tenants.models import Tenant
from tenants.scope import Scope
from tests.factories.agreements import (
    DocumentFactory,
    OptionFactory,
    ProductFactory,
    VersionFactory,
)
from tests.factories.consents import (
    AFTER,
    BEFORE,
    EFFECTIVE_ON,
    admin_scope,
    bound_tenant,
    posted_version,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

STAFF = Scope.system()


def _document(code: str = "optimal-biz", **kwargs: object) -> TermsDocument:
    return DocumentFactory(product=ProductFactory(code=code), **kwargs)


def _answer(tenant: Tenant, version: TermsVersion, value: str, on: date = BEFORE) -> None:
    with clock.frozen_at(on):
        consent_answer(scope=admin_scope(tenant), tenant=tenant, version=version, answer=value)


def _revision(
    document: TermsDocument,
    *,
    basis: str = LegalBasis.EXPLICIT_CONSENT,
    mode: str = ConsentMode.EXPLICIT,
    **kwargs: object,
) -> TermsVersion:
    version = posted_version(document, mode=mode, legal_basis=basis, **kwargs)
    consent_states_open(version=version)
    return version


def _take_effect(version: TermsVersion) -> None:
    assert version.effective_on is not None
    with clock.frozen_at(version.effective_on):
        assert version_apply_effective(version_id=version.pk, today=version.effective_on) in (
            "effective",
            "superseded_previous",
        )
    version.refresh_from_db()


def _statement_binding(vendor: str, *, tenant: Tenant, document: TermsDocument) -> int | None:
    with connection.cursor() as cursor:
        cursor.execute(
            status_sql(vendor),
            status_params(tenant_id=tenant.pk, product_id=document.product_id, any_tenant=True),
        )
        rows = {row[0]: row for row in cursor}
    return rows[document.pk][STATUS_COLUMNS.index("binding_id")]


def _bindings(tenant: Tenant, document: TermsDocument, on: date) -> set[str | None]:
    """The binding version's label as each read gives it; one element when they agree."""
    with clock.frozen_at(on):
        status = next(
            s
            for s in consent_status_for_tenant(scope=STAFF, tenant=tenant)
            if s.document.pk == document.pk
        )
        check = tenant_is_allowed(scope=STAFF, tenant=tenant, product=document.product)
        drill = binding_versions_for_tenants(document=document, tenant_ids=[tenant.pk])
    checked = next(b for b in check.versions if b.document_id == document.pk)
    # The status check's statement in both forms (LATERAL and portable) gives the same one.
    statement = {
        _statement_binding(vendor, tenant=tenant, document=document)
        for vendor in ("postgresql", "sqlite")
    }
    assert statement == {checked.binding_version_id}
    labels = {
        status.binding_version.label if status.binding_version else None,
        checked.binding_version_label,
        drill[tenant.pk].label if drill[tenant.pk] else None,
    }
    ids = {
        status.binding_version.pk if status.binding_version else None,
        checked.binding_version_id,
        drill[tenant.pk].pk if drill[tenant.pk] else None,
    }
    assert len(ids) == len(labels)
    return labels


@pytest.fixture
def explicit_world():
    """Biz base terms: V1 in force since 2024-01-01; V2 put to explicit consent, posted
    2025-03-01, effective 2025-04-01. Three tenants bound since 2024-04-01: one accepts V2,
    one rejects it, one never answers."""
    document = _document()
    v1 = VersionFactory(document=document, label="v1")
    tenants = {name: bound_tenant(document).tenant for name in ("accepted", "rejected", "silent")}
    v2 = _revision(document, label="v2")
    _answer(tenants["accepted"], v2, Answer.ACCEPTED)
    _answer(tenants["rejected"], v2, Answer.REJECTED)
    return document, v1, v2, tenants


def test_binding_version_r4_before_the_effective_date_everyone_is_bound_by_the_version_in_force(
    explicit_world,
) -> None:
    document, _v1, _v2, tenants = explicit_world
    for tenant in tenants.values():
        assert _bindings(tenant, document, BEFORE) == {"v1"}


def test_binding_version_r4_rejected_or_silent_stays_bound_by_the_previous_version(
    explicit_world,
) -> None:
    document, _v1, v2, tenants = explicit_world
    _take_effect(v2)
    assert _bindings(tenants["rejected"], document, AFTER) == {"v1"}
    assert _bindings(tenants["silent"], document, AFTER) == {"v1"}


def test_binding_version_r4_accepted_tenant_is_bound_by_the_new_version(explicit_world) -> None:
    document, _v1, v2, tenants = explicit_world
    _take_effect(v2)
    assert _bindings(tenants["accepted"], document, EFFECTIVE_ON) == {"v2"}
    assert _bindings(tenants["accepted"], document, AFTER) == {"v2"}


def test_binding_version_r4_accepting_after_the_effective_date_binds_from_then(
    explicit_world,
) -> None:
    document, _v1, v2, tenants = explicit_world
    _take_effect(v2)
    _answer(tenants["silent"], v2, Answer.ACCEPTED, on=AFTER)
    assert _bindings(tenants["silent"], document, AFTER) == {"v2"}
    # Switching from a rejection to acceptance counts the last answer (R6 case dropped).
    _answer(tenants["rejected"], v2, Answer.ACCEPTED, on=AFTER)
    assert _bindings(tenants["rejected"], document, AFTER) == {"v2"}


def test_binding_version_r4_consent_status_shows_the_binding_and_the_version_in_force(
    explicit_world,
) -> None:
    _document, v1, v2, tenants = explicit_world
    _take_effect(v2)
    with clock.frozen_at(AFTER):
        (silent,) = consent_status_for_tenant(scope=STAFF, tenant=tenants["silent"])
        (accepted,) = consent_status_for_tenant(scope=STAFF, tenant=tenants["accepted"])
    assert (silent.version_in_force, silent.binding_version, silent.binding_differs) == (
        v2,
        v1,
        True,
    )
    assert (accepted.binding_version, accepted.binding_differs) == (v2, False)


@pytest.mark.parametrize(
    ("basis", "mode"),
    [
        (LegalBasis.GENERAL_INTEREST, ConsentMode.DEEMED),
        (LegalBasis.GENERAL_INTEREST, ConsentMode.EXPLICIT),
        (LegalBasis.REASONABLE, ConsentMode.DEEMED),
        (LegalBasis.REASONABLE, ConsentMode.EXPLICIT),
    ],
)
@pytest.mark.parametrize("code", ["optimal-biz", "optim-id-plus"])
def test_binding_version_r4_type_i_ii_revision_binds_everyone_at_its_effective_date(
    basis: str, mode: str, code: str
) -> None:
    """CC 548-4: a revision on a (1)(i) or (ii) ground binds without individual consent: a
    tenant that objected or stayed silent is bound too (its remedy is ending the contract)."""
    document = _document(code)
    VersionFactory(document=document, label="v1")
    rejecting = bound_tenant(document).tenant
    silent = bound_tenant(document).tenant
    v2 = _revision(document, basis=basis, mode=mode, label="v2")
    _answer(rejecting, v2, Answer.REJECTED)
    assert _bindings(rejecting, document, BEFORE) == {"v1"}
    _take_effect(v2)
    assert _bindings(rejecting, document, AFTER) == {"v2"}
    assert _bindings(silent, document, AFTER) == {"v2"}


def test_binding_version_r4_idplus_explicit_revision_binds_only_who_accepts() -> None:
    document = _document("optim-id-plus")
    VersionFactory(document=document, label="v1")
    accepting = bound_tenant(document).tenant
    silent = bound_tenant(document).tenant
    v2 = _revision(document, label="v2")
    _answer(accepting, v2, Answer.ACCEPTED)
    _take_effect(v2)
    assert _bindings(accepting, document, AFTER) == {"v2"}
    assert _bindings(silent, document, AFTER) == {"v1"}


def test_binding_version_r1_r4_contract_made_after_the_effective_date_is_bound_by_it(
    explicit_world,
) -> None:
    """A contract made after an explicit revision took effect was made on that version: the
    tenant owes no answer and is bound by it (R1); another that was bound on the effective
    date and stayed silent is not."""
    document, _v1, v2, _tenants = explicit_world
    newcomer = bound_tenant(document, start_date=date(2025, 5, 1)).tenant
    _take_effect(v2)
    assert _bindings(newcomer, document, date(2025, 5, 10)) == {"v2"}


def test_binding_version_r1_r4_individual_rules_follow_the_option_contracts() -> None:
    """Individual rules bind through the option (R1): a contract holding the option since
    before the revision owes it; a tenant whose contract without the option is older, but
    which took the option only after the revision took effect, was never bound by the older
    rules and is bound by the new ones."""
    option = OptionFactory(product=ProductFactory(code="optimal-biz"))
    rules_doc = DocumentFactory(product=option.product, kind="individual", option=option)
    VersionFactory(document=rules_doc, label="r1")
    holder = bound_tenant(rules_doc).tenant  # with the option since 2024-04-01
    later = bound_tenant(DocumentFactory(product=option.product)).tenant  # no option
    bound_tenant(rules_doc, tenant=later, start_date=date(2025, 5, 1))
    r2 = _revision(rules_doc, label="r2")
    _take_effect(r2)
    on = date(2025, 5, 10)
    assert _bindings(holder, rules_doc, on) == {"r1"}
    assert _bindings(later, rules_doc, on) == {"r2"}


def test_binding_version_r4_two_explicit_revisions_keep_the_last_accepted(explicit_world) -> None:
    document, _v1, v2, tenants = explicit_world
    _take_effect(v2)
    with clock.frozen_at(date(2025, 5, 1)):
        v3 = _revision(
            document,
            label="v3",
            notice_on=date(2025, 5, 1),
            effective_on=date(2025, 6, 1),
        )
    _answer(tenants["silent"], v3, Answer.ACCEPTED, on=date(2025, 5, 2))
    _take_effect(v3)
    on = date(2025, 6, 10)
    assert _bindings(tenants["accepted"], document, on) == {"v2"}  # silent on v3
    assert _bindings(tenants["rejected"], document, on) == {"v1"}  # on neither
    assert _bindings(tenants["silent"], document, on) == {"v3"}  # accepted v3 only


def test_binding_versions_for_tenants_r4_drill_down_is_three_queries(
    explicit_world, django_assert_num_queries
) -> None:
    document, v1, v2, tenants = explicit_world
    _take_effect(v2)
    ids = [t.pk for t in tenants.values()]
    with django_assert_num_queries(3):
        bound = binding_versions_for_tenants(document=document, tenant_ids=ids)
    assert {name: bound[t.pk] for name, t in tenants.items()} == {
        "accepted": v2,
        "rejected": v1,
        "silent": v1,
    }
