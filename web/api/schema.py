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

from core import apiversions
from web.api import apiversion, idempotency
from web.api.auth import EVERYONE, PARTNER, PRODUCT, STAFF
from web.api.catalogue import CATALOGUE, operation_codes
from web.api.problems import (
    ERRORS_BY_STATUS,
    PROBLEM_CONTENT_TYPE,
    PROBLEM_TYPE_BASE,
    ProblemSerializer,
    problem_title,
)

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
API_VERSION_PARAMETER = OpenApiParameter(
    name=apiversion.HEADER,
    type=str,
    location=OpenApiParameter.HEADER,
    required=False,
    enum=list(apiversions.supported()),
    description=(
        "Optional. The dated API version to answer in; without it, the version the key was "
        "pinned to when it was issued. The response's `API-Version` header names the version "
        "used; an unknown one is a 400 `api_version_unknown` (docs/api.md, Versions)."
    ),
)
_SCHEME_OF = {PARTNER: "PartnerApiKey", PRODUCT: "ProductApiKey", STAFF: "StaffSession"}


def _header(description: str, kind: str = "string") -> dict[str, Any]:
    return {"schema": {"type": kind}, "description": description}


# Headers on every response of an operation (docs/api.md, Conventions).
_EVERY_RESPONSE = {
    "API-Version": _header("The API version that answered (YYYY-MM-DD)."),
    "X-Request-ID": _header(
        "The request's id: yours when you sent a well-formed X-Request-ID, else a new one. "
        "Quote it to support."
    ),
    "RateLimit-Limit": _header("Requests allowed per window for this key.", "integer"),
    "RateLimit-Remaining": _header("Requests left in the current window.", "integer"),
    "RateLimit-Reset": _header("Seconds until the window frees a request.", "integer"),
    "RateLimit-Policy": _header("The quota: `<limit>;w=<window seconds>`."),
}
_BY_STATUS = {
    "201": {
        "Location": _header("Where the created object (or the resource it belongs to) is read.")
    },
    "429": {"Retry-After": _header("Seconds to wait before retrying.", "integer")},
    "503": {"Retry-After": _header("Seconds to wait before retrying.", "integer")},
}
_ETAG = _header("A tag of this representation; send it in If-None-Match to get a 304.")
_DEPRECATED = {
    "Deprecation": _header("When the operation was deprecated (`@<unix seconds>`, RFC 9745)."),
    "Sunset": _header("When it stops answering (HTTP date, RFC 8594)."),
    "Link": _header('The changelog entry (`rel="deprecation"`, `rel="sunset"`).'),
}


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
        if getattr(self.view, "audience", None) is not None:
            params.append(API_VERSION_PARAMETER)
            if self.method == "POST":
                params.append(IDEMPOTENCY_PARAMETER)
        return params

    def is_deprecated(self) -> bool:
        return apiversion.deprecation_of(type(self.view)) is not None

    def _get_response_headers_for_code(
        self, status_code: str, direction: str = "response"
    ) -> dict[str, Any]:
        headers = dict(super()._get_response_headers_for_code(status_code, direction))
        if getattr(self.view, "audience", None) is None:
            return headers
        headers.update(_EVERY_RESPONSE)
        headers.update(_BY_STATUS.get(status_code, {}))
        if getattr(self.view, "conditional_get", False) and status_code in ("200", "304"):
            headers["ETag"] = _ETAG
        if self.is_deprecated():
            headers.update(_DEPRECATED)
        return headers

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
        codes = {400, 401, 406, 429, 503}
        unsafe = self.method not in SAFE_METHODS
        if audience != EVERYONE or unsafe:
            codes.add(403)
        if "{" in self.path:
            codes.add(404)
        if self.method in ("POST", "PUT", "PATCH"):
            codes |= {409, 413, 415}
        if self.method == "POST":
            codes.add(422)
        return sorted(codes)

    def _problem_codes(self) -> tuple[dict[int, list[str]], set[int]]:
        """The operation's codes by status (web/api/catalogue.py), and the statuses it
        documents in any case: the automatic ones and those of its own codes."""
        if getattr(self.view, "audience", None) is None:
            return {}, set()
        by_status = operation_codes(type(self.view), self.method)
        own = {
            status
            for codes in by_status.values()
            for code in codes
            if not CATALOGUE[code].shared
            for status in CATALOGUE[code].statuses
        }
        return by_status, set(self._automatic_errors()) | own

    def _get_response_bodies(self, direction: str = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        problem_codes, documented = self._problem_codes()
        for code in sorted(documented):
            key = str(code)
            if key in responses:
                continue
            ((_status_media, declared),) = ERRORS_BY_STATUS[code].items()
            responses[key] = self._get_response_for_code(
                declared, key, (PROBLEM_CONTENT_TYPE,), direction
            )
        if problem_codes:
            problem_ref = self.resolve_serializer(ProblemSerializer, direction).ref
            for status, codes in problem_codes.items():
                response = responses.get(str(status), {})
                media = response.get("content", {}).get(PROBLEM_CONTENT_TYPE)
                if media is None:
                    continue
                # The Problem schema, with `code` narrowed to what this operation answers.
                media["schema"] = {
                    "allOf": [
                        problem_ref,
                        {
                            "type": "object",
                            "properties": {
                                "code": {
                                    "type": "string",
                                    "enum": codes,
                                    "description": "One of this operation's codes "
                                    "(docs/errors.md: meaning, members, what to do).",
                                }
                            },
                        },
                    ]
                }
                _examples_of_codes(media, status, codes)
                listed = ", ".join(f"`{code}`" for code in codes)
                response["description"] = f"{response.get('description', '')} — codes: {listed}"
        return responses


def _examples_of_codes(media: dict[str, Any], status: int, codes: list[str]) -> None:
    """Keep a problem response's examples true to its narrowed `code` enum: an example of a
    code the operation cannot answer (the shared 409 example `idempotency_in_flight` on an
    operation that takes no Idempotency-Key) becomes one of the operation's first code."""
    examples = media.get("examples") or {}
    kept = {
        name: example
        for name, example in examples.items()
        if example.get("value", {}).get("code") in codes
    }
    if not kept and codes:
        code = codes[0]
        kept[code] = {
            "value": {
                "type": f"{PROBLEM_TYPE_BASE}{code}",
                "title": problem_title(status),
                "status": status,
                "detail": CATALOGUE[code].meaning,
                "code": code,
                "errors": [],
                "instance": "/api/v1/…",
            },
            "summary": code,
        }
    if examples:
        media["examples"] = kept


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


# --- Links between operations (OpenAPI 3 `links`) --------------------------------------------

# operationId of a 201 → {link name: (target operationId, {target parameter: expression})}.
LINKS: dict[str, dict[str, tuple[str, dict[str, str]]]] = {
    "tenants_create": {
        "GetTenant": ("tenants_retrieve", {"tenant_id": "$response.body#/id"}),
        "GetTenantConsents": ("tenants_consents_list", {"tenant_id": "$response.body#/id"}),
        "GetTenantStatus": ("status_retrieve", {"tenant_id": "$response.body#/id"}),
        "CreateContract": ("contracts_create", {}),
    },
    "contracts_create": {
        "GetContract": ("contracts_retrieve", {"contract_id": "$response.body#/id"}),
        "GetContractPeriods": ("contracts_periods_list", {"contract_id": "$response.body#/id"}),
        "RequestNonRenewal": (
            "contracts_non_renewal_create",
            {"contract_id": "$response.body#/id"},
        ),
    },
    "sandbox_create": {
        "ListSandboxKeys": ("sandbox_keys_list", {}),
        "ListSandboxProductKeys": ("sandbox_product_keys_list", {}),
    },
    "tenants_consents_create": {
        "GetTenantLedger": ("tenants_ledger_list", {"tenant_id": "$request.path.tenant_id"}),
    },
}


def add_links(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: `links` on the 201 responses of LINKS (drf-spectacular has no
    decorator for them). A link to an operation that does not exist fails the schema build."""
    operations = {
        operation["operationId"]: operation
        for item in result.get("paths", {}).values()
        for operation in item.values()
        if isinstance(operation, dict) and "operationId" in operation
    }
    for source, links in LINKS.items():
        response = operations[source]["responses"]["201"]
        response["links"] = {}
        for name, (target, parameters) in links.items():
            if target not in operations:
                raise KeyError(f"link {source} → {target}: no such operation")
            link: dict[str, Any] = {"operationId": target}
            if parameters:
                link["parameters"] = parameters
            response["links"][name] = link
    return result


def closed_request_bodies(result: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
    """Postprocessing hook: every request-body component is `additionalProperties: false`,
    as the API refuses a member an operation does not take (400 `unknown_field`)."""
    referenced: set[str] = set()
    for item in result.get("paths", {}).values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            for media in operation.get("requestBody", {}).get("content", {}).values():
                ref = media.get("schema", {}).get("$ref", "")
                if ref.startswith("#/components/schemas/"):
                    referenced.add(ref.rsplit("/", 1)[1])
    schemas = result.get("components", {}).get("schemas", {})
    pending = list(referenced)
    while pending:
        name = pending.pop()
        schema = schemas.get(name, {})
        if schema.get("type") != "object":
            continue
        schema["additionalProperties"] = False
        for prop in schema.get("properties", {}).values():
            for ref in _refs(prop):
                target = ref.rsplit("/", 1)[1]
                if target not in referenced:
                    referenced.add(target)
                    pending.append(target)
    return result


def _refs(node: Any) -> list[str]:
    """The component references inside one property (direct, in allOf/oneOf, in items)."""
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        for value in node.values():
            found += _refs(value)
        return found
    if isinstance(node, list):
        return [ref for item in node for ref in _refs(item)]
    return []
