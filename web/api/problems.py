"""Errors as application/problem+json (RFC 9457), defined once.

Domain errors, DRF errors and truth-table refusals all leave through
`problem_exception_handler`; `errors(...)` documents the same bodies for each operation.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import IntegrityError, InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from drf_spectacular.utils import OpenApiExample, OpenApiResponse
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from agreements.rules import (
    ANSWER_NOT_ALLOWED,
    CASE_IN_EFFECT,
    DEEMED_NOT_ALLOWED,
    REJECT_AFTER_EFFECTIVE,
    TransitionNotAllowed,
)
from core.errors import DomainError
from web import problemjson
from web.api.throttles import rate_limit_of

logger = logging.getLogger(__name__)

# One envelope for every audience (web/problemjson.py); re-exported for the API's modules.
PROBLEM_CONTENT_TYPE = problemjson.PROBLEM_CONTENT_TYPE
PROBLEM_TYPE_BASE = problemjson.PROBLEM_TYPE_BASE

# Exceptions that mean "the database cannot answer now" (down, unreachable, the connect or
# statement timeout, a connection killed for idling in a transaction): 503 with Retry-After.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5
SERVICE_UNAVAILABLE = _("一時的に処理できません。しばらくしてから、もう一度お試しください。")
THROTTLED = _("リクエストが多すぎます。しばらくしてから再試行してください。")
INVALID = _("入力内容に誤りがあります。errors を確認してください。")
SERVER_ERROR = _("サーバーでエラーが発生しました。しばらくしてから、もう一度お試しください。")
# Every 405 says this, whether the path serves several operations (base.one_path) or one
# (DRF's MethodNotAllowed, whose own text differed).
METHOD_NOT_ALLOWED = _("このパスでは %(method)s は使えません。")


def throttled_wait_detail(seconds: int) -> str:
    """The 429 text with the seconds to wait (one second, several seconds)."""
    return ngettext(
        "リクエストが多すぎます。%(seconds)s 秒後に再試行してください。",
        "リクエストが多すぎます。%(seconds)s 秒後に再試行してください。",
        seconds,
    ) % {"seconds": seconds}


def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def unsupported_media_type_detail(content_type: str | None) -> str:
    """The 415 text of a body that is not JSON: what to send instead. A body without a
    Content-Type (which some servers hand on as `text/plain`) is told the same."""
    media = (content_type or "").split(";", 1)[0].strip()[:100]
    if not media:
        return str(_("本文を送るときは Content-Type: application/json を指定してください。"))
    return str(
        _(
            "本文の Content-Type が %(media_type)s です。JSONの本文を "
            "Content-Type: application/json で送ってください。"
        )
    ) % {"media_type": media}


def not_authenticated_detail(authorization: str) -> str | None:
    """The 401 text of a credential sent in another scheme than `Api-Key` (`Bearer tpk_…`):
    that the scheme is `Api-Key`. None when no Authorization header was sent."""
    scheme = authorization.strip().partition(" ")[0]
    if not scheme or scheme.lower() == "api-key":
        return None
    return str(
        _(
            "Authorization ヘッダーの方式が違います。APIキーは Authorization: Api-Key tpk_… "
            "の形で送ってください（Bearer などは使えません）。"
        )
    )


def method_not_allowed_detail(method: str | None) -> str:
    """The one 405 text: the method refused (cut short: it is the caller's input)."""
    return str(METHOD_NOT_ALLOWED) % {"method": (method or "").upper()[:16]}


# Members RFC 9457 defines; a domain error's details never overwrite them.
_RESERVED = frozenset({"type", "title", "status", "detail", "instance", "code", "errors"})

# Truth-table refusals (agreements.rules) as the partner reads them (docs/rules.md, consent truth table).
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
    413: _("リクエストの本文が大きすぎます"),
    415: _("サポートされていないメディアタイプです"),
    422: _("処理できない要求です"),
    429: _("リクエストが多すぎます"),
    500: _("サーバーエラー"),
    503: _("一時的に利用できません"),
}


