"""`make load`: the whole service under a realistic mix, then the ledger and the jobs checked.

    .venv/bin/python -m bench.load [--tenants 3000] [--users 16] [--seconds 60]

1. A throwaway PostgreSQL database (terms_load_<pid>) loaded by bench/dataset.py; a Biz
   revision scheduled and its notice posted by the real job service, and the day's jobs run
   once (run_lifecycle), so the service starts in a steady state with a change pending.
2. gunicorn (deploy/gunicorn.conf.py, 2 workers), a Celery worker and beat on loopback, all
   in production mode on their own Redis key prefix (beat rings the jobs every minute).
3. locust headless for --seconds with bench/locustfile.py's mix.
4. verify_ledger, then reconcile until clean (the worker finishes what the run queued).
The figures go to the load section of bench/RESULTS.md; the run fails on any error.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.run import (
    PY,
    REPO,
    RESULTS,
    Server,
    bench_env,
    databases,
    machine,
    redis_cleanup,
    write_results,
)

LOAD_START, LOAD_END = "<!-- load:start -->", "<!-- load:end -->"


@dataclass
class Endpoint:
    name: str
    requests: int
    failures: int
    p50: float
    p95: float
    p99: float
    rps: float


def read_stats(path: Path) -> list[Endpoint]:
    rows = []
    with path.open(newline="") as handle:
        for row in csv.DictReader(handle):
            rows.append(
                Endpoint(
                    name=row["Name"] if row["Name"] != "Aggregated" else "all requests",
                    requests=int(row["Request Count"]),
                    failures=int(row["Failure Count"]),
                    p50=float(row["50%"] or 0),
                    p95=float(row["95%"] or 0),
                    p99=float(row["99%"] or 0),
                    rps=float(row["Requests/s"] or 0),
                )
            )
    return rows


def manage(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PY, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )


def prepare(sizes: Any) -> dict[str, Any]:
    """Load, schedule and post a revision, run the day's jobs; returns locust's data."""
    from django.contrib.auth import get_user_model  # noqa: PLC0415 -- after django.setup()
    from django.contrib.auth.models import Group  # noqa: PLC0415
    from django.contrib.sessions.backends.db import SessionStore  # noqa: PLC0415
    from django.core.management import call_command  # noqa: PLC0415

    from agreements.catalog import BIZ  # noqa: PLC0415
    from agreements.services.versions.posting import notice_post  # noqa: PLC0415
    from bench.dataset import load  # noqa: PLC0415
    from bench.worker import schedule_revision  # noqa: PLC0415

    call_command("migrate", verbosity=0)
    loaded = load(sizes, log=print)
    version, _ = schedule_revision(code=BIZ, today=loaded.today, label="load-next")
    notice_post(version=version)
    print("running the day's jobs once (steady state before the load)…", flush=True)
    call_command("run_lifecycle", today=loaded.today, verbosity=0)
    staff = get_user_model().objects.create_user(
        "load-staff-viewer", email="viewer@load.example", is_staff=True
    )
    staff.groups.add(Group.objects.get_or_create(name="viewer")[0])
    store = SessionStore()
    store.update(
        {
            "_auth_user_id": str(staff.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": staff.get_session_auth_hash(),
        }
    )
    store.create()
    by_partner: dict[int, list[int]] = {}
    for tenant_id, partner_id in enumerate(loaded.tenant_partner):
        if tenant_id:
            by_partner.setdefault(partner_id, []).append(tenant_id)
    portal_tenants = {t for _key, t in loaded.portal_sessions}
    return {
        "version_id": version.pk,
        "product_key": loaded.product_keys[BIZ],
        "partners": [
            {
                "key": loaded.partner_keys[p],
                # Partners answer for customers who do not use the portal in this run.
                "tenants": [t for t in tenants if t not in portal_tenants][:200] or tenants,
            }
            for p, tenants in sorted(by_partner.items())
        ],
        "sessions": [key for key, _t in loaded.portal_sessions],
        "status_tenants": list(range(1, sizes.tenants + 1)),
        "staff_session": store.session_key,
        "today": loaded.today.isoformat(),
        "sizes": sizes.__dict__,
    }


class Celery:
    def __init__(self, args: list[str], env: dict[str, str], log: Path) -> None:
        self.log = log.open("w")
        self.proc = subprocess.Popen(
            [PY, "-m", "celery", "-A", "terms_site", *args],
            cwd=REPO,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()


def render(
    info: dict[str, str],
    command: str,
    started: datetime,
    args: argparse.Namespace,
    stats: list[Endpoint],
    checks: dict[str, str],
    passed: bool,
) -> str:
    lines = [
        LOAD_START,
        "## Load test (`make load`)",
        "",
        f"Run {started:%Y-%m-%d %H:%M} UTC, commit `{info['commit']}`, on {info['cpu']} "
        f"({info['cores']} cores), PostgreSQL {info['postgresql']}; load average at the start "
        f"{info['load_average']}. Command: `{command}`.",
        "",
        f"gunicorn (2 sync workers) + a Celery worker + beat on loopback, production settings, "
        f"{args.tenants:,} tenants with a Biz revision posted to all of them; locust headless, "
        f"{args.users} users for {args.seconds} s (partners 3 : products 4 : customers 4 : "
        f"staff 1). **locust shares the two cores with the server, the worker, PostgreSQL and "
        f"Redis.**",
        "",
        "| endpoint | requests | errors | p50 ms | p95 ms | p99 ms | req/s |",
        "|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {e.name} | {e.requests:,} | {e.failures} | {e.p50:.0f} | {e.p95:.0f} | "
        f"{e.p99:.0f} | {e.rps:.1f} |"
        for e in stats
    ]
    lines += ["", *[f"- {name}: {value}" for name, value in checks.items()], ""]
    lines += [f"Result: {'pass' if passed else 'FAILED'}.", "", LOAD_END]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__)
    p.add_argument("--tenants", type=int, default=3000)
    p.add_argument("--partners", type=int, default=30)
    p.add_argument("--users", type=int, default=16, help="concurrent locust users")
    p.add_argument("--seconds", type=int, default=60)
    p.add_argument("--settle", type=int, default=180, help="max seconds to wait for reconcile")
    p.add_argument("--out", type=Path, default=RESULTS)
    p.add_argument("--keep-db", action="store_true")
    args = p.parse_args(argv)
    started = datetime.now(UTC)
    run_id = f"load{os.getpid()}"
    db = f"terms_{run_id}"
    env = bench_env(db, run_id)
    log_dir = REPO / "var" / "bench" / run_id
    (log_dir / "static").mkdir(parents=True, exist_ok=True)
    env["DJANGO_STATIC_ROOT"] = str(log_dir / "static")
    env["DJANGO_LOG_LEVEL"] = "WARNING"
    env["TERMS_VAR_DIR"] = str(log_dir)
    os.environ.update(env)
    command = " ".join(["python -m bench.load", *(argv if argv is not None else sys.argv[1:])])
    info = machine()
    print(f"load: database {db}, logs in {log_dir}", flush=True)
    processes: list[Any] = []
    stats: list[Endpoint] = []
    checks: dict[str, str] = {}
    passed = False
    try:
        with databases([db], keep=args.keep_db):
            import django  # noqa: PLC0415 -- configured by the environment above

            django.setup()
            from bench.dataset import Sizes  # noqa: PLC0415

            sizes = Sizes(
                tenants=args.tenants,
                partners=args.partners,
                versions=3,
                ledger_rows=args.tenants * 4,
                contracts=args.tenants * 2,
                portal_users=min(500, args.tenants),
            )
            data = prepare(sizes)
            data_file = log_dir / "locust-data.json"
            data_file.write_text(json.dumps(data))
            from django.db import connections  # noqa: PLC0415

            connections.close_all()
            server = Server(settings="bench.settings", env=env, log_dir=log_dir, workers=2)
            processes.append(server)
            processes.append(
                Celery(
                    ["worker", "-l", "warning", "--concurrency", "1", "-n", f"{run_id}@%h"],
                    env,
                    log_dir / "worker.log",
                )
            )
            processes.append(
                Celery(
                    ["beat", "-l", "warning", "-s", str(log_dir / "celerybeat-schedule")],
                    env,
                    log_dir / "beat.log",
                )
            )
            print(f"locust: {args.users} users for {args.seconds} s…", flush=True)
            csv_prefix = log_dir / "locust"
            locust = subprocess.run(
                [
                    PY,
                    "-m",
                    "locust",
                    "-f",
                    str(REPO / "bench" / "locustfile.py"),
                    "--headless",
                    "-u",
                    str(args.users),
                    "-r",
                    str(max(1, args.users // 4)),
                    "-t",
                    f"{args.seconds}s",
                    "--host",
                    server.url,
                    "--csv",
                    str(csv_prefix),
                    "--only-summary",
                    "--exit-code-on-error",
                    "1",
                ],
                cwd=REPO,
                env={**env, "TERMS_LOAD_DATA": str(data_file)},
                capture_output=True,
                text=True,
                check=False,
            )
            (log_dir / "locust.log").write_text(locust.stdout + locust.stderr)
            stats = read_stats(Path(f"{csv_prefix}_stats.csv"))
            server.stop()
            errors = sum(e.failures for e in stats if e.name != "all requests")
            checks["errors"] = f"{errors} (locust exit code {locust.returncode})"
            verify = manage(["verify_ledger"], env)
            # Its verdict is the last line it prints; stderr carries start-up warnings.
            checks["verify_ledger"] = (verify.stdout.strip() or verify.stderr.strip()).splitlines()[
                -1
            ]
            waited = 0
            reconcile = manage(["reconcile"], env)
            while reconcile.returncode != 0 and waited < args.settle:
                time.sleep(10)
                waited += 10
                reconcile = manage(["reconcile"], env)
            problems = [line for line in reconcile.stdout.splitlines() if line.startswith("!!")]
            checks["reconcile"] = (
                f"clean after the worker settled for {waited} s"
                if reconcile.returncode == 0
                else f"{len(problems)} finding(s) after {waited} s: " + "; ".join(problems)
            )
            passed = (
                errors == 0
                and locust.returncode == 0
                and verify.returncode == 0
                and reconcile.returncode == 0
            )
            for proc in reversed(processes):
                proc.stop()
            processes.clear()
    finally:
        for proc in reversed(processes):
            proc.stop()
        redis_cleanup(env)
    section = render(info, command, started, args, stats, checks, passed)
    print(section)
    write_results(section, args.out, (LOAD_START, LOAD_END))
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
