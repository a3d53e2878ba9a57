from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from agreements.services.consents.projection import consent_state_rebuild


class Command(BaseCommand):
    help = (
        "Rebuild the ConsentState projection from the consent ledger and the versions. "
        "With --check, change nothing and exit non-zero if the projection differs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tenant",
            type=int,
            action="append",
            dest="tenants",
            help="only this tenant id (repeatable)",
        )
        parser.add_argument(
            "--check", action="store_true", help="report differences, write nothing"
        )

    def handle(self, *args: object, **options: object) -> None:
        tenants = options["tenants"]
        if options["check"]:
            with transaction.atomic():
                changed = consent_state_rebuild(tenant_ids=tenants)  # type: ignore[arg-type]
                transaction.set_rollback(True)
            if changed:
                raise CommandError(f"the projection differs from the ledger in {changed} rows")
            self.stdout.write(self.style.SUCCESS("projection matches the ledger"))
            return
        changed = consent_state_rebuild(tenant_ids=tenants)  # type: ignore[arg-type]
        self.stdout.write(self.style.SUCCESS(f"projection rebuilt: {changed} rows changed"))
