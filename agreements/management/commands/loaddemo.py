from __future__ import annotations

from datetime import date
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from agreements.demo.story import demo_load
from core import clock


class Command(BaseCommand):
    help = (
        "Load the demo data set, laid out relative to --as-of (default: today in Tokyo). "
        "Idempotent. --terms-dir loads the real seed documents instead of the shipped samples."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--as-of", type=date.fromisoformat, default=None)
        parser.add_argument("--terms-dir", type=Path, default=None)

    def handle(self, *args: object, **options: object) -> None:
        # The demo creates staff and tenant users whose password is printed here and in the
        # README: on a production database that is an open door.
        development = settings.TERMS_DEVELOPMENT_MODE
        if not development and "loaddemo" not in settings.TERMS_ALLOW_NONPRODUCTION:
            raise CommandError(
                "loaddemo refuses to run without DJANGO_DEBUG=true: it creates users with the "
                "published password demo-pass-2026. On a staging host set "
                "TERMS_ALLOW_NONPRODUCTION=loaddemo (docs/operations.md, Production refuses)."
            )
        as_of: date = options["as_of"] or clock.today()  # type: ignore[assignment]
        terms_dir: Path | None = options["terms_dir"]  # type: ignore[assignment]
        if terms_dir is not None and not terms_dir.is_dir():
            raise CommandError(f"--terms-dir {terms_dir} is not a directory")
        summary = demo_load(as_of=as_of, terms_dir=terms_dir)
        state = "loaded" if summary.created else "already present (nothing changed)"
        self.stdout.write(self.style.SUCCESS(f"Demo data as of {as_of.isoformat()}: {state}"))
        for line in summary.story:
            self.stdout.write(f"  - {line}")
        self.stdout.write("Logins (where, user, password):")
        for where, user, password in summary.logins:
            self.stdout.write(f"  {where:<40} {user:<32} {password}")
        for who, key in summary.keys:
            self.stdout.write(f"API key ({who}): Authorization: Api-Key {key}")
