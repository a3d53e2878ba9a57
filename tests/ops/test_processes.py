"""Each process kind names its PostgreSQL connections (terms_site/processes.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

from terms_site.processes import application_name, process_kind, timeout_kind

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.unit
@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        (["/opt/terms/venv/bin/gunicorn", "-c", "deploy/gunicorn.conf.py"], "web"),
        (["/opt/venv/bin/celery", "-A", "terms_site", "--quiet", "worker", "-c", "2"], "worker"),
        (["/opt/venv/bin/celery", "-A", "terms_site", "--quiet", "beat"], "beat"),
        ([".venv/bin/celery", "-A", "terms_site", "worker", "-B", "--pool=solo"], "worker+beat"),
        (["manage.py", "migrate", "--no-input"], "manage:migrate"),
        (["manage.py", "-v0", "loaddemo"], "manage:loaddemo"),
        (["manage.py", "runserver", "127.0.0.1:8000"], "web"),
        (["scripts/backup.py"], "backup"),
    ],
)
def test_process_kind_from_the_command_line(argv, kind) -> None:
    assert process_kind(argv) == kind
    assert application_name(argv) == f"terms-{kind}"


@pytest.mark.unit
@pytest.mark.parametrize(
    ("argv", "kind"),
    [
        (["/opt/terms/venv/bin/gunicorn", "-c", "deploy/gunicorn.conf.py"], "web"),
        (["manage.py", "runserver", "127.0.0.1:8000"], "web"),
        (["/opt/venv/bin/celery", "-A", "terms_site", "--quiet", "worker", "-c", "2"], "worker"),
        ([".venv/bin/celery", "-A", "terms_site", "worker", "-B", "--pool=solo"], "worker"),
        (["/usr/lib/python3/site-packages/celery/__main__.py", "-A", "x", "beat"], "beat"),
        (["manage.py", "migrate"], "command"),
        (["scripts/backup.py"], "command"),
        (["/work/.venv/bin/pytest", "tests"], "command"),
    ],
)
def test_one_reading_of_the_command_line_names_and_times_a_process(argv, kind) -> None:
    """The statement timeout's class comes from the same reading as application_name."""
    assert timeout_kind(argv) == kind


@pytest.mark.unit
def test_application_name_fits_postgres() -> None:
    assert len(application_name(["manage.py", "x" * 100])) == 63


@pytest.mark.integration
@pytest.mark.django_db
def test_this_connection_carries_its_application_name() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('application_name')")
        (name,) = cursor.fetchone()
    assert name.startswith("terms-")


@pytest.mark.integration
def test_a_manage_command_is_named_in_pg_stat_activity() -> None:
    from django.conf import settings

    db = settings.DATABASES["default"]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "terms_site.settings",
        "DJANGO_DEBUG": "true",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/postgres",
    }
    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.db import connection as c; cur = c.cursor(); "
            "cur.execute('SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()'); "
            "print(cur.fetchone()[0])",
        ],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "terms-manage:shell"
