"""A static walk of the code an API operation can run, collecting the problem codes it can raise.

Starting from a view's handler methods, the walk parses each function's source, follows every
call whose target it can resolve at run time (a module's global, `module.name`, `self.name`,
`cls.name`) into the service's packages, and records each construction of an error:

- a `DomainError` subclass (core.errors) with `code="…"` (a literal or a module constant) or
  its class's `default_code`, and the keyword arguments it carries (the problem's extra members);
- a DRF `APIException` (and web.api's own) with `code=` or its `default_code`;
- `TransitionNotAllowed` (agreements.rules): the refusals `web.api.problems` maps;
- `problem_json(status, "code", …)` and `problem_response(status_code=…, code="…")`.

Calls on objects it cannot type (`tenant.save()`) are not followed: the walk under-approximates,
which is why the catalogue test also checks the reverse direction (a catalogued code that no
walk finds fails).
"""

from __future__ import annotations

import ast
import importlib
import inspect
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from functools import cache
from types import FunctionType, ModuleType
from typing import Any

from rest_framework.exceptions import APIException

from agreements.rules import TransitionNotAllowed
from core.errors import DomainError
from web.api import problems

# Where a call is followed: the service's own packages and DRF's request cycle.
FOLLOWED = ("agreements", "tenants", "core", "web", "rest_framework")
# Never followed: generated and declarative code that raises nothing a caller meets.
SKIPPED = ("rest_framework.serializers", "rest_framework.fields", "web.api.schema")


@dataclass(frozen=True)
class Raised:
    code: str
    status: int | None
    members: frozenset[str]
    where: str


@dataclass
class Walk:
    found: set[Raised] = field(default_factory=set)
    seen: set[Any] = field(default_factory=set)

    @property
    def codes(self) -> set[str]:
        return {r.code for r in self.found}


@cache
def _module_ast(module_name: str) -> ast.Module | None:
    module = importlib.import_module(module_name)
    try:
        source = inspect.getsource(module)
    except (OSError, TypeError):
        return None
    return ast.parse(source)


def _function_node(func: FunctionType) -> ast.AST | None:
    try:
        source = textwrap.dedent(inspect.getsource(func))
    except (OSError, TypeError):
        return None
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return None
    return tree.body[0] if tree.body else None


def _followed(obj: Any) -> bool:
    name = getattr(obj, "__module__", None) or ""
    return name.split(".")[0] in FOLLOWED and not name.startswith(SKIPPED)


def _resolve(expr: ast.expr, module: ModuleType, owner: type | None) -> Any:
    if isinstance(expr, ast.Name):
        if expr.id in ("self", "cls") and owner is not None:
            return owner
        return getattr(module, expr.id, None)
    if isinstance(expr, ast.Attribute):
        base = _resolve(expr.value, module, owner)
        if base is None:
            return None
        try:
            return (
                inspect.getattr_static(base, expr.attr, None)
                if isinstance(base, type)
                else getattr(base, expr.attr, None)
            )
        except Exception:  # any lookup failure means "unresolved"
            return None
    return None


def _literal(expr: ast.expr | None, module: ModuleType, bound: dict[str, Any] | None = None) -> Any:
    if isinstance(expr, ast.Constant):
        return expr.value
    if bound and expr is not None and ast.dump(expr) in bound:
        return bound[ast.dump(expr)]
    if isinstance(expr, (ast.Name, ast.Attribute)):
        value = _resolve(expr, module, None)
        if isinstance(value, (str, int)):
            return value
    return None


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    return next((k.value for k in call.keywords if k.arg == name), None)


_NOT_MEMBERS = {"code", "field", "fields", "message", "detail"}


def _error_of(
    target: Any,
    call: ast.Call,
    module: ModuleType,
    where: str,
    bound: dict[str, Any],
    local: dict[str, list[str]],
) -> Iterator[Raised]:
    if isinstance(target, type) and issubclass(target, DomainError):
        members = frozenset(k.arg for k in call.keywords if k.arg and k.arg not in _NOT_MEMBERS)
        expr = _kw(call, "code")
        code = _literal(expr, module, bound)
        if code is None and isinstance(expr, ast.Name) and expr.id in local:
            for value in local[expr.id]:  # `code = "a"` … `code = "b"` before the raise
                yield Raised(value, target.status, members, where)
            return
        yield Raised(str(code or target.default_code), target.status, members, where)
    elif isinstance(target, type) and issubclass(target, APIException):
        code = _literal(_kw(call, "code"), module, bound)
        if code is None and len(call.args) >= 2:
            code = _literal(call.args[1], module)
        code = code or target.default_code
        members = frozenset({"retry_after"}) if target.__name__ == "Throttled" else frozenset()
        yield Raised(str(code), target.status_code, members, where)
    elif isinstance(target, type) and issubclass(target, TransitionNotAllowed):
        for code in problems._TRANSITION_MESSAGES:
            members = (
                frozenset({"remedy"}) if code in problems._TRANSITION_REMEDIES else frozenset()
            )
            yield Raised(code, 409, members, where)
    elif target is problems.problem_json:
        status = _literal(call.args[0] if call.args else _kw(call, "status_code"), module)
        code = _literal(call.args[1] if len(call.args) > 1 else _kw(call, "code"), module)
        if isinstance(code, str):
            yield Raised(code, status, frozenset(), where)
    elif target is problems.problem_response:
        status = _literal(_kw(call, "status_code"), module)
        code = _literal(_kw(call, "code"), module)
        if isinstance(code, str):
            yield Raised(code, status, frozenset(), where)


