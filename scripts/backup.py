"""`make backup`: pg_dump (custom format) + a JSON manifest into backups/ under TERMS_VAR_DIR.

    python scripts/backup.py [--output-dir DIR]
    python scripts/backup.py --record-pgbackrest [--stanza NAME] [--info FILE|-]

Reads the database from DATABASE_URL (environment or .env). The second form takes no dump: it
records pgBackRest's newest backup (from `pgbackrest info --output=json`, run here or given
as a file or on stdin) for the backup-age metric.

Exit codes (docs/operations.md, "Back up"): 0 done; 1 the backup was taken but its manifest
carries no signed ledger checkpoint (no signing key); 2 nothing was taken or recorded (usage,
configuration, database unreachable, pg_dump or pgbackrest failed, folder not writable).
See terms_site/backups.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="where the dump and manifest go (default: backups/ under TERMS_VAR_DIR, var/)",
    )
    parser.add_argument(
        "--record-pgbackrest",
        action="store_true",
        help="record pgBackRest's newest backup instead of taking a dump",
    )
    parser.add_argument("--stanza", default="terms", help="pgBackRest stanza (default: terms)")
    parser.add_argument(
        "--info",
        metavar="FILE",
        help="pgBackRest's `info --output=json` from FILE ('-': stdin) instead of running it",
    )
    args = parser.parse_args()  # a usage error exits 2
    if args.info and not args.record_pgbackrest:
        parser.error("--info goes with --record-pgbackrest")

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terms_site.settings")
    try:
        import django  # noqa: PLC0415 -- after sys.path and settings are in place

        django.setup()
    except Exception as exc:  # nothing has been done yet: any failure is a configuration error
        print(f"backup failed: configuration: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    from terms_site.backups import (  # noqa: PLC0415
        BackupError,
        backup,
        manifest_checkpoint_error,
        manifest_summary,
        pgbackrest_record,
    )

    if args.record_pgbackrest:
        try:
            info = None
            if args.info:
                info = sys.stdin.read() if args.info == "-" else Path(args.info).read_text()
            stopped, detail = pgbackrest_record(args.stanza, info)
        except (BackupError, OSError) as exc:
            print(f"not recorded: {exc}", file=sys.stderr)
            return 2
        print(f"recorded pgBackRest backup {detail['label']} ({detail['type']}) of {stopped}")
        return 0

    from django.conf import settings  # noqa: PLC0415

    # Under TERMS_VAR_DIR, not the checkout: a deployed checkout is read-only for the service.
    output_dir = args.output_dir or Path(settings.VAR_DIR) / "backups"
    try:
        dump, manifest = backup(output_dir)
    except BackupError as exc:
        print(f"backup failed: {exc}", file=sys.stderr)
        return 2
    data = json.loads(manifest.read_text())
    print(manifest_summary(data))
    print(f"dump:     {dump}")
    print(f"manifest: {manifest}")
    error = manifest_checkpoint_error(data)
    if error is not None:
        print(f"WARNING the manifest has no signed ledger checkpoint: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
