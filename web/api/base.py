"""API conventions shared by every endpoint (STYLE §6).

- errors as application/problem+json (RFC 9457), defined once here: domain errors, DRF errors
  and truth-table refusals all leave through `problem_exception_handler`;
- cursor pagination (`ApiCursorPagination`) and its documented page envelope;
- throttling per key on the default (Redis) cache, with 429 and `Retry-After`;
- the API root.
"""

from __future__ import annotations

import logging
from base64 import b64decode
from collections.abc import Iterator, Mapping
from typing import Any
from urllib import parse

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver
from django.utils.translation import gettext_lazy as _
from django.views.defaults import page_not_found
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.parsers import JSONParser
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from agreements.rules import (
    ANSWER_NOT_ALLOWED,
    CASE_IN_EFFECT,
    DEEMED_NOT_ALLOWED,
    REJECT_AFTER_EFFECTIVE,
    TransitionNotAllowed,
)
from core.errors import DomainError
from tenants.scope import Scope
from web.api import idempotency
from web.api.auth import (
    API_AUTHENTICATION,
    EVERYONE,
    PARTNER,
    PARTNERS,
    PRODUCT,
    STAFF,
    CallerPermission,
    caller_ident,
    request_scope,
)

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "urn:optim-terms:problem:"

# Members RFC 9457 defines; a domain error's details never overwrite them.
_RESERVED = frozenset({"type", "title", "status", "detail", "instance", "code", "errors"})

# Truth-table refusals (agreements.rules) as the partner reads them (DESIGN: consent truth table).
_TRANSITION_MESSAGES: dict[str, Any] = {
    REJECT_AFTER_EFFECTIVE: _(
        "効力発生後の改定は拒否できません。ご利用を終了する場合は契約の解約（終了の申込）を行ってください。"
    ),
    CASE_IN_EFFECT: _("拒否による契約終了がすでに効力を生じているため、同意を記録できません。"),
    DEEMED_NOT_ALLOWED: _("「みなし同意」はシステムのみが記録します。"),
    ANSWER_NOT_ALLOWED: _("現在の状態ではこの回答はできません。"),
}
# Where the caller goes next after a refusal (documented in docs/api.md).
_TRANSITION_REMEDIES: dict[str, str] = {REJECT_AFTER_EFFECTIVE: "termination"}

_TITLES: dict[int, Any] = {
    400: _("入力内容に誤りがあります"),
    401: _("認証が必要です"),
    403: _("権限がありません"),
    404: _("見つかりません"),
    405: _("許可されていないメソッドです"),
    406: _("応答形式を受け付けられません"),
    409: _("現在の状態と競合しています"),
    415: _("サポートされていないメディアタイプです"),
    422: _("処理できない要求です"),
    429: _("リクエストが多すぎます"),
}


# --- problem+json ---------------------------------------------------------------------------


def _flatten_errors(detail: Any, field: str = "") -> Iterator[dict[str, str]]:
    """DRF's nested error detail as a flat list of {field, message, code}; fields dotted."""
    if isinstance(detail, Mapping):
        for name, sub in detail.items():
            key = "" if name == api_settings.NON_FIELD_ERRORS_KEY else str(name)
            yield from _flatten_errors(sub, f"{field}.{key}" if field and key else field or key)
    elif isinstance(detail, list):
        if all(not isinstance(item, (list, Mapping)) for item in detail):
            for item in detail:
                yield {
                    "field": field,
                    "message": str(item),
                    "code": str(getattr(item, "code", "invalid")),
                }
        else:
            for index, item in enumerate(detail):
                yield from _flatten_errors(item, f"{field}.{index}" if field else str(index))
    else:
        yield {
            "field": field,
            "message": str(detail),
            "code": str(getattr(detail, "code", "invalid")),
        }


def _domain_errors(exc: DomainError) -> list[dict[str, str]]:
    """Field errors a service attached: `fields={name: [messages]}` or `[names]`, or `field=`."""
    fields = exc.details.get("fields")
    found: list[dict[str, str]] = []
    if isinstance(fields, Mapping):
        for name, messages in fields.items():
            for message in messages if isinstance(messages, (list, tuple)) else [messages]:
                found.append({"field": str(name), "message": str(message), "code": exc.code})
    elif isinstance(fields, (list, tuple)):
        found += [{"field": str(n), "message": str(exc.message), "code": exc.code} for n in fields]
    if "field" in exc.details:
        found.append(
            {"field": str(exc.details["field"]), "message": str(exc.message), "code": exc.code}
        )
    return found


