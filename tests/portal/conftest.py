"""A tenant bound by the ID+ terms, with a posted explicit revision, an admin and a viewer.

The running example (R11 and the consent truth table in docs/rules.md): ID+ contract from 2024-04-01,
auto-renewing yearly with one month's notice (first period ends 2025-03-31, deadline
2025-02-28); V1 in force since 2024-01-01; V2 (explicit consent) posted 2025-03-01,
effective 2025-04-01. Pages are requested on 2025-03-10 unless a test moves the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import pytest
from django.test import Client

from agreements.enums import ConsentMode, VersionStatus
from agreements.models import Contract, Product, TermsDocument, TermsVersion
from agreements.services.consents import consent_states_open
from core import clock
from tenants.enums import Role
from tenants.models import Membership, Tenant
from tests.factories.agreements import DocumentFactory, VersionFactory
from tests.factories.consents import posted_version
from tests.factories.contracts import biz_product, idplus_product, make_contract
from tests.factories.tenants import MembershipFactory, TenantFactory, UserFactory

TODAY = date(2025, 3, 10)
PASSWORD = "pass-1234-word"

V2_ARTICLES = [
    ("本規約について", "本規約は本サービスの利用に適用されます。"),
    ("本規約の変更", "当社は、お客様に通知のうえ本規約を変更できます。"),
    ("自動更新", "利用期間は、期間満了の1か月前までに申出がない限り自動更新されます。"),
]


@dataclass
class World:
    tenant: Tenant
    contract: Contract
    document: TermsDocument
    v1: TermsVersion
    v2: TermsVersion
    admin: Membership
    viewer: Membership


_TITLES = {"optim-id-plus": "OPTiM ID+サービス利用規約", "optimal-biz": "Optimal Biz 利用規約"}


def build_world(
    *,
    name: str = "ポータル商事株式会社",
    mode: str = ConsentMode.EXPLICIT,
    notice_on: date = date(2025, 3, 1),
    effective_on: date = date(2025, 4, 1),
    product: Product | None = None,
) -> World:
    product = product or idplus_product()
    tenant = TenantFactory(name=name)
    contract = make_contract(tenant=tenant, product=product, start_date=date(2024, 4, 1))
    document = TermsDocument.objects.filter(product=product, kind="base").first() or (
        # Each product's own title: a Biz world's pages and screenshots must not read "ID+".
        DocumentFactory(product=product, title=_TITLES.get(product.code, "利用規約"), slug="terms")
    )
    v1 = TermsVersion.objects.filter(document=document, status=VersionStatus.EFFECTIVE).first()
    if v1 is None:
        v1 = VersionFactory(document=document, label="2024", effective_on=date(2024, 1, 1))
    v2 = TermsVersion.objects.filter(document=document, status=VersionStatus.SCHEDULED).first()
    if v2 is None:
        v2 = posted_version(
            document,
            mode=mode,
            label="2025-04",
            based_on=v1,
            articles=V2_ARTICLES,
            legal_basis="explicit_consent" if mode == ConsentMode.EXPLICIT else "reasonable",
            categories=[{"kind": "substantive", "title": "自動更新への対応"}],
            notice_on=notice_on,
            effective_on=effective_on,
        )
    consent_states_open(version=v2)
    admin = MembershipFactory(
        tenant=tenant, role=Role.ADMIN, user=UserFactory(first_name="管理 太郎")
    )
    viewer = MembershipFactory(tenant=tenant, role=Role.VIEWER)
    return World(tenant, contract, document, v1, v2, admin, viewer)


@pytest.fixture
def today() -> Iterator[date]:
    with clock.frozen_at(TODAY):
        yield TODAY


@pytest.fixture
def world(db, today) -> World:
    return build_world()


def biz_renewing() -> Product:
    """Optimal Biz with the running example's renewal in its order (R11: the order decides),
    for the flows that need the product's R6 clause (Biz 2.4)."""
    return biz_product(terms_auto_renewal=True, terms_notice_months=1)


def signed_in(membership: Membership) -> Client:
    client = Client()
    client.force_login(membership.user)
    return client


@pytest.fixture
def admin_client(world: World) -> Client:
    return signed_in(world.admin)


@pytest.fixture
def viewer_client(world: World) -> Client:
    return signed_in(world.viewer)
