#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terms_site.settings")
    # The development server is a web process; every other command may run long statements.
    kind = "web" if sys.argv[1:2] == ["runserver"] else "command"
    os.environ.setdefault("TERMS_PROCESS_KIND", kind)
    from django.core.management import execute_from_command_line  # noqa: PLC0415 -- after env

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
