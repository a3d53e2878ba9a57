"""Fixtures shared by the version tests (import the names into a test module to use them)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from django.contrib.auth.models import Group

from agreements.catalog import Catalog, catalog_ensure
from agreements.models import TermsVersion
from agreements.services.imports import terms_import
from tenants.scope import Scope
from tests.factories.tenants import StaffFactory

__all__ = [
    "biz_2024",
    "catalog",
    "editor",
    "publisher",
    "seed_text",
    "staff_scope",
]


def seed_text(seeds_dir: Path, prefix: str) -> str:
    [path] = sorted(seeds_dir.glob(f"{prefix}_*.txt"))
    return path.read_text(encoding="utf-8")


@pytest.fixture
def catalog() -> Catalog:
    return catalog_ensure()


@pytest.fixture
def editor():
    user = StaffFactory()
    user.groups.add(Group.objects.get_or_create(name="editor")[0])
    return user


@pytest.fixture
def publisher():
    user = StaffFactory()
    user.groups.add(Group.objects.get_or_create(name="publisher")[0])
    return user


def staff_scope(user) -> Scope:
    return Scope.staff(user)


@pytest.fixture
def biz_2024(seeds_dir: Path, catalog: Catalog) -> TermsVersion:
    """Seed 000 imported as the Optimal Biz terms in force since 2024-11-22."""
    return terms_import(
        scope=Scope.system(),
        product_code="optimal-biz",
        label="2024-11-22",
        effective_on=date(2024, 11, 22),
        text=seed_text(seeds_dir, "000"),
        historical=True,
    )
