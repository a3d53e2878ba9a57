"""gunicorn started with deploy/gunicorn.conf.py, as the web container starts it."""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.db import connection

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


def test_gunicorn_serves_json_logs_and_metrics_summed_over_workers(tmp_path) -> None:
    port = _free_port()
    db = connection.settings_dict
    env = {
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
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prometheus"),
    }
    log = (tmp_path / "gunicorn.log").open("w")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-c", "deploy/gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
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
            assert server.poll() is None, (tmp_path / "gunicorn.log").read_text()
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.3)
        for _ in range(6):
            status, _body = _get(
                f"{base}/api/v1/?next=/x", **{"X-Request-ID": "gunicorn-test-0001"}
            )
            assert status == 200
        assert _get(f"{base}/metrics")[0] == 403
        # Production refuses the token over plain HTTP; the scrape comes through the TLS proxy.
        token = {"Authorization": "Bearer gunicorn-test-token"}
        assert _get(f"{base}/metrics", **token) == (403, b"https required\n")
        status, body = _get(f"{base}/metrics", **token, **{"X-Forwarded-Proto": "https"})
        assert status == 200
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    text = body.decode()
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
