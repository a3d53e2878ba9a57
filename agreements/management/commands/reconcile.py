from __future__ import annotations

import json
import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandParser

from agreements.jobs.reconcile import Finding, reconcile
from core import clock
from core.masking import mask_personal_data


class Command(BaseCommand):
    help = (
        "List what is due but not done, done twice, or sent but not recorded. "
        "Exits 1 when anything is found (raw e-mail resends are reported, not counted). "
        "E-mail addresses in the examples are masked unless --show-personal-data is given."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--today", type=date.fromisoformat, default=None)
        parser.add_argument("--json", action="store_true")
        # The output goes to terminals, tickets and chat: customers' addresses stay out of it
        # unless whoever runs the command asks for them.
        parser.add_argument(
            "--show-personal-data",
            action="store_true",
            help="print e-mail addresses in the examples instead of [redacted]",
        )

    def handle(self, *args: object, **options: object) -> None:
        if options["today"]:
            today = options["today"]
            with clock.frozen_at(today):  # type: ignore[arg-type]
                findings = reconcile(today=today)  # type: ignore[arg-type]
        else:
            today = clock.today()
            findings = reconcile(today=today)
        if not options["show_personal_data"]:
            findings = [_masked(finding) for finding in findings]
        problems = [f for f in findings if f.is_problem]
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "today": today.isoformat(),  # type: ignore[union-attr]
                        "problems": len(problems),
                        "findings": [f.__dict__ for f in findings],
                    }
                )
            )
        else:
            for finding in findings:
                mark = "!!" if finding.is_problem else "ok" if finding.family != "info" else "--"
                line = f"{mark} {finding.family:<18} {finding.name:<36} {finding.count}"
                if finding.examples and finding.count:
                    line += "  e.g. " + "; ".join(finding.examples)
                self.stdout.write(line)
        if problems:
            self.stderr.write(f"{len(problems)} finding(s)")
            sys.exit(1)


def _masked(finding: Finding) -> Finding:
    return Finding(
        family=finding.family,
        name=finding.name,
        count=finding.count,
        examples=[mask_personal_data(example) for example in finding.examples],
    )
