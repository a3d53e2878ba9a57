"""gunicorn started with deploy/gunicorn.conf.py, as the web container starts it."""

from __future__ import annotations

import json
import os
import runpy
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection
from prometheus_client.parser import text_string_to_metric_families

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _get(url: str, **headers: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 -- local test server
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _env(tmp_path: Path, port: int, prometheus: Path) -> dict[str, str]:
    db = connection.settings_dict
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "terms_site.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "EMAIL_URL": "smtp://mail.invalid:25",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TERMS_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_STATIC_ROOT": str(tmp_path),
        "TERMS_METRICS_TOKEN": "gunicorn-test-token",
        "TERMS_LOG_FORMAT": "json",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(prometheus),
    }


@contextmanager
def _gunicorn(tmp_path: Path, name: str, prometheus: Path) -> Iterator[str]:
    """A gunicorn started as the web container starts it; yields its base URL."""
    port = _free_port()
    log_path = tmp_path / f"{name}.log"
    with log_path.open("w") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).with_name("gunicorn")), "-c", "deploy/gunicorn.conf.py"],
            cwd=ROOT,
            env=_env(tmp_path, port, prometheus),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if _get(f"{base}/healthz")[0] == 200:
                        break
                except OSError:
                    pass
                assert server.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.3)
            yield base
        finally:
            server.terminate()
            server.wait(timeout=30)


TOKEN = {"Authorization": "Bearer gunicorn-test-token", "X-Forwarded-Proto": "https"}


def _scrape(base: str) -> str:
    status, body = _get(f"{base}/metrics", **TOKEN)
    assert status == 200
    return body.decode()


def _api_root_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if (
                sample.name == "django_http_requests_latency_seconds_by_view_method_count"
                and sample.labels == {"method": "GET", "view": "api:root"}
            ):
                return sample.value
    return 0.0


def test_gunicorn_serves_json_logs_and_metrics_summed_over_workers(tmp_path) -> None:
    with _gunicorn(tmp_path, "gunicorn", tmp_path / "prometheus") as base:
        for _ in range(6):
            status, _body = _get(
                f"{base}/api/v1/?next=/x", **{"X-Request-ID": "gunicorn-test-0001"}
            )
            assert status == 200
        assert _get(f"{base}/metrics")[0] == 403
        # Production refuses the token over plain HTTP; the scrape comes through the TLS proxy.
        token = {"Authorization": "Bearer gunicorn-test-token"}
        assert _get(f"{base}/metrics", **token) == (403, b"https required\n")
        text = _scrape(base)
    # Six requests, whichever of the two workers served them.
    assert (
        'django_http_requests_latency_seconds_by_view_method_count{method="GET",view="api:root"} 6.0'
        in text
    )
    assert 'terms_metrics_database_up{group="ledger"} 1.0' in text
    lines = [json.loads(line) for line in (tmp_path / "gunicorn.log").read_text().splitlines()]
    access = [
        line for line in lines if line.get("event") == "http.access" and line["path"] == "/api/v1/"
    ]
    assert len(access) == 6
    assert {line["request_id"] for line in access} == {"gunicorn-test-0001"}
    assert all("next" not in json.dumps(line) for line in access)  # no query strings
    requests = [line for line in lines if line.get("event") == "http.request"]
    assert {(line["route"], line["status"]) for line in requests} == {("api/v1/", 200)}


def test_two_gunicorns_on_one_host_keep_their_own_counters_and_process_metrics(
    tmp_path,
) -> None:
    shared = tmp_path / "prometheus"  # the same PROMETHEUS_MULTIPROC_DIR for both
    with _gunicorn(tmp_path, "first", shared) as first:
        for _ in range(3):
            assert _get(f"{first}/api/v1/")[0] == 200
        (first_folder,) = shared.glob("gunicorn-*")
        # The second instance starts (and empties its own folder) while the first serves.
        with _gunicorn(tmp_path, "second", shared) as second:
            for _ in range(2):
                assert _get(f"{second}/api/v1/")[0] == 200
            first_text, second_text = _scrape(first), _scrape(second)
            assert len(list(shared.glob("gunicorn-*"))) == 2
        assert first_folder.is_dir()
    assert _api_root_count(first_text) == 3
    assert _api_root_count(second_text) == 2
    # The process metrics are the master's: one instance, one start time, real memory.
    for text in (first_text, second_text):
        samples = {
            sample.name: sample.value
            for family in text_string_to_metric_families(text)
            for sample in family.samples
        }
        assert samples["process_resident_memory_bytes"] > 1_000_000
        assert samples["process_start_time_seconds"] > time.time() - 600
        assert "process_cpu_seconds_total" in samples
        assert "python_info" in samples
    # Stopped cleanly, each instance removed its own folder.
    assert list(shared.glob("gunicorn-*")) == []


def test_gunicorn_start_empties_its_own_folder_and_drops_dead_instances(tmp_path) -> None:
    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    base = tmp_path / "prometheus"
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    try:
        for pid in (live.pid, dead.pid, os.getpid()):
            folder = base / f"gunicorn-{pid}"
            folder.mkdir(parents=True)
            (folder / "counter_1.db").write_bytes(b"old")
        instance = config["prometheus_instance_dir"](base, os.getpid())
        assert instance == base / f"gunicorn-{os.getpid()}"
        assert list(instance.iterdir()) == []  # this instance's old files are gone
        assert (base / f"gunicorn-{live.pid}" / "counter_1.db").exists()  # still running
        assert not (base / f"gunicorn-{dead.pid}").exists()
    finally:
        live.kill()
        live.wait()
