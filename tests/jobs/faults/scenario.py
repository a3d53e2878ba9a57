"""The drill's data: `python -m tests.jobs.faults.scenario seed N` (fault settings).

N auto-renewing OPTiM ID+ contracts of N tenants, each with one contact address, whose
non-renewal deadline is 60 days from today: the renewal-notice job owes each exactly one
notice today, i.e. N effects and N e-mails.
"""

from __future__ import annotations

import os
import sys


def seed(items: int) -> None:
    from core import clock
    from tests.jobs.builders import (
        contracts_bulk,
        id_plus_product,
        start_for_deadline_in,
        tenants_bulk,
    )

    today = clock.today()
    product = id_plus_product()
    start = start_for_deadline_in(today, 60)
    for offset in range(0, items, 2000):
        chunk = tenants_bulk(min(2000, items - offset), prefix=f"drill{offset}-")
        contracts_bulk(chunk, product, start=start)


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.jobs.faults.settings")
    import django

    django.setup()
    command, *args = sys.argv[1:]
    if command == "seed":
        seed(int(args[0]))
    else:
        raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    main()
