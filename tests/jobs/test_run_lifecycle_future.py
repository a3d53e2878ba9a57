"""`run_lifecycle` refuses a day after today unless told it is a test or demo database: the
jobs would make that day happen now, for good (a revision in force early, deemed rows dated
then, e-mails sent)."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from core import clock

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_a_day_after_today_is_refused_and_nothing_runs() -> None:
    tomorrow = clock.today() + timedelta(days=1)
    with pytest.raises(CommandError, match="--future"):
        call_command("run_lifecycle", "--today", tomorrow.isoformat(), stdout=StringIO())
    with pytest.raises(CommandError, match="--future"):
        call_command(
            "run_lifecycle",
            "--today",
            clock.today().isoformat(),
            "--until",
            tomorrow.isoformat(),
            stdout=StringIO(),
        )


def test_today_a_past_day_and_a_future_one_with_future_run() -> None:
    for day, extra in (
        (clock.today(), []),
        (clock.today() - timedelta(days=3), []),
        (clock.today() + timedelta(days=1), ["--future"]),
    ):
        out = StringIO()
        call_command("run_lifecycle", "--today", day.isoformat(), *extra, stdout=out)
        assert out.getvalue().startswith(day.isoformat())
