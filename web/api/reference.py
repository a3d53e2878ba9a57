"""The API reference at /api/v1/docs/: the OpenAPI schema of /api/v1/schema/ read as a
server-rendered page of the site.

Swagger UI (71 serious axe-core findings: contrast, interactive controls nested in its own
summary buttons, no `lang`) and Redoc (no `lang`, 15 px targets) build their markup in the
browser, where the service cannot fix it. This page is the same schema in the site's own
template: one language attribute per text, the site's contrast, headings and keyboard order,
no script at all. /api/v1/redoc/ leads here; the schema itself stays at /api/v1/schema/ for
code generators and API clients.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponsePermanentRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.views import View
from drf_spectacular.settings import spectacular_settings

METHODS = ("get", "post", "put", "patch", "delete")
_REF = "#/components/schemas/"


@dataclass
class Field:
    name: str
    where: str
    required: bool
    type: str
    ref: str | None
    description: str


@dataclass
class Operation:
    method: str
    path: str
    anchor: str
    summary: str
    description: str
    security: list[str]
    parameters: list[Field] = field(default_factory=list)
    body: str | None = None
    responses: list[tuple[str, str, str | None]] = field(default_factory=list)


@dataclass
class Component:
    name: str
    description: str
    enum: list[str]
    properties: list[Field]


def _type(schema: dict[str, Any]) -> tuple[str, str | None]:
    """A schema's type as a reader would say it, and the component it names (if any)."""
    if "$ref" in schema:
        name = schema["$ref"].removeprefix(_REF)
        return name, name
    for combined in ("allOf", "oneOf", "anyOf"):
        if schema.get(combined):
            parts = [_type(s) for s in schema[combined]]
            refs = [ref for _, ref in parts if ref]
            return " | ".join(t for t, _ in parts), (refs[0] if refs else None)
    kind = schema.get("type", "object")
    if isinstance(kind, list):
        # OpenAPI 3.1: ["string", "null"] is a nullable string.
        named = [str(k) for k in kind if k != "null"]
        inner, ref = _type({**schema, "type": named[0] if len(named) == 1 else " | ".join(named)})
        return (f"{inner} | null" if "null" in kind else inner), ref
    if kind == "array":
        inner, ref = _type(schema.get("items", {}))
        return f"array of {inner}", ref
    fmt = schema.get("format")
    return (f"{kind} ({fmt})" if fmt else str(kind)), None


def _response_schema(content: dict[str, Any]) -> str | None:
    for media in content.values():
        _, ref = _type(media.get("schema", {}))
        if ref:
            return ref
    return None


def reference(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema arranged for the page: operations by tag, then the components."""
    tags: dict[str, list[Operation]] = {}
    for path, item in schema.get("paths", {}).items():
        for method in METHODS:
            op = item.get(method)
            if op is None:
                continue
            operation = Operation(
                method=method.upper(),
                path=path,
                anchor=f"op-{op.get('operationId', method + path)}",
                summary=op.get("summary", ""),
                description=op.get("description", ""),
                security=sorted({name for req in op.get("security", []) for name in req}),
            )
            for p in op.get("parameters", []):
                kind, ref = _type(p.get("schema", {}))
                operation.parameters.append(
                    Field(
                        name=p["name"],
                        where=p.get("in", ""),
                        required=bool(p.get("required")),
                        type=kind,
                        ref=ref,
                        description=p.get("description", ""),
                    )
                )
            if "requestBody" in op:
                operation.body = _response_schema(op["requestBody"].get("content", {}))
            for code, answer in op.get("responses", {}).items():
                operation.responses.append(
                    (
                        code,
                        answer.get("description", ""),
                        _response_schema(answer.get("content", {})),
                    )
                )
            for tag in op.get("tags", ["other"]):
                tags.setdefault(tag, []).append(operation)
    components = []
    for name, body in schema.get("components", {}).get("schemas", {}).items():
        required = set(body.get("required", []))
        properties = []
        for prop, prop_schema in body.get("properties", {}).items():
            kind, ref = _type(prop_schema)
            properties.append(
                Field(
                    name=prop,
                    where="",
                    required=prop in required,
                    type=kind,
                    ref=ref,
                    description=prop_schema.get("description", ""),
                )
            )
        components.append(
            Component(
                name=name,
                description=body.get("description", ""),
                enum=[str(v) for v in body.get("enum", [])],
                properties=properties,
            )
        )
    return {
        "info": schema.get("info", {}),
        "tags": sorted(tags.items()),
        "components": components,
        "security": schema.get("components", {}).get("securitySchemes", {}),
    }


@lru_cache(maxsize=4)
def _schema(language: str) -> dict[str, Any]:
    """The public schema in `language` (its descriptions are translated); one per process,
    since the schema changes only with a deploy."""
    with translation.override(language):
        generator = spectacular_settings.DEFAULT_GENERATOR_CLASS()
        return reference(generator.get_schema(request=None, public=True))


class ApiReference(View):
    """GET /api/v1/docs/: the reference in the page's language."""

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> HttpResponse:
        language = translation.get_language() or "ja"
        return render(request, "api/reference.html", _schema(language))


class RedocMoved(View):
    """GET /api/v1/redoc/: where Redoc was, now the reference (permanently)."""

    http_method_names = ["get", "head"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponsePermanentRedirect(reverse("api:docs"))
