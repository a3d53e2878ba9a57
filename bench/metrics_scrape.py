"""What one /metrics scrape costs at a given number of tenants (series, bytes, seconds).

    .venv/bin/python -m bench.metrics_scrape --tenants 30000

Loads the bench dataset (bench/dataset.py) into a throwaway database, then renders the
exposition text as the view does (terms_site.metrics.render_metrics) a few times and prints
the number of series, the size and the median time. The series count is what Prometheus
stores per scrape; it must not grow with the number of customers.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

from bench.run import bench_env, databases, redis_cleanup


def measure(rounds: int) -> dict[str, float]:
    from prometheus_client.parser import text_string_to_metric_families  # noqa: PLC0415

    from terms_site.metrics import render_metrics  # noqa: PLC0415

    times, body = [], b""
    for _ in range(rounds):
        started = time.perf_counter()
        body = render_metrics()
        times.append(time.perf_counter() - started)
    series = sum(len(family.samples) for family in text_string_to_metric_families(body.decode()))
    return {"series": series, "bytes": len(body), "seconds": statistics.median(times)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.metrics_scrape")
    parser.add_argument("--tenants", type=int, default=30_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    run_id = f"metrics{os.getpid()}"
    db = f"terms_bench_{run_id}"
    env = bench_env(db, run_id)
    os.environ.update(env)
    os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
    try:
        with databases([db], keep=False):
            import django  # noqa: PLC0415 -- the environment above configures it

            django.setup()
            from django.core.management import call_command  # noqa: PLC0415

            from bench.dataset import Sizes, load  # noqa: PLC0415

            call_command("migrate", verbosity=0)
            sizes = Sizes(
                tenants=args.tenants,
                partners=50,
                versions=4,
                ledger_rows=2 * args.tenants,
                contracts=args.tenants,
                portal_users=10,
            )
            load(sizes, log=lambda line: None)
            result = measure(args.rounds)
            print(
                f"tenants={args.tenants} series={result['series']} bytes={result['bytes']} "
                f"median_seconds={result['seconds']:.3f}"
            )
    finally:
        redis_cleanup(env)


if __name__ == "__main__":
    main()
