"""Exactly-once effects and at-least-once e-mail under faults, against a real Celery worker.

Each drill: N auto-renewing contracts owe one renewal notice each today (N effects, N e-mails).
A fault is injected; afterwards every notice exists exactly once (0 lost, 0 duplicated), the
distinct Message-IDs delivered equal N, raw resends are counted, and `reconcile` finds nothing.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from tests.jobs.faults.conftest import ITEMS, ROWS
from tests.jobs.faults.harness import REPO, Row, Servers, wait_for

pytestmark = pytest.mark.fault

KILL_AFTER = max(ITEMS // 4, 1)  # sends by one process before the fault fires
# SIGKILL points, as a percentage of the batch sent by ONE worker process (two prefork
# children share the batch, so 5 / 25 / 45 fire at about 10 % / 50 % / 90 % of all sends).
# CI runs 25; `make drill` runs all three.
KILL_PERCENTS = [int(p) for p in os.environ.get("TERMS_FAULT_KILL_PERCENTS", "25").split(",")]


def _kill_after(percent: int) -> int:
    return max(ITEMS * percent // 100, 1)


COMPLETE_TIMEOUT = 90 + ITEMS * 0.05


def _check(row: Row) -> None:
    ROWS.append(row)
    assert row.reconcile_exit == 0, row.reconcile_output
    assert (row.done, row.duplicated, row.lost) == (ITEMS, 0, 0)
    assert (row.actions, row.actions_done, row.sent) == (ITEMS, ITEMS, ITEMS)
    assert row.message_ids == ITEMS


def _snapshot(servers: Servers) -> tuple[object, ...]:
    return tuple(
        servers.postgres.query(
            "SELECT (SELECT count(*) FROM core_event), (SELECT count(*) FROM core_outbox), "
            "(SELECT count(*) FROM core_plannedaction WHERE status = 'done'), "
            "(SELECT count(*) FROM agreements_contractperiod), "
            "(SELECT count(*) FROM core_outbox WHERE status = 'sent')"
        )[0]
    )


def test_fault_job_run_twice_concurrently_then_again_changes_nothing(drill: Servers):
    started = time.monotonic()
    runs = [
        subprocess.Popen(
            [sys.executable, "manage.py", "run_lifecycle"],
            cwd=REPO,
            env=drill.env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=COMPLETE_TIMEOUT)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    before = _snapshot(drill)
    again = drill.manage("run_lifecycle", "--json")
    assert _snapshot(drill) == before  # the second (third) run changes nothing
    assert '"done"' not in again.stdout
    row = drill.measure("job run twice (2 concurrent + 1 more)", ITEMS)
    row.seconds = time.monotonic() - started
    _check(row)
    assert row.raw_resends == 0


def test_fault_two_beat_processes_at_once(drill: Servers):
    started = time.monotonic()
    with (
        drill.process("worker", drill.worker_argv()),
        drill.process("beat1", drill.beat_argv("beat1")),
        drill.process("beat2", drill.beat_argv("beat2")),
    ):
        drill.wait_complete(ITEMS, timeout=COMPLETE_TIMEOUT)
        before = _snapshot(drill)
        time.sleep(6)  # several more ticks from both beats
        assert _snapshot(drill) == before
    row = drill.measure("two beat processes at once", ITEMS)
    row.seconds = time.monotonic() - started
    _check(row)


@pytest.mark.parametrize("percent", KILL_PERCENTS)
def test_fault_sigkill_prefork_child_after_n_sends(drill: Servers, percent: int):
    started = time.monotonic()
    kill_after = _kill_after(percent)
    hook = {"TERMS_FAULT_HOOK": "kill_self", "TERMS_FAULT_AFTER_SENDS": str(kill_after)}
    with (
        drill.process("worker", drill.worker_argv(), **hook) as worker,
        drill.process("beat", drill.beat_argv()),
    ):
        wait_for(drill.hook_fired, timeout=COMPLETE_TIMEOUT, what="the fault hook")
        drill.wait_complete(ITEMS, timeout=COMPLETE_TIMEOUT)
        assert worker.alive()  # the main process replaced its child and carried on
    row = drill.measure(
        f"SIGKILL prefork child after {kill_after} sends (~{2 * percent}% of the batch)", ITEMS
    )
    row.seconds = time.monotonic() - started
    _check(row)


@pytest.mark.parametrize("percent", KILL_PERCENTS)
def test_fault_sigkill_worker_main_process_then_restart(drill: Servers, percent: int):
    started = time.monotonic()
    kill_after = _kill_after(percent)
    hook = {"TERMS_FAULT_HOOK": "kill_parent", "TERMS_FAULT_AFTER_SENDS": str(kill_after)}
    with drill.process("beat", drill.beat_argv()):
        with drill.process("worker", drill.worker_argv(), **hook) as worker:
            wait_for(drill.hook_fired, timeout=COMPLETE_TIMEOUT, what="the fault hook")
            wait_for(lambda: not worker.alive(), timeout=30, what="the main process to die")
            worker.kill_group()  # the orphaned children go down with the "machine"
        done_at_kill = drill.progress()
        assert done_at_kill[1] < ITEMS
        with drill.process("worker2", drill.worker_argv("w2")):
            drill.wait_complete(ITEMS, timeout=COMPLETE_TIMEOUT)
    row = drill.measure(
        f"SIGKILL worker main process after {kill_after} sends (~{2 * percent}% of the batch)",
        ITEMS,
    )
    row.seconds = time.monotonic() - started
    _check(row)


def test_fault_redis_restarted_mid_run(drill: Servers):
    started = time.monotonic()
    hook = {"TERMS_FAULT_HOOK": "pause", "TERMS_FAULT_AFTER_SENDS": str(KILL_AFTER)}
    with (
        drill.process("worker", drill.worker_argv(), **hook),
        drill.process("beat", drill.beat_argv()),
    ):
        wait_for(drill.hook_fired, timeout=COMPLETE_TIMEOUT, what="the fault hook")
        drill.redis.kill()
        drill.redis.start()  # from its append-only file
        drill.resume()
        drill.wait_complete(ITEMS, timeout=COMPLETE_TIMEOUT)
    row = drill.measure(f"Redis SIGKILL + restart after {KILL_AFTER} sends", ITEMS)
    row.seconds = time.monotonic() - started
    _check(row)


def test_fault_postgres_restarted_mid_run(drill: Servers):
    started = time.monotonic()
    hook = {"TERMS_FAULT_HOOK": "pause", "TERMS_FAULT_AFTER_SENDS": str(KILL_AFTER)}
    with (
        drill.process("worker", drill.worker_argv(), **hook),
        drill.process("beat", drill.beat_argv()),
    ):
        wait_for(drill.hook_fired, timeout=COMPLETE_TIMEOUT, what="the fault hook")
        drill.postgres.crash_restart()  # immediate stop: no checkpoint, WAL replay on start
        drill.resume()
        drill.wait_complete(ITEMS, timeout=COMPLETE_TIMEOUT)
    row = drill.measure(f"PostgreSQL crash + restart after {KILL_AFTER} sends", ITEMS)
    row.seconds = time.monotonic() - started
    _check(row)
