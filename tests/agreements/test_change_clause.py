"""The change clause a version relies on (R2) comes from its product's rulebook: Optimal Biz
versions cite Biz 2 by default, OPTiM ID+ versions cite none (its available text has no change
clause, a revision rests on CC 548-4 alone) — never the other product's heading."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from django.apps import apps

from agreements.rulebook import rulebook_for
from agreements.services.version_drafts import version_draft_create
from core import clock
from tenants.scope import Scope
from tests.agreements.version_fixtures import *  # noqa: F403 -- fixtures
from tests.factories.agreements import VersionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

BIZ_CLAUSE = "第２条（本規約の変更）"


def test_r2_change_clause_default_comes_from_the_rulebook():
    assert rulebook_for("optimal-biz").change_clause == BIZ_CLAUSE
    assert rulebook_for("optim-id-plus").change_clause == ""
    assert rulebook_for("no-such-product").change_clause == ""


def test_r2_idplus_draft_carries_no_biz_change_clause(catalog, editor):
    # An earlier ID+ version still holding the old default: the draft must not copy it.
    VersionFactory(
        document=catalog.id_plus_terms,
        label="2022-04-27",
        effective_on=date(2022, 4, 27),
        change_clause=BIZ_CLAUSE,
    )
    with clock.frozen_at(date(2025, 3, 3)):
        fresh = version_draft_create(
            scope=Scope.staff(editor), document=catalog.id_plus_terms, label="2025-04"
        )
    assert fresh.change_clause == ""


def test_r2_biz_draft_relies_on_biz_article_2(catalog, editor):
    with clock.frozen_at(date(2025, 3, 3)):
        draft = version_draft_create(
            scope=Scope.staff(editor), document=catalog.biz_terms, label="2025-04"
        )
    assert draft.change_clause == BIZ_CLAUSE


def test_r2_migration_clears_the_biz_clause_from_idplus_versions_only(catalog):
    idplus = VersionFactory(
        document=catalog.id_plus_terms, label="2022", effective_on=date(2022, 4, 27)
    )
    biz = VersionFactory(document=catalog.biz_terms, label="2024", effective_on=date(2024, 11, 22))
    idplus.__class__.objects.filter(pk__in=[idplus.pk, biz.pk]).update(change_clause=BIZ_CLAUSE)
    migration = importlib.import_module(
        "agreements.migrations.0011_version_change_clause_not_borrowed"
    )
    migration.clear_borrowed_clause(apps, None)
    idplus.refresh_from_db()
    biz.refresh_from_db()
    assert (idplus.change_clause, biz.change_clause) == ("", BIZ_CLAUSE)
