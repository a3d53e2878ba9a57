from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agreements.ledger.verify import ledger_export_rows, ledger_verify
from agreements.models import ConsentRecord


class Command(BaseCommand):
    help = (
        "Recompute every tenant's consent ledger chain (docs/ledger.md). Exits non-zero and "
        "names the tenant and seq of the first bad row: bad hash, broken link, seq gap, head "
        "mismatch or evidence that no longer matches its digests."
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
            "--export",
            metavar="FILE",
            help="also write the rows as JSON lines for the standalone verifier in docs/ledger.md",
        )

    def handle(self, *args: object, **options: object) -> None:
        tenants = options["tenants"]
        export = options["export"]
        if export:
            with Path(str(export)).open("w", encoding="utf-8") as out:
                for row in ledger_export_rows(tenant_ids=tenants):  # type: ignore[arg-type]
                    out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        problems = ledger_verify(tenant_ids=tenants)  # type: ignore[arg-type]
        if problems:
            for problem in problems:
                self.stderr.write(str(problem))
            raise CommandError(f"ledger verification failed: {problems[0]}")
        rows = ConsentRecord.objects.all()
        if tenants:
            rows = rows.filter(tenant_id__in=tenants)
        self.stdout.write(self.style.SUCCESS(f"ledger OK: {rows.count()} rows verified"))
