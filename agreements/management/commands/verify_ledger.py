from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agreements.ledger.checkpoints import (
    CheckpointProblem,
    checkpoints_verify,
    document_verify_against_database,
)
from agreements.ledger.verify import LedgerProblem, ledger_export_rows, ledger_verify
from agreements.models import ConsentRecord


class Command(BaseCommand):
    help = (
        "Recompute every tenant's consent ledger chain (docs/ledger.md) and check it against "
        "the newest signed checkpoint. Exits non-zero and names the tenant and seq of the "
        "first bad row (bad hash, broken link, seq gap, head mismatch, evidence that no longer "
        "matches its digests) or the checkpoint that no longer holds (a rewritten chain, a "
        "back-dated row, a removed or forged checkpoint)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--tenant",
            type=int,
            action="append",
            dest="tenants",
            help="only this tenant id (repeatable; checkpoints are then not checked)",
        )
        parser.add_argument(
            "--export",
            metavar="FILE",
            help="also write the rows as JSON lines for the standalone verifier in docs/ledger.md",
        )
        parser.add_argument(
            "--checkpoints",
            type=int,
            default=1,
            metavar="N",
            help="check the chains against the N newest checkpoints (default 1; 0: all)",
        )
        parser.add_argument(
            "--checkpoint",
            action="append",
            dest="documents",
            metavar="FILE",
            help="also check against a checkpoint kept outside the database: a backup "
            "manifest or a `ledger_checkpoint --output` file (repeatable)",
        )
        parser.add_argument(
            "--require-checkpoint",
            action="store_true",
            help="fail when the database holds no checkpoint at all",
        )

    def handle(self, *args: object, **options: Any) -> None:
        tenants: list[int] | None = options["tenants"]
        export = options["export"]
        if export:
            with Path(str(export)).open("w", encoding="utf-8") as out:
                for row in ledger_export_rows(tenant_ids=tenants):
                    out.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")
        problems: list[LedgerProblem | CheckpointProblem] = list(ledger_verify(tenant_ids=tenants))
        notes: list[str] = []
        if not tenants:
            checked, found = checkpoints_verify(latest=options["checkpoints"])
            problems.extend(found)
            if checked:
                notes.append(f"{checked} signed checkpoint{'s' if checked > 1 else ''} hold")
            elif options["require_checkpoint"]:
                problems.append(CheckpointProblem(0, "no_checkpoint", "none has been signed"))
            else:
                notes.append("no signed checkpoint yet: chains checked against themselves only")
            for path in options["documents"] or []:
                problems.extend(document_verify_against_database(_document(Path(path))))
                notes.append(f"the checkpoint in {Path(path).name} holds")
        if problems:
            for problem in problems:
                self.stderr.write(str(problem))
            raise CommandError(f"ledger verification failed: {problems[0]}")
        rows = ConsentRecord.objects.all()
        if tenants:
            rows = rows.filter(tenant_id__in=tenants)
        # One line: operations scripts read the last line of this command's output.
        summary = "; ".join([f"ledger OK: {rows.count()} rows verified", *notes])
        self.stdout.write(self.style.SUCCESS(summary))


def _document(path: Path) -> dict[str, Any]:
    """A checkpoint document, on its own or inside a backup manifest ("checkpoint")."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from exc
    document = data.get("checkpoint", data) if isinstance(data, dict) else None
    if not isinstance(document, dict) or "statement" not in document:
        raise CommandError(f"{path} holds no checkpoint")
    return document
