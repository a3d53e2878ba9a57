"""The deployment files, checked statically against what the code reads (no Docker needed)."""

from __future__ import annotations

import ast
import os
import re
import runpy
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from packaging.requirements import Requirement

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
SECRET_NAME = re.compile(r"SECRET|PASSWORD|TOKEN|PRIVATE", re.IGNORECASE)
APP_SERVICES = ("migrate", "web", "worker", "beat")


@dataclass(frozen=True)
class EnvRead:
    name: str
    kind: str
    has_default: bool
    default: Any
    in_debug_branch: bool
    line: int


def _env_reads(source: str) -> list[EnvRead]:
    """Every `env.<type>("NAME", ...)` call in settings, and whether it sits under `if DEBUG:`."""
    reads: list[EnvRead] = []

    def visit(node: ast.AST, debug: bool) -> None:
        if isinstance(node, ast.If):
            is_debug = isinstance(node.test, ast.Name) and node.test.id == "DEBUG"
            visit(node.test, debug)
            for child in node.body:
                visit(child, debug or is_debug)
            for child in node.orelse:
                visit(child, debug)
            return
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "env"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            default = next((kw.value for kw in node.keywords if kw.arg == "default"), None)
            try:
                value = ast.literal_eval(default) if default is not None else None
            except ValueError:
                value = ast.unparse(default)  # an expression, e.g. a path under BASE_DIR
            reads.append(
                EnvRead(
                    name=node.args[0].value,
                    kind=node.func.attr,
                    has_default=default is not None,
                    default=value,
                    in_debug_branch=debug,
                    line=node.lineno,
                )
            )
        for child in ast.iter_child_nodes(node):
            visit(child, debug)

    visit(ast.parse(source), False)
    return reads


def _env_example() -> tuple[set[str], dict[str, str]]:
    """Names documented in the .env.example tables, and the variables it assigns."""
    text = (ROOT / ".env.example").read_text()
    documented = set(re.findall(r"^# \| ([A-Z][A-Z0-9_]+)\s+\|", text, re.MULTILINE))
    assigned = dict(re.findall(r"^([A-Z][A-Z0-9_]+)=(.*)$", text, re.MULTILINE))
    return documented, assigned


@pytest.fixture(scope="module")
def reads() -> list[EnvRead]:
    return _env_reads((ROOT / "terms_site" / "settings.py").read_text())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command", [])
    return command.split() if isinstance(command, str) else [str(part) for part in command]


# --- settings ↔ .env.example ------------------------------------------------------------------


def test_settings_parser_finds_the_known_reads(reads) -> None:
    by_name = {read.name: read for read in reads}
    assert {"DJANGO_SECRET_KEY", "DATABASE_URL", "TERMS_METRICS_TOKEN"} <= set(by_name)
    secret_reads = [r for r in reads if r.name == "DJANGO_SECRET_KEY"]
    assert {(r.has_default, r.in_debug_branch) for r in secret_reads} == {
        (True, True),
        (False, False),
    }


def test_every_setting_read_is_documented_in_env_example(reads) -> None:
    documented, _assigned = _env_example()
    missing = sorted({read.name for read in reads} - documented)
    assert missing == [], f"add these to the .env.example table: {missing}"


def test_every_setting_without_default_is_set_in_env_example(reads) -> None:
    _documented, assigned = _env_example()
    required = sorted({r.name for r in reads if not r.has_default and not r.in_debug_branch})
    assert "DJANGO_SECRET_KEY" in required
    unset = [name for name in required if not assigned.get(name, "").strip()]
    assert unset == [], f"no default and not set in .env.example: {unset}"


def test_no_secret_has_a_usable_default_outside_debug(reads) -> None:
    leaky = [
        f"{r.name} (line {r.line}) defaults to {r.default!r}"
        for r in reads
        if SECRET_NAME.search(r.name)
        and r.has_default
        and not r.in_debug_branch
        and r.default != ""
    ]
    assert leaky == []


def test_documented_compose_variables_cover_compose_interpolation(compose) -> None:
    documented, _ = _env_example()
    text = (ROOT / "docker-compose.yml").read_text()
    interpolated = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", text))
    assert interpolated - documented == set()
    # A secret is never given a fallback value in compose: it is required (`:?`) or absent.
    for name in interpolated:
        if SECRET_NAME.search(name):
            assert re.search(rf"\$\{{{name}:\?", text), f"{name} must be required with :?"
            assert not re.search(rf"\$\{{{name}:?-", text), f"{name} has a default"


