"""Which kind of process this is: named on every PostgreSQL connection (application_name)
and choosing its database timeouts (settings, TERMS_PROCESS_KIND).

`pg_stat_activity` then says which connections are web, worker, beat or a command run by hand,
which is what an operator needs when the database is out of connections or a query hangs
(docs/operations.md, "Connections"). Plain Python: settings call it before Django is set up.
One reading of the command line for both, so a process is never named one kind and timed as
another.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

PREFIX = "terms"
MAX_LENGTH = 63  # PostgreSQL truncates application_name beyond NAMEDATALEN - 1


def process_kind(argv: Sequence[str]) -> str:
    """web, worker, beat, worker+beat, manage:<command> or the program's name."""
    program = os.path.basename(argv[0]) if argv else ""
    args = list(argv[1:])
    if "gunicorn" in program or program == "wsgi.py":
        return "web"
    if program == "celery" or (program == "__main__.py" and "celery" in "".join(argv)):
        if "beat" in args:
            return "beat"
        if "worker" in args:
            return "worker+beat" if ("-B" in args or "--beat" in args) else "worker"
        return "celery"
    if program == "manage.py":
        command = next((a for a in args if not a.startswith("-")), "help")
        return "web" if command == "runserver" else f"manage:{command}"
    if program in ("pytest", "py.test") or program.endswith("pytest"):
        return "test"
    return program.removesuffix(".py") or "python"


def application_name(argv: Sequence[str]) -> str:
    return f"{PREFIX}-{process_kind(argv)}"[:MAX_LENGTH]


def timeout_kind(argv: Sequence[str]) -> str:
    """The statement-timeout class of a process: web, worker, beat or command.

    A web request must fail fast; a job's statement may run as long as its task; a command
    (migrate, backup, verify_ledger, tests) as long as it needs. A worker running beat too is
    timed as a worker."""
    kind = process_kind(argv)
    if kind in ("web", "worker", "beat"):
        return kind
    if kind in ("worker+beat", "celery"):
        return "worker"
    return "command"
