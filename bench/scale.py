"""The figures behind docs/operations.md "Scale": `python -m bench.scale [--tenants N --ledger-rows N]`.

Starts its own PostgreSQL primary and a streaming replica (pg_basebackup -R) on free ports in a
temporary folder, migrates, loads the benchmark dataset (bench/dataset.py) through the primary,
then measures on it:

- the ledger table's heap and index sizes, per million rows;
- a chain-head lookup (the newest row of one tenant), median over 1,000 random tenants;
- `manage.py verify_ledger` over every chain;
- the status check under wrk (gunicorn with deploy/gunicorn.conf.py, 2 sync workers, production
  settings) without and with DATABASE_REPLICA_URL, alternating rounds, and how many
  transactions each server ran during each.

Prints one JSON object. Everything runs on this machine's cores: the load generator, gunicorn,
the primary and the replica share them.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.loadgen import Req, run
from bench.run import Server
from tests.jobs.faults.harness import Postgres, _as_postgres, free_port, pg_bindir
from tests.jobs.faults.harness import run as run_cmd

REPO = Path(__file__).resolve().parent.parent
PY = sys.executable


def start_replica(root: Path, primary: Postgres) -> int:
    port = free_port()
    data = root / "replica"
    run_cmd(
        _as_postgres(
            [
                str(pg_bindir() / "pg_basebackup"),
                *("-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"),
                *("-D", str(data), "-R", "-X", "stream", "--no-sync"),
            ]
        )
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run_cmd(
        _as_postgres(
            [
                *(str(pg_bindir() / "pg_ctl"), "-D", str(data), "-l", str(root / "replica.log")),
                *("-w", "-o", options, "start"),
            ]
        )
    )
    return port


def env_for(primary: Postgres, root: Path, replica_url: str | None) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "TERMS_", "DJANGO_", "REDIS_", "CELERY_"))
    }
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1,localhost",
        DJANGO_SECURE_SSL_REDIRECT="false",
        DJANGO_SECURE_COOKIES="false",
        DATABASE_URL=primary.url,
        TERMS_VAR_DIR=str(root / "var"),
        TERMS_API_THROTTLE_RATE="10000000/min",
        DJANGO_LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    if replica_url:
        env["DATABASE_REPLICA_URL"] = replica_url
    return env


def xacts(pg: Postgres) -> int:
    return int(pg.query("SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database")[0][0])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.scale")
    p.add_argument("--tenants", type=int, default=100_000)
    p.add_argument("--ledger-rows", type=int, default=1_000_000)
    p.add_argument("--contracts", type=int, default=200_000)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="terms-scale-"))
    if os.geteuid() == 0:
        import pwd  # noqa: PLC0415 -- only as root

        pw = pwd.getpwnam("postgres")
        os.chown(root, pw.pw_uid, pw.pw_gid)
    primary = Postgres(root / "primary")
    primary.init()
    replica_port = start_replica(root, primary)
    replica = Postgres(root, port=replica_port)
    replica_url = f"postgres://postgres@127.0.0.1:{replica_port}/terms_fault"
    out: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "load_average_start": os.getloadavg(),
    }
    try:
        env = env_for(primary, root, None)
        subprocess.run(
            [PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True
        )
        os.environ.update(env)
        import django  # noqa: PLC0415 -- after the environment is set

        django.setup()
        from bench.dataset import Sizes, load  # noqa: PLC0415 -- after django.setup()

        started = time.perf_counter()
        loaded = load(
            Sizes(
                tenants=args.tenants,
                ledger_rows=args.ledger_rows,
                contracts=args.contracts,
                portal_users=10,
            ),
            log=lambda line: print(line, file=sys.stderr),
        )
        out["load_seconds"] = round(time.perf_counter() - started, 1)
        primary.query("VACUUM ANALYZE agreements_consentrecord")

        rows, heap, indexes, total = primary.query(
            "SELECT count(*), pg_relation_size('agreements_consentrecord'),"
            " pg_indexes_size('agreements_consentrecord'),"
            " pg_total_relation_size('agreements_consentrecord') FROM agreements_consentrecord"
        )[0]
        out["ledger"] = {
            "rows": rows,
            "heap_mb": round(heap / 2**20, 1),
            "indexes_mb": round(indexes / 2**20, 1),
            "total_mb": round(total / 2**20, 1),
            "database_mb": round(
                primary.query("SELECT pg_database_size(current_database())")[0][0] / 2**20, 1
            ),
        }
        conn = primary.connect()
        timings = []
        with conn.cursor() as cur:
            for _ in range(1000):
                tenant = random.randint(1, args.tenants)
                t0 = time.perf_counter()
                cur.execute(
                    "SELECT seq, hash FROM agreements_consentrecord WHERE tenant_id = %s"
                    " ORDER BY seq DESC LIMIT 1",
                    (tenant,),
                )
                cur.fetchall()
                timings.append((time.perf_counter() - t0) * 1000)
        conn.close()
        out["chain_head_lookup_ms"] = {
            "median": round(statistics.median(timings), 3),
            "p99": round(sorted(timings)[989], 3),
        }
        t0 = time.perf_counter()
        verify = subprocess.run(
            [PY, "manage.py", "verify_ledger"],
            cwd=REPO,
            env={**env, "DJANGO_DEBUG": "true"},
            capture_output=True,
            text=True,
            check=False,
        )
        out["verify_ledger"] = {
            "seconds": round(time.perf_counter() - t0, 1),
            "exit": verify.returncode,
            "tail": (verify.stdout + verify.stderr).strip().splitlines()[-2:],
        }

        from agreements.catalog import BIZ  # noqa: PLC0415

        key = loaded.product_keys[BIZ]
        reqs = [
            Req("GET", f"/api/v1/status/{t}/", {"Authorization": f"Api-Key {key}"})
            for t in random.sample(range(1, args.tenants + 1), min(5000, args.tenants))
        ]
        out["status_check"] = {}
        log_dir = root / "logs"
        log_dir.mkdir()
        for round_no in range(args.rounds):
            for label, url in (("primary only", None), ("with replica", replica_url)):
                server = Server(
                    settings="bench.settings",
                    env=env_for(primary, root, url),
                    log_dir=log_dir,
                    workers=2,
                )
                try:
                    run(server.url, reqs[:50], connections=4, seconds=2)  # warm-up
                    before = xacts(primary), xacts(replica)
                    result = run(server.url, reqs, connections=32, seconds=args.seconds)
                    after = xacts(primary), xacts(replica)
                finally:
                    server.stop()
                out["status_check"].setdefault(label, []).append(
                    {
                        "round": round_no,
                        "rps": round(result.rps, 1),
                        "p50_ms": round(result.p50_ms, 1),
                        "p99_ms": round(result.p99_ms, 1),
                        "errors": result.errors,
                        "primary_xacts_per_request": round(
                            (after[0] - before[0]) / max(1, result.requests), 2
                        ),
                        "replica_xacts_per_request": round(
                            (after[1] - before[1]) / max(1, result.requests), 2
                        ),
                    }
                )
        out["load_average_end"] = os.getloadavg()
    finally:
        for data in (root / "replica", root / "primary" / "pg"):
            subprocess.run(
                _as_postgres([str(pg_bindir() / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                capture_output=True,
                check=False,
            )
        subprocess.run(["rm", "-rf", str(root)], check=False)
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
