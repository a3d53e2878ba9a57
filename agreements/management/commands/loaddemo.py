from __future__ import annotations

from datetime import date

from django.core.management.base import BaseCommand, CommandParser

from agreements.demo import demo_load
from terms_site import clock


class Command(BaseCommand):
    help = "Load the demo data set, laid out relative to --as-of (default: today in Tokyo)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=date.fromisoformat, default=None)
        parser.add_argument("--terms-dir", default=None, help="load the real seed documents")

    def handle(self, *args: object, **options: object) -> None:
        as_of = options["as_of"] or clock.today()
        summary = demo_load(as_of=as_of)  # type: ignore[arg-type]
        self.stdout.write(self.style.SUCCESS(f"Demo data as of {summary.as_of.isoformat()}"))
        self.stdout.write("Logins (where, user, password):")
        for where, user, password in summary.logins:
            self.stdout.write(f"  {where:<34} {user:<32} {password}")
        for who, key in summary.keys:
            self.stdout.write(f"Partner API key ({who}): Api-Key {key}")
