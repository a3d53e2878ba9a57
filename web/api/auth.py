"""Who is calling the API, and what they may reach (docs/security.md).

Three ways in, tried in this order:
- a partner key, `Authorization: Api-Key tpk_…` → `Scope.partner(key)`;
- a product key, `Authorization: Api-Key tprd_…` → `Scope.product(...)`;
- a staff session (console users using the API in the browser) → `Scope.staff(user)` carrying
  the user's staff roles.

Each authenticator sets `request.scope`; every selector and service the views call takes it.
A missing or revoked key is a 401 with `WWW-Authenticate`; a key without the right scope, a
caller of the wrong kind, or a staff member whose role does not allow the operation's action,
a 403; another caller's object a 404 (the selectors' job).

A staff session may do through the API exactly what the same person may do in the console:
both ask the one authorization table, `tenants.authz` (docs/security.md).
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from agreements.services.product_keys import product_key_authenticate, product_key_scope
from core import sandbox
from tenants.auth import partner_key_authenticate
from tenants.authz import Action
from tenants.keys import PARTNER_KEY_TAG, PRODUCT_KEY_TAG
from tenants.scope import Scope
from tenants.selectors import sandbox_instant
from web.requests import ApiRequest

KEYWORD = "Api-Key"
REALM = "terms-api"


class ApiCaller:
    """`request.user` for a key: authenticated, never staff, never a Django user."""

    is_authenticated = True
    is_anonymous = False
    is_staff = False
    is_superuser = False
    is_active = True
    pk = None
    id = None

    def __init__(self, label: str) -> None:
        self.label = label

    def __str__(self) -> str:
        return self.label


def presented_key(request: Request) -> str | None:
    """The key after `Api-Key`, or None when the header is absent or another scheme."""
    header = request.META.get("HTTP_AUTHORIZATION", "")
    keyword, _sep, value = header.strip().partition(" ")
    if keyword.lower() != KEYWORD.lower():
        return None
    value = value.strip()
    if not value or " " in value or "\x00" in value or len(value) > 200:
        raise exceptions.AuthenticationFailed(_("APIキーの形式が不正です。"))
    return value


def _act_for_sandbox(partner_id: int) -> None:
    """A sandbox key's request runs on the sandbox's clock and data (core/sandbox.py) until
    it ends: ApiView.dispatch runs every request in a context of its own."""
    instant = sandbox_instant(partner_id)
    if instant is None:
        raise exceptions.AuthenticationFailed(_("APIキーが無効か、失効しています。"))
    sandbox.enter(partner_id, instant)


class _KeyAuthentication(BaseAuthentication):
    tag = ""

    def authenticate_header(self, request: Request) -> str:
        return f'{KEYWORD} realm="{REALM}"'

    def _own_key(self, request: Request) -> str | None:
        raw = presented_key(request)
        if raw is None or not raw.startswith(f"{self.tag}_"):
            return None
        return raw


class PartnerKeyAuthentication(_KeyAuthentication):
    """`Authorization: Api-Key tpk_<prefix>_<secret>` → the partner's scope."""

    tag = PARTNER_KEY_TAG

    def authenticate(self, request: ApiRequest) -> tuple[Any, Any] | None:
        raw = self._own_key(request)
        if raw is None:
            return None
        key = partner_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("APIキーが無効か、失効しています。"))
        request.scope = Scope.partner(key)
        if key.partner.sandbox_of_id is not None:
            _act_for_sandbox(key.partner_id)
        return ApiCaller(f"partner-key:{key.prefix}"), key


class ProductKeyAuthentication(_KeyAuthentication):
    """`Authorization: Api-Key tprd_<prefix>_<secret>` → the product's scope."""

    tag = PRODUCT_KEY_TAG

    def authenticate(self, request: ApiRequest) -> tuple[Any, Any] | None:
        raw = self._own_key(request)
        if raw is None:
            return None
        key = product_key_authenticate(raw)
        if key is None:
            raise exceptions.AuthenticationFailed(_("APIキーが無効か、失効しています。"))
        request.scope = product_key_scope(key)
        if key.product.sandbox_id is not None:
            _act_for_sandbox(key.product.sandbox_id)
        return ApiCaller(f"product-key:{key.prefix}"), key


class StaffSessionAuthentication(SessionAuthentication):
    """Staff signed in to the console may use the API from the browser (CSRF enforced).

    Tenant users have the portal; their sessions are not API credentials.
    """

    def authenticate(self, request: ApiRequest) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None or not result[0].is_staff:
            return None
        request.scope = Scope.staff_with_roles(result[0], channel="api")
        return result


