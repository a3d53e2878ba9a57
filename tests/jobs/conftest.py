from __future__ import annotations

import pytest

from agreements.models import Product
from tests.jobs.builders import (
    admin_user,
    contracts_bulk,
    id_plus_product,
    start_for_deadline_in,
    tenants_bulk,
)

__all__ = ["admin_user", "contracts_bulk", "start_for_deadline_in", "tenants_bulk"]


@pytest.fixture
def id_plus(db) -> Product:
    return id_plus_product()
