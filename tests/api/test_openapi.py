"""The OpenAPI description is complete: `manage.py spectacular --validate --fail-on-warn`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.core.management import call_command

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def schema(tmp_path_factory: pytest.TempPathFactory) -> dict:
    path = Path(tmp_path_factory.mktemp("openapi")) / "schema.json"
    # Raises on any warning (an undocumented field, an enum collision, an unknown
    # authenticator) and on a schema that fails OpenAPI validation.
    call_command(
        "spectacular",
        "--validate",
        "--fail-on-warn",
        "--format",
        "openapi-json",
        "--file",
        str(path),
    )
    return json.loads(path.read_text(encoding="utf-8"))


def _operations(schema: dict) -> list[tuple[str, str, dict]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
    ]


def test_schema_validates_without_warnings(schema: dict) -> None:
    assert schema["openapi"].startswith("3.1")
    assert len(_operations(schema)) >= 33


def test_nullable_members_are_json_schema_type_lists(schema: dict) -> None:
    # 3.0's `nullable: true` on a required member is read as "never null" by some client
    # generators (datamodel-code-generator by default): 3.1 says it as `type: [X, "null"]`.
    assert '"nullable"' not in json.dumps(schema)
    status_code = schema["components"]["schemas"]["AttemptOutput"]["properties"]["status_code"]
    assert status_code["type"] == ["integer", "null"]


def test_every_field_is_described(schema: dict) -> None:
    undescribed = [
        f"{name}.{field}"
        for name, component in schema["components"]["schemas"].items()
        for field, prop in component.get("properties", {}).items()
        if not prop.get("description") and "$ref" not in prop and "allOf" not in prop
    ]
    assert undescribed == []


def test_every_operation_documents_its_errors_as_problem_json(schema: dict) -> None:
    missing = []
    for method, path, operation in _operations(schema):
        responses = operation["responses"]
        if path == "/api/v1/":
            continue
        for code in ("400", "401", "429"):
            content = responses.get(code, {}).get("content", {})
            if "application/problem+json" not in content:
                missing.append(f"{method} {path} {code}")
        if method == "POST" and "422" not in responses:
            missing.append(f"{method} {path} 422")
    assert missing == []


def test_posts_take_an_idempotency_key(schema: dict) -> None:
    without = [
        f"{method} {path}"
        for method, path, operation in _operations(schema)
        if method == "POST"
        and "Idempotency-Key" not in {p["name"] for p in operation.get("parameters", [])}
    ]
    assert without == []


def test_operations_declare_their_key_schemes(schema: dict) -> None:
    security = {
        operation["operationId"]: sorted(
            name for req in operation.get("security", []) for name in req
        )
        for _method, _path, operation in _operations(schema)
    }
    assert security["tenants_list"] == ["PartnerApiKey", "StaffSession"]
    assert security["status_retrieve"] == ["ProductApiKey", "StaffSession"]
    assert security["deletions_ack"] == ["ProductApiKey"]
    assert security["products_list"] == ["PartnerApiKey", "ProductApiKey", "StaffSession"]


def test_billing_cycle_r12_no_proration_is_described_as_idplus_7_3_only(schema: dict) -> None:
    # "No proration" is ID+ 7.3; Biz 7.2 keeps the settlement of continuously paid fees.
    texts = [
        prop["description"]
        for component in schema["components"]["schemas"].values()
        for field, prop in component.get("properties", {}).items()
        if field == "billing_cycle"
    ]
    assert len(texts) >= 2
    for text in texts:
        assert "OPTiM ID+" in text
        assert "第7条第3項" in text
        assert "第7条第2項" in text
