from __future__ import annotations

import contextlib
import json
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agreements.jobs import JOBS, lifecycle_run_day
from core import clock


class Command(BaseCommand):
    help = (
        "Run the lifecycle jobs for a business date, as the beat tick would on that day "
        "(the service's one clock is moved to --today for the run). Exits 1 if a job failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", type=date.fromisoformat, default=None)
        parser.add_argument(
            "--until",
            type=date.fromisoformat,
            default=None,
            help="replay every day from --today to this date (inclusive)",
        )
        parser.add_argument("--job", choices=sorted(JOBS), default=None)
        parser.add_argument("--json", action="store_true", help="print the counts as JSON")
        parser.add_argument(
            "--future",
            action="store_true",
            help="allow days after today (a test or demo database only: what the jobs do then "
            "— versions taking effect, deemed rows dated that day, e-mails — is real and stays)",
        )

    def handle(self, *args: object, **options: object) -> None:
        first = options["today"] or clock.today()
        last = options["until"] or first
        if last < first:  # type: ignore[operator]
            raise CommandError("--until is before --today")
        today = clock.today()
        if last > today and not options["future"]:  # type: ignore[operator]
            raise CommandError(
                f"{last} is after today ({today}): the jobs would make it happen now, for good "
                "(versions taking effect, deemed rows dated that day, e-mails sent). Replay past "
                "days only; on a test or demo database pass --future."
            )
        failed = False
        day: date = first  # type: ignore[assignment]
        while day <= last:  # type: ignore[operator]
            # An explicit date moves the service's one clock for the run; without it the jobs
            # run at the real now, as the beat tick does.
            moved = clock.frozen_at(day) if options["today"] else contextlib.nullcontext()
            with moved:
                # A replay of many days records the runs that did something; one day, every run.
                results = lifecycle_run_day(
                    day,
                    only=options["job"],  # type: ignore[arg-type]
                    record_idle=first == last,
                )
            failed = failed or any("error" in counts for counts in results.values())
            if options["json"]:
                self.stdout.write(json.dumps({"date": day.isoformat(), "jobs": results}))
            else:
                busy = {name: counts for name, counts in results.items() if any(counts.values())}
                summary = ", ".join(
                    f"{name} " + " ".join(f"{k}={v}" for k, v in sorted(c.items()) if v)
                    for name, c in busy.items()
                )
                self.stdout.write(f"{day.isoformat()}: {summary or 'nothing due'}")
            day += timedelta(days=1)
        if failed:
            raise CommandError("a job failed; see its JobRun")
