"""`Idempotency-Key` on every POST (docs/api.md; pretix's middleware pattern).

The key is optional and scoped to the caller's credential; a record lives for
TERMS_IDEMPOTENCY_TTL_HOURS (24 h):
- first use: the record is claimed (`in_flight`) in its own committed insert *before* the
  handler runs, so a concurrent repeat finds it;
- the same key with the same method, path and body: the stored response is replayed, with
  `Idempotent-Replayed: true`; bodies are compared as parsed JSON (`canonical_body`: keys
  sorted, no whitespace), so re-ordered or re-indented JSON is the same request;
- the same key with anything else: 422 `idempotency_key_reused`;
- a repeat while the first is still running: 409 `idempotency_in_flight` (retry later).
Server errors (5xx, uncaught exceptions) release the claim, so a retry runs again; every
other outcome, refusals included, is stored — retrying a refused request does not change it.

Operations that write in one transaction of their own (the consent answer, the hot path:
`ApiView.idempotent_in_transaction`) skip the claim: the record is written once, with the final
response, inside that transaction (`keep`), so the answer and its record commit together or not
at all. A repeat waits on the first's locks, finds the record at the end and is rolled back:
it replays the stored response (or 422 for another body) instead of a 409.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.http import HttpResponse
from django.utils.translation import gettext_lazy as _
from rest_framework import exceptions, status
from rest_framework.request import Request

from core import clock, prepared
from core.enums import IdempotencyStatus
from core.models import IdempotencyRecord
from tenants.scope import Scope
from web.api.auth import caller_ident
from web.api.parsers import without_duplicates
from web.api.problems import problem_json

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
_META_KEY = "HTTP_IDEMPOTENCY_KEY"
_KEY_RE = re.compile(r"^[\x21-\x7e]{1,255}$")  # visible ASCII, as in the IETF draft
# A claim older than this is taken to belong to a request that died without releasing it.
IN_FLIGHT_LEASE = timedelta(minutes=5)
# Response headers worth replaying (the rest are recomputed per response); a replayed secret
# (a webhook's, shown once) keeps its `Cache-Control: no-store`.
_KEPT_HEADERS = ("Location", "Content-Language", "Cache-Control")


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("この冪等キーは別の内容の要求に使われています。新しいキーを使ってください。")
    default_code = "idempotency_key_reused"


class IdempotencyInFlight(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = _("同じ冪等キーの要求を処理中です。しばらくしてから再試行してください。")
    default_code = "idempotency_in_flight"


class Replay(Exception):
    """Raised before the handler runs; the view answers with the stored response."""

    def __init__(self, response: HttpResponse) -> None:
        super().__init__("idempotent replay")
        self.response = response


@dataclass(frozen=True)
class Claim:
    record_id: int


def _ttl() -> timedelta:
    return timedelta(hours=settings.TERMS_IDEMPOTENCY_TTL_HOURS)


def canonical_body(body: bytes) -> bytes:
    """What "the same body" means: a JSON body parsed and written again with sorted keys and
    no whitespace, so key order and indentation do not matter; anything else byte for byte,
    a body naming a member twice included (the parser refuses it: parsed, the last repeat
    would win, and a corrected body would compare equal to the refused one)."""
    try:
        parsed = json.loads(body, object_pairs_hook=without_duplicates)
    except (ValueError, RecursionError):
        return b"raw:" + body
    return (
        b"json:"
        + json.dumps(parsed, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )


def _body_hash(request: Request) -> str:
    digest = hashlib.sha256()
    for part in (request.method or "", request.get_full_path()):
        digest.update(part.encode())
        digest.update(b"\x00")
    digest.update(canonical_body(request.body) if request.body else b"")
    return digest.hexdigest()


def _replay(record: IdempotencyRecord) -> HttpResponse:
    headers = dict(record.response_headers or {})
    response = HttpResponse(
        content=bytes(record.response_body or b""),
        status=record.response_code or status.HTTP_200_OK,
        content_type=headers.pop("Content-Type", "application/json"),
    )
    for name, value in headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def claim(request: Request, scope: Scope) -> Claim | None:
    """Claim the request's key, or raise Replay / IdempotencyKeyReused / IdempotencyInFlight.

    Returns None when the request carries no key (or the caller has no credential to scope
    it to).
    """
    asked = pending(request, scope)
    if asked is None:
        return None
    owner, key, body_hash = asked.owner, asked.key, asked.body_hash
    for _attempt in range(2):
        now = clock.wall_now()
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    owner=owner,
                    key=key,
                    method=asked.method,
                    path=asked.path,
                    body_hash=body_hash,
                    status=IdempotencyStatus.IN_FLIGHT,
                    # While in flight the expiry is a lease; storing the response extends it
                    # to the full TTL.
                    expires_at=now + IN_FLIGHT_LEASE,
                )
            return Claim(record_id=record.pk)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(owner=owner, key=key).first()
        if existing is None:
            continue  # released between our insert and our read: try again
        if existing.expires_at <= now:
            # Expired, or a claim whose request died. Conditional delete: of two requests
            # reclaiming it, only one removes this row.
            IdempotencyRecord.objects.filter(
                pk=existing.pk, expires_at=existing.expires_at
            ).delete()
            continue
        if existing.body_hash != body_hash:
            raise IdempotencyKeyReused()
        if existing.status == IdempotencyStatus.IN_FLIGHT:
            raise IdempotencyInFlight()
        raise Replay(_replay(existing))
    raise IdempotencyInFlight()


def release(claimed: Claim) -> None:
    """Forget the claim (the request failed on our side; a retry should run again)."""
    IdempotencyRecord.objects.filter(
        pk=claimed.record_id, status=IdempotencyStatus.IN_FLIGHT
    ).delete()


def store(claimed: Claim, response: HttpResponse) -> None:
    """Keep the final response for replays; a server error releases the claim instead."""
    if response.status_code >= 500:
        release(claimed)
        return
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    headers = {"Content-Type": response.get("Content-Type", "application/json")}
    for name in _KEPT_HEADERS:
        if response.has_header(name):
            headers[name] = response[name]
    IdempotencyRecord.objects.filter(pk=claimed.record_id).update(
        status=IdempotencyStatus.DONE,
        response_code=response.status_code,
        response_body=bytes(response.content),
        response_headers=headers,
        expires_at=clock.wall_now() + _ttl(),
    )


# --- The record inside the operation's own transaction -----------------------------------------


@dataclass(frozen=True)
class Pending:
    """A key to record with the final response (no claim was written)."""

    owner: str
    key: str
    method: str
    path: str
    body_hash: str


class KeyTaken(Exception):
    """A live record holds the key: the operation's transaction must roll back, then
    `resolve` answers (replay, 422 or 409)."""


def pending(request: Request, scope: Scope) -> Pending | None:
    """The request's key checked and hashed, no SQL; None without a key or a credential."""
    key = request.META.get(_META_KEY)
    if key is None:
        return None
    if not _KEY_RE.match(key):
        raise exceptions.ValidationError(
            {HEADER: [_("1〜255文字の表示可能なASCII文字で指定してください。")]}
        )
    owner = caller_ident(scope)
    if owner is None:
        return None
    return Pending(
        owner=owner,
        key=key,
        method=request.method or "",
        path=request.path[:500],
        body_hash=_body_hash(request),
    )


