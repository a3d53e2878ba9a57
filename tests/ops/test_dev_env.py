"""`make run` leaves a development .env that manage.py reads (scripts/dev_env.py)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
PROBE = (
    "import django; django.setup(); from django.conf import settings as s; "
    "print(s.DEBUG, s.SECRET_KEY)"
)


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TERMS_"))}
    for name in ("DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL", "EMAIL_URL"):
        env.pop(name, None)
    env.update(extra)
    return env


def _write(path: Path, **environ: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "scripts" / "dev_env.py"), str(path)],
        env=_clean_env(**environ),
        capture_output=True,
        text=True,
        check=True,
    )


def test_dev_env_is_written_once_private_and_debug(tmp_path) -> None:
    path = tmp_path / ".env"
    first = _write(path, DATABASE_URL="postgres://dev@127.0.0.1:5432/terms_dev")
    assert "wrote" in first.stdout
    text = path.read_text()
    assert "DJANGO_DEBUG=true\n" in text
    assert "DATABASE_URL=postgres://dev@127.0.0.1:5432/terms_dev\n" in text
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    secret = next(line for line in text.splitlines() if line.startswith("DJANGO_SECRET_KEY="))
    assert len(secret.split("=", 1)[1]) >= 50
    # An existing file, even one a person edited, is never overwritten.
    path.write_text("DJANGO_DEBUG=false\n")
    assert _write(path).stdout == ""
    assert path.read_text() == "DJANGO_DEBUG=false\n"


def test_manage_py_runs_with_nothing_exported_but_the_file(tmp_path) -> None:
    path = tmp_path / ".env"
    _write(path, TERMS_VAR_DIR=str(tmp_path / "var"))
    secret = next(
        line.split("=", 1)[1]
        for line in path.read_text().splitlines()
        if line.startswith("DJANGO_SECRET_KEY=")
    )
    env = _clean_env(DJANGO_SETTINGS_MODULE="terms_site.settings", TERMS_ENV_FILE=str(path))
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", secret]
    # Without the file the same command is a production start and says what is missing.
    env["TERMS_ENV_FILE"] = str(tmp_path / "absent.env")
    bare = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert bare.returncode != 0
    assert "DJANGO_SECRET_KEY" in bare.stderr


def test_env_is_git_ignored() -> None:
    result = subprocess.run(
        ["git", "check-ignore", "-q", ".env"], cwd=REPO, capture_output=True, check=False
    )
    assert result.returncode == 0
