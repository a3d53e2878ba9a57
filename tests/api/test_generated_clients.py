"""Typed clients that just work: what integrators generate from the schema reads what the API says.

The schema the service serves is handed to openapi-python-client and to datamodel-code-generator
(default options, the commands in docs/api.md, "Generated clients"). A small partner flow runs
against the service (tenant, contract, consent answer, status, events, webhook, refusals) and
each recorded JSON response is parsed with both sets of generated models, for the schema that
operation documents for that status and content type: `Model.from_dict` (openapi-python-client)
and `Model.model_validate` (the pydantic models of datamodel-code-generator). Problem responses
are read as the `Problem` component and as the operation's own problem model, whose `code` is
the enum of the codes that operation documents. Altered responses must be refused, so the
check can fail.
"""

from __future__ import annotations

import copy
import importlib
import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import pytest
from django.core import signals
from django.core.handlers.wsgi import WSGIHandler
from django.db import close_old_connections
from django.test import Client
from pydantic import TypeAdapter, ValidationError

from tests.api.conftest import World, key_client

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

SCHEMA_PATH = "/api/v1/schema/?format=json"
BIN = Path(sys.executable).parent
PACKAGE = "terms_api_client"  # openapi-python-client's package, generated into a tmp dir
MODELS = "terms_api_models"  # datamodel-code-generator's module

# What the generated openapi-python-client models raise on data they cannot read.
OPC_REFUSALS = (KeyError, ValueError, TypeError, AttributeError)


@dataclass(frozen=True)
class Generated:
    schema: dict[str, Any]
    opc: ModuleType  # terms_api_client.models
    dmc: ModuleType  # the pydantic models


