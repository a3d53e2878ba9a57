"""r18_flags and termination_notices no longer plan actions: they check, and reconcile reports
what is owed. Close the actions such jobs left open, so reconcile does not count them forever."""

from django.db import migrations
from django.utils import timezone

CHECK_JOBS = ("r18_flags", "termination_notices")


def close_open_actions(apps, schema_editor):
    PlannedAction = apps.get_model("core", "PlannedAction")
    now = timezone.now()
    PlannedAction.objects.filter(
        job__in=CHECK_JOBS, status__in=["pending", "running", "failed"]
    ).update(
        status="done",
        done_at=now,
        result={"closed": "the job checks instead of planning actions"},
        updated_at=now,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("agreements", "0003_contract_multi_year_cycle"),
        ("core", "0001_initial"),
    ]

    operations = [migrations.RunPython(close_open_actions, migrations.RunPython.noop)]