def problem_response(
    *,
    status_code: int,
    code: str,
    detail: Any,
    errors: list[dict[str, str]] | None = None,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
    instance: str | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"{PROBLEM_TYPE_BASE}{code}",
        "title": str(_TITLES.get(status_code, "Error")),
        "status": status_code,
        "detail": str(detail),
        "code": code,
        "errors": errors or [],
    }
    if instance:
        body["instance"] = instance
    for name, value in (extra or {}).items():
        if name not in _RESERVED:
            body[name] = value
    response = Response(body, status=status_code, headers=dict(headers or {}))
    response.content_type = PROBLEM_CONTENT_TYPE
    return response


def _instance(context: Mapping[str, Any]) -> str | None:
    request = context.get("request")
    return request.path if request is not None else None


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """The one place errors become responses (STYLE §6): application/problem+json."""
    instance = _instance(context)
    if isinstance(exc, DomainError):
        return problem_response(
            status_code=exc.status,
            code=exc.code,
            detail=exc.message,
            errors=_domain_errors(exc),
            extra={k: v for k, v in exc.details.items() if k not in ("field", "fields")},
            instance=instance,
        )
    if isinstance(exc, TransitionNotAllowed):
        extra = {}
        if exc.code in _TRANSITION_REMEDIES:
            extra["remedy"] = _TRANSITION_REMEDIES[exc.code]
        return problem_response(
            status_code=status.HTTP_409_CONFLICT,
            code=exc.code,
            detail=_TRANSITION_MESSAGES.get(exc.code, _TRANSITION_MESSAGES[ANSWER_NOT_ALLOWED]),
            extra=extra,
            instance=instance,
        )
    if isinstance(exc, IntegrityError):
        # A concurrent request won a unique constraint the service checked first; the
        # caller's retry sees the winner's row.
        logger.warning("integrity error answered as 409: %s", exc)
        return problem_response(
            status_code=status.HTTP_409_CONFLICT,
            code="conflict",
            detail=_("同時に行われた別の操作と競合しました。もう一度お試しください。"),
            instance=instance,
        )
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    headers = {k: v for k, v in response.headers.items() if k.lower() != "content-type"}
    if isinstance(exc, exceptions.ValidationError):
        errors = list(_flatten_errors(exc.detail))
        return problem_response(
            status_code=response.status_code,
            code="invalid",
            detail=_("入力内容に誤りがあります。errors を確認してください。"),
            errors=errors,
            headers=headers,
            instance=instance,
        )
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    extra: dict[str, Any] = {}
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        extra["retry_after"] = int(exc.wait) + (0 if float(exc.wait).is_integer() else 1)
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.default_detail)
    return problem_response(
        status_code=response.status_code,
        code=str(code),
        detail=detail,
        headers=headers,
        extra=extra,
        instance=instance,
    )


class ProblemErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text=_("問題のある項目（入れ子は「.」区切り、本文全体の場合は空文字）")
    )
    message = serializers.CharField(help_text=_("利用者向けの説明"))
    code = serializers.CharField(help_text=_("機械可読な理由コード"))


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details, with `code`, `errors` and the domain's own members."""

    type = serializers.CharField(
        help_text=_("問題の種類を表すURI（urn:optim-terms:problem:<code>）")
    )
    title = serializers.CharField(help_text=_("HTTPステータスの短い説明"))
    status = serializers.IntegerField(help_text=_("HTTPステータスコード"))
    detail = serializers.CharField(help_text=_("この発生に固有の説明（Accept-Language の言語）"))
    instance = serializers.CharField(required=False, help_text=_("要求のパス"))
    code = serializers.CharField(
        help_text=_(
            "機械可読な理由コード（例: invalid, not_authenticated, not_found, "
            "non_renewal_late, reject_after_effective_deemed, idempotency_key_reused）"
        )
    )
    errors = ProblemErrorSerializer(many=True, help_text=_("項目ごとの誤り（400のとき）"))
    deadline = serializers.DateField(
        required=False, help_text=_("更新しない旨の申込期限（non_renewal_late のとき、R11）")
    )
    next_possible_end = serializers.DateField(
        required=False,
        help_text=_(
            "次に可能な終了日（non_renewal_late のとき、R11）。end_date に指定すると受け付けます"
        ),
    )
    remedy = serializers.CharField(
        required=False,
        help_text=_("次に取るべき操作（例: termination = 契約の終了を申し込む）"),
    )
    retry_after = serializers.IntegerField(
        required=False, help_text=_("再試行までの秒数（429のとき。Retry-After ヘッダーと同じ）")
    )


