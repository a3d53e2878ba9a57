"""Baselines of benchmarks 2 and 3: bare DRF views on the same server and settings.

No authentication, no scope, no idempotency, no ledger: the least a DRF endpoint can do
with the same middleware, renderer and database connection handling. The answer's floor
(AnswerFloorApi) writes what a consent answer writes, by hand, and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from tenants.models import Tenant


class _Input(serializers.Serializer):
    version = serializers.IntegerField(min_value=1)
    answer = serializers.CharField(max_length=16)
    evidence = serializers.DictField(required=False)


class BareInsertApi(APIView):
    """POST the consent answer's body; one INSERT of one row."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def post(self, request: Request, tenant_id: int) -> Response:
        data = _Input(data=request.data)
        data.is_valid(raise_exception=True)
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO bench_insert (tenant_id, answer, body) VALUES (%s, %s, %s) "
                "RETURNING id",
                [tenant_id, data.validated_data["answer"], json.dumps(request.data)],
            )
            (row_id,) = cursor.fetchone()
        return Response({"id": row_id, "tenant": tenant_id}, status=status.HTTP_201_CREATED)


class BareLookupApi(APIView):
    """GET one tenant by primary key; one indexed lookup."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get(self, request: Request, tenant_id: int) -> Response:
        row = Tenant.objects.filter(pk=tenant_id).values("id", "is_active").first()
        if row is None:
            return Response(status=status.HTTP_404_NOT_FOUND)
        return Response({"tenant": row["id"], "allowed": row["is_active"]})


# The durable SQL of a consent answer (benchmark 2's floor), one statement per step as the
# answer runs it: the head lock (the version's columns read with it), the ledger row, its
# evidence, the head moved, the projection row, the event and its outbox row, the
# Idempotency-Key record.
_FLOOR_LOCK = (
    "SELECT h.id, h.seq, h.hash, v.document_id, v.body_hash, v.posted_at "
    "FROM agreements_ledgerhead h, agreements_termsversion v "
    "WHERE h.tenant_id = %s AND v.id = %s FOR UPDATE OF h"
)
_FLOOR_RECORD = (
    "INSERT INTO agreements_consentrecord (tenant_id, seq, document_id, version_id, answer, "
    "actor_kind, actor_ref, channel, recorded_at, version_body_hash, notice_posted_at, "
    "evidence_digests, prev_hash, hash) "
    "VALUES (%s, %s, %s, %s, %s, 'partner_key', 'key:floor', 'api', %s, %s, %s, %s, %s, %s) "
    "RETURNING id"
)
_FLOOR_EVIDENCE = (
    "INSERT INTO agreements_consentevidence (record_id, tenant_id, salt, person_name, "
    "person_email, person_title, reason, ip_address, user_agent, obtained_at, method, "
    "created_at) VALUES (%s, %s, %s, %s, %s, '', '', %s, %s, %s, %s, %s)"
)
_FLOOR_HEAD = "UPDATE agreements_ledgerhead SET seq = %s, hash = %s, updated_at = %s WHERE id = %s"
_FLOOR_STATE = (
    "INSERT INTO agreements_consentstate (tenant_id, document_id, version_id, status, "
    "record_id, bound, updated_at) VALUES (%s, %s, %s, %s, %s, TRUE, %s) "
    "ON CONFLICT (tenant_id, document_id) DO UPDATE SET version_id = EXCLUDED.version_id, "
    "status = EXCLUDED.status, record_id = EXCLUDED.record_id, updated_at = EXCLUDED.updated_at"
)
_FLOOR_OUTBOX = (
    "WITH ev AS (INSERT INTO core_event (created_at, updated_at, kind, tenant_id, partner_id, "
    "subject_type, subject_id, payload, occurred_at) "
    "SELECT %(now)s, %(now)s, 'consent.answer_recorded', t.id, t.partner_id, "
    "'agreements.consentrecord', %(record)s, %(payload)s::jsonb, %(now)s "
    "FROM tenants_tenant t WHERE t.id = %(tenant)s RETURNING id, tenant_id, partner_id) "
    "INSERT INTO core_outbox (created_at, updated_at, kind, channel, dedupe_key, event_id, "
    "tenant_id, partner_id, recipient, webhook_endpoint_id, locale, payload, status, attempts, "
    "next_attempt_at, lease_until, last_error, sent_at, message_id) "
    "SELECT %(now)s, %(now)s, 'consent.answer_recorded', 'email', "
    "'consent.answer_recorded:floor:' || %(record)s || ':' || t.contact_email, ev.id, "
    "ev.tenant_id, ev.partner_id, t.contact_email, NULL, t.locale, %(payload)s::jsonb, "
    "'pending', 0, %(now)s, NULL, '', NULL, '' "
    "FROM ev JOIN tenants_tenant t ON t.id = ev.tenant_id WHERE t.contact_email <> ''"
)
_FLOOR_IDEMPOTENCY = (
    "INSERT INTO core_idempotencyrecord (created_at, updated_at, owner, key, method, path, "
    "body_hash, status, response_code, response_body, response_headers, expires_at) "
    "VALUES (%s, %s, 'floor', %s, 'POST', %s, %s, 'done', 201, %s, %s, %s)"
)


class AnswerFloorApi(APIView):
    """POST the consent answer's body; the durable SQL of a real answer (_FLOOR_*) by hand in
    one transaction: raw cursor, no ORM, no authentication, no rules. Every request writes
    (a repeat appends again, under a fresh Idempotency-Key record), as a first answer does."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def post(self, request: Request, tenant_id: int) -> Response:
        data = _Input(data=request.data)
        data.is_valid(raise_exception=True)
        answer = data.validated_data["answer"]
        evidence = data.validated_data.get("evidence") or {}
        now = datetime.now(UTC)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(_FLOOR_LOCK, [tenant_id, data.validated_data["version"]])
            found = cursor.fetchone()
            if found is None:
                return Response(status=status.HTTP_404_NOT_FOUND)
            head_id, seq, prev_hash, document_id, body_hash, posted_at = found
            seq += 1
            row = {"tenant": tenant_id, "seq": seq, "answer": answer, "at": now.isoformat()}
            digest = hashlib.sha256(
                (prev_hash + json.dumps(row, sort_keys=True)).encode()
            ).hexdigest()
            cursor.execute(
                _FLOOR_RECORD,
                [
                    tenant_id,
                    seq,
                    document_id,
                    data.validated_data["version"],
                    answer,
                    now,
                    body_hash,
                    posted_at,
                    "{}",
                    prev_hash,
                    digest,
                ],
            )
            (record_id,) = cursor.fetchone()
            cursor.execute(
                _FLOOR_EVIDENCE,
                [
                    record_id,
                    tenant_id,
                    secrets.token_hex(32),
                    str(evidence.get("person_name", "")),
                    str(evidence.get("person_email", "")),
                    str(evidence.get("ip_address", "")),
                    str(evidence.get("user_agent", "")),
                    evidence.get("obtained_at") or now,
                    str(evidence.get("method", "")),
                    now,
                ],
            )
            cursor.execute(_FLOOR_HEAD, [seq, digest, now, head_id])
            cursor.execute(
                _FLOOR_STATE,
                [tenant_id, document_id, data.validated_data["version"], answer, record_id, now],
            )
            payload = json.dumps({"record_id": record_id, "seq": seq, "answer": answer})
            cursor.execute(
                _FLOOR_OUTBOX,
                {"now": now, "record": record_id, "payload": payload, "tenant": tenant_id},
            )
            body = {"id": record_id, "tenant": tenant_id, "seq": seq, "hash": digest}
            cursor.execute(
                _FLOOR_IDEMPOTENCY,
                [
                    now,
                    now,
                    f"{request.headers.get('Idempotency-Key', '')}:{secrets.token_hex(8)}",
                    request.path,
                    hashlib.sha256(request.body).hexdigest(),
                    json.dumps(body).encode(),
                    json.dumps({"Content-Type": "application/json"}),
                    now + timedelta(hours=24),
                ],
            )
        return Response(body, status=status.HTTP_201_CREATED)