def _callables(target: Any) -> Iterable[Any]:
    """What calling `target` runs: a function, or a class's __init__."""
    if isinstance(target, (staticmethod, classmethod)):
        target = target.__func__
    target = inspect.unwrap(target) if callable(target) else target
    if inspect.isfunction(target):
        yield target


def _narrowed(node: ast.AST) -> dict[ast.Call, dict[str, Any]]:
    """Calls inside `if x.code == "lit":` see `x.code` as "lit" (a refusal re-raised by code)."""
    found: dict[ast.Call, dict[str, Any]] = {}
    for sub in ast.walk(node):
        test = getattr(sub, "test", None)
        if (
            isinstance(sub, ast.If)
            and isinstance(test, ast.Compare)
            and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)
            and isinstance(test.comparators[0], ast.Constant)
        ):
            for inner in sub.body:
                for call in ast.walk(inner):
                    if isinstance(call, ast.Call):
                        found.setdefault(call, {})[ast.dump(test.left)] = test.comparators[0].value
    return found


def _parameter_bindings(
    target: Any, call: ast.Call, module: ModuleType, bound: dict[str, Any]
) -> dict[str, Any]:
    """Literal keyword arguments of a call, as the callee's names see them (`code="x"`)."""
    names = set(inspect.signature(target).parameters) if callable(target) else set()
    found: dict[str, Any] = {}
    for keyword in call.keywords:
        if keyword.arg in names:
            value = _literal(keyword.value, module, bound)
            if isinstance(value, str):
                found[ast.dump(ast.Name(id=keyword.arg, ctx=ast.Load()))] = value
    return found


def walk_function(
    func: Any,
    walk: Walk,
    owner: type | None = None,
    depth: int = 0,
    bound: dict[str, Any] | None = None,
) -> Walk:
    for target in _callables(func):
        key = (target, owner, tuple(sorted((bound or {}).items())))
        if key in walk.seen or depth > 40 or not _followed(target):
            continue
        walk.seen.add(key)
        module = inspect.getmodule(target)
        node = _function_node(target)
        if module is None or node is None:
            continue
        where = f"{target.__module__}.{target.__qualname__}"
        # `self` inside a method of a class resolves to the class the walk started from (the
        # view), so overridden methods are followed on the concrete class.
        own_owner = owner if "." in target.__qualname__ else None
        narrowed = _narrowed(node)
        local: dict[str, list[str]] = {}
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Assign)
                and isinstance(sub.value, ast.Constant)
                and isinstance(sub.value.value, str)
            ):
                for name in sub.targets:
                    if isinstance(name, ast.Name):
                        local.setdefault(name.id, []).append(sub.value.value)
        for sub in ast.walk(node):
            if not isinstance(sub, ast.Call):
                continue
            callee = _resolve(sub.func, module, own_owner)
            if callee is None:
                continue
            here = {**(bound or {}), **narrowed.get(sub, {})}
            errors = list(_error_of(callee, sub, module, where, here, local))
            if errors:
                walk.found.update(errors)
                continue
            if isinstance(callee, type):
                continue  # constructing a value, not running code that raises
            try:
                passed = _parameter_bindings(inspect.unwrap(callee), sub, module, here)
            except (TypeError, ValueError):
                passed = {}
            walk_function(callee, walk, own_owner, depth + 1, passed)
    return walk


def walk_view(view: type, methods: Iterable[str]) -> Walk:
    """The codes one operation's own handler can raise (the shared plumbing excluded)."""
    walk = Walk()
    for name in methods:
        handler = getattr(view, name, None)
        if handler is not None:
            walk_function(handler, walk, owner=view)
    return walk


def walk_module_functions(module_names: Iterable[str], walk: Walk | None = None) -> Walk:
    """Every function and method defined in the named modules (the plumbing every operation
    shares: keys, throttling, bodies, idempotency, the error handler)."""
    walk = walk or Walk()
    for name in module_names:
        module = importlib.import_module(name)
        for _attr, value in inspect.getmembers(module):
            if inspect.isfunction(value) and value.__module__ == name:
                walk_function(value, walk)
            elif inspect.isclass(value) and value.__module__ == name:
                for _m, method in inspect.getmembers(value, inspect.isfunction):
                    if method.__module__ == name:
                        walk_function(method, walk, owner=value)
    return walk
