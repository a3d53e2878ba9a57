from __future__ import annotations

import json
import logging

import pytest
from celery import Celery
from celery.app.trace import build_tracer
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory

from terms_site.logging import (
    ConsoleFormatter,
    JsonFormatter,
    RequestIdMiddleware,
    bind_log_context,
    build_logging_config,
    log_context,
    scrub_path,
)
from tests.factories.tenants import make_partner_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

REQUEST_ID = "req-7f3a9c21-ops-test"


def parsed(logs) -> list[dict]:
    return [json.loads(line) for line in logs.lines()]


@pytest.fixture
def memory_app():
    """A Celery app on kombu's in-memory transport: real publishing, no worker, no Redis."""
    app = Celery("ops-tests", broker="memory://", set_as_current=False)
    app.conf.task_serializer = "json"

    @app.task(name="ops_tests.log_inside")
    def log_inside(*, contract_id: int) -> None:
        logging.getLogger("terms.tests.task").info("task.ran", extra={"contract_id": contract_id})

    yield app, log_inside
    with app.connection_for_read() as conn:
        conn.SimpleQueue("celery").clear()


def _run_like_a_worker(app, task, message) -> None:
    """What a worker does with a message: the tracer pushes its headers as task.request and
    sends task_prerun / task_postrun around the body."""
    args, kwargs, _embed = message.decode()
    tracer = build_tracer(task.name, task, app=app, eager=False, propagate=True)
    tracer(message.headers["id"], args, kwargs, request=dict(message.headers))


def test_request_id_reaches_the_log_of_a_task_the_request_enqueued(json_logs, memory_app) -> None:
    app, task = memory_app

    def view(request: HttpRequest) -> HttpResponse:
        bind_log_context(tenant_id=41, partner_id=7)
        task.apply_async(kwargs={"contract_id": 5})  # before_task_publish adds the ids
        return HttpResponse("ok")

    request = RequestFactory().get("/portal/", HTTP_X_REQUEST_ID=REQUEST_ID)
    response = RequestIdMiddleware(view)(request)
    assert response["X-Request-ID"] == REQUEST_ID

    with app.connection_for_read() as conn:
        message = conn.SimpleQueue("celery").get(timeout=2)
    assert message.headers["terms_request_id"] == REQUEST_ID
    # The worker runs later, in another context: nothing is bound any more.
    _run_like_a_worker(app, task, message)
    message.ack()

    task_line = next(line for line in parsed(json_logs) if line["event"] == "task.ran")
    assert task_line["request_id"] == REQUEST_ID
    assert task_line["tenant_id"] == 41
    assert task_line["partner_id"] == 7
    assert task_line["task"] == "ops_tests.log_inside"
    assert task_line["task_id"] == message.headers["id"]
    assert task_line["contract_id"] == 5


def test_task_context_ends_with_the_task(json_logs, memory_app) -> None:
    app, task = memory_app
    with log_context(request_id=REQUEST_ID):
        task.apply_async(kwargs={"contract_id": 1})
    with app.connection_for_read() as conn:
        message = conn.SimpleQueue("celery").get(timeout=2)
    _run_like_a_worker(app, task, message)
    message.ack()
    logging.getLogger("terms.tests").warning("after.task")
    after = next(line for line in parsed(json_logs) if line["event"] == "after.task")
    assert "request_id" not in after
    assert "task_id" not in after


def test_request_line_carries_route_status_and_partner_of_an_api_key(client, json_logs) -> None:
    key, plain = make_partner_key()
    response = client.get(
        "/api/v1/events/", HTTP_AUTHORIZATION=f"Api-Key {plain}", HTTP_X_REQUEST_ID=REQUEST_ID
    )
    assert response.status_code == 200
    assert response["X-Request-ID"] == REQUEST_ID
    (line,) = [entry for entry in parsed(json_logs) if entry["event"] == "http.request"]
    assert line["request_id"] == REQUEST_ID
    assert line["partner_id"] == key.partner_id
    assert line["status"] == 200
    assert line["method"] == "GET"
    assert line["route"] == "api/v1/events/"
    assert plain not in json_logs.text


def test_a_malformed_request_id_is_replaced(client) -> None:
    response = client.get("/admin/login/", HTTP_X_REQUEST_ID='bad id"\n{"level":"x"}')
    assert response["X-Request-ID"] != 'bad id"\n{"level":"x"}'
    assert len(response["X-Request-ID"]) == 32