def _generate(tmp: Path) -> None:
    """The two commands of docs/api.md, run side by side (each takes several seconds)."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    commands = [
        [
            str(BIN / "openapi-python-client"),
            "generate",
            "--path",
            "schema.json",
            "--meta",
            "none",
            "--output-path",
            PACKAGE,
        ],
        [str(BIN / "datamodel-codegen"), "--input", "schema.json", "--output", f"{MODELS}.py"],
    ]
    running = [
        subprocess.Popen(
            command, cwd=tmp, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for command in commands
    ]
    for command, process in zip(commands, running, strict=True):
        output, _ = process.communicate(timeout=240)
        assert process.returncode == 0, f"{command[0]} failed:\n{output}"


@pytest.fixture(scope="module")
def generated(
    tmp_path_factory: pytest.TempPathFactory, django_db_blocker: Any
) -> Iterator[Generated]:
    tmp = tmp_path_factory.mktemp("clients")
    with django_db_blocker.unblock():
        response = Client().get(SCHEMA_PATH)
    assert response.status_code == 200
    (tmp / "schema.json").write_bytes(response.content)
    _generate(tmp)

    sys.path.insert(0, str(tmp))
    try:
        opc = importlib.import_module(f"{PACKAGE}.models")
        spec = importlib.util.spec_from_file_location(MODELS, tmp / f"{MODELS}.py")
        assert spec is not None
        assert spec.loader is not None
        dmc = importlib.util.module_from_spec(spec)
        sys.modules[MODELS] = dmc  # pydantic resolves the module's annotations through it
        spec.loader.exec_module(dmc)
        yield Generated(schema=json.loads(response.content), opc=opc, dmc=dmc)
    finally:
        sys.path.remove(str(tmp))
        for name in [n for n in sys.modules if n == MODELS or n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


# --- Recording a partner flow ----------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    operation_id: str
    method: str
    path: str
    status: int
    content_type: str
    body: Any


def _record(
    log: list[Recorded], operation_id: str, client: Any, method: str, path: str, data: Any = None
) -> Any:
    response = (
        getattr(client, method)(path, data) if data is not None else getattr(client, method)(path)
    )
    content_type = response["Content-Type"].split(";")[0].strip()
    log.append(
        Recorded(operation_id, method, path, response.status_code, content_type, response.json())
    )
    return response.json()


def _partner_flow(world: World) -> list[Recorded]:
    log: list[Recorded] = []
    partner = key_client(world.partner_raw)
    product = key_client(world.product_raw)
    tenant = _record(
        log,
        "tenants_create",
        partner,
        "post",
        "/api/v1/tenants/",
        {"name": "型付き商事株式会社", "contact_email": "it@typed.example", "external_ref": "T-1"},
    )
    contract = _record(
        log,
        "contracts_create",
        partner,
        "post",
        "/api/v1/contracts/",
        {
            "tenant": tenant["id"],
            "product": "optim-id-plus",
            "start_date": "2025-04-01",
            "billing_cycle": "annual",
            "amount_jpy": 120000,
        },
    )
    _record(log, "contracts_retrieve", partner, "get", f"/api/v1/contracts/{contract['id']}/")
    _record(log, "tenants_retrieve", partner, "get", f"/api/v1/tenants/{tenant['id']}/")
    _record(
        log,
        "tenants_consents_create",
        partner,
        "post",
        f"/api/v1/tenants/{world.tenant.pk}/consents/",
        {
            "version": world.v2.pk,
            "answer": "accepted",
            "evidence": {
                "person_name": "山田 太郎",
                "obtained_at": "2025-03-09T14:05:00+09:00",
                "method": "書面",
            },
        },
    )
    consents = f"/api/v1/tenants/{world.tenant.pk}/consents/"
    _record(log, "tenants_consents_list", partner, "get", consents)
    _record(log, "tenants_consents_list", partner, "get", f"{consents}?paged=true")
    _record(
        log, "tenants_ledger_list", partner, "get", f"/api/v1/tenants/{world.tenant.pk}/ledger/"
    )
    _record(log, "status_retrieve", product, "get", f"/api/v1/status/{world.tenant.pk}/")
    _record(log, "status_retrieve", product, "get", f"/api/v1/status/{tenant['id']}/")
    _record(log, "events_list", partner, "get", "/api/v1/events/")
    _record(
        log,
        "webhooks_create",
        partner,
        "post",
        "/api/v1/webhooks/",
        {"url": "https://typed.example/hooks", "event_kinds": []},
    )
    _record(
        log,
        "webhooks_deliveries_list",
        partner,
        "get",
        f"/api/v1/webhooks/{world.webhook.pk}/deliveries/",
    )
    # Refusals: a field error, another partner's contract, no key.
    _record(
        log,
        "contracts_create",
        partner,
        "post",
        "/api/v1/contracts/",
        {"tenant": tenant["id"], "product": "optim-id-plus", "billing_cycle": "annual"},
    )
    _record(
        log, "contracts_retrieve", partner, "get", f"/api/v1/contracts/{world.other_contract.pk}/"
    )
    _record(log, "tenants_list", key_client("tpk_00000000_unknown"), "get", "/api/v1/tenants/")
    return log


# --- Reading a response with the generated models ----------------------------------------------


def _operation(schema: dict[str, Any], operation_id: str) -> tuple[str, str, dict[str, Any]]:
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return method, path, operation
    raise AssertionError(f"no operation {operation_id} in the schema")


def _documented(schema: dict[str, Any], record: Recorded) -> dict[str, Any]:
    """The schema the operation documents for this response: its status and content type."""
    method, template, operation = _operation(schema, record.operation_id)
    pattern = re.sub(
        r"\{[a-z_]+\}", r"[0-9]+", re.escape(template).replace(r"\{", "{").replace(r"\}", "}")
    )
    assert method == record.method
    assert re.fullmatch(pattern, record.path.split("?")[0]), (record.path, template)
    response = operation["responses"].get(str(record.status))
    assert response is not None, f"{record.operation_id}: {record.status} is not documented"
    content = response.get("content", {})
    assert record.content_type in content, (
        f"{record.operation_id} {record.status}: {record.content_type} not among {list(content)}"
    )
    return content[record.content_type]["schema"]


def _component(node: dict[str, Any]) -> str:
    return node["$ref"].rsplit("/", 1)[-1]


def _problem_class_name(operation_id: str, status: int) -> str:
    # openapi-python-client names an inline response schema <OperationId>Response<status>.
    return "".join(part.capitalize() for part in operation_id.split("_")) + f"Response{status}"


def _is_problem(node: dict[str, Any]) -> bool:
    return any(_component(part) == "Problem" for part in node.get("allOf", []) if "$ref" in part)


def _opc_read(generated: Generated, node: dict[str, Any], body: Any) -> None:
    """Read `body` as openapi-python-client's models read it; raise when they cannot."""
    if "$ref" in node:
        name = _component(node)
        component = generated.schema["components"]["schemas"][name]
        if "oneOf" in component or "anyOf" in component:
            _opc_read(generated, component, body)
            return
        model = getattr(generated.opc, name)
        parsed = model.from_dict(body)
        # Nothing lost or changed on the way in and out again.
        assert parsed.to_dict() == body, name
        return
    if "oneOf" in node or "anyOf" in node:
        errors = []
        for branch in node.get("oneOf", node.get("anyOf")):
            try:
                _opc_read(generated, branch, body)
            except (*OPC_REFUSALS, AssertionError) as error:
                errors.append(error)
            else:
                return
        raise ValueError(f"no branch reads it: {errors}")
    if node.get("type") == "array":
        if not isinstance(body, list):
            raise TypeError("not an array")
        for item in body:
            _opc_read(generated, node["items"], item)
        return
    raise AssertionError(f"unexpected response schema {node}")


def read_with_opc(generated: Generated, record: Recorded) -> None:
    node = _documented(generated.schema, record)
    if _is_problem(node):
        generated.opc.Problem.from_dict(record.body)
        own = getattr(generated.opc, _problem_class_name(record.operation_id, record.status))
        parsed = own.from_dict(record.body)
        assert parsed.to_dict() == record.body
        return
    _opc_read(generated, node, record.body)


