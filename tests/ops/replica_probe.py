"""Run by tests/ops/test_replica.py in a subprocess with DATABASE_URL (the throwaway primary)
and DATABASE_REPLICA_URL (its streaming replica): the real settings, the real router.

`python -m tests.ops.replica_probe seed` writes the API test world through the primary;
`reads`, `lagging` and `down` call the chosen views and print, as one JSON object, how many
statements each database alias ran for each of them (a wrapper on both connections), plus
what the log said about the replica.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "terms_site.settings")

import django

django.setup()

from django.db import DEFAULT_DB_ALIAS, connections, router  # noqa: E402
from django.test import Client  # noqa: E402

from agreements.models import TermsDocument, TermsVersion  # noqa: E402
from core import clock  # noqa: E402
from core.replica import REPLICA, reads_from_replica  # noqa: E402
from tenants.models import Tenant  # noqa: E402

ALIASES = (DEFAULT_DB_ALIAS, REPLICA)


class ReplicaLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


# The lag check's own statements (core.replica.replica_health), counted apart from the view's.
LAG_CHECK = ("pg_current_wal_lsn", "pg_last_wal_replay_lsn")


@contextmanager
def counted() -> Iterator[Counter[str]]:
    """Statements run per alias inside the block; the lag check's as `<alias>_lag_check`."""
    counts: Counter[str] = Counter()

    def wrapper_for(alias: str) -> Callable[..., Any]:
        def wrapper(execute: Callable[..., Any], sql: str, *args: Any) -> Any:
            check = any(marker in sql for marker in LAG_CHECK)
            counts[f"{alias}_lag_check" if check else alias] += 1
            return execute(sql, *args)

        return wrapper

    with ExitStack() as stack:
        for alias in ALIASES:
            stack.enter_context(connections[alias].execute_wrapper(wrapper_for(alias)))
        yield counts


def seed() -> dict[str, Any]:
    from tests.api.conftest import TODAY, build_world, make_staff

    with clock.frozen_at(TODAY):
        world = build_world()
        viewer = make_staff("viewer")
    return {
        "tenant": world.tenant.pk,
        "other_tenant": world.other_tenant.pk,
        "product_raw": world.product_raw,
        "version": world.v2.pk,
        "viewer": viewer.pk,
        "today": TODAY.isoformat(),
    }


def views(world: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    from django.contrib.auth import get_user_model

    product = Client(HTTP_AUTHORIZATION=f"Api-Key {world['product_raw']}")
    staff = Client()
    staff.force_login(get_user_model().objects.get(pk=world["viewer"]))
    public = Client()
    status_path = f"/api/v1/status/{world['tenant']}/"
    return {
        # The key's first use in a minute touches last_used_at: a write, but after the
        # response (core/after_response.py), so that request too reads the replica.
        "status_first": lambda: product.get(status_path),
        "status": lambda: product.get(status_path),
        "terms_index": lambda: public.get("/terms/", HTTP_ACCEPT_LANGUAGE="ja"),
        "notices": lambda: public.get("/notices/", HTTP_ACCEPT_LANGUAGE="ja"),
        "dashboard": lambda: staff.get("/console/dashboard/"),
        "dashboard_drill": lambda: staff.get(f"/console/dashboard/versions/{world['version']}/"),
        # Not chosen: the documents of the API read the primary only.
        "documents_api_not_chosen": lambda: product.get("/api/v1/documents/"),
    }


def call_views(world: dict[str, Any], names: list[str]) -> dict[str, Any]:
    found = views(world)
    out: dict[str, Any] = {}
    for name in names:
        with counted() as counts:
            response = found[name]()
        body: Any = None
        if response.get("Content-Type", "").startswith("application/json"):
            body = json.loads(response.content)
        key = name if name not in out else f"{name}_{len(out)}"
        out[key] = {"status": response.status_code, "counts": dict(counts), "body": body}
    return out


def markers() -> dict[str, Any]:
    """What the router chooses, asked of the server it chose."""

    def in_recovery(alias: str) -> bool:
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT pg_is_in_recovery()")
            return bool(cursor.fetchone()[0])

    out: dict[str, Any] = {"outside_block": in_recovery(router.db_for_read(TermsDocument))}
    with reads_from_replica() as block:
        out["block_alias"] = block.alias
        out["inside_block"] = in_recovery(router.db_for_read(TermsDocument))
        out["write_alias"] = router.db_for_write(TermsDocument)
        # Sign-in data never comes from the replica.
        from django.contrib.auth import get_user_model

        out["auth_alias"] = router.db_for_read(get_user_model())
        # A write inside the block goes to the primary, and the block reads the primary after it.
        with counted() as counts:
            Tenant.objects.filter(pk=-1).update(name="x")
        out["write_counts"] = dict(counts)
        out["after_write_alias"] = router.db_for_read(TermsDocument)
    # Written straight to the replica alias (what the router never does): refused.
    try:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("UPDATE tenants_tenant SET name = name WHERE id = -1")
        out["replica_write"] = "accepted"
    except Exception as exc:
        out["replica_write"] = f"{type(exc).__name__}: {exc}".splitlines()[0]
    return out


def main(phase: str) -> None:
    log = ReplicaLog()
    logging.getLogger("core.replica").addHandler(log)
    if phase == "seed":
        print(json.dumps(seed()))
        return
    world = json.loads(sys.stdin.read())
    from datetime import date

    result: dict[str, Any] = {}
    with clock.frozen_at(date.fromisoformat(world["today"])):
        if phase == "reads":
            result["views"] = call_views(world, list(views(world)))
            result["markers"] = markers()
        elif phase == "lagging":
            # Replay is paused on the replica (by the test); a write on the primary makes it
            # fall behind; once that is older than the limit, the chosen views read the primary.
            Tenant.objects.filter(pk=world["other_tenant"]).update(name="renamed")
            time.sleep(float(os.environ["TERMS_REPLICA_MAX_LAG_SECONDS"]) + 0.5)
            result["views"] = call_views(world, ["dashboard", "status"])
        elif phase == "fresh_tenant":
            # Replay paused: a version the replica does not have yet would be stale data; a
            # tenant it does not have is a 404 there, so the status check asks the primary.
            from tests.api.conftest import TODAY
            from tests.factories.contracts import make_contract
            from tests.factories.tenants import TenantFactory

            product = TermsVersion.objects.get(pk=world["version"]).document.product
            tenant = TenantFactory()
            make_contract(tenant=tenant, product=product, start_date=TODAY)
            world = {**world, "tenant": tenant.pk}
            result["views"] = call_views(world, ["status"])
        elif phase == "down":
            result["views"] = call_views(world, ["status", "status", "status", "dashboard"])
        result["log"] = log.messages
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main(sys.argv[1])
