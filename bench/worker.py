"""Bench steps that run in their own process (own memory figures, or another database).

    python -m bench.worker load --tenants N ...      migrate nothing; fill the current database
    python -m bench.worker apply-effective --version ID --today YYYY-MM-DD
    python -m bench.worker roll --today YYYY-MM-DD
    python -m bench.worker post-notice --today YYYY-MM-DD

The database is the one in DATABASE_URL (bench/run.py sets it). Each prints one JSON line
on stdout, the last line of its output.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from typing import Any


def peak_rss_mb(who: int = resource.RUSAGE_SELF) -> float:
    # ru_maxrss is in kilobytes on Linux.
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def vm_hwm_mb() -> float | None:
    """The peak RSS of this process image since exec (Linux), as a cross-check."""
    try:
        for line in open("/proc/self/status", encoding="ascii"):  # noqa: SIM115
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def isolated(argv: list[str]) -> dict[str, Any]:
    """Run this worker again as a child of this small process and add the child's peak RSS.

    A process's ru_maxrss survives fork and exec, so a worker started straight from the
    (large) bench process would report the bench's own peak. Started from here, before
    Django is even imported, the child's figure is its own.
    """
    out = subprocess.run(
        [sys.executable, "-m", "bench.worker", *argv, "--child"],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.stderr.write(out.stderr)
        raise SystemExit(out.returncode)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    result["process_peak_mb"] = peak_rss_mb(resource.RUSAGE_CHILDREN)
    # A job that measures a baseline after itself reports its own peak (VmHWM when it ended).
    result["peak_rss_mb"] = result.pop("job_peak_mb", None) or result["process_peak_mb"]
    return result


@contextmanager
def counting_queries() -> Iterator[dict[str, int]]:
    """Count queries without keeping their SQL (CaptureQueriesContext would hold megabytes of
    bulk INSERT text and distort the memory figure)."""
    from django.db import connection  # noqa: PLC0415 -- after django.setup()

    counter = {"queries": 0}
    # TERMS_BENCH_SQL_TIMES=<file>: time per statement shape (its first words), for finding
    # which statement a missed goal spends its database time on.
    times_to = os.environ.get("TERMS_BENCH_SQL_TIMES")
    shapes: dict[str, list[float]] = {}

    def wrapper(execute: Callable[..., Any], sql: str, params: Any, many: bool, ctx: Any) -> Any:
        counter["queries"] += 1
        if not times_to:
            return execute(sql, params, many, ctx)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, ctx)
        finally:
            shape = re.sub(r"\d+", "N", " ".join(str(sql).split()[:14]))[:160]
            spent = shapes.setdefault(shape, [0, 0.0])
            spent[0] += 1
            spent[1] += time.perf_counter() - started

    with connection.execute_wrapper(wrapper):
        yield counter
    if times_to:
        ranked = sorted(shapes.items(), key=lambda item: -item[1][1])
        with open(times_to, "w", encoding="utf-8") as out:
            for shape, (count, seconds) in ranked:
                out.write(f"{seconds:8.3f} s {int(count):6d}× {shape}\n")


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    import django  # noqa: PLC0415 -- configure first

    django.setup()
    from terms_site.celery import load_urlconf  # noqa: PLC0415 -- after django.setup()

    load_urlconf()  # as a running worker has it (terms_site/celery.py): not part of a job


def cmd_load(args: argparse.Namespace) -> dict[str, Any]:
    from bench.dataset import Sizes, load  # noqa: PLC0415 -- after django.setup()

    sizes = Sizes.from_env(
        tenants=args.tenants,
        partners=args.partners,
        ledger_rows=args.ledger_rows,
        contracts=args.contracts,
        portal_users=args.portal_users,
        versions=args.versions,
    )
    started = time.perf_counter()
    loaded = load(sizes, log=lambda line: print(line, file=sys.stderr))
    return {
        "seconds": round(time.perf_counter() - started, 2),
        "due_periods": loaded.due_periods,
        "sizes": asdict(sizes),
        "steps": loaded.seconds,
    }


def cmd_apply_effective(args: argparse.Namespace) -> dict[str, Any]:
    from agreements.models import ConsentRecord  # noqa: PLC0415
    from agreements.services.versions.effective import versions_apply_effective  # noqa: PLC0415
    from core import clock  # noqa: PLC0415

    today = date.fromisoformat(args.today)
    before_rss = peak_rss_mb()
    rows_before = ConsentRecord.objects.count()
    # TERMS_BENCH_PROFILE=<file>: a cProfile of the job, for finding what a missed goal costs.
    profile_to = os.environ.get("TERMS_BENCH_PROFILE")
    profiler = cProfile.Profile() if profile_to else None
    with clock.frozen_at(today), counting_queries() as counter:
        started = time.perf_counter()
        if profiler is not None:
            profiler.enable()
        counts = versions_apply_effective(today=today)
        if profiler is not None:
            profiler.disable()
        seconds = time.perf_counter() - started
    if profiler is not None and profile_to:
        profiler.dump_stats(profile_to)
    return {
        "seconds": round(seconds, 3),
        "queries": counter["queries"],
        "counts": counts,
        "deemed_rows": ConsentRecord.objects.count() - rows_before,
        "rss_before_mb": before_rss,
        "peak_rss_mb": peak_rss_mb(),
        "vm_hwm_mb": vm_hwm_mb(),
    }


TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def sql_queries(captured: list[dict[str, Any]]) -> int:
    """Statements that are not transaction control (Django 5.2 also logs BEGIN/SAVEPOINT)."""
    return sum(1 for q in captured if not q["sql"].lstrip().upper().startswith(TRANSACTION_CONTROL))


def schedule_revision(*, code: str, today: date, label: str) -> tuple[Any, dict[str, Any]]:
    """A Biz revision the way staff make one: a draft of the version in force, one article
    rewritten by the editor, scheduled by a second publisher (notice today, effective in 7
    days, deemed mode). Returns the version and the figures of version_schedule alone."""
    from datetime import timedelta  # noqa: PLC0415

    from django.contrib.auth import get_user_model  # noqa: PLC0415
    from django.db import connection  # noqa: PLC0415
    from django.test.utils import CaptureQueriesContext  # noqa: PLC0415

    from agreements.enums import ConsentMode, LegalBasis  # noqa: PLC0415
    from agreements.models import TermsDocument  # noqa: PLC0415
    from agreements.services.version_articles import article_upsert  # noqa: PLC0415
    from agreements.services.version_drafts import version_draft_create  # noqa: PLC0415
    from agreements.services.versions.schedule import version_schedule  # noqa: PLC0415
    from core import clock  # noqa: PLC0415
    from tenants.scope import Scope  # noqa: PLC0415

    users = get_user_model().objects
    # Scopes as the console builds them: the roles read once per request, before the service.
    editor = Scope.staff_with_roles(users.get(username="bench-editor"))
    publisher = Scope.staff_with_roles(users.get(username="bench-publisher"))
    document = TermsDocument.objects.get(product__code=code, slug="terms")
    effective_on = today + timedelta(days=7)
    with clock.frozen_at(today):
        draft = version_draft_create(scope=editor, document=document, label=label)
        article = draft.articles.order_by("number").first()
        body = (
            "1. 本規約は、ベンチマークのために改定した版です。\n"
            "2. 改定の内容は、当社ウェブサイトに掲示します。"
        )
        article_upsert(
            scope=editor, version=draft, number=article.number, title=article.title, body=body
        )
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            version_schedule(
                scope=publisher,
                version=draft,
                notice_on=today,
                effective_on=effective_on,
                consent_mode=ConsentMode.DEEMED,
                # Type (i): the seven days' lead above suffice (R2; type (ii) needs 30).
                legal_basis=LegalBasis.GENERAL_INTEREST,
                rationale="ベンチマーク用の改定",
                categories=[{"kind": "substantive", "title": "ベンチマーク"}],
            )
            seconds = time.perf_counter() - started
    draft.refresh_from_db()
    return draft, {
        "seconds": seconds,
        "statements": len(queries.captured_queries),
        "queries": sql_queries(queries.captured_queries),
        "effective_on": effective_on,
    }


def cmd_post_notice(args: argparse.Namespace) -> dict[str, Any]:
    """Schedule a revision and post its notice with the real job service (every bound tenant
    notified: event, e-mail and webhook outbox rows), timed and counted."""
    from agreements.models import ConsentState  # noqa: PLC0415
    from agreements.services.versions.posting import notice_post  # noqa: PLC0415
    from core import clock  # noqa: PLC0415

    today = date.fromisoformat(args.today)
    version, _figures = schedule_revision(code=args.product, today=today, label="bench-posted")
    with clock.frozen_at(today), counting_queries() as counter:
        started = time.perf_counter()
        notice_post(version=version)
        seconds = time.perf_counter() - started
    # The job's own peak, before the baseline below reads every row it wrote into memory.
    job_peak = vm_hwm_mb()
    tenants = ConsentState.objects.filter(version=version).count()
    return {
        "seconds": round(seconds, 2),
        "queries": counter["queries"],
        "tenants": tenants,
        "job_peak_mb": job_peak,
        **copy_of_posting(version.pk),
    }


def copy_of_posting(version_id: int) -> dict[str, Any]:
    """Benchmark 9's baseline: the event and outbox rows the posting wrote, read back and
    COPYed into tables LIKE theirs (same columns, indexes and constraints), timed from the
    first COPY to COMMIT."""
    import io  # noqa: PLC0415

    from django.db import connection, transaction  # noqa: PLC0415

    from core.enums import EventKind  # noqa: PLC0415
    from core.models import Event, Outbox  # noqa: PLC0415

    events = Event.objects.filter(
        kind=EventKind.NOTICE_POSTED,
        subject_type="agreements.termsversion",
        subject_id=version_id,
    )
    outbox = Outbox.objects.filter(event_id__in=events.values("pk"))
    buffers: list[tuple[str, io.StringIO]] = []
    with connection.cursor() as cursor:
        for model, rows in ((Event, events), (Outbox, outbox)):
            table = model._meta.db_table
            copy = f"bench_{table}_copy"
            cursor.execute(f"DROP TABLE IF EXISTS {copy}")
            cursor.execute(f"CREATE TABLE {copy} (LIKE {table} INCLUDING ALL)")
            sql, params = rows.values("pk").query.sql_with_params()
            ids = cursor.mogrify(sql, params).decode()
            select = f"SELECT * FROM {table} WHERE id IN ({ids})"  # noqa: S608 -- bench tables
            buffer = io.StringIO()
            cursor.cursor.copy_expert(f"COPY ({select}) TO STDOUT", buffer)
            buffer.seek(0)
            buffers.append((copy, buffer))
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for copy, buffer in buffers:
            cursor.cursor.copy_expert(f"COPY {copy} FROM STDIN", buffer)
    return {
        "copy_seconds": round(time.perf_counter() - started, 3),
        "events": events.count(),
        "outbox_rows": outbox.count(),
    }


def cmd_roll(args: argparse.Namespace) -> dict[str, Any]:
    from django.conf import settings  # noqa: PLC0415

    from agreements.services.contracts import contracts_roll_due  # noqa: PLC0415
    from core import clock  # noqa: PLC0415

    today = date.fromisoformat(args.today)
    with clock.frozen_at(today), counting_queries() as counter:
        started = time.perf_counter()
        counts = contracts_roll_due(today=today)
        seconds = time.perf_counter() - started
    # A second run finds nothing due: its queries are the fixed cost of looking.
    with clock.frozen_at(today), counting_queries() as idle:
        contracts_roll_due(today=today)
    due = sum(counts.values())
    batch = max(1, int(settings.TERMS_JOB_BATCH_SIZE))
    batches = -(-due // batch) if due else 0
    per_batch = (counter["queries"] - idle["queries"]) / batches if batches else 0.0
    return {
        "seconds": round(seconds, 3),
        "queries": counter["queries"],
        "idle_queries": idle["queries"],
        "due": due,
        "batches": batches,
        "queries_per_batch": round(per_batch, 1),
        "counts": counts,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.worker")
    sub = parser.add_subparsers(dest="command", required=True)
    load = sub.add_parser("load")
    for name in ("tenants", "partners", "ledger-rows", "contracts", "portal-users", "versions"):
        load.add_argument(f"--{name}", type=int)
    apply = sub.add_parser("apply-effective")
    apply.add_argument("--today", required=True)
    apply.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    roll = sub.add_parser("roll")
    roll.add_argument("--today", required=True)
    roll.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    post = sub.add_parser("post-notice")
    post.add_argument("--today", required=True)
    post.add_argument("--product", default="optimal-biz")
    post.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if getattr(args, "child", None) is False:  # a job: its peak RSS measured from outside
        print(json.dumps(isolated(sys.argv[1:] if argv is None else argv), default=str))
        return 0
    _setup()
    handlers = {
        "load": cmd_load,
        "apply-effective": cmd_apply_effective,
        "roll": cmd_roll,
        "post-notice": cmd_post_notice,
    }
    result = handlers[args.command](args)
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
