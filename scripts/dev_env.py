"""Leave a `.env` for development, so that `python manage.py …` works without exporting anything.

    python scripts/dev_env.py [PATH]      # default: .env in the project directory

Writes the file only when it does not exist (an existing `.env` is never touched, whatever it
holds): DJANGO_DEBUG=true, a secret key generated here, and the database, broker and cache
URLs of the current environment when they are set, so that commands run by hand use the
same database as `make run`. Mode 0600. `make run` calls it first.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CARRIED = (
    "DATABASE_URL",
    "CELERY_BROKER_URL",
    "REDIS_URL",
    "TERMS_REDIS_KEY_PREFIX",
    "TERMS_VAR_DIR",
)


def render(environ: dict[str, str]) -> str:
    lines = [
        "# Development settings written by `make run` (scripts/dev_env.py); git-ignored.",
        "# manage.py, celery and tests read it; values exported in the shell win over it.",
        "# Never copy this file to a server: production settings come from .env.example.",
        "DJANGO_DEBUG=true",
        f"DJANGO_SECRET_KEY={secrets.token_urlsafe(50)}",
    ]
    lines += [f"{name}={environ[name]}" for name in CARRIED if environ.get(name)]
    return "\n".join(lines) + "\n"


def write(path: Path, environ: dict[str, str]) -> bool:
    """Create `path` unless it exists; whether it was written."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as handle:
        handle.write(render(environ))
    return True


def main(argv: list[str]) -> int:
    path = Path(argv[1]) if len(argv) > 1 else ROOT / ".env"
    if write(path, dict(os.environ)):
        print(f"wrote {path} for development (DJANGO_DEBUG=true, a new secret key)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
