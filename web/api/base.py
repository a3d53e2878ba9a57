"""The base of every API operation and the plumbing views share (docs/architecture.md).

`ApiView` brings key/staff auth, the caller's Scope, per-key throttling, strict JSON bodies,
problem+json errors and Idempotency-Key on POST; `one_path` serves several one-operation views
on one path; `not_found` answers unrouted paths under /api/ as problem+json.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import DatabaseError
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.defaults import page_not_found
from rest_framework import exceptions, serializers
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core import apiversions
from core.errors import ValidationFailed
from tenants.authz import Action
from tenants.scope import Scope
from web.api import apiversion, idempotency, prefetch
from web.api.auth import (
    API_AUTHENTICATION,
    PARTNERS,
    CallerPermission,
    caller_ident,
    request_scope,
)
from web.api.pagination import ApiCursorPagination
from web.api.parsers import Utf8JSONParser
from web.api.problems import method_not_allowed_detail, problem_json
from web.api.schema import ApiAutoSchema
from web.api.throttles import (
    KeyRateThrottle,
    add_budget,
    budget_peek,
    rate_limit_of,
    take_back,
)

# The methods whose body an operation reads (docs/api.md, Conventions).
BODY_METHODS = ("POST", "PATCH", "PUT")


def _json_type(field: serializers.Field) -> tuple[type, ...] | None:
    """The JSON type a body field takes. DRF coerces (12 → "12", "12" → 12, "true" → True);
    a JSON API should not: the schema says string, integer or boolean and means it."""
    if isinstance(field, serializers.BooleanField):
        return (bool,)
    if isinstance(field, serializers.IntegerField):
        return (int,)
    if isinstance(field, (serializers.FloatField, serializers.DecimalField)):
        return (int, float)
    if isinstance(field, (serializers.ListField, serializers.ListSerializer)):
        return (list,)
    if isinstance(field, (serializers.Serializer, serializers.DictField, serializers.JSONField)):
        return (dict,)
    if isinstance(
        field,
        (
            serializers.CharField,
            serializers.ChoiceField,
            serializers.DateField,
            serializers.DateTimeField,
        ),
    ):
        return (str,)
    return None


def json_type_errors(fields: Mapping[str, serializers.Field], data: Any) -> dict[str, Any]:
    """Field errors for values of the wrong JSON type, nested objects and lists included."""
    if not isinstance(data, Mapping):
        return {}  # the serializer reports a body that is not an object
    errors: dict[str, Any] = {}
    for name, field in fields.items():
        if field.read_only or name not in data or data[name] is None:
            continue
        value = data[name]
        expected = _json_type(field)
        # bool is an int in Python, never in JSON.
        if expected is not None and (
            not isinstance(value, expected) or (isinstance(value, bool) and bool not in expected)
        ):
            names = "/".join(t.__name__ for t in expected)
            errors[name] = [
                exceptions.ErrorDetail(
                    _("JSONの型が違います（%(expected)s が必要です）。") % {"expected": names},
                    code="invalid_type",
                )
            ]
        elif isinstance(field, serializers.Serializer):
            nested = json_type_errors(field.fields, value)
            if nested:
                errors[name] = nested
        elif isinstance(field, serializers.ListField) and isinstance(value, list):
            item_type = _json_type(field.child)
            bad = [
                i
                for i, item in enumerate(value)
                if item_type is not None
                and (
                    not isinstance(item, item_type)
                    or (isinstance(item, bool) and bool not in item_type)
                )
            ]
            if bad:
                errors[name] = {
                    i: [exceptions.ErrorDetail(_("JSONの型が違います。"), code="invalid_type")]
                    for i in bad
                }
    return errors


def unknown_fields(
    fields: Mapping[str, serializers.Field], data: Any, prefix: str = ""
) -> list[str]:
    """The names in a JSON body that its serializer does not take (read-only ones included),
    nested objects and lists of objects included, dotted as in `errors[].field`."""
    if not isinstance(data, Mapping):
        return []  # the serializer reports a body that is not an object
    found: list[str] = []
    for name, value in data.items():
        field = fields.get(str(name))
        if field is None or field.read_only:
            found.append(f"{prefix}{name}")
        elif isinstance(field, serializers.Serializer):
            found += unknown_fields(field.fields, value, f"{prefix}{name}.")
        elif (
            isinstance(field, serializers.ListSerializer)
            and isinstance(field.child, serializers.Serializer)
            and isinstance(value, list)
        ):
            for index, item in enumerate(value):
                found += unknown_fields(field.child.fields, item, f"{prefix}{name}.{index}.")
    return found


def refuse_unknown_parameters(names: list[str]) -> None:
    """400 `unknown_parameter` naming each query parameter the operation does not take
    (docs/errors.md): a misspelt filter (`updated_since` on the event feed, whose filter is
    `after`) would otherwise answer the whole list as if it had been applied."""
    if names:
        raise ValidationFailed(
            _("受け付けられないクエリパラメータがあります: %(names)s")
            % {"names": ", ".join(sorted(names))},
            code="unknown_parameter",
            fields={
                name: [_("この操作はこのクエリパラメータを受け付けません。")]
                for name in sorted(names)
            },
        )


def refuse_unknown_fields(names: list[str], staff_only: Sequence[str] = ()) -> None:
    """400 `unknown_field` naming each field the operation does not take (docs/errors.md):
    a misspelt or unsupported field is never silently ignored. `staff_only`: members the
    operation takes from staff only, which the caller sent (each says so)."""
    every = sorted({*names, *staff_only})
    if every:
        raise ValidationFailed(
            _("本文に受け付けられない項目があります: %(fields)s") % {"fields": ", ".join(every)},
            code="unknown_field",
            fields={
                name: [
                    _("この項目はスタッフだけが指定できます。")
                    if name in staff_only
                    else _("この操作はこの項目を受け付けません。")
                ]
                for name in every
            },
        )


@functools.cache
def _field_names(serializer: type[serializers.Serializer]) -> frozenset[str]:
    # A serializer's fields are deep-copied from its class on every instance: once per class.
    return frozenset(serializer().fields)


class ApiView(APIView):
    """Base of every operation: key/staff auth, the caller's Scope, per-key throttling,
    JSON in and out, problem+json errors and Idempotency-Key on POST.

    Subclasses set `audience` (who may call: web.api.auth PARTNERS, EVERYONE,
    PRODUCTS, PRODUCTS_ONLY), for product operations `product_scope`, and for writes staff
    may make `staff_action`: the action of the authorization table (tenants/authz.py) the
    console needs for the same change. Reads need `Action.READ`; a write without a
    `staff_action` is refused to every staff member.
    """

    authentication_classes = API_AUTHENTICATION
    permission_classes = [CallerPermission]
    throttle_classes = [KeyRateThrottle]
    parser_classes = [Utf8JSONParser]
    renderer_classes = [JSONRenderer]
    schema = ApiAutoSchema()
    audience: frozenset[str] = PARTNERS
    product_scope: str | None = None
    staff_action: Action | None = None
    tags: tuple[str, ...] = ()
    # Body members only staff may send (the schema says "スタッフのみ"): to any other caller
    # they are members the operation does not take, a 400 `unknown_field` (docs/api.md).
    staff_only_fields: tuple[str, ...] = ()
    # True for an operation that writes in one transaction of its own and stores its
    # Idempotency-Key record inside it through `idempotency_keep` (web/api/idempotency.py).
    idempotent_in_transaction = False

    _claim: idempotency.Claim | None = None
    _pending: idempotency.Pending | None = None

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        # In a context of its own: what a sandbox key sets (its clock and data, core/sandbox.py)
        # ends with the request and never reaches the next request this thread serves.
        return contextvars.copy_context().run(super().dispatch, request, *args, **kwargs)

    @property
    def scope(self) -> Scope:
        """The caller's reach, built by the authenticator (docs/security.md)."""
        return request_scope(self.request)

    def prefetch_entries(
        self, request: Request, known: prefetch.KnownKey, kwargs: dict[str, Any]
    ) -> dict[str, Sequence[str]]:
        """The cached reads (generations.lookup's entries) this operation will make for a
        request of `known`, fetched ahead with the key (web/api/prefetch.py). An entry that
        turns out not to be the one read costs only its own round trip later."""
        return {}

    def _prefetch(self, request: Request, kwargs: dict[str, Any]) -> None:
        raw = prefetch.presented(request)
        known = prefetch.known_key(raw) if raw is not None else None
        if raw is None or known is None:
            return
        throttle = next((t for t in self.get_throttles() if isinstance(t, KeyRateThrottle)), None)
        plan = (
            throttle.plan(request, known.ident)
            if throttle is not None and self._refusal_of_form(request) is None
            else None
        )
        prefetch.fetch(request, raw, self.prefetch_entries(request, known, kwargs), plan)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self._prefetch(request, kwargs)
        super().initial(request, *args, **kwargs)
        request.api_version = apiversion.requested_version(request)  # type: ignore[attr-defined]
        if request.query_params:
            taken = self.query_names(request.method or "")
            refuse_unknown_parameters([name for name in request.query_params if name not in taken])
        if request.method in BODY_METHODS and not hasattr(self, "InputSerializer"):
            # An operation that takes no body: any member is one it does not take.
            data = request.data
            refuse_unknown_fields([str(name) for name in data] if isinstance(data, Mapping) else [])
        if request.method == "POST":
            if self.idempotent_in_transaction:
                self._pending = idempotency.pending(request, self.scope)
            else:
                self._claim = idempotency.claim(request, self.scope)

    def check_throttles(self, request: Request) -> None:
        """A method the operation lacks (405) or a body it cannot read (415) is answered before
        the throttle and not counted, as docs/api.md says: a client's mistake of form must not
        spend its budget, nor be hidden behind a 429."""
        refusal = self._refusal_of_form(request)
        if refusal is not None:
            raise refusal
        super().check_throttles(request)

    def _refusal_of_form(self, request: Request) -> exceptions.APIException | None:
        """405 for a method the operation lacks, 415 for a body it cannot read, else None."""
        method = (request.method or "").lower()
        if method not in self.http_method_names or not hasattr(self, method):
            return exceptions.MethodNotAllowed(request.method)
        unreadable = (
            request.method in BODY_METHODS
            and request.content_type
            and request.stream is not None  # a body to read, as the parser would see it
            and self.get_content_negotiator().select_parser(request, self.get_parsers()) is None
        )
        if unreadable:
            return exceptions.UnsupportedMediaType(request.content_type)
        return None

    def idempotency_keep(self, response: Response) -> Response:
        """Render `response` now and record it for the request's key in the caller's open
        transaction; raises idempotency.KeyTaken (roll back) when a live record holds the key."""
        if self._pending is not None:
            response.accepted_renderer = self.request.accepted_renderer
            response.accepted_media_type = self.request.accepted_media_type
            response.renderer_context = self.get_renderer_context()
            idempotency.keep(self._pending, response)
            self._pending = None
        return response

    def handle_exception(self, exc: Exception) -> HttpResponse:
        if isinstance(exc, idempotency.Replay):
            self._claim = None
            return exc.response  # the stored response, replayed as it was sent
        if isinstance(exc, idempotency.KeyTaken) and self._pending is not None:
            pend, self._pending = self._pending, None
            return idempotency.resolve(pend)  # the transaction has rolled back
        try:
            return super().handle_exception(exc)
        except BaseException:
            self._pending = None  # a server error: nothing recorded, a retry runs again
            prefetch.settle(self.request)
            take_back(self.request)  # the 500 spends nothing of the caller's budget
            if self._claim is not None:
                idempotency.release(self._claim)
                self._claim = None
            raise

    def created(self, data: Any, url_name: str, **kwargs: Any) -> Response:
        """A 201 with `Location`: the created object's URL (`api:<url_name>` with `kwargs`), or
        where it has none of its own, the resource it belongs to (docs/api.md, Conventions)."""
        return Response(
            data, status=201, headers={"Location": reverse(f"api:{url_name}", kwargs=kwargs)}
        )

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        prefetch.settle(request)  # a count made ahead for a request refused before the throttle
        if getattr(response, "status_code", 0) >= 500:
            take_back(request)  # a server's failure spends nothing (docs/api.md, Throttling)
        response = super().finalize_response(request, response, *args, **kwargs)
        response = self._conventions(request, response)
        if self._claim is not None:
            idempotency.store(self._claim, response)
            self._claim = None
        if self._pending is not None:
            # Not recorded inside the operation (a refusal, its transaction rolled back):
            # record it now, or answer as the record already there says.
            pend, self._pending = self._pending, None
            if response.status_code < 500:
                try:
                    idempotency.keep(pend, response)
                except idempotency.KeyTaken:
                    return self._conventions(request, idempotency.resolve(pend))
        return response

    def _conventions(self, request: Request, response: Any) -> Any:
        """The headers every operation answers with: the API version used (and a deprecated
        operation's Deprecation/Sunset), the caller's rate-limit budget."""
        version = getattr(request, "api_version", None) or apiversions.current()
        apiversion.version_headers(response, version, type(self))
        budget = rate_limit_of(request)
        if budget is None:
            # Refused before the throttle ran (401, the key check's 403, 406 …): not counted,
            # the caller's budget as it stands (web/api/throttles.py).
            budget = budget_peek(request, self._caller_ident(request))
        return add_budget(response, budget)

    def perform_authentication(self, request: Request) -> None:
        try:
            super().perform_authentication(request)
        except Exception:
            # Not tried again for the budget's header: a database that never answers would be
            # waited for twice (two connect timeouts before the 503).
            request.authentication_failed = True  # type: ignore[attr-defined]
            raise
        raw = prefetch.presented(request)
        scope = getattr(request, "scope", None)
        if raw is not None and isinstance(scope, Scope):
            # The next request with this key is served in one round trip (web/api/prefetch.py).
            prefetch.remember_key(raw, caller_ident(scope), scope.product_id, scope.partner_id)

    @staticmethod
    def _caller_ident(request: Request) -> str | None:
        """The credential of a request, authenticating it if nothing has tried yet (a 406 is
        answered before the key is read); None without a valid one."""
        if getattr(request, "authentication_failed", False):
            return None
        try:
            request.user  # noqa: B018 -- the property authenticates
        except (exceptions.APIException, DatabaseError):
            return None  # the budget is told, never a reason to fail the answer
        return caller_ident(getattr(request, "scope", None))

    def query_names(self, method: str) -> frozenset[str]:
        """The query parameters the operation takes: a read's `FilterSerializer` fields (the
        schema's `parameters`; lists take `cursor` and `page_size` through `PageQuery`), none
        for any other. Every other name is refused before the operation runs."""
        serializer = getattr(self, "FilterSerializer", None)
        if method.upper() not in ("GET", "HEAD") or serializer is None:
            return frozenset()
        return _field_names(serializer)

    def query(self, serializer: type[serializers.Serializer]) -> dict[str, Any]:
        """The validated query parameters (400 with field errors otherwise)."""
        params = self.request.query_params
        checked = serializer(data=params)
        # DRF reads an empty query value as "absent"; only text fields that allow it take "".
        blank = {
            name: [_("空の値は指定できません。")]
            for name, field in checked.fields.items()
            if name in params
            and params.get(name) == ""
            and not getattr(field, "allow_blank", False)
        }
        if blank:
            raise exceptions.ValidationError(blank)
        checked.is_valid(raise_exception=True)
        return dict(checked.validated_data)

    def body(self, serializer: type[serializers.Serializer], **kwargs: Any) -> dict[str, Any]:
        """The validated JSON body (400 with field errors otherwise), JSON types checked strictly."""
        data = self.request.data
        checked = serializer(data=data, context={"request": self.request}, **kwargs)
        staff_only = (
            [name for name in self.staff_only_fields if name in data]
            if isinstance(data, Mapping) and not self.scope.is_staff
            else []
        )
        refuse_unknown_fields(unknown_fields(checked.fields, data), staff_only)
        wrong = json_type_errors(checked.fields, self.request.data)
        if wrong:
            raise exceptions.ValidationError(wrong)
        checked.is_valid(raise_exception=True)
        return dict(checked.validated_data)

    def paginate(
        self,
        queryset: Any,
        serializer: type[serializers.Serializer],
        *,
        ordering: tuple[str, ...] = ("id",),
    ) -> Response:
        """A cursor page of `queryset` rendered with `serializer`, ordered by a unique key."""
        paginator = ApiCursorPagination()
        paginator.ordering = ordering
        page = paginator.paginate_queryset(queryset, self.request, view=self)
        data = serializer(page, many=True, context={"request": self.request}).data
        return paginator.get_paginated_response(data)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: a path under /api/ that no route matches is a problem+json 404 too."""
    if request.path.startswith("/api/"):
        return problem_json(404, "not_found", _("見つかりませんでした。"), instance=request.path)
    return page_not_found(request, exception or Http404())


def one_path(**operations: type[APIView]) -> Any:
    """Serve several one-operation views on one path, chosen by method.

    `path("tenants/", one_path(get=TenantListApi, post=TenantCreateApi))` keeps one APIView
    per operation with REST paths. The schema generator and the isolation matrix
    expand `view.operations` into the individual views.
    """
    views = {method.upper(): cls.as_view() for method, cls in operations.items()}
    allowed = ", ".join([*sorted(views), "OPTIONS"])

    def view(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        method = (request.method or "").upper()
        target = views.get("GET" if method == "HEAD" else method)
        if target is None and method == "OPTIONS":
            target = next(iter(views.values()))
        if target is None:
            response = problem_json(
                405,
                "method_not_allowed",
                method_not_allowed_detail(method),
                instance=request.path,
            )
            response["Allow"] = allowed
            return response
        response = target(request, *args, **kwargs)
        if method == "OPTIONS":
            response["Allow"] = allowed  # the path's methods, not only the first view's
        return response

    view.csrf_exempt = True  # type: ignore[attr-defined] # each APIView enforces CSRF itself
    view.operations = views  # type: ignore[attr-defined]
    return view


__all__ = [
    "ApiView",
    "json_type_errors",
    "not_found",
    "one_path",
    "refuse_unknown_parameters",
    "unknown_fields",
]