def read_with_pydantic(generated: Generated, record: Recorded) -> None:
    node = _documented(generated.schema, record)
    if _is_problem(node):
        generated.dmc.Problem.model_validate(record.body)
        return
    if node.get("type") == "array":
        item = getattr(generated.dmc, _component(node["items"]))
        TypeAdapter(list[item]).validate_python(record.body)  # type: ignore[valid-type]
        return
    getattr(generated.dmc, _component(node)).model_validate(record.body)


def _altered(record: Recorded, change: Callable[[Any], None]) -> Recorded:
    body = copy.deepcopy(record.body)
    change(body)
    return Recorded(
        record.operation_id, record.method, record.path, record.status, record.content_type, body
    )


def _one(log: list[Recorded], operation_id: str, status: int) -> Recorded:
    return next(r for r in log if r.operation_id == operation_id and r.status == status)


def test_generated_clients_read_every_recorded_response(generated: Generated, world: World) -> None:
    log = _partner_flow(world)
    statuses = {(r.operation_id, r.status) for r in log}
    # The flow went where it was meant to: successes and refusals alike.
    assert {
        ("tenants_create", 201),
        ("contracts_create", 201),
        ("tenants_consents_create", 201),
        ("events_list", 200),
        ("webhooks_create", 201),
        ("contracts_create", 400),
        ("contracts_retrieve", 404),
        ("tenants_list", 401),
    } <= statuses, statuses
    assert any(r.body.get("next") is None for r in log if r.operation_id == "events_list")

    for record in log:
        read_with_opc(generated, record)
        read_with_pydantic(generated, record)

    # The same readers refuse responses that do not match their schema.
    tenant = _one(log, "tenants_create", 201)
    contract = _one(log, "contracts_create", 201)
    problem = _one(log, "contracts_create", 400)
    events = _one(log, "events_list", 200)

    without_id = _altered(tenant, lambda body: body.pop("id"))
    unknown_status = _altered(contract, lambda body: body.update(status="paused"))
    not_a_date = _altered(contract, lambda body: body.update(start_date="next April"))
    event_kind = _altered(events, lambda body: body["results"][0].update(kind="tenant.exploded"))
    for wrong in (without_id, unknown_status, not_a_date, event_kind):
        with pytest.raises(OPC_REFUSALS):
            read_with_opc(generated, wrong)
        with pytest.raises(ValidationError):
            read_with_pydantic(generated, wrong)

    # Typed members: a string where an integer is documented, null where null is not allowed.
    for wrong in (
        _altered(tenant, lambda body: body.update(id="forty-two")),
        _altered(contract, lambda body: body.update(product=None)),
    ):
        with pytest.raises(ValidationError):
            read_with_pydantic(generated, wrong)

    # A problem code the operation does not document; a problem without its code.
    undocumented = _altered(problem, lambda body: body.update(code="not_found"))
    with pytest.raises(ValueError, match="not_found"):
        read_with_opc(generated, undocumented)
    codeless = _altered(problem, lambda body: body.pop("code"))
    with pytest.raises(KeyError):
        read_with_opc(generated, codeless)
    with pytest.raises(ValidationError):
        read_with_pydantic(generated, codeless)


@pytest.fixture
def _keep_the_test_connection() -> Iterator[None]:
    # The WSGI handler closes "old" connections around each request; inside the test's
    # transaction that would close it (as in test_schemathesis.py).
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


@pytest.mark.usefixtures("_keep_the_test_connection")
def test_generated_client_calls_the_service(generated: Generated, world: World) -> None:
    """The openapi-python-client package as docs/api.md shows it, over HTTP to the service."""
    package = importlib.import_module(PACKAGE)
    tenants_create = importlib.import_module(f"{PACKAGE}.api.tenants.tenants_create")
    contracts_retrieve = importlib.import_module(f"{PACKAGE}.api.contracts.contracts_retrieve")
    client = package.AuthenticatedClient(
        base_url="http://testserver",
        token=world.partner_raw,
        prefix="Api-Key",
        raise_on_unexpected_status=True,
        httpx_args={"transport": httpx.WSGITransport(app=WSGIHandler())},
    )
    with client:
        created = tenants_create.sync_detailed(
            client=client, body=generated.opc.TenantCreateInputRequest(name="生成商事株式会社")
        )
        refused = contracts_retrieve.sync_detailed(
            client=client, contract_id=world.other_contract.pk
        )
    assert created.status_code == 201
    assert isinstance(created.parsed, generated.opc.TenantOutput)
    assert created.parsed.name == "生成商事株式会社"
    assert created.parsed.corporate_number is None
    # Another partner's contract: the operation's own 404 problem, its code an enum member.
    assert refused.status_code == 404
    assert isinstance(refused.parsed, generated.opc.ContractsRetrieveResponse404)
    assert refused.parsed.code.value == "contract_not_found"