API_AUTHENTICATION = [
    PartnerKeyAuthentication,
    ProductKeyAuthentication,
    StaffSessionAuthentication,
]


def request_scope(request: Request) -> Scope:
    scope = getattr(request, "scope", None)
    if not isinstance(scope, Scope):
        raise exceptions.NotAuthenticated()
    return scope


def caller_ident(scope: Scope | None) -> str | None:
    """A stable name for the caller's credential: throttle buckets and idempotency owners."""
    if not isinstance(scope, Scope):
        return None
    if scope.acting_key is not None:
        return f"partner-key:{scope.acting_key.pk}"
    if scope.is_product and scope.product_key_id is not None:
        return f"product-key:{scope.product_key_id}"
    if scope.user is not None:
        return f"user:{scope.user.pk}"
    return None


def header_caller_ident(request: HttpRequest) -> str | None:
    """`caller_ident` of a request no API view authenticated (an answer made before one runs:
    413, 415, 405, an unrouted path): its valid key, else its staff session; None without a
    valid credential. Only names whose budget it is; it grants nothing."""
    try:
        raw = presented_key(request)  # type: ignore[arg-type]
    except exceptions.AuthenticationFailed:
        return None
    if raw is not None:
        if raw.startswith(f"{PARTNER_KEY_TAG}_"):
            key = partner_key_authenticate(raw)
            return f"partner-key:{key.pk}" if key is not None else None
        if raw.startswith(f"{PRODUCT_KEY_TAG}_"):
            product_key = product_key_authenticate(raw)
            return f"product-key:{product_key.pk}" if product_key is not None else None
        return None
    user = getattr(request, "user", None)
    if user is None:
        # Answered before the session middleware read the session (a 413, a 415).
        if not hasattr(request, "session"):
            engine = import_module(settings.SESSION_ENGINE)
            cookie = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
            request.session = engine.SessionStore(cookie)
        user = get_user(request)
    if getattr(user, "is_authenticated", False) and user.is_staff:
        return f"user:{user.pk}"
    return None


# --- Who may call what ------------------------------------------------------------------------

PARTNER = "partner"
PRODUCT = "product"
STAFF = "staff"

# Audiences of the API's operations (each view declares one).
PARTNERS = frozenset({PARTNER, STAFF})  # a partner's own tenants; staff see all
EVERYONE = frozenset({PARTNER, PRODUCT, STAFF})  # the published catalogue and terms
PRODUCTS = frozenset({PRODUCT, STAFF})  # the products' status check and deletion orders
PRODUCTS_ONLY = frozenset({PRODUCT})
PARTNERS_ONLY = frozenset(
    {PARTNER}
)  # a partner's sandbox: its keys, its clock  # only the product itself can attest a deletion


def staff_action(view: Any, method: str) -> Action | None:
    """The staff action an operation needs: READ for a read, the view's `staff_action` for a
    write. A write that declares none is refused to staff (closed by default)."""
    if method in SAFE_METHODS:
        return Action.READ
    declared = getattr(view, "staff_action", None)
    return Action(declared) if declared is not None else None


class CallerPermission(BasePermission):
    """The view's `audience` and, for products, its `product_scope`; keys read-only unless `write`;
    staff as far as their roles allow (`staff_action`, tenants/authz.py).

    An unknown caller is a 401; a known caller outside the audience, a product key without the
    view's scope, a read-only partner key on a write, or a staff member whose roles do not
    allow the operation, a 403.
    """

    def has_permission(self, request: Request, view: Any) -> bool:
        scope = request_scope(request)
        audience: frozenset[str] = view.audience
        if scope.kind not in audience:
            raise exceptions.PermissionDenied(
                _("このキーではこの操作を利用できません。"), code="wrong_caller"
            )
        if scope.is_product:
            needed = getattr(view, "product_scope", None)
            if needed and not scope.has_product_scope(needed):
                raise exceptions.PermissionDenied(
                    _("キーに必要な権限（%(scope)s）がありません。") % {"scope": needed},
                    code="missing_scope",
                )
            return True
        if scope.is_staff:
            action = staff_action(view, request.method or "GET")
            if action is None or not scope.may(action):
                raise exceptions.PermissionDenied(
                    _("スタッフの権限（ロール）ではこの操作を利用できません。"), code="staff_role"
                )
            return True
        if request.method not in SAFE_METHODS and not scope.can_write:
            raise exceptions.PermissionDenied(
                _("このキーは参照専用です（write 権限が必要です）。"), code="missing_scope"
            )
        return True
