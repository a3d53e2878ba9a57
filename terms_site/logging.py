"""Structured logs: JSON lines in production, readable lines in debug (docs/operations.md).

Every line carries the request id (X-Request-ID, in and out), and the tenant and partner ids
where known; a Celery task started by a request logs under the same request id, carried in
the task message's headers. Secrets and personal data never reach a line: known-sensitive
field names are replaced, Authorization-style credentials and e-mail addresses in any text
are masked, and request objects are dropped rather than rendered.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

from celery.signals import before_task_publish, task_postrun, task_prerun
from django.http import HttpRequest, HttpResponse

REQUEST_ID_HEADER = "X-Request-ID"
# A caller's id is kept so one request can be followed through proxy, app and partner logs;
# anything else (too long, odd characters) is replaced, so a header cannot forge log content.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")

# Context carried from a request into the tasks it enqueues (message header names: terms_<key>).
CARRIED_KEYS = ("request_id", "tenant_id", "partner_id")
_HEADER_PREFIX = "terms_"

_context: ContextVar[dict[str, Any] | None] = ContextVar("terms_log_context", default=None)

logger = logging.getLogger("terms.request")


# --- Context ---------------------------------------------------------------------------------


def get_log_context() -> dict[str, Any]:
    """A copy of what is bound to the current request or task."""
    return dict(_context.get() or {})


def bind_log_context(**values: Any) -> None:
    """Attach ids (tenant_id=…, partner_id=…) to every later line of this request or task.

    Views and services call it once they know whom a request is about; None values are
    ignored. Only ids belong here, never names, addresses or keys.
    """
    current = _context.get()
    clean = {key: value for key, value in values.items() if value is not None}
    if current is None:
        _context.set(clean)
    else:
        # In place: the request's dict is shared with the middleware that created it.
        current.update(clean)


@contextmanager
def log_context(**values: Any) -> Iterator[dict[str, Any]]:
    """Run a block with its own context (a request, a task, a command)."""
    bound = {key: value for key, value in values.items() if value is not None}
    token = _context.set(bound)
    try:
        yield bound
    finally:
        _context.reset(token)


def current_request_id() -> str | None:
    return (_context.get() or {}).get("request_id")


def request_id_from(header: str | None) -> str:
    """The caller's X-Request-ID when it is well-formed, else a new one."""
    if header and _VALID_REQUEST_ID.match(header):
        return header
    return uuid.uuid4().hex


# --- Redaction -------------------------------------------------------------------------------

# Field names whose values are never logged (matched case-insensitively as substrings).
_SENSITIVE_NAME = re.compile(
    r"authorization|password|passwd|secret|token|api[_-]?key|cookie|session|csrf|salt|"
    r"email|e_mail|ip_address|remote_addr|user_agent|person_name|phone|address",
    re.IGNORECASE,
)
_CREDENTIAL = re.compile(r"\b(Api-Key|Bearer|Basic|Token|Digest)(\s+)[^\s\"',;]+", re.IGNORECASE)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
# Path segments that look like secrets (invitation tokens, signed links): long opaque strings.
_OPAQUE_SEGMENT = re.compile(
    r"(?<=/)(?=[A-Za-z0-9_\-:.]*\d)(?=[A-Za-z0-9_\-:.]*[A-Za-z])[A-Za-z0-9_\-:.]{20,}"
)
REDACTED = "[redacted]"


def scrub_text(text: str) -> str:
    """Mask credentials after an auth scheme word and e-mail addresses in free text."""
    text = _CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    return _EMAIL.sub("[email]", text)


def scrub_path(path: str) -> str:
    """A URL path without its query and with long opaque segments (tokens) masked."""
    path = path.split("?", 1)[0]
    return _OPAQUE_SEGMENT.sub(REDACTED, path)


def _safe_value(key: str, value: Any, depth: int = 0) -> Any:
    if _SENSITIVE_NAME.search(key):
        return REDACTED
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return scrub_text(value)
    if depth < 3 and isinstance(value, Mapping):
        return {str(k): _safe_value(str(k), v, depth + 1) for k, v in value.items()}
    if depth < 3 and isinstance(value, list | tuple | set | frozenset):
        return [_safe_value(key, v, depth + 1) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    # Objects (requests, model instances, sockets) can render headers or personal data.
    return f"<{type(value).__name__}>"


# Attributes every LogRecord has; anything else came in through `extra=`.
_RECORD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", (), None).__dict__.keys()
    | {"message", "asctime", "taskName"}
)
# Extras that are never rendered: Django attaches the request object to django.request lines.
_DROPPED_EXTRAS = frozenset({"request", "server_time", "args", "environ", "headers", "META"})


def _access_fields(atoms: Mapping[str, Any]) -> dict[str, Any]:
    """gunicorn's access atoms, reduced to what an operator needs (no IP, agent or query)."""
    try:
        duration_ms = int(atoms["M"])
    except (KeyError, TypeError, ValueError):
        duration_ms = None
    fields: dict[str, Any] = {
        "event": "http.access",
        "method": atoms.get("m"),
        "path": scrub_path(str(atoms.get("U") or "")),
        "status": int(str(atoms.get("s") or 0)) if str(atoms.get("s") or "").isdigit() else None,
        "duration_ms": duration_ms,
        "bytes": atoms.get("B"),
    }
    request_id = atoms.get("{x-request-id}o")
    if request_id and request_id != "-":
        fields["request_id"] = request_id
    return fields