_KEEP_SQL = """
INSERT INTO core_idempotencyrecord AS r
       (created_at, updated_at, owner, key, method, path, body_hash, status, response_code,
        response_body, response_headers, expires_at)
VALUES (%(now)s, %(now)s, %(owner)s, %(key)s, %(method)s, %(path)s, %(body_hash)s, %(done)s,
        %(code)s, %(body)s, %(headers)s, %(expires)s)
ON CONFLICT (owner, key) DO UPDATE
   SET created_at = EXCLUDED.created_at, updated_at = EXCLUDED.updated_at,
       method = EXCLUDED.method, path = EXCLUDED.path, body_hash = EXCLUDED.body_hash,
       status = EXCLUDED.status, response_code = EXCLUDED.response_code,
       response_body = EXCLUDED.response_body, response_headers = EXCLUDED.response_headers,
       expires_at = EXCLUDED.expires_at
 WHERE r.expires_at <= %(now)s
RETURNING id
"""


def keep(pend: Pending, response: HttpResponse) -> None:
    """Record `response` for the key in one statement, in the caller's transaction if any.

    An expired record of the key is replaced in the same statement; a live one (a repeat, or a
    concurrent request that committed first: the insert waits for it) raises KeyTaken.
    """
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    headers = {"Content-Type": response.get("Content-Type", "application/json")}
    for name in _KEPT_HEADERS:
        if response.has_header(name):
            headers[name] = response[name]
    now = clock.wall_now()
    field = IdempotencyRecord._meta.get_field("response_headers")
    with connection.cursor() as cursor:
        prepared.execute(
            cursor,
            _KEEP_SQL,
            {
                "now": now,
                "owner": pend.owner,
                "key": pend.key,
                "method": pend.method,
                "path": pend.path,
                "body_hash": pend.body_hash,
                "done": IdempotencyStatus.DONE.value,
                "code": response.status_code,
                "body": bytes(response.content),
                "headers": field.get_db_prep_value(headers, connection),
                "expires": now + _ttl(),
            },
        )
        row = cursor.fetchone()
    if row is None:
        raise KeyTaken()


def resolve(pend: Pending) -> HttpResponse:
    """After KeyTaken and the rollback: the stored response replayed, or the refusal."""
    existing = IdempotencyRecord.objects.filter(owner=pend.owner, key=pend.key).first()
    if existing is not None and existing.body_hash != pend.body_hash:
        error: exceptions.APIException = IdempotencyKeyReused()
    elif existing is None or existing.status == IdempotencyStatus.IN_FLIGHT:
        error = IdempotencyInFlight()  # released or still running meanwhile: retry
    else:
        return _replay(existing)
    return problem_json(
        error.status_code, str(error.default_code), str(error.default_detail), instance=pend.path
    )
