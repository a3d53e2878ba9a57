"""Degrade, don't fail (DESIGN, Runtime; docs/operations.md, When Redis or PostgreSQL fails).

Against a live gunicorn: a Redis of the test's own is killed under it and restarted, and its
database is replaced by a socket that never answers, or held behind a lock. The API keeps
answering through a Redis outage and returns to Redis by itself; a database that cannot answer
is a 503 within the configured timeouts, not a hung worker.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta

import psycopg2
import pytest

from agreements.enums import ConsentMode
from core import clock
from tests.api.conftest import make_product_key
from tests.factories.agreements import DocumentFactory, VersionFactory
from tests.factories.consents import posted_version
from tests.factories.contracts import idplus_product, make_contract
from tests.factories.tenants import PartnerFactory, TenantFactory, make_partner_key
from tests.jobs.faults.harness import Redis, wait_for
from tests.ops.live import ROOT, gunicorn, stalled_socket, this_run_database_url

pytestmark = [pytest.mark.fault, pytest.mark.django_db(transaction=True)]


def _world() -> dict[str, object]:
    """A partner key, its tenant bound to a revision that awaits an answer (real today)."""
    today = clock.today()
    partner = PartnerFactory()
    tenant = TenantFactory(partner=partner)
    product = idplus_product()
    make_contract(tenant=tenant, product=product, start_date=today - timedelta(days=200))
    document = DocumentFactory(product=product, slug="terms", title="OPTiM ID+ 利用規約")
    v1 = VersionFactory(document=document, label="v1", effective_on=today - timedelta(days=400))
    v2 = posted_version(
        document,
        label="v2",
        based_on=v1,
        mode=ConsentMode.EXPLICIT,
        notice_on=today - timedelta(days=5),
        effective_on=today + timedelta(days=30),
    )
    _key, raw = make_partner_key(partner)
    _key, product_raw = make_product_key(product)
    return {
        "tenant": tenant.pk,
        "version": v2.pk,
        "auth": f"Api-Key {raw}",
        "product_auth": f"Api-Key {product_raw}",  # the products' status check
    }


def _answer(world: dict[str, object], value: str) -> dict[str, object]:
    return {
        "version": world["version"],
        "answer": value,
        "evidence": {
            "person_name": "山田 太郎",
            "person_email": "yamada@customer.example",
            "obtained_at": clock.now().isoformat(),
            "method": "partner portal checkbox",
        },
    }


def _warnings(lines: list[str], event: str) -> list[str]:
    return [line for line in lines if f'"{event}' in line]


# --- Redis -------------------------------------------------------------------------------------


def test_redis_outage_the_api_keeps_answering_and_returns_to_redis_by_itself(tmp_path) -> None:
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is required (apt-get install redis-server)")
    world = _world()
    auth = str(world["auth"])
    product = str(world["product_auth"])
    status_path = f"/api/v1/status/{world['tenant']}/"
    answer_path = f"/api/v1/tenants/{world['tenant']}/consents/"
    redis = Redis(tmp_path)
    redis.start()
    try:
        with gunicorn(tmp_path, REDIS_URL=redis.url, CELERY_BROKER_URL=redis.url) as server:
            assert server.call("GET", status_path, Authorization=product).status == 200
            assert (
                server.call(
                    "POST", answer_path, _answer(world, "accepted"), Authorization=auth
                ).status
                == 201
            )
            assert b"throttle:api" in redis.command("KEYS", "*throttle:api*")

            redis.kill()
            outcomes = []
            for index in range(10):
                outcomes.append(server.call("GET", status_path, Authorization=product))
                value = "rejected" if index % 2 == 0 else "accepted"
                outcomes.append(
                    server.call("POST", answer_path, _answer(world, value), Authorization=auth)
                )
            statuses = [answer.status for answer in outcomes]
            assert statuses == [200, 201] * 10, [a.body[:300] for a in outcomes]
            slowest = max(answer.seconds for answer in outcomes)
            assert slowest < 2.0, slowest
            lines = server.log_lines()
            # One line per dependency for the whole outage, and no traceback at all.
            assert len(_warnings(lines, "cache.unavailable")) == 1, lines
            assert len(_warnings(lines, "outbox.doorbell.unavailable")) <= 1, lines
            assert not [line for line in lines if "Traceback" in line or '"exc_info"' in line]
            print(
                f"redis down: {statuses.count(200)}x200 {statuses.count(201)}x201, slowest {slowest:.3f}s"
            )

            redis.start()
            redis.command("FLUSHALL")  # forget what the append-only file kept from before
            started = time.monotonic()

            def back_on_redis() -> bool:
                assert server.call("GET", status_path, Authorization=product).status == 200
                return b"throttle:api" in redis.command("KEYS", "*throttle:api*")

            wait_for(back_on_redis, timeout=15, what="the throttle back on Redis", interval=0.5)
            print(f"back on redis after {time.monotonic() - started:.1f}s")
            final = server.call("POST", answer_path, _answer(world, "rejected"), Authorization=auth)
            assert final.status == 201
            # The doorbell rings on the broker again: a delivery task is queued.
            wait_for(
                lambda: b"celery" in redis.command("KEYS", "*celery*"),
                timeout=10,
                what="the doorbell back on the broker",
            )
    finally:
        redis.stop()


# --- PostgreSQL ----------------------------------------------------------------------------------


def test_a_database_that_never_answers_is_a_503_within_the_connect_timeout(tmp_path) -> None:
    world = _world()
    with (
        stalled_socket() as port,
        gunicorn(
            tmp_path,
            DATABASE_URL=f"postgres://postgres@127.0.0.1:{port}/terms",
            DATABASE_CONNECT_TIMEOUT="2",
        ) as server,
    ):
        ready = server.call("GET", "/readyz")
        api = server.call(
            "GET", f"/api/v1/status/{world['tenant']}/", Authorization=str(world["product_auth"])
        )
        page = server.call("GET", "/terms/")
    print(
        f"stalled database: /readyz {ready.status} in {ready.seconds:.2f}s, "
        f"API {api.status} in {api.seconds:.2f}s, page {page.status} in {page.seconds:.2f}s"
    )
    assert (ready.status, ready.json()) == (503, {"status": "unavailable"})
    assert api.status == 503
    assert api.headers["Content-Type"] == "application/problem+json"
    assert api.headers["Retry-After"] == "5"
    problem = api.json()
    assert isinstance(problem, dict)
    assert (problem["status"], problem["code"]) == (503, "service_unavailable")
    assert page.status == 503
    assert page.headers["Content-Type"].startswith("text/html")
    # libpq's connect_timeout is 2 s here; a hang would run into gunicorn's 30 s.
    for answer in (ready, api, page):
        assert 1.5 <= answer.seconds < 4.5, answer.seconds


def test_a_database_held_by_a_lock_is_a_503_within_the_statement_timeout(tmp_path) -> None:
    world = _world()
    with gunicorn(
        tmp_path, DATABASE_STATEMENT_TIMEOUT_MS="1000", DATABASE_URL=this_run_database_url()
    ) as server:
        assert server.call("GET", "/readyz").status == 200
        # No status check before the lock: a warm one is served from the cache without SQL
        # (#17), which is the point of the cache, not of this test.
        locker = psycopg2.connect(this_run_database_url())
        try:
            with locker.cursor() as cursor:  # a transaction stays open until rollback
                cursor.execute("LOCK TABLE django_migrations IN ACCESS EXCLUSIVE MODE")
                cursor.execute("LOCK TABLE agreements_productkey IN ACCESS EXCLUSIVE MODE")
            ready = server.call("GET", "/readyz")
            api = server.call(
                "GET",
                f"/api/v1/status/{world['tenant']}/",
                Authorization=str(world["product_auth"]),
            )
        finally:
            locker.rollback()
            locker.close()
        print(
            f"locked database: /readyz {ready.status} in {ready.seconds:.2f}s, "
            f"API {api.status} in {api.seconds:.2f}s"
        )
        assert ready.status == 503
        assert api.status == 503
        assert api.headers["Content-Type"] == "application/problem+json"
        for answer in (ready, api):
            assert 0.9 <= answer.seconds < 3.0, answer.seconds
        # The lock gone, the same process serves again: nothing to do by hand.
        assert server.call("GET", "/readyz").status == 200
        assert (
            server.call(
                "GET",
                f"/api/v1/status/{world['tenant']}/",
                Authorization=str(world["product_auth"]),
            ).status
            == 200
        )
        lines = server.log_lines()
        assert _warnings(lines, "database.unavailable")
        assert not [line for line in lines if "Traceback" in line]


# --- worker --------------------------------------------------------------------------------------


def test_a_killed_worker_fails_the_jobs_check_and_leaves_readyz_ready(tmp_path) -> None:
    token = "jobs-check-token"
    operator = {"Authorization": f"Bearer {token}", "X-Forwarded-Proto": "https"}
    redis = Redis(tmp_path)
    redis.start()
    env = {
        "REDIS_URL": redis.url,
        "CELERY_BROKER_URL": redis.url,
        "TERMS_HEARTBEAT_SECONDS": "1",
        "TERMS_HEARTBEAT_MAX_AGE_SECONDS": "4",
        "TERMS_METRICS_TOKEN": token,
    }
    worker_env = {
        **os.environ,
        **env,
        "DJANGO_SETTINGS_MODULE": "terms_site.test_settings",
        "DATABASE_URL": this_run_database_url(),
        "TERMS_VAR_DIR": str(tmp_path / "var"),
    }
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "terms_site",
            "worker",
            "--beat",
            "--pool=solo",
            "--loglevel=WARNING",
            f"--schedule={tmp_path / 'beat-schedule'}",
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=worker_env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    try:
        with gunicorn(tmp_path, **env) as server:
            wait_for(
                lambda: server.call("GET", "/health/jobs", **operator).status == 200,
                timeout=25,
                what="the worker's first heartbeat",
                interval=0.5,
            )
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)
            killed = time.monotonic()
            wait_for(
                lambda: server.call("GET", "/health/jobs", **operator).status == 503,
                timeout=10,
                what="the jobs check to fail",
                interval=0.5,
            )
            jobs = server.call("GET", "/health/jobs", **operator).json()
            print(f"jobs check failing {time.monotonic() - killed:.1f}s after SIGKILL: {jobs}")
            assert isinstance(jobs, dict)
            assert jobs["failing"] == ["beat", "worker"]
            ready = server.call("GET", "/readyz", **operator)
            assert ready.status == 200
            assert ready.json()["failing"] == []  # type: ignore[index]
            assert server.call("GET", "/readyz").json() == {"status": "ok"}
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
        redis.stop()


def test_a_hung_redis_costs_the_delivery_doorbell_about_a_second_not_the_request(
    tmp_path,
) -> None:
    """A Redis that takes connections and answers nothing (stopped, not gone): a web process's
    doorbell after an answer gives up within its socket timeout (CELERY_BROKER_SOCKET_TIMEOUT,
    1 s for web) and the next one is skipped; before, the publish waited for ever and the
    worker was killed by gunicorn's timeout with the answer already committed."""
    redis = Redis(tmp_path)
    redis.start()
    assert redis.process is not None
    ring = (
        "import time, django; django.setup()\n"
        "from core import outbox\n"
        "started = time.monotonic(); outbox._ring(); first = time.monotonic() - started\n"
        "started = time.monotonic(); outbox._ring(); second = time.monotonic() - started\n"
        "print(f'{first:.2f} {second:.2f}')\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "terms_site.settings",
        "DJANGO_DEBUG": "true",
        "TERMS_PROCESS_KIND": "web",
        "REDIS_URL": redis.url,
        "CELERY_BROKER_URL": redis.url,
        "DATABASE_URL": this_run_database_url(),
    }
    redis.process.send_signal(signal.SIGSTOP)
    try:
        out = subprocess.run(
            [sys.executable, "-c", ring],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        redis.process.send_signal(signal.SIGCONT)
        redis.kill()
    assert out.returncode == 0, out.stderr[-2000:]
    first, second = map(float, out.stdout.split()[-2:])
    assert first < 4.0  # the cache's mark (1 s) and the broker's publish (1 s)
    assert second < 0.5  # the doorbell's outage pause: not tried again at once
