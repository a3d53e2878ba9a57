"""Baselines of benchmarks 2 and 3: bare DRF views on the same server and settings.

No authentication, no scope, no idempotency, no ledger: the least a DRF endpoint can do
with the same middleware, renderer and database connection handling.
"""

from __future__ import annotations

import json

from django.db import connection
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
