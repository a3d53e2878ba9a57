from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from agreements.ledger.heads import (
    chain_heads,
    daily_heads,
    heads_from_json,
    heads_still_in_chain,
    heads_to_json,
    log_daily_heads,
)
from core import clock


class Command(BaseCommand):
    help = (
        "Print or export the consent ledger's chain heads (tenant id, seq, hash): the current "
        "ones, or those as of 00:00 JST on a date. --check FILE confirms that heads recorded "
        "earlier (an export, a backup manifest) are still in the chains: a rewritten chain "
        "no longer contains them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--as-of",
            type=date.fromisoformat,
            metavar="YYYY-MM-DD",
            help="heads as of 00:00 Asia/Tokyo on this date (the daily heads)",
        )
        parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
        parser.add_argument("--output", metavar="FILE", help="write the JSON export to FILE")
        parser.add_argument(
            "--check",
            metavar="FILE",
            help="exit non-zero unless every head recorded in FILE is still in its chain",
        )
        parser.add_argument(
            "--log", action="store_true", help="also write the heads to the log, one line each"
        )

    def handle(self, *args: object, **options: Any) -> None:
        if options["check"]:
            self._check(Path(options["check"]))
            return
        as_of: date | None = options["as_of"]
        heads = daily_heads(day=as_of) if as_of else chain_heads()
        if options["log"]:
            log_daily_heads(day=as_of)
        export = {
            "as_of": as_of.isoformat() if as_of else None,
            "generated_at": clock.now().isoformat(),
            "heads": heads_to_json(heads),
        }
        if options["output"]:
            Path(options["output"]).write_text(json.dumps(export, indent=2) + "\n")
        if options["json"]:
            self.stdout.write(json.dumps(export, indent=2))
        elif not options["output"]:
            self.stdout.write(f"{'tenant_id':>10}  {'seq':>8}  hash")
            for head in heads:
                self.stdout.write(f"{head.tenant_id:>10}  {head.seq:>8}  {head.hash}")
            self.stdout.write(f"{len(heads)} chains")

    def _check(self, path: Path) -> None:
        data = json.loads(path.read_text())
        # An export has "heads"; a backup manifest has "ledger_heads".
        recorded = heads_from_json(data.get("heads", data.get("ledger_heads", [])))
        missing = heads_still_in_chain(recorded)
        for mismatch in missing:
            self.stderr.write(str(mismatch))
        if missing:
            raise CommandError(
                f"{len(missing)} of {len(recorded)} recorded chain heads are no longer in the ledger"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"chain heads OK: {len(recorded)} recorded heads still in the ledger"
            )
        )