def _problem_example(status_code: int, code: str, detail: str) -> OpenApiExample:
    return OpenApiExample(
        code,
        value={
            "type": f"{PROBLEM_TYPE_BASE}{code}",
            "title": str(_TITLES.get(status_code, "")),
            "status": status_code,
            "detail": detail,
            "code": code,
            "errors": [],
        },
        response_only=True,
        status_codes=[str(status_code)],
    )


def problem(status_code: int, description: str, *examples: OpenApiExample) -> OpenApiResponse:
    return OpenApiResponse(
        response=ProblemSerializer, description=description, examples=list(examples)
    )


# Documented error responses, keyed (status, media type) as drf-spectacular expects.
ERROR_400 = {
    (400, PROBLEM_CONTENT_TYPE): problem(
        400,
        "入力の誤り（errors に項目ごとの理由）",
        OpenApiExample(
            "invalid",
            value={
                "type": f"{PROBLEM_TYPE_BASE}invalid",
                "title": "入力内容に誤りがあります",
                "status": 400,
                "detail": "入力内容に誤りがあります。errors を確認してください。",
                "code": "invalid",
                "errors": [
                    {
                        "field": "email",
                        "message": "有効なメールアドレスを入力してください。",
                        "code": "invalid",
                    }
                ],
            },
            response_only=True,
            status_codes=["400"],
        ),
    )
}
# The simple problem responses: status → (description, example code, example detail).
_SIMPLE_ERRORS: dict[int, tuple[str, str, str]] = {
    401: (
        "キーがない、不正、または失効している（WWW-Authenticate ヘッダー付き）",
        "not_authenticated",
        "認証情報が含まれていません。",
    ),
    403: (
        "キーにこの操作の権限（スコープ）がない",
        "permission_denied",
        "この操作を実行する権限がありません。",
    ),
    404: ("存在しない、または呼び出し元の管理外", "not_found", "見つかりませんでした。"),
    409: (
        "現在の状態では受け付けられない、または同じ冪等キーの要求を処理中",
        "idempotency_in_flight",
        "同じ冪等キーの要求を処理中です。",
    ),
    415: (
        "本文が application/json ではない",
        "unsupported_media_type",
        "サポートされていないメディアタイプです。",
    ),
    422: (
        "同じ Idempotency-Key が別の本文で使われた",
        "idempotency_key_reused",
        "この冪等キーは別の内容の要求に使われています。",
    ),
    429: (
        "キーごとの上限を超えた（Retry-After ヘッダーの秒数後に再試行）",
        "throttled",
        "リクエストが制限されました。",
    ),
}

_ERRORS_BY_STATUS: dict[int, dict[Any, Any]] = {
    400: ERROR_400,
    **{
        status_code: {
            (status_code, PROBLEM_CONTENT_TYPE): problem(
                status_code, description, _problem_example(status_code, code, detail)
            )
        }
        for status_code, (description, code, detail) in _SIMPLE_ERRORS.items()
    },
}
ERROR_429 = _ERRORS_BY_STATUS[429]


def errors(*statuses: int) -> dict[Any, Any]:
    """The documented problem responses of an operation: 401 and 429 always, plus `statuses`."""
    merged: dict[Any, Any] = {}
    for code in sorted({401, 429, *statuses}):
        merged.update(_ERRORS_BY_STATUS[code])
    return merged


# --- Pagination -----------------------------------------------------------------------------


class ApiCursorPagination(CursorPagination):
    """Opaque cursors over a unique, increasing `id`: pages stay stable while rows are added."""

    ordering = ("id",)
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    cursor_query_description = _("前の応答の next / previous に含まれるカーソル")
    page_size_query_description = _("1ページの件数（1〜200、既定50）")

    def decode_cursor(self, request: Request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if not encoded:
            return None
        try:
            querystring = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
            tokens = parse.parse_qs(querystring, keep_blank_values=True)
            offset = max(0, min(int(tokens.get("o", ["0"])[0]), self.offset_cutoff))
            reverse = bool(int(tokens.get("r", ["0"])[0]))
            position = tokens.get("p", [None])[0]
            if position is not None:
                int(position)  # positions are ids; anything else is a forged cursor
        except (TypeError, ValueError, UnicodeError):
            raise exceptions.ValidationError(
                {self.cursor_query_param: [_("カーソルが不正です。")]}
            ) from None
        return Cursor(offset=offset, reverse=reverse, position=position)

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [_("1〜200の整数を指定してください。")]}
            ) from None
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {self.page_size_query_param: [_("1〜200の整数を指定してください。")]}
            )
        return size


