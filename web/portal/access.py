"""Guards and plumbing shared by every portal view.

- anonymous → the login page (LOGIN_URL) with ?next=;
- signed in without a membership in an active tenant → a page saying so (403);
- `admin=True` views refuse viewers (403): admins answer and apply, viewers read;
- each guarded view is marked for the pending-answer banner (web/portal/middleware.py), which
  looks at `view.portal_gate` ("check" or "exempt") only to know the page is the portal's.
  Neither mark blocks anything: no pending answer ever keeps a tenant from its contractual
  rights (R4); "exempt" stays for pages that read no tenant data (sign-in, passwords).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse

from core.errors import DomainError
from tenants.models import Tenant
from tenants.scope import Scope
from web.portal.selectors_review import tenant_admins
from web.requests import PortalContext, PortalRequest

ViewFunc = TypeVar("ViewFunc", bound=Callable[..., HttpResponse])
# Any view, class-based ones' as_view() included (they are typed as returning HttpResponseBase).
AnyView = TypeVar("AnyView", bound=Callable[..., Any])

GATE_CHECK = "check"
GATE_EXEMPT = "exempt"
# The attribute the banner middleware reads on the resolved view function.
GATE_ATTRIBUTE = "portal_gate"


def mark_gate(view: AnyView, gate: str) -> AnyView:
    """Mark `view` as a portal page for the banner middleware (GATE_CHECK or GATE_EXEMPT)."""
    setattr(view, GATE_ATTRIBUTE, gate)
    return view


def gate_exempt(view: AnyView) -> AnyView:
    """A portal page outside the member guards (sign-in, passwords, invitations)."""
    return mark_gate(view, GATE_EXEMPT)


def view_gate(view: Callable[..., Any]) -> str | None:
    """How the banner middleware treats `view`; None for a view outside the portal's guards."""
    return getattr(view, GATE_ATTRIBUTE, None)


def member_portal(request: PortalRequest) -> PortalContext:
    """The portal context of a page guarded by `portal_view`, which has already refused
    requests without a membership."""
    portal = request.portal
    assert portal is not None  # noqa: S101 -- checked by portal_view
    return portal


def member_scope(request: PortalRequest) -> tuple[Scope, Tenant]:
    """The caller's scope and current tenant on a page guarded by `portal_view`."""
    membership = member_portal(request).membership
    assert membership is not None  # noqa: S101 -- checked by portal_view
    return request.scope, membership.tenant


def login_redirect(request: HttpRequest) -> HttpResponseRedirect:
    return HttpResponseRedirect(
        f"{settings.LOGIN_URL}?{urlencode({'next': request.get_full_path()})}"
    )


def portal_view(
    *,
    admin: bool = False,
    methods: Iterable[str] = ("GET",),
    gate: str = GATE_CHECK,
    back: str | None = None,
) -> Callable[[ViewFunc], ViewFunc]:
    """Guard a portal page that works inside the current tenant (request.portal.membership).

    `back` names the page a POST-only flow starts from (a URL name, reversed with the view's
    URL kwargs). Its steps (a confirmation, a form shown again with its errors) are pages at
    the POST URL, so a reload or Back/Forward asks for them by GET: that request goes back to
    where the flow started rather than to a blank 405.
    """
    allowed = {m.upper() for m in methods}
    if "GET" in allowed:
        allowed.add("HEAD")

    def decorate(view: ViewFunc) -> ViewFunc:
        @functools.wraps(view)
        def wrapper(request: PortalRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return login_redirect(request)
            portal = request.portal
            if portal is None or portal.membership is None:
                return render(request, "tenants/portal/no_access.html", status=403)
            if request.method not in allowed:
                if back is not None and request.method in ("GET", "HEAD"):
                    return HttpResponseRedirect(reverse(back, kwargs=kwargs))
                response = HttpResponse(status=405)
                response["Allow"] = ", ".join(sorted(allowed))
                return response
            if admin and not portal.is_admin:
                # Whom to ask: the tenant's admins, as the members page shows them.
                admins = tenant_admins(scope=request.scope, tenant=portal.membership.tenant)
                return render(
                    request, "tenants/portal/admin_only.html", {"admins": admins}, status=403
                )
            return view(request, *args, **kwargs)

        return mark_gate(cast(ViewFunc, wrapper), gate)

    return decorate


def error_message(error: Exception) -> str:
    return str(getattr(error, "message", None) or error)


def place_error(form: forms.BaseForm, error: Exception) -> None:
    """Put a service's refusal beside the field it names (details["field"] / ["fields"]),
    else above the form."""
    details = getattr(error, "details", {}) or {}
    fields = details.get("fields") or {}
    if fields:
        for name, texts in fields.items():
            target = name if name in form.fields else None
            for text in texts if isinstance(texts, list | tuple) else [texts]:
                form.add_error(target, str(text))
        return
    field = details.get("field")
    form.add_error(field if field in form.fields else None, error_message(error))


def run_service(
    request: HttpRequest,
    form: forms.BaseForm,
    service: Callable[..., Any],
    /,
    *,
    success: str = "",
    errors: tuple[type[Exception], ...] = (DomainError,),
    **kwargs: Any,
) -> tuple[bool, Any]:
    """One service call; a refusal lands on the form, success becomes a flash message."""
    try:
        result = service(**kwargs)
    except errors as error:
        place_error(form, error)
        return False, None
    if success:
        messages.success(request, success)
    return True, result
