"""The deployment without Docker (deploy/systemd/, deploy/nginx/, docs/operations.md "Deploy
without Docker"): the units and the nginx site parse, and name only settings the service reads.

`systemd-analyze verify` and `nginx -t` run when installed (.ci/run installs both); without
them the structural checks below still run and the parser checks are skipped with the reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ops.test_compose import _env_example, _env_reads

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
UNITS = sorted((ROOT / "deploy" / "systemd").glob("*.service"))
SITE = ROOT / "deploy" / "nginx" / "terms.conf"
# Parser output that systemd-analyze reports without failing: each is a mistake in the unit.
SYSTEMD_COMPLAINTS = re.compile(r"Unknown key|Failed to parse|Unknown section|ignoring", re.I)


def _unit(path: Path) -> dict[str, dict[str, str]]:
    """Sections of a unit file; a key given twice (Environment=) keeps both, space-joined."""
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], {})
            continue
        key, _, value = line.partition("=")
        current[key] = f"{current[key]} {value}" if key in current else value
    return sections


def _sbin_which(name: str) -> str | None:
    return shutil.which(name, path="/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin")


def _names_read() -> set[str]:
    """Variables settings read, plus those gunicorn.conf.py reads."""
    names = {r.name for r in _env_reads((ROOT / "terms_site" / "settings.py").read_text())}
    gunicorn = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    names |= set(
        re.findall(r"""(?:_int|environ\.get|environ\.setdefault)\(\s*"([A-Z_]+)""", gunicorn)
    )
    return names


def test_there_is_a_unit_per_process_kind() -> None:
    assert [p.name for p in UNITS] == [
        "terms-beat.service",
        "terms-web.service",
        "terms-worker.service",
    ]


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_unit_runs_as_the_service_user_hardened_and_restarting(path) -> None:
    service = _unit(path)["Service"]
    assert service["User"] == "terms"
    assert service["EnvironmentFile"] == "/etc/terms/terms.env"
    assert service["Restart"] == "on-failure"
    assert service["NoNewPrivileges"] == "yes"
    assert service["ProtectSystem"] == "strict"
    assert service["CapabilityBoundingSet"] == ""
    assert service["StateDirectory"] == "terms"
    assert service["ExecStart"].startswith("/opt/terms/venv/bin/")


def test_web_unit_uses_the_gunicorn_config_and_a_per_instance_metrics_dir() -> None:
    service = _unit(ROOT / "deploy" / "systemd" / "terms-web.service")["Service"]
    assert service["ExecStart"].endswith("gunicorn -c deploy/gunicorn.conf.py")
    assert "PROMETHEUS_MULTIPROC_DIR=/run/terms-web/" in service["Environment"]
    beat = _unit(ROOT / "deploy" / "systemd" / "terms-beat.service")["Service"]
    assert " beat " in f"{beat['ExecStart']} "


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")
@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_systemd_accepts_the_unit(path, tmp_path) -> None:
    # The real unit, with the install paths pointing at this checkout so that the programs
    # it starts exist here; everything else as shipped.
    venv = Path(sys.executable).parent.parent
    (tmp_path / "terms.env").write_text("")
    text = (
        path.read_text()
        .replace("/opt/terms/venv", str(venv))
        .replace("/opt/terms/app", str(ROOT))
        .replace("/etc/terms/terms.env", str(tmp_path / "terms.env"))
    )
    unit = tmp_path / path.name
    unit.write_text(text)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    complaints = [line for line in output.splitlines() if SYSTEMD_COMPLAINTS.search(line)]
    assert complaints == []


def test_nginx_site_matches_the_settings() -> None:
    text = SITE.read_text()
    assert "proxy_set_header X-Forwarded-Proto $scheme;" in text  # SECURE_PROXY_SSL_HEADER
    # One proxy appending the client: TERMS_TRUSTED_PROXY_COUNT=1 in the docs' steps.
    assert "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;" in text
    assert "proxy_pass http://terms_web;" in text
    assert re.search(r"server 127\.0\.0\.1:8000\b", text)
    web = _unit(ROOT / "deploy" / "systemd" / "terms-web.service")["Service"]
    assert "GUNICORN_BIND=127.0.0.1:8000" in web["Environment"]
    assert re.search(r"location /static/ \{\s*alias /var/lib/terms/static/;", text)
    # Above the API's own limit (its 413 problem answers first), below Django's 2.5 MB.
    size = re.search(r"client_max_body_size (\d+)m;", text)
    assert size is not None
    from django.conf import settings

    assert settings.TERMS_API_MAX_BODY_BYTES < int(size.group(1)) * 1024 * 1024 <= 3 * 1024**2
    docs = (ROOT / "docs" / "operations.md").read_text()
    assert "DJANGO_STATIC_ROOT=/var/lib/terms/static" in docs
    assert "TERMS_TRUSTED_PROXY_COUNT=1" in docs


@pytest.mark.skipif(
    _sbin_which("nginx") is None, reason="nginx missing (apt-get install nginx-light)"
)
@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl missing")
def test_nginx_accepts_the_site(tmp_path) -> None:
    nginx = _sbin_which("nginx")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=terms.example.com",
         "-keyout", str(tmp_path / "privkey.pem"), "-out", str(tmp_path / "fullchain.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    site = SITE.read_text().replace("/etc/ssl/terms/", f"{tmp_path}/")
    (tmp_path / "terms.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events {}\n"
        f"http {{\n  access_log off;\n  client_body_temp_path {tmp_path}/body;\n"
        f"  include {tmp_path}/terms.conf;\n}}\n"
    )
    result = subprocess.run(
        [nginx, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_units_and_docs_name_only_variables_the_service_reads() -> None:
    read = _names_read()
    documented, _assigned = _env_example()
    named: set[str] = set()
    for path in UNITS:
        service = _unit(path)["Service"]
        named |= set(re.findall(r"(?:^|\s)([A-Z][A-Z0-9_]+)=", service.get("Environment", "")))
    docs = (ROOT / "docs" / "operations.md").read_text()
    section = docs[docs.index("## Deploy without Docker") : docs.index("## Production refuses")]
    named |= set(re.findall(r"`([A-Z][A-Z0-9_]+)=", section))
    named |= set(re.findall(r"\b((?:DJANGO|TERMS|GUNICORN)_[A-Z0-9_]+)\b", section))
    assert named, "the parser found nothing: the check would mean nothing"
    unknown = sorted(named - read)
    assert unknown == [], f"named but never read: {unknown}"
    assert named <= documented
