"""The console's use of the authorization table, and the plumbing every console view shares.

Who may do what is decided by `tenants.authz` (the same table the API and the Django admin
ask): ``viewer`` reads, ``editor`` drafts and keeps customer records, ``publisher`` schedules,
withdraws, keeps customer records and takes the binding decisions; superusers everything; a
staff user in no group sees no page. Each view declares the action it needs for GET and, when
it differs, for POST (`console_view(Need.READ, post=Need.OPERATE)`); the declaration is kept
on the view (`view.authz`), so the permission tests read it from the URL configuration.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, NoReturn, TypeVar, cast
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseRedirect,
)
from django.urls import reverse
from django.utils.translation import gettext

from agreements.rules import TransitionNotAllowed
from core.errors import DomainError
from tenants.authz import Action, is_staff_member, roles_may, staff_roles
from tenants.scope import Scope
from web.requests import ScopedRequest

# What a service raises to refuse a staff action; the pages show it instead of failing.
REFUSALS = (DomainError, TransitionNotAllowed)
# The console's name for an action (the views declare `console_view(Need.…)`).
Need = Action


class Access:
    """The signed-in user's console rights; templates read ``request.console.can_…``."""

    def __init__(self, user: Any) -> None:
        self.user = user
        self.groups = staff_roles(user)  # one query per request, none for non-staff
        self.superuser = bool(is_staff_member(user) and user.is_superuser)

    def allows(self, need: Action) -> bool:
        if not is_staff_member(self.user):
            return False
        return roles_may(self.groups, need, superuser=self.superuser)

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
        return Scope.staff(self.user, roles=self.groups)


class ConsoleRequest(ScopedRequest):
    """A request that passed `console_view`: `console` is the user's rights, `scope` staff."""

    console: Access


ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])


def login_url_for(request: HttpRequest) -> str:
    return f"{reverse('console:login')}?{urlencode({'next': request.get_full_path()})}"


def console_view(
    need: Action = Action.READ,
    *,
    methods: Iterable[str] = ("GET",),
    post: Action | None = None,
) -> Callable[[ViewFunc], ViewFunc]:
    """Guard a console view: anonymous → login page, lacking the role → 403.

    `need` guards every method; `post`, when given, is what a POST needs on top (a page any
    viewer reads whose form only some may send). Sets ``request.console`` (an ``Access``) and
    ``request.scope`` (the staff Scope carrying the roles).
    """
    allowed_methods = {m.upper() for m in methods}
    if "GET" in allowed_methods:
        allowed_methods.add("HEAD")
    needs = {method: need for method in allowed_methods}
    if "POST" in needs and post is not None:
        needs["POST"] = post

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
            if not access.allows(needs[request.method or "GET"]):
                raise DjangoPermissionDenied
            # The search box (`q`) answers with its own message (views_tenants.search_query).
            if any("\x00" in v for k, v in request.GET.items() if k != "q"):
                # PostgreSQL refuses NUL in any text: a filter holding one is a bad request,
                # never a 500.
                return HttpResponseBadRequest(
                    gettext("検索条件に使用できない文字が含まれています。")
                )
            request.console = access
            request.scope = access.scope
            return view(request, *args, **kwargs)

        # What each method needs, for the permission tests and docs/security.md.
        wrapper.authz = dict(needs)  # type: ignore[attr-defined]
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
