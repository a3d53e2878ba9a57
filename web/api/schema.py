"""The OpenAPI description, derived from the views (drf-spectacular).

Every operation's key schemes, Idempotency-Key header and problem responses follow from its
view's `audience` and method; `one_path` views are listed one operation each.
"""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import EndpointEnumerator, SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework.permissions import SAFE_METHODS

from web.api import idempotency
from web.api.auth import EVERYONE, PARTNER, PRODUCT, STAFF
from web.api.problems import ERRORS_BY_STATUS, PROBLEM_CONTENT_TYPE

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
            ((_status_media, declared),) = ERRORS_BY_STATUS[code].items()
            responses[key] = self._get_response_for_code(
                declared, key, (PROBLEM_CONTENT_TYPE,), direction
            )
        return responses


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


# --- The key schemes (ECOSYSTEM P3) ----------------------------------------------------------


class PartnerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "web.api.auth.PartnerKeyAuthentication"
    name = "PartnerApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "Partner key: `Authorization: Api-Key tpk_<prefix>_<secret>`. "
                "Shown once at issue; scopes `read` and `write`."
            ),
        }


class ProductKeyScheme(OpenApiAuthenticationExtension):
    target_class = "web.api.auth.ProductKeyAuthentication"
    name = "ProductApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "Product key: `Authorization: Api-Key tprd_<prefix>_<secret>`. "
                "Scopes `status:read` and `deletion:ack`."
            ),
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "web.api.auth.StaffSessionAuthentication"
    name = "StaffSession"
    priority = 1  # before drf-spectacular's own scheme for SessionAuthentication subclasses

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "cookie",
            "name": "sessionid",
            "description": "A staff member's console session (unsafe methods need the CSRF token).",
        }
