"""`make backup`: pg_dump (custom format) + a JSON manifest into var/backups/.

    python scripts/backup.py [--output-dir DIR]

Reads the database from DATABASE_URL (environment or .env). Exit 0 on success, 1 when the
backup was taken but its manifest carries no signed ledger checkpoint (no signing key: see
docs/operations.md), 2 when the backup could not be taken. See terms_site/backups.py and docs/operations.md.
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
    parser.add_argument("--output-dir", type=Path, default=ROOT / "var" / "backups")
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terms_site.settings")
    import django  # noqa: PLC0415 -- after sys.path and settings are in place

    django.setup()
    from terms_site.backups import (  # noqa: PLC0415
        BackupError,
        backup,
        manifest_checkpoint_error,
        manifest_summary,
    )

    try:
        dump, manifest = backup(args.output_dir)
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
