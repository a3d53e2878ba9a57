"""The data migration that closes actions left open by the two jobs that now only check."""

from __future__ import annotations

import importlib
from datetime import date

import pytest
from django.apps import apps

from core.enums import ActionStatus
from core.models import PlannedAction

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

migration = importlib.import_module("agreements.migrations.0004_check_jobs_planned_actions")


def _action(job: str, key: str, status: str) -> PlannedAction:
    return PlannedAction.objects.create(
        job=job, key=key, subject_type="x", subject_id=1, due_on=date(2026, 1, 1), status=status
    )


def test_migration_closes_open_actions_of_check_jobs_only() -> None:
    r18 = _action("r18_flags", "r18_flags:contract:1", ActionStatus.PENDING)
    notice = _action("termination_notices", "termination_notices:termination:1", "failed")
    other = _action("contracts_roll", "contracts_roll:contractperiod:1", ActionStatus.PENDING)

    migration.close_open_actions(apps, None)

    statuses = {
        a.key: a.status for a in PlannedAction.objects.filter(pk__in=[r18.pk, notice.pk, other.pk])
    }
    assert statuses == {
        r18.key: ActionStatus.DONE,
        notice.key: ActionStatus.DONE,
        other.key: ActionStatus.PENDING,
    }
