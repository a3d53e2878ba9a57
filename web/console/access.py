"""Who may do what in the staff console, and the plumbing every console view shares.

Staff are users with ``is_staff`` in one of three groups (made by a data migration):

- ``viewer`` reads every console page;
- ``editor`` drafts revisions and keeps customer records (partners, tenants, users and
  invitations, direct contracts);
- ``publisher`` schedules and withdraws revisions, and takes the actions that bind the
  company towards a customer: issuing and revoking API keys, confirming or dropping
  termination cases, staff terminations, successions, recording deletion
  acknowledgements.

Every group may read. Superusers may do everything. A staff user in no group sees no page:
being staff only opens the Django admin's door, not the console's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from enum import StrEnum
from typing import Any, NoReturn, TypeVar, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from agreements.rules import TransitionNotAllowed
from core.errors import DomainError
from tenants.scope import Scope
from web.requests import ScopedRequest

VIEWER, EDITOR, PUBLISHER = "viewer", "editor", "publisher"
# What a service raises to refuse a staff action; the pages show it instead of failing.
REFUSALS = (DomainError, TransitionNotAllowed)
STAFF_GROUPS = (VIEWER, EDITOR, PUBLISHER)


class Need(StrEnum):
    READ = "read"
    DRAFT = "draft"  # write revisions
    PUBLISH = "publish"  # schedule / withdraw revisions
    OPERATE = "operate"  # customer records
    DECIDE = "decide"  # keys, cases, terminations, successions, deletions


GROUPS_FOR: dict[Need, frozenset[str]] = {
    Need.READ: frozenset(STAFF_GROUPS),
    Need.DRAFT: frozenset({EDITOR}),
    Need.PUBLISH: frozenset({PUBLISHER}),
    Need.OPERATE: frozenset({EDITOR, PUBLISHER}),
    Need.DECIDE: frozenset({PUBLISHER}),
}


class Access:
    """The signed-in user's console rights; templates read ``request.console.can_…``."""

    def __init__(self, user: Any) -> None:
        self.user = user
        if getattr(user, "is_authenticated", False) and user.is_staff and user.is_active:
            self.groups = frozenset(user.groups.values_list("name", flat=True))
            self.superuser = bool(user.is_superuser)
        else:
            self.groups = frozenset()
            self.superuser = False

    def allows(self, need: Need) -> bool:
        if not (getattr(self.user, "is_authenticated", False) and self.user.is_staff):
            return False
        return self.superuser or bool(self.groups & GROUPS_FOR[need])

    @property
    def can_read(self) -> bool:
        return self.allows(Need.READ)

    @property
    def can_draft(self) -> bool:
        return self.allows(Need.DRAFT)

    @property
    def can_publish(self) -> bool:
        return self.allows(Need.PUBLISH)

    @property
    def can_operate(self) -> bool:
        return self.allows(Need.OPERATE)

    @property
    def can_decide(self) -> bool:
        return self.allows(Need.DECIDE)

    @property
    def scope(self) -> Scope:
        return Scope.staff(self.user)


class ConsoleRequest(ScopedRequest):
    """A request that passed `console_view`: `console` is the user's rights, `scope` staff."""

    console: Access


ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def login_url_for(request: HttpRequest) -> str:
    return f"{reverse('console:login')}?{urlencode({'next': request.get_full_path()})}"


def console_view(
    need: Need = Need.READ, *, methods: Iterable[str] = ("GET",)
) -> Callable[[ViewFunc], ViewFunc]:
    """Guard a console view: anonymous → login page, lacking the group → 403.

    Sets ``request.console`` (an ``Access``) and ``request.scope`` (the staff Scope).
    """
    allowed_methods = {m.upper() for m in methods}
    if "GET" in allowed_methods:
        allowed_methods.add("HEAD")

    def decorate(view: ViewFunc) -> ViewFunc:
        @functools.wraps(view)
        def wrapper(request: ConsoleRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return HttpResponseRedirect(login_url_for(request))
            access = Access(request.user)
            if not access.allows(need):
                raise DjangoPermissionDenied
            if request.method not in allowed_methods:
                response = HttpResponse(status=405)
                response["Allow"] = ", ".join(sorted(allowed_methods))
                return response
            request.console = access
            request.scope = access.scope
            return view(request, *args, **kwargs)

        return cast(ViewFunc, wrapper)

    return decorate


def apply_domain_error(
    form: forms.BaseForm, error: Exception, fields_by_code: dict[str, str] | None = None
) -> None:
    """Show a service's refusal beside the field it names, else above the form.

    Services name fields as ``details["fields"] = {name: [messages]}`` (several at once) or
    ``details["field"] = name``; ``fields_by_code`` maps an error code to a field for services
    that only give a code (e.g. ``lead_time_too_short`` → ``effective_on``).
    """
    message = str(getattr(error, "message", None) or error)
    details = getattr(error, "details", {}) or {}
    placed = False
    for name, errors in (details.get("fields") or {}).items():
        target = name if name in form.fields else None
        for text in errors if isinstance(errors, list | tuple) else [errors]:
            form.add_error(target, str(text))
        placed = True
    if placed:
        return
    field = details.get("field") or (fields_by_code or {}).get(getattr(error, "code", ""))
    form.add_error(field if field in form.fields else None, message)


def call_service(
    request: HttpRequest,
    form: forms.BaseForm,
    service: Callable[..., Any],
    /,
    *,
    success: str = "",
    errors: tuple[type[Exception], ...] = (DomainError,),
    fields_by_code: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[bool, Any]:
    """Run one service call; a DomainError (or another refusal in ``errors``) lands on the form.

    Returns (ok, result). On success ``success`` (if given) becomes a flash message.
    """
    try:
        result = service(**kwargs)
    except errors as error:
        apply_domain_error(form, error, fields_by_code)
        return False, None
    if success:
        messages.success(request, success)
    return True, result


def flash_domain_error(request: HttpRequest, error: Exception) -> None:
    messages.error(request, str(getattr(error, "message", None) or error))


def raise_404(error: Exception | None) -> NoReturn:
    """An object out of reach is a 404 page, whatever the service called it."""
    raise Http404(str(error) if error else "")
