"""API conventions shared by every endpoint: the root, and errors as application/problem+json."""

from __future__ import annotations

from typing import Any

from rest_framework import status
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.reverse import reverse


@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request: Request) -> Response:
    """Entry point: where the schema and the documentation are."""
    links: dict[str, Any] = {
        "schema": request.build_absolute_uri("/api/v1/schema/"),
        "docs": request.build_absolute_uri("/api/v1/docs/"),
    }
    try:
        links["products"] = reverse("api:product-list", request=request)
    except Exception:  # the resource routes are optional at this layer
        links.setdefault("products", None)
    return Response(
        {"name": "OPTiM Terms & Consent API", "version": "v1", "links": links},
        status=status.HTTP_200_OK,
    )