def record_fields(record: logging.LogRecord) -> dict[str, Any]:
    """The structured content of a record: context, extras and message, all scrubbed."""
    fields: dict[str, Any] = {}
    atoms = record.args if record.name == "gunicorn.access" else None
    if isinstance(atoms, Mapping):
        fields.update(_access_fields(atoms))
    else:
        fields["event"] = scrub_text(record.getMessage())
    for key, value in get_log_context().items():
        fields.setdefault(key, _safe_value(key, value))
    for key, value in record.__dict__.items():
        if key in _RECORD_ATTRS or key in _DROPPED_EXTRAS or key.startswith("_"):
            continue
        fields[key] = _safe_value(key, value)
    return fields


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, event, then context and extras."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
        }
        payload.update(record_fields(record))
        if record.exc_info:
            payload["exc_type"] = record.exc_info[0].__name__ if record.exc_info[0] else None
            payload["exc"] = scrub_text(self.formatException(record.exc_info))
        elif record.stack_info:
            payload["stack"] = scrub_text(self.formatStack(record.stack_info))
        return json.dumps(payload, ensure_ascii=False, default=str)


class ConsoleFormatter(logging.Formatter):
    """`12:00:00 INFO  logger [request id] event key=value`, for people reading a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = record_fields(record)
        event = fields.pop("event", "")
        request_id = fields.pop("request_id", None)
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")  # noqa: DTZ006 -- local terminal time
        rid = f" [{str(request_id)[:12]}]" if request_id else ""
        extras = " ".join(f"{key}={value}" for key, value in fields.items())
        line = f"{stamp} {record.levelname:<7} {record.name}{rid} {event}"
        line = f"{line} {extras}" if extras else line
        if record.exc_info:
            line = f"{line}\n{scrub_text(self.formatException(record.exc_info))}"
        return line


def build_logging_config(*, level: str = "INFO", fmt: str = "json") -> dict[str, Any]:
    """The LOGGING dict: one stdout handler with the JSON or the console formatter."""
    if fmt not in ("json", "console"):
        raise ValueError(f"TERMS_LOG_FORMAT must be json or console, not {fmt!r}")
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "terms_site.logging.JsonFormatter"},
            "console": {"()": "terms_site.logging.ConsoleFormatter"},
        },
        "handlers": {"stdout": {"class": "logging.StreamHandler", "formatter": fmt}},
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            # Django's defaults would print a second, unstructured copy of its lines.
            "django": {"handlers": [], "level": level, "propagate": True},
            "django.db.backends": {"level": "WARNING"},
        },
    }


# --- Request middleware ----------------------------------------------------------------------


def _ids_from(request: HttpRequest, response: HttpResponse) -> dict[str, Any]:
    """Tenant and partner ids the authentication layer found, where it found any."""
    candidates = [getattr(request, "scope", None), getattr(request, "auth", None)]
    # DRF keeps its Request (with .scope from the key authenticators) on the response.
    drf_request = (getattr(response, "renderer_context", None) or {}).get("request")
    if drf_request is not None:
        candidates.insert(0, getattr(drf_request, "scope", None))
    ids: dict[str, Any] = {}
    for candidate in candidates:
        if candidate is None or isinstance(candidate, dict):  # ASGI's request.scope is a dict
            continue
        for key in ("tenant_id", "partner_id"):
            value = getattr(candidate, key, None)
            if isinstance(value, int) and key not in ids:
                ids[key] = value
    return ids


class RequestIdMiddleware:
    """Binds a request id (the caller's X-Request-ID or a new one), returns it in the response
    and writes one `http.request` line per request with the route, never the raw path."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER))
        request.request_id = request_id  # type: ignore[attr-defined]
        started = time.monotonic()
        with log_context(request_id=request_id) as bound:
            response = self.get_response(request)
            for key, value in _ids_from(request, response).items():
                bound.setdefault(key, value)
            response[REQUEST_ID_HEADER] = request_id
            match = getattr(request, "resolver_match", None)
            logger.info(
                "http.request",
                extra={
                    "method": request.method,
                    "route": (match.route if match else None) or "<unmatched>",
                    "view": (match.view_name if match else None),
                    "status": response.status_code,
                    "duration_ms": round((time.monotonic() - started) * 1000, 1),
                },
            )
        return response


# --- Celery: carry the request's context into its tasks --------------------------------------

_task_tokens: dict[str, Any] = {}


@before_task_publish.connect(weak=False, dispatch_uid="terms_log_context_publish")
def _on_before_task_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    """Runs where the task is enqueued: copy the ids into the message headers."""
    if headers is None:
        return
    context = get_log_context()
    for key in CARRIED_KEYS:
        if context.get(key) is not None:
            headers.setdefault(f"{_HEADER_PREFIX}{key}", context[key])


def _header(task: Any, name: str) -> Any:
    request = getattr(task, "request", None)
    if request is None:
        return None
    # Protocol 2 turns message headers into attributes of task.request; Task.apply puts
    # them under .headers.
    value = getattr(request, name, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(name)
    return value


@task_prerun.connect(weak=False, dispatch_uid="terms_log_context_prerun")
def _on_task_prerun(task_id: str | None = None, task: Any = None, **_: Any) -> None:
    """Runs in the worker before the task: its lines carry the enqueuing request's ids."""
    values: dict[str, Any] = {key: _header(task, f"{_HEADER_PREFIX}{key}") for key in CARRIED_KEYS}
    values["task_id"] = task_id
    values["task"] = getattr(task, "name", None)
    clean = {key: value for key, value in values.items() if value is not None}
    if task_id is not None:
        _task_tokens[task_id] = _context.set(clean)


@task_postrun.connect(weak=False, dispatch_uid="terms_log_context_postrun")
def _on_task_postrun(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id, None) if task_id is not None else None
    if token is not None:
        try:
            _context.reset(token)
        except ValueError:  # set in another context (eager calls across threads)
            _context.set(None)