def test_authorization_header_values_never_reach_the_logs(client, json_logs) -> None:
    _key, plain = make_partner_key()
    secret = plain.split("_", 2)[2]  # <tag>_<prefix>_<secret>; the secret may contain "_"
    # A valid key, a revoked-looking forged key (401, logged by django.request) and a bearer.
    client.get("/api/v1/events/", HTTP_AUTHORIZATION=f"Api-Key {plain}")
    forged = f"{plain[:-4]}XXXX"
    assert client.get("/api/v1/events/", HTTP_AUTHORIZATION=f"Api-Key {forged}").status_code == 401
    client.get("/api/v1/events/", HTTP_AUTHORIZATION="Bearer sekrit-bearer-value-123")
    # And code that logs what it should not: the header in a message and in extras.
    log = logging.getLogger("terms.tests")
    log.warning("auth failed for Authorization: Api-Key %s", plain)
    log.warning("upstream said", extra={"headers": {"Authorization": f"Api-Key {plain}"}})
    log.warning(
        "retrying", extra={"authorization": f"Bearer {secret}", "detail": f"Api-Key {forged}"}
    )
    log.warning("contact", extra={"note": "mail taro@customer.example"})

    text = json_logs.text
    assert json_logs.lines()  # the lines were written, just without the values
    for value in (plain, secret, forged, "sekrit-bearer-value-123", "taro@customer.example"):
        assert value not in text
    unauthorized = [line for line in parsed(json_logs) if line.get("status_code") == 401]
    assert unauthorized  # django.request's warning, without its request object
    assert all("request" not in line for line in unauthorized)


def test_json_formatter_renders_one_object_with_context_and_exception() -> None:
    record = logging.LogRecord("terms.x", logging.ERROR, __file__, 1, "failed %s", ("job",), None)
    try:
        raise ValueError("boom")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    record.ip_address = "203.0.113.9"
    record.contract_id = 12
    with log_context(request_id=REQUEST_ID, tenant_id=3):
        line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "\n" not in line
    assert entry["event"] == "failed job"
    assert entry["level"] == "error"
    assert entry["request_id"] == REQUEST_ID
    assert entry["tenant_id"] == 3
    assert entry["contract_id"] == 12
    assert entry["ip_address"] == "[redacted]"
    assert entry["exc_type"] == "ValueError"
    assert "boom" in entry["exc"]


def test_gunicorn_access_line_has_no_ip_agent_or_query() -> None:
    atoms = {
        "h": "203.0.113.9",
        "m": "GET",
        "U": "/portal/invitations/Zx81kQ2mPz4TtY7wL0aB3/",
        "q": "email=taro@customer.example",
        "s": "200",
        "M": 12,
        "B": 512,
        "a": "Mozilla/5.0",
        "{x-request-id}o": REQUEST_ID,
    }
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, "%(m)s", (atoms,), None
    )
    record.args = atoms  # logging unwraps a single mapping argument the same way
    entry = json.loads(JsonFormatter().format(record))
    assert entry == {
        "ts": entry["ts"],
        "level": "info",
        "logger": "gunicorn.access",
        "event": "http.access",
        "method": "GET",
        "path": "/portal/invitations/[redacted]/",
        "status": 200,
        "duration_ms": 12,
        "bytes": 512,
        "request_id": REQUEST_ID,
    }


def test_console_format_in_debug_and_json_otherwise() -> None:
    assert build_logging_config(fmt="json")["handlers"]["stdout"]["formatter"] == "json"
    assert build_logging_config(fmt="console")["handlers"]["stdout"]["formatter"] == "console"
    with pytest.raises(ValueError, match="json or console"):
        build_logging_config(fmt="xml")
    record = logging.LogRecord("terms.x", logging.INFO, __file__, 1, "hello", (), None)
    record.seq = 4
    with log_context(request_id=REQUEST_ID):
        line = ConsoleFormatter().format(record)
    assert line.endswith(f"INFO    terms.x [{REQUEST_ID[:12]}] hello seq=4")


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/api/v1/tenants/12/", "/api/v1/tenants/12/"),
        ("/terms/optimal-biz-terms/2025-04/", "/terms/optimal-biz-terms/2025-04/"),
        ("/portal/invite/a1B2c3D4e5F6g7H8i9J0k/?x=1", "/portal/invite/[redacted]/"),
    ],
)
def test_scrub_path_masks_tokens_and_drops_queries(path, expected) -> None:
    assert scrub_path(path) == expected