# --- compose ----------------------------------------------------------------------------------


def test_compose_has_the_production_services(compose) -> None:
    assert set(compose["services"]) >= {"migrate", "web", "worker", "beat", "postgres", "redis"}


def test_every_long_running_service_has_a_healthcheck(compose) -> None:
    one_shots = {n for n, s in compose["services"].items() if str(s.get("restart")) == "no"}
    assert "migrate" in one_shots
    for name, service in compose["services"].items():
        if name in one_shots:
            continue
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no healthcheck"
        assert not check.get("disable", False)


def test_exactly_one_beat_and_no_worker_runs_beat(compose) -> None:
    beats = [
        n
        for n, s in compose["services"].items()
        if _command(s)[:1] == ["celery"] and "beat" in _command(s)
    ]
    assert beats == ["beat"]
    assert compose["services"]["beat"]["deploy"]["replicas"] == 1
    for name, service in compose["services"].items():
        command = _command(service)
        if "worker" in command:
            assert not {"-B", "--beat"} & set(command), f"{name} would start a second beat"


def test_migrations_run_once_before_the_app_starts(compose) -> None:
    services = compose["services"]
    assert " ".join(_command(services["migrate"])).endswith("python manage.py migrate --no-input")
    for name in ("web", "worker", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"] == {"condition": "service_completed_successfully"}
        assert depends["postgres"] == {"condition": "service_healthy"}
        assert depends["redis"] == {"condition": "service_healthy"}


def test_app_services_take_settings_from_env_file_and_share_one_image(compose) -> None:
    services = compose["services"]
    for name in APP_SERVICES:
        assert services[name]["env_file"] == ".env"
        assert services[name]["build"]["context"] == "."
    assert len({services[name]["image"] for name in APP_SERVICES}) == 1


def test_web_runs_gunicorn_with_the_config_file(compose) -> None:
    command = _command(compose["services"]["web"])
    assert command[0] == "gunicorn"
    config = command[command.index("-c") + 1]
    assert (ROOT / config).is_file()


def test_redis_persists_append_only_and_postgres_has_a_volume(compose) -> None:
    services = compose["services"]
    redis_command = _command(services["redis"])
    assert redis_command[redis_command.index("--appendonly") + 1] == "yes"
    assert redis_command[redis_command.index("--maxmemory-policy") + 1] == "noeviction"
    assert any(
        str(volume).endswith(":/data") and str(volume).split(":")[0] in compose["volumes"]
        for volume in services["redis"]["volumes"]
    )
    assert any(
        str(volume).split(":")[0] in compose["volumes"]
        and str(volume).endswith(":/var/lib/postgresql/data")
        for volume in services["postgres"]["volumes"]
    )
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"].startswith(
        "${POSTGRES_PASSWORD:?"
    )


# --- Dockerfile and lock ------------------------------------------------------------------------


def _final_stage(dockerfile: str) -> str:
    return dockerfile[dockerfile.rindex("\nFROM ") :]


def test_dockerfile_builds_a_slim_non_root_image_from_the_lock() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert re.findall(r"^FROM (\S+)", text, re.MULTILINE)[-1].startswith("python:3.11-slim")
    final = _final_stage(text)
    users = re.findall(r"^USER (\S+)", final, re.MULTILINE)
    assert users
    assert users[-1].split(":")[0] not in ("root", "0")
    assert "pip install --no-deps -r /tmp/requirements.lock" in text
    assert "collectstatic --noinput" in text
    assert "compilemessages" in text
    assert {"fonts-noto-cjk", "libpango-1.0-0", "libpangoft2-1.0-0"} <= set(final.split())
    # The build-time dummy secret is given to one RUN only, never as an image ENV.
    env_lines = " ".join(re.findall(r"^ENV (?:.*\\\n)*.*", text, re.MULTILINE))
    assert "TERMS_VAR_DIR=/app/var" in env_lines  # the parser sees continuation lines
    assert "DJANGO_SECRET_KEY" not in env_lines


def test_dockerignore_keeps_secrets_and_local_state_out() -> None:
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".env", ".venv", "var", ".git"} <= ignored