def problem_title(status_code: int) -> str:
    """The `title` of a problem with this status."""
    return str(_TITLES.get(status_code, "Error"))


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
    body["instance"] = instance or ""
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
    """The one place errors become responses: application/problem+json."""
    instance = _instance(context)
    if isinstance(exc, DomainError):
        return problem_response(
            status_code=exc.status,
            code=exc.code,
            # One text for every 400 `invalid`, whichever check found the fields at fault.
            detail=INVALID if exc.code == "invalid" else exc.message,
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
    if isinstance(exc, DATABASE_UNAVAILABLE):
        # A database that is down, slow past the statement timeout or out of connections: the
        # caller retries, the log gets one line (no traceback, no connection string).
        logger.warning(
            "database.unavailable", extra={"error": exc.__class__.__name__, "path": instance}
        )
        set_rollback()
        return problem_response(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            code="service_unavailable",
            detail=SERVICE_UNAVAILABLE,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
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
            detail=INVALID,
            errors=errors,
            headers=headers,
            instance=instance,
        )
    codes = exc.get_codes()
    code = codes if isinstance(codes, str) else exc.default_code
    extra: dict[str, Any] = {}
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.default_detail)
    request = context.get("request")
    if isinstance(exc, exceptions.MethodNotAllowed):
        detail = method_not_allowed_detail(getattr(request, "method", None))
    if isinstance(exc, exceptions.UnsupportedMediaType):
        content_type = getattr(request, "content_type", "") or ""
        if not _is_json(content_type):  # a JSON body in another charset keeps its own text
            detail = unsupported_media_type_detail(content_type)
    if isinstance(exc, exceptions.NotAuthenticated) and request is not None:
        detail = not_authenticated_detail(request.META.get("HTTP_AUTHORIZATION", "")) or detail
    if isinstance(exc, exceptions.Throttled):
        # DRF's own text joins a translated sentence to an untranslated one; ours is one
        # sentence in the request's language.
        detail = THROTTLED
        if exc.wait is not None:
            seconds = int(exc.wait) + (0 if float(exc.wait).is_integer() else 1)
            extra["retry_after"] = seconds
            detail = throttled_wait_detail(seconds)
        budget = rate_limit_of(request)
        if budget is not None:  # also where no ApiView adds them (the API root)
            headers.update(budget.headers())
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
    instance = serializers.CharField(help_text=_("要求のパス（どの問題にも必ず含まれます）"))
    code = serializers.CharField(
        help_text=_(
            "機械可読な理由コード（例: invalid, not_authenticated, not_found, "
            "non_renewal_late, reject_after_effective_deemed, idempotency_key_reused）"
        )
    )
    errors = ProblemErrorSerializer(many=True, help_text=_("項目ごとの誤り（400のとき）"))
    deadline = serializers.DateField(required=False, help_text=_("申込・取下げの期限（日本時間）"))
    deletion_status = serializers.CharField(
        required=False, help_text=_("削除の指示の現在の状態（deletion_not_ordered のとき）")
    )
    due_on = serializers.DateField(required=False, help_text=_("削除の期限日"))
    end_date = serializers.DateField(required=False, help_text=_("すでに記録されている終了日"))
    ended_on = serializers.DateField(required=False, help_text=_("契約が終了した日"))
    latest_version_id = serializers.IntegerField(
        required=False, help_text=_("代わりに回答する版のID（version_not_latest のとき）")
    )
    next_possible_end = serializers.DateField(
        required=False,
        help_text=_(
            "次に可能な終了日（non_renewal_late のとき、R11）。end_date に指定すると受け付けます"
        ),
    )
    options = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=_("他のオプションを必要とするオプション"),
    )
    period_end = serializers.DateField(required=False, help_text=_("現在の利用期間の末日"))
    reason = serializers.CharField(
        required=False, help_text=_("拒否された、または記録済みの終了事由")
    )
    record_id = serializers.IntegerField(
        required=False, help_text=_("この回答をすでに記録している台帳の行ID")
    )
    sandbox_now = serializers.CharField(
        required=False,
        help_text=_("サンドボックスの現在時刻（sandbox_clock_backwards のとき）"),
    )
    remedy = serializers.CharField(
        required=False,
        help_text=_("次に取るべき操作（例: termination = 契約の終了を申し込む）"),
    )
    requires = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=_("それらのオプションに必要なオプション"),
    )
    posted_at = serializers.DateTimeField(
        required=False, help_text=_("回答した版のお知らせを掲示した日時")
    )
    retry_after = serializers.IntegerField(
        required=False, help_text=_("再試行までの秒数（429のとき。Retry-After ヘッダーと同じ）")
    )
    supported_versions = serializers.ListField(
        child=serializers.CharField(),
        required=False,
        help_text=_("このサービスが応答するAPIバージョン"),
    )
    today = serializers.DateField(required=False, help_text=_("判定に使った業務日（日本時間）"))
    tolerance_seconds = serializers.IntegerField(
        required=False, help_text=_("obtained_at に許容する時計のずれ（秒）")
    )
    use = serializers.CharField(
        required=False, help_text=_("代わりに使う操作（termination または non_renewal）")
    )
    version_id = serializers.IntegerField(required=False, help_text=_("要求が指定した版のID"))


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
            "instance": "/api/v1/tenants/42/",
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
                "instance": "/api/v1/tenants/",
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
    406: (
        "Accept ヘッダーが JSON を受け付けない",
        "not_acceptable",
        "要求された形式では応答できません。",
    ),
    413: (
        "本文が大きすぎる（上限 1 MiB）",
        "payload_too_large",
        "リクエストの本文が大きすぎます。",
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
    503: (
        "データベースが一時的に応答できない（Retry-After ヘッダーの秒数後に再試行）",
        "service_unavailable",
        "一時的に処理できません。しばらくしてから、もう一度お試しください。",
    ),
}

ERRORS_BY_STATUS: dict[int, dict[Any, Any]] = {
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
ERROR_429 = ERRORS_BY_STATUS[429]


def errors(*statuses: int) -> dict[Any, Any]:
    """The documented problem responses of an operation: 401 and 429 always, plus `statuses`."""
    merged: dict[Any, Any] = {}
    for code in sorted({401, 429, *statuses}):
        merged.update(ERRORS_BY_STATUS[code])
    return merged


def problem_json(
    status_code: int,
    code: str,
    detail: Any,
    headers: Mapping[str, str] | None = None,
    *,
    instance: str,
) -> JsonResponse:
    """A problem body outside DRF's views (unrouted paths, a method a path does not serve, a
    body refused before any view, a server error), with the same members as every other:
    `instance` is the request's path."""
    body = {
        "type": f"{PROBLEM_TYPE_BASE}{code}",
        "title": str(_TITLES[status_code]),
        "status": status_code,
        "detail": str(detail),
        "code": code,
        "errors": [],
        "instance": instance,
    }
    response = JsonResponse(
        body,
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
        headers=dict(headers or {}),
        json_dumps_params={"ensure_ascii": False},  # as DRF's renderer writes every other
    )
    # In the language the text is in, also where no LocaleMiddleware answers (413, 415 and
    # 400 `json_too_deep` of web/api/limits.py, which runs before it).
    response.headers.setdefault("Content-Language", translation.get_language() or "ja")
    return response