_pages: dict[str, type[serializers.Serializer]] = {}


def page_of(item: type[serializers.Serializer], name: str) -> type[serializers.Serializer]:
    """The documented envelope of a cursor page of `item` (component `<name>Page`)."""
    if name in _pages:
        return _pages[name]
    page = type(
        f"{name}PageSerializer",
        (serializers.Serializer,),
        {
            "__module__": __name__,
            "__doc__": f"A cursor page of {name}.",
            "next": serializers.URLField(
                allow_null=True, help_text=_("次のページのURL（最後のページでは null）")
            ),
            "previous": serializers.URLField(
                allow_null=True, help_text=_("前のページのURL（最初のページでは null）")
            ),
            "results": item(many=True, help_text=_("このページの項目")),
        },
    )
    _pages[name] = page
    return page


# --- Throttling ------------------------------------------------------------------------------


class KeyRateThrottle(SimpleRateThrottle):
    """One bucket per API key (or staff user, or client address), on the default cache.

    The rate comes from TERMS_API_THROTTLE_RATE at request time so that a deployment (or a
    test) can change it without re-importing DRF's settings.
    """

    scope = "api"

    def get_rate(self) -> str | None:
        return getattr(settings, "TERMS_API_THROTTLE_RATE", "600/min")

    def allow_request(self, request: Request, view: Any) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        ident = caller_ident(getattr(request, "scope", None))
        if ident is None:
            ident = f"ip:{self.get_ident(request)}"
        return f"throttle:{self.scope}:{ident}"


# --- Base view and schema ---------------------------------------------------------------------

IDEMPOTENCY_PARAMETER = OpenApiParameter(
    name=idempotency.HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    description=(
        "Optional. A unique string (1–255 visible ASCII characters) per intended operation. "
        "Repeating it with the same body within 24 h returns the stored response "
        "(header `Idempotent-Replayed: true`); with another body 422; while the first request "
        "is still running 409."
    ),
)
_SCHEME_OF = {PARTNER: "PartnerApiKey", PRODUCT: "ProductApiKey", STAFF: "StaffSession"}


class ApiAutoSchema(AutoSchema):
    """Derives what every operation shares from the view: the key schemes its audience may
    use, the Idempotency-Key header on POST, and the problem responses it can give."""

    def get_auth(self) -> list[dict[str, Any]]:
        declared = super().get_auth()  # also registers the schemes as components
        audience = getattr(self.view, "audience", None)
        if audience is None:
            return declared
        names = {_SCHEME_OF[kind] for kind in audience}
        return [req for req in declared if set(req) & names]

    def get_override_parameters(self) -> list[Any]:
        params = list(super().get_override_parameters())
        if self.method == "POST" and getattr(self.view, "audience", None) is not None:
            params.append(IDEMPOTENCY_PARAMETER)
        return params

    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        """Nested `InputSerializer`s are named after their view: TenantCreateApi → TenantCreate."""
        qualname = type(serializer).__qualname__
        if "." in qualname:
            outer, inner = qualname.rsplit(".", 1)
            outer = outer.split(".")[-1].removesuffix("Api")
            return outer + inner.removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)

    def get_tags(self) -> list[str]:
        tags = getattr(self.view, "tags", None)
        return list(tags) if tags else super().get_tags()

    def _automatic_errors(self) -> list[int]:
        audience = getattr(self.view, "audience", None)
        if audience is None:
            return []
        codes = {400, 401, 429}
        unsafe = self.method not in SAFE_METHODS
        if audience != EVERYONE or unsafe:
            codes.add(403)
        if "{" in self.path:
            codes.add(404)
        if self.method in ("POST", "PUT", "PATCH"):
            codes |= {409, 415}
        if self.method == "POST":
            codes.add(422)
        return sorted(codes)

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        for code in self._automatic_errors():
            key = str(code)
            if key in responses:
                continue
            ((_status_media, declared),) = _ERRORS_BY_STATUS[code].items()
            responses[key] = self._get_response_for_code(
                declared, key, (PROBLEM_CONTENT_TYPE,), direction
            )
        return responses


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