def test_lock_pins_every_runtime_dependency_at_the_pyproject_version() -> None:
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = [
        line
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    ]
    locked = {}
    for line in lines:
        requirement = Requirement(line)
        (spec,) = requirement.specifier
        assert spec.operator == "==", line
        locked[requirement.name.lower().replace("_", "-")] = spec.version
    for dependency in project["dependencies"]:
        requirement = Requirement(dependency)
        (spec,) = requirement.specifier
        assert locked.get(requirement.name.lower().replace("_", "-")) == spec.version, dependency
    # Development tools stay out of the production image.
    assert not {"pytest", "ruff", "playwright", "locust"} & set(locked)


# --- gunicorn and container healthchecks ------------------------------------------------------


def test_gunicorn_config_sizes_workers_from_configuration_not_cores_and_logs_access(
    monkeypatch,
) -> None:
    for name in [n for n in os.environ if n.startswith("GUNICORN_")]:
        monkeypatch.delenv(name)
    prometheus_dir = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    config = runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))
    # The same on any machine: the connection budget follows from configuration alone.
    assert config["workers"] == 3
    assert config["threads"] == 1
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(64)), raising=False)
    monkeypatch.setattr(os, "cpu_count", lambda: 64)
    assert runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))["workers"] == 3
    assert config["timeout"] == 30
    assert config["graceful_timeout"] == 30
    assert config["accesslog"] == "-"
    assert config["wsgi_app"] == "terms_site.wsgi:application"
    assert (
        config["logconfig_dict"]["formatters"]["json"]["()"] == "terms_site.logging.JsonFormatter"
    )
    monkeypatch.setenv("GUNICORN_WORKERS", "3")
    assert runpy.run_path(str(ROOT / "deploy" / "gunicorn.conf.py"))["workers"] == 3
    # Only the master's on_starting chooses the metrics folder; loading the config does not.
    assert os.environ.get("PROMETHEUS_MULTIPROC_DIR") == prometheus_dir


def test_beat_container_check_follows_the_schedule_file(tmp_path, monkeypatch) -> None:
    check = runpy.run_path(str(ROOT / "deploy" / "healthcheck.py"))
    monkeypatch.setenv("TERMS_VAR_DIR", str(tmp_path))
    assert check["check_beat"]() is False  # beat never started
    schedule = tmp_path / "celerybeat-schedule"
    schedule.write_bytes(b"")
    assert check["check_beat"]() is True
    stale = time.time() - check["BEAT_MAX_SILENCE_SECONDS"] - 60
    os.utime(schedule, (stale, stale))
    assert check["check_beat"]() is False
    assert check["main"](["healthcheck.py", "nonsense"]) == 2


def test_settings_parser_flags_a_secret_default_outside_debug() -> None:
    source = (
        'if DEBUG:\n    A = env.str("DJANGO_SECRET_KEY", default="dev")\n'
        'else:\n    A = env.str("DJANGO_SECRET_KEY")\n'
        'B = env.str("SMTP_PASSWORD", default="hunter2")\n'
    )
    reads = _env_reads(source)
    assert [(r.name, r.has_default, r.in_debug_branch) for r in reads] == [
        ("DJANGO_SECRET_KEY", True, True),
        ("DJANGO_SECRET_KEY", False, False),
        ("SMTP_PASSWORD", True, False),
    ]
    leaky = [
        r.name
        for r in reads
        if SECRET_NAME.search(r.name) and r.has_default and not r.in_debug_branch
    ]
    assert leaky == ["SMTP_PASSWORD"]


def test_operations_doc_lists_the_same_variables_as_env_example() -> None:
    documented, _ = _env_example()
    doc = (ROOT / "docs" / "operations.md").read_text()
    in_doc = set(re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", doc, re.MULTILINE))
    assert in_doc == documented


def test_lock_holds_what_the_redis_broker_needs_at_run_time() -> None:
    # kombu's Redis transport imports `packaging` (its `redis` extra): without it a runtime-only
    # install (the image, `make run` on Redis) starts no worker and no beat.
    from importlib import metadata

    locked = {
        Requirement(line).name.lower().replace("_", "-")
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if line and not line.startswith("#")
    }
    redis_extra = {
        Requirement(spec).name.lower().replace("_", "-")
        for spec in metadata.requires("kombu") or []
        if Requirement(spec).marker is not None
        and Requirement(spec).marker.evaluate({"extra": "redis"})
    }
    assert redis_extra, "kombu declares a redis extra"
    assert redis_extra <= locked, redis_extra - locked
