"""The API root: where the schema and the documentation are (needs no key)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    throttle_classes,
)
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from web.api.problems import ERROR_429
from web.api.throttles import KeyRateThrottle, rate_limit_of


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
    budget = rate_limit_of(request)
    return Response(
        {"name": "OPTiM Terms & Consent API", "version": "v1", "links": links},
        status=status.HTTP_200_OK,
        headers=budget.headers() if budget is not None else None,
    )
