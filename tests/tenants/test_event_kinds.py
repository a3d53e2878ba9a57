"""Every kind a webhook can subscribe to is sent to partners by some service, and no other kind
can be subscribed to (issue: `tenant.invitation` could be subscribed to but never fired).

The emitters are found in the source: a kind reaches a partner only as a tenant note
(`tenants.notify.Note(kind=…)`), so each subscribable kind must appear as the `kind` of a Note
built under agreements/ or tenants/ — directly (`kind=EventKind.X`, or a conditional of such),
through a local variable assigned in the same function, or through a parameter of a helper
whose callers in the same module pass `EventKind.X`.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from core.enums import SUBSCRIBABLE_EVENT_KINDS, EventKind
from core.errors import ValidationFailed
from tenants.services.webhooks import webhook_register, webhook_update

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("agreements", "tenants")
NOT_EMITTERS = ("demo", "migrations")


def _kind_names(node: ast.AST) -> set[str]:
    """The EventKind members named anywhere inside `node`."""
    return {
        sub.attr
        for sub in ast.walk(node)
        if isinstance(sub, ast.Attribute)
        and isinstance(sub.value, ast.Name)
        and sub.value.id == "EventKind"
    }


def _is_note(call: ast.Call) -> bool:
    func = call.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
    return name == "Note"


def _emitted_in(tree: ast.Module) -> set[str]:
    found: set[str] = set()
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    for function in functions:
        params = [a.arg for a in function.args.args + function.args.kwonlyargs]
        for call in (n for n in ast.walk(function) if isinstance(n, ast.Call) and _is_note(n)):
            kind = next((k.value for k in call.keywords if k.arg == "kind"), None)
            if kind is None:
                continue
            found |= _kind_names(kind)
            if not isinstance(kind, ast.Name):
                continue
            # A local variable: what the function assigns to it.
            for assign in ast.walk(function):
                if isinstance(assign, ast.Assign) and any(
                    isinstance(t, ast.Name) and t.id == kind.id for t in assign.targets
                ):
                    found |= _kind_names(assign.value)
            # A parameter: what this module's callers of the function pass for it.
            if kind.id in params:
                position = params.index(kind.id)
                for caller in calls:
                    if isinstance(caller.func, ast.Name) and caller.func.id == function.name:
                        if len(caller.args) > position:
                            found |= _kind_names(caller.args[position])
                        found |= {
                            name
                            for k in caller.keywords
                            if k.arg == kind.id
                            for name in _kind_names(k.value)
                        }
    return found


def emitted_kinds() -> set[str]:
    names: set[str] = set()
    for package in SOURCES:
        for path in (ROOT / package).rglob("*.py"):
            if any(part in NOT_EMITTERS for part in path.parts):
                continue
            names |= _emitted_in(ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return {EventKind[name].value for name in names}


pytestmark = pytest.mark.unit


def test_every_subscribable_kind_has_an_emitter() -> None:
    assert set(SUBSCRIBABLE_EVENT_KINDS) - emitted_kinds() == set()


def test_every_kind_told_to_partners_is_subscribable() -> None:
    assert emitted_kinds() - set(SUBSCRIBABLE_EVENT_KINDS) == set()


def test_the_scan_sees_each_way_a_kind_is_given() -> None:
    """The scan itself: a direct kind, a conditional, a local and a helper's parameter."""
    source = """
def direct():
    Note(kind=EventKind.RENEWED, tenant=t)
def conditional(e):
    Note(kind=EventKind.ENDED if e else EventKind.TERMINATION, tenant=t)
def local(x):
    kind = EventKind.CASE_OPENED if x else EventKind.CASE_DROPPED
    Note(kind=kind, tenant=t)
def _tell(kind, tenant):
    Note(kind=kind, tenant=tenant)
def helper_caller():
    _tell(EventKind.TENANT_CREATED, t)
def unrelated():
    EventKind.VERSION_SCHEDULED
"""
    assert _emitted_in(ast.parse(source)) == {
        "RENEWED",
        "ENDED",
        "TERMINATION",
        "CASE_OPENED",
        "CASE_DROPPED",
        "TENANT_CREATED",
    }


@pytest.mark.parametrize(
    "kind",
    [
        EventKind.INVITATION,
        EventKind.VERSION_SCHEDULED,
        EventKind.VERSION_EFFECTIVE,
        EventKind.DELETION_REMINDER,
        EventKind.WEBHOOK_TEST,
        "no.such_kind",
    ],
)
@pytest.mark.django_db
def test_registration_and_update_refuse_a_kind_that_never_reaches_a_partner(
    partner_scope, kind
) -> None:
    with pytest.raises(ValidationFailed) as exc:
        webhook_register(scope=partner_scope, url="https://p.example/h", event_kinds=[kind])
    assert exc.value.code == "event_kind_not_subscribable"
    assert list(exc.value.details["fields"]) == ["event_kinds"]
    endpoint, _secret = webhook_register(
        scope=partner_scope, url="https://p.example/h", event_kinds=["contract.created"]
    )
    with pytest.raises(ValidationFailed) as exc:
        webhook_update(scope=partner_scope, endpoint=endpoint, event_kinds=[kind])
    assert exc.value.code == "event_kind_not_subscribable"


def test_no_interface_writes_events() -> None:
    """Events come from the services, in their transaction; web/ only calls the services."""
    writers = {"notify", "Note", "event_add", "outbox_add", "event_envelope"}
    found = []
    for path in (ROOT / "web").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module in (
                "tenants.notify",
                "core.services",
            ):
                found += [f"{path}: {a.name}" for a in node.names if a.name in writers]
            # Event.objects.create(…), Outbox.objects.bulk_create(…) and the like.
            if (
                isinstance(node, ast.Attribute)
                and node.attr in ("create", "bulk_create", "get_or_create", "update_or_create")
                and isinstance(node.value, ast.Attribute)
                and node.value.attr == "objects"
                and isinstance(node.value.value, ast.Name)
                and node.value.value.id in ("Event", "Outbox")
            ):
                found.append(f"{path}: {node.value.value.id}.objects.{node.attr}")
    assert found == []