class ApiView(APIView):
    """Base of every operation: key/staff auth, the caller's Scope, per-key throttling,
    JSON in and out, problem+json errors and Idempotency-Key on POST.

    Subclasses set `audience` (who may call: web.api.auth PARTNERS, EVERYONE,
    PRODUCTS, PRODUCTS_ONLY), and for product operations `product_scope`.
    """

    authentication_classes = API_AUTHENTICATION
    permission_classes = [CallerPermission]
    throttle_classes = [KeyRateThrottle]
    parser_classes = [JSONParser]
    renderer_classes = [JSONRenderer]
    schema = ApiAutoSchema()
    audience: frozenset[str] = PARTNERS
    product_scope: str | None = None
    tags: tuple[str, ...] = ()

    _claim: idempotency.Claim | None = None

    @property
    def scope(self) -> Scope:
        """The caller's reach, built by the authenticator (DESIGN: Auth)."""
        return request_scope(self.request)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method == "POST":
            self._claim = idempotency.claim(request, getattr(request, "scope", None))

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, idempotency.Replay):
            self._claim = None
            return exc.response  # type: ignore[return-value]
        try:
            return super().handle_exception(exc)
        except BaseException:
            if self._claim is not None:
                idempotency.release(self._claim)
                self._claim = None
            raise

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self._claim is not None:
            idempotency.store(self._claim, response)
            self._claim = None
        return response

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
        checked = serializer(data=self.request.data, context={"request": self.request}, **kwargs)
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


# --- Unrouted paths ------------------------------------------------------------------------------


def _problem_json(status_code: int, code: str, detail: Any) -> JsonResponse:
    body = {
        "type": f"{PROBLEM_TYPE_BASE}{code}",
        "title": str(_TITLES[status_code]),
        "status": status_code,
        "detail": str(detail),
        "code": code,
        "errors": [],
    }
    return JsonResponse(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """handler404: a path under /api/ that no route matches is a problem+json 404 too."""
    if request.path.startswith("/api/"):
        return _problem_json(404, "not_found", _("見つかりませんでした。"))
    return page_not_found(request, exception or Http404())


# --- Several operations on one path ----------------------------------------------------------


def one_path(**operations: type[APIView]) -> Any:
    """Serve several one-operation views on one path, chosen by method.

    `path("tenants/", one_path(get=TenantListApi, post=TenantCreateApi))` keeps one APIView
    per operation (STYLE §6) with REST paths. The schema generator and the isolation matrix
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
            response = _problem_json(
                405,
                "method_not_allowed",
                _("このパスでは %(method)s は使えません。") % {"method": method[:16]},
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


class ApiEndpointEnumerator(EndpointEnumerator):
    """Lists each operation of a `one_path` as its own endpoint."""

    def _get_api_endpoints(self, patterns: Any, prefix: str) -> list[Any]:
        if patterns is None:
            patterns = self.patterns
        endpoints: list[Any] = []
        for pattern in patterns:
            operations = getattr(getattr(pattern, "callback", None), "operations", None)
            if isinstance(pattern, URLPattern) and operations:
                path_regex = prefix + str(pattern.pattern)
                path = self.get_path_from_regex(path_regex)
                for method, callback in operations.items():
                    if self.should_include_endpoint(path, callback):
                        endpoints.append((path, path_regex, method, callback))
            elif isinstance(pattern, URLResolver):
                endpoints += self._get_api_endpoints(
                    pattern.url_patterns, prefix + str(pattern.pattern)
                )
            else:
                endpoints += super()._get_api_endpoints([pattern], prefix)
        return endpoints


class ApiSchemaGenerator(SchemaGenerator):
    endpoint_inspector_cls = ApiEndpointEnumerator


# --- Root --------------------------------------------------------------------------------------


class ApiRootSerializer(serializers.Serializer):
    name = serializers.CharField(help_text=_("APIの名前"))
    version = serializers.CharField(help_text=_("APIの版"))
    links = serializers.DictField(
        child=serializers.CharField(), help_text=_("スキーマ、ドキュメントなどの入口")
    )


@extend_schema(
    operation_id="api_root",
    summary="API root",
    description="Where the schema and the documentation are. Needs no key.",
    responses={200: ApiRootSerializer, **ERROR_429},
    auth=[],
    tags=["meta"],
)
@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
@throttle_classes([KeyRateThrottle])
def api_root(request: Request) -> Response:
    """Entry point: where the schema and the documentation are."""
    links: dict[str, Any] = {
        "schema": request.build_absolute_uri("/api/v1/schema/"),
        "docs": request.build_absolute_uri("/api/v1/docs/"),
        "redoc": request.build_absolute_uri("/api/v1/redoc/"),
    }
    return Response(
        {"name": "OPTiM Terms & Consent API", "version": "v1", "links": links},
        status=status.HTTP_200_OK,
    )


__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "ApiCursorPagination",
    "ApiView",
    "KeyRateThrottle",
    "ProblemSerializer",
    "api_root",
    "errors",
    "not_found",
    "page_of",
    "problem_exception_handler",
    "problem_response",
]
