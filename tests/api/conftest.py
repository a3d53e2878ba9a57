"""Callers of the API as configured clients: partners, products, staff, anonymous."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rest_framework.test import APIClient

from agreements.enums import ProductKeyScope
from agreements.models import Product, ProductKey
from tenants.enums import KeyScope
from tenants.keys import PRODUCT_KEY_TAG, issue_key
from tenants.models import Partner
from terms_site import clock
from tests.factories.agreements import ProductFactory
from tests.factories.tenants import PartnerFactory, StaffFactory, make_partner_key


def key_client(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


def make_product_key(
    product: Product, *, scopes: list[str] | None = None, revoked: bool = False
) -> tuple[ProductKey, str]:
    issued = issue_key(PRODUCT_KEY_TAG)
    key = ProductKey.objects.create(
        product=product,
        name="test",
        prefix=issued.prefix,
        hashed_key=issued.hashed,
        scopes=scopes if scopes is not None else list(ProductKeyScope.values),
        revoked_at=clock.now() if revoked else None,
    )
    return key, issued.full


@pytest.fixture
def partner(db) -> Partner:
    return PartnerFactory()


@pytest.fixture
def other_partner(db) -> Partner:
    return PartnerFactory()


@pytest.fixture
def partner_client(partner: Partner) -> APIClient:
    _key, raw = make_partner_key(partner)
    return key_client(raw)


@pytest.fixture
def other_partner_client(other_partner: Partner) -> APIClient:
    _key, raw = make_partner_key(other_partner)
    return key_client(raw)


@pytest.fixture
def read_only_client(partner: Partner) -> APIClient:
    _key, raw = make_partner_key(partner, scopes=[KeyScope.READ])
    return key_client(raw)


@pytest.fixture
def revoked_client(partner: Partner) -> APIClient:
    _key, raw = make_partner_key(partner, revoked=True)
    return key_client(raw)


@pytest.fixture
def product(db) -> Product:
    return ProductFactory(code="optimal-biz", name="Optimal Biz")


@pytest.fixture
def product_client(product: Product) -> APIClient:
    _key, raw = make_product_key(product)
    return key_client(raw)


@pytest.fixture
def staff_client(db) -> APIClient:
    client = APIClient()
    client.force_login(StaffFactory())
    return client


@pytest.fixture
def anonymous_client() -> APIClient:
    return APIClient()


@pytest.fixture
def client_for_key() -> Callable[[str], APIClient]:
    return key_client
