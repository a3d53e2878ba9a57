"""Throwaway PostgreSQL and Redis, a real Celery worker and beat, and the drill's measurements.

Everything lives in one temporary folder on free ports, so killing and restarting servers here
disturbs nothing else on the machine (not the shared development database, not another run).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg2

from tests.jobs.faults.mailbackend import message_files

REPO = Path(__file__).resolve().parents[3]
PG_FALLBACK_BINDIR = "/usr/lib/postgresql/15/bin"
RENEWAL_KIND = "contract.renewal_notice"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pg_bindir() -> Path:
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, check=False)
        path = Path(out.stdout.strip())
        if (path / "initdb").exists():
            return path
    return Path(PG_FALLBACK_BINDIR)


def _as_postgres(cmd: list[str]) -> list[str]:
    # initdb and postgres refuse to run as root: drop to the postgres user when we are root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    """Run a command; on failure, raise with its output (a drill must say what went wrong)."""
    done = subprocess.run(cmd, capture_output=True, text=True, check=False, **kwargs)  # type: ignore[call-overload]
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout}{done.stderr}")
    return done


def wait_for(predicate, *, timeout: float, what: str, interval: float = 0.2) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class Postgres:
    root: Path
    port: int = field(default_factory=free_port)

    @property
    def data(self) -> Path:
        return self.root / "pg"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/terms_fault"

    def _ctl(self, *args: str) -> None:
        cmd = [
            str(pg_bindir() / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.root / "pg.log"),
            *args,
        ]
        run(_as_postgres(cmd))

    def init(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam("postgres")
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        run(
            _as_postgres(
                [
                    str(pg_bindir() / "initdb"),
                    "-D",
                    str(self.data),
                    "-A",
                    "trust",
                    "-U",
                    "postgres",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync",
                ]
            ),
        )
        self.start()
        run(
            _as_postgres(
                [
                    str(pg_bindir() / "createdb"),
                    "-h",
                    "127.0.0.1",
                    "-p",
                    str(self.port),
                    "-U",
                    "postgres",
                    "terms_fault",
                ]
            ),
        )

    def start(self) -> None:
        # fsync off: the machine does not crash in a drill, only the server process does,
        # and the WAL replay after an immediate stop is what is being exercised.
        options = (
            f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c max_connections=60"
        )
        self._ctl("-w", "-o", options, "start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("-w", "-m", mode, "stop")

    def crash_restart(self) -> None:
        """Stop without a checkpoint (like a crash), then start: recovery replays the WAL."""
        self.stop("immediate")
        self.start()

    def connect(self):  # type: ignore[no-untyped-def]
        conn = psycopg2.connect(
            host="127.0.0.1", port=self.port, user="postgres", dbname="terms_fault"
        )
        conn.autocommit = True
        return conn

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        conn = self.connect()
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
                return cur.fetchall() if cur.description else []
        finally:
            conn.close()


@dataclass
class Redis:
    root: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        (self.root / "redis").mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--dir",
                str(self.root / "redis"),
                "--appendonly",
                "yes",
                "--save",
                "",
                "--logfile",
                str(self.root / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.ping, timeout=20, what="redis")

    def ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")

    def command(self, *words: str) -> bytes:
        payload = f"*{len(words)}\r\n" + "".join(f"${len(w)}\r\n{w}\r\n" for w in words)
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(payload.encode())
            return sock.recv(1024)

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
            self.process = None


@dataclass
class Servers:
    root: Path
    postgres: Postgres
    redis: Redis

    @classmethod
    def start(cls, root: Path) -> Servers:
        postgres = Postgres(root / "postgres")
        postgres.init()
        redis = Redis(root)
        redis.start()
        servers = cls(root=root, postgres=postgres, redis=redis)
        servers.manage("migrate", "--no-input", "-v", "0")
        return servers

    def stop(self) -> None:
        self.redis.stop()
        with contextlib.suppress(Exception):
            self.postgres.stop("fast")

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("TERMS_FAULT_", "DJANGO_", "PYTEST", "DATABASE_URL"))
        }
        env.update(
            {
                "DJANGO_SETTINGS_MODULE": "tests.jobs.faults.settings",
                "DJANGO_DEBUG": "true",
                "DATABASE_URL": self.postgres.url,
                "REDIS_URL": self.redis.url,
                "CELERY_BROKER_URL": self.redis.url,
                "TERMS_REDIS_KEY_PREFIX": "terms-fault",
                "TERMS_FAULT_MAIL_DIR": str(self.root / "mail"),
                "TERMS_FAULT_DIR": str(self.root / "hook"),
                "PYTHONPATH": str(REPO),
            }
        )
        env.update(extra)
        return env

    def manage(
        self, *args: str, check: bool = True, **env: str
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env(**env),
            capture_output=True,
            text=True,
            check=check,
        )

    def reset(self) -> None:
        """Empty every table of ours, the broker and the drill folders (the schema stays)."""
        tables = [
            row[0]
            for row in self.postgres.query(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND ("
                "tablename LIKE 'core\\_%%' OR tablename LIKE 'agreements\\_%%' "
                "OR tablename LIKE 'tenants\\_%%' OR tablename LIKE 'auth\\_user%%')"
            )
        ]
        self.postgres.query(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
        self.redis.command("FLUSHALL")
        for name in ("mail", "hook"):
            shutil.rmtree(self.root / name, ignore_errors=True)
            (self.root / name).mkdir(parents=True)

    def seed(self, items: int) -> None:
        run(
            [sys.executable, "-m", "tests.jobs.faults.scenario", "seed", str(items)],
            cwd=REPO,
            env=self.env(),
        )

    # --- processes ------------------------------------------------------------------------

    @contextlib.contextmanager
    def process(self, name: str, argv: list[str], **env: str) -> Iterator[Proc]:
        proc = Proc.start(name, argv, env=self.env(**env), log=self.root / f"{name}.log")
        try:
            yield proc
        finally:
            proc.stop()

    def worker_argv(self, name: str = "w1", concurrency: int = 2) -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "terms_site",
            "worker",
            "--pool=prefork",
            f"--concurrency={concurrency}",
            "--loglevel=WARNING",
            f"--hostname={name}@fault",
            "--without-gossip",
            "--without-mingle",
        ]

    def beat_argv(self, name: str = "beat") -> list[str]:
        return [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "terms_site",
            "beat",
            "--loglevel=WARNING",
            f"--schedule={self.root / (name + '-schedule')}",
            f"--pidfile={self.root / (name + '.pid')}",
        ]

    # --- measurements -----------------------------------------------------------------------

    def hook_fired(self) -> bool:
        return (self.root / "hook" / "fired").exists()

    def resume(self) -> None:
        (self.root / "hook" / "resume").touch()

    def progress(self) -> tuple[int, int]:
        """(renewal-notice actions done, renewal-notice e-mails recorded as sent)."""
        ((done,),) = self.postgres.query(
            "SELECT count(*) FROM core_plannedaction WHERE job = 'renewal_notices' "
            "AND status = 'done'"
        )
        ((sent,),) = self.postgres.query(
            "SELECT count(*) FROM core_outbox WHERE kind = %s AND status = 'sent'",
            (RENEWAL_KIND,),
        )
        return int(done), int(sent)

    def wait_complete(self, items: int, *, timeout: float) -> None:
        wait_for(
            lambda: self.progress() == (items, items),
            timeout=timeout,
            what=f"{items} notices done and sent",
            interval=0.5,
        )

    def measure(self, fault: str, items: int) -> Row:
        ((events, keys),) = self.postgres.query(
            "SELECT count(*), count(DISTINCT payload->>'notice_key') FROM core_event "
            "WHERE kind = %s",
            (RENEWAL_KIND,),
        )
        ((actions, done),) = self.postgres.query(
            "SELECT count(*), count(*) FILTER (WHERE status = 'done') FROM core_plannedaction "
            "WHERE job = 'renewal_notices'"
        )
        ((outbox, sent),) = self.postgres.query(
            "SELECT count(*), count(*) FILTER (WHERE status = 'sent') FROM core_outbox "
            "WHERE kind = %s",
            (RENEWAL_KIND,),
        )
        raw, distinct = message_files(self.root / "mail")
        reconcile = self.manage("reconcile", check=False)
        return Row(
            fault=fault,
            expected=items,
            done=int(keys),
            duplicated=int(events) - int(keys) + max(int(outbox) - items, 0),
            lost=items - int(keys),
            actions_done=int(done),
            actions=int(actions),
            sent=int(sent),
            message_ids=distinct,
            raw_resends=raw - distinct,
            reconcile_exit=reconcile.returncode,
            reconcile_output=reconcile.stdout + reconcile.stderr,
        )


@dataclass
class Row:
    fault: str
    expected: int
    done: int
    duplicated: int
    lost: int
    actions_done: int
    actions: int
    sent: int
    message_ids: int
    raw_resends: int
    reconcile_exit: int
    reconcile_output: str = ""
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"| {self.fault} | {self.expected} | {self.done} | {self.duplicated} | {self.lost} "
            f"| {self.message_ids} | {self.raw_resends} | {self.reconcile_exit} "
            f"| {self.seconds:.1f} |"
        )


TABLE_HEADER = (
    "| fault | expected | done | duplicated | lost | distinct Message-IDs | raw e-mail resends "
    "| reconcile exit | seconds |\n|---|---|---|---|---|---|---|---|---|"
)


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path

    @classmethod
    def start(cls, name: str, argv: list[str], *, env: dict[str, str], log: Path) -> Proc:
        handle = log.open("ab")
        popen = subprocess.Popen(
            argv, cwd=REPO, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
        handle.close()
        return cls(name=name, popen=popen, log=log)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def kill_group(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=10)

    def stop(self) -> None:
        if self.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.popen.wait(timeout=15)
        # Whatever is left of the group (a prefork child orphaned by a killed main process).
        self.kill_group()
