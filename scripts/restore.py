"""`make restore FILE=…`: restore a backup into an EMPTY database and prove it is complete.

    python scripts/restore.py var/backups/terms-<time>.dump [--manifest FILE]

The target is DATABASE_URL (environment or .env); it must exist and be empty. After
pg_restore, `verify_ledger` recomputes every chain (and checks it against the newest signed
checkpoint), the chain heads and the row count of every table are compared with the manifest,
and the manifest's own signed checkpoint must verify and match the restored chains.

Exit codes (docs/operations.md, "Restore"): 0 all equal; 1 restored but something differs or
could not be checked (do not put it into service); 2 refused, nothing was changed (usage,
configuration, damaged dump or manifest, database unreachable or not empty, no client).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dump", type=Path, help="the .dump file written by scripts/backup.py")
    parser.add_argument("--manifest", type=Path, help="default: <dump>.manifest.json beside it")
    args = parser.parse_args()  # a usage error exits 2

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terms_site.settings")
    try:
        import django  # noqa: PLC0415 -- after sys.path and settings are in place

        django.setup()
    except Exception as exc:  # nothing has been done yet: any failure is a configuration error
        print(f"restore refused: configuration: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    from terms_site.backups import BackupError, manifest_for, restore  # noqa: PLC0415

    try:
        report = restore(args.dump, args.manifest or manifest_for(args.dump))
    except BackupError as exc:
        print(f"restore refused: {exc}", file=sys.stderr)
        return 2
    for note in report.notes:
        print(note)
    for problem in report.problems:
        print(f"MISMATCH {problem}", file=sys.stderr)
    if not report.ok:
        print(f"restore FAILED verification ({len(report.problems)} problems)", file=sys.stderr)
        return 1
    print(
        "restore verified: ledger intact, chain heads, checkpoint and row counts match the manifest"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
