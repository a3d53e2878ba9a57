"""Every example in the generated OpenAPI schema is valid against the schema it illustrates
(request bodies, responses, problem bodies and parameters), validated with jsonschema
(OpenAPI 3.1 schemas are JSON Schema 2020-12)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import referencing
from referencing.jsonschema import DRAFT202012

from web.api.schema import ApiSchemaGenerator

pytestmark = pytest.mark.unit

BASE = "urn:terms-api-schema"


@pytest.fixture(scope="module")
def api_schema() -> dict[str, Any]:
    generated = ApiSchemaGenerator().get_schema(request=None, public=True)
    return json.loads(json.dumps(generated, default=str))


def _examples(schema: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any], Any]]:
    """(where, the schema, the example) for every example an operation carries."""
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if not isinstance(operation, dict):
                continue
            label = f"{method.upper()} {path}"
            holders: list[tuple[str, dict[str, Any]]] = [
                (f"{label} parameter {p.get('name')}", p) for p in operation.get("parameters", [])
            ]
            for media_type, media in operation.get("requestBody", {}).get("content", {}).items():
                holders.append((f"{label} request {media_type}", media))
            for status, response in operation.get("responses", {}).items():
                for media_type, media in response.get("content", {}).items():
                    holders.append((f"{label} {status} {media_type}", media))
            for where, holder in holders:
                if "schema" not in holder:
                    continue
                for name, example in (holder.get("examples") or {}).items():
                    if "value" in example:
                        yield f"{where} example {name}", holder["schema"], example["value"]
                if "example" in holder:
                    yield f"{where} example", holder["schema"], holder["example"]
    for name, component in schema.get("components", {}).get("schemas", {}).items():
        if "example" in component:
            yield f"component {name}", component, component["example"]
        for example in component.get("examples", []):
            yield f"component {name}", component, example


def _validator(schema: dict[str, Any], api_schema: dict[str, Any]) -> Any:
    registry = referencing.Registry().with_resource(BASE, DRAFT202012.create_resource(api_schema))
    rooted = json.loads(json.dumps(schema).replace('"#/components/', f'"{BASE}#/components/'))
    return jsonschema.Draft202012Validator(
        rooted, registry=registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def test_the_schema_has_examples_to_check(api_schema: dict[str, Any]) -> None:
    assert len(list(_examples(api_schema))) > 100


def test_every_example_in_the_schema_validates_against_its_own_schema(
    api_schema: dict[str, Any],
) -> None:
    invalid = []
    for where, schema, example in _examples(api_schema):
        errors = list(_validator(schema, api_schema).iter_errors(example))
        if errors:
            first = errors[0]
            invalid.append(f"{where}: {list(first.absolute_path)} {first.message[:160]}")
    assert invalid == []


def test_the_check_finds_an_invalid_example(api_schema: dict[str, Any]) -> None:
    # The validator resolves the components: a problem whose code is not the operation's fails.
    operation = api_schema["paths"]["/api/v1/contracts/{contract_id}/"]["get"]
    schema = operation["responses"]["404"]["content"]["application/problem+json"]["schema"]
    example = {
        "type": "urn:optim-terms:problem:nope",
        "title": "x",
        "status": 404,
        "detail": "x",
        "code": "no_such_code",
        "errors": [],
    }
    assert list(_validator(schema, api_schema).iter_errors(example))
