"""The error catalogue (web/api/catalogue.py, docs/errors.md) is complete and true to the code.

`tests/api/codewalk.py` walks what each operation runs; the shared plumbing (keys, throttling,
bodies, idempotency, versions, the error handler, DRF's request cycle) is walked once.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.api.codewalk import Raised, Walk, walk_module_functions, walk_view
from tests.api.conftest import World
from web.api.catalogue import CATALOGUE, MEMBERS, OPERATION_CODES, SHADOWED, operation_codes
from web.api.problems import ProblemSerializer
from web.api.schema import ApiSchemaGenerator

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]

# Every operation passes through these: their codes are the catalogue's shared ones.
PLUMBING = (
    "web.api.auth",
    "web.api.base",
    "web.api.apiversion",
    "web.api.idempotency",
    "web.api.limits",
    "web.api.parsers",
    "web.api.problems",
    "web.api.throttles",
    "web.api.pagination",
    "web.errors",
    "rest_framework.views",
    "rest_framework.request",
    "rest_framework.negotiation",
)
# RFC 9457's members and the body's own: a domain error's detail of that name is dropped.
RESERVED = {"type", "title", "status", "detail", "instance", "code", "errors"}


@pytest.fixture(scope="module")
def api_schema() -> dict:
    return ApiSchemaGenerator().get_schema(request=None, public=True)


def _api_operations() -> Iterator[tuple[str, str, type]]:
    def walk(patterns: list, prefix: str) -> Iterator[tuple[str, str, type]]:
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern) and prefix.startswith("api/"):
                path = prefix + str(pattern.pattern)
                operations = getattr(pattern.callback, "operations", None)
                if operations:
                    for method, callback in operations.items():
                        yield method, path, callback.view_class
                elif hasattr(getattr(pattern.callback, "view_class", None), "audience"):
                    view = pattern.callback.view_class
                    for method in ("get", "post", "patch", "put", "delete"):
                        if hasattr(view, method):
                            yield method.upper(), path, view

    return walk(get_resolver().url_patterns, "")


def _name(view: type) -> str:
    return f"{view.__module__}.{view.__qualname__}"


@cache
def _plumbing() -> Walk:
    return walk_module_functions(PLUMBING)


@cache
def _walks() -> dict[tuple[str, str], tuple[type, Walk]]:
    return {
        (method, path): (view, walk_view(view, [method.lower()]))
        for method, path, view in _api_operations()
    }


def _shadowed(view: type, raised: Raised) -> bool:
    return raised.code in SHADOWED.get(_name(view), {})


def _everything() -> set[Raised]:
    """Every code a caller can meet: the plumbing's and each operation's, less the shadowed."""
    found = set(_plumbing().found)
    for view, walk in _walks().values():
        found |= {raised for raised in walk.found if not _shadowed(view, raised)}
    return found


def test_the_walk_finds_what_the_issue_reported_missing() -> None:
    # The walk itself works: codes partners met that were in neither docs nor schema.
    codes = {raised.code for raised in _everything()}
    assert {
        "corporate_number_taken",
        "version_not_latest",
        "not_auto_renewing",
        "non_renewal_not_found",
        "end_date_in_past",
        "https_required",
        "webhook_disabled",
        "method_not_allowed",
    } <= codes


def test_every_raised_code_is_catalogued() -> None:
    missing = sorted({f"{r.code} ({r.where})" for r in _everything() if r.code not in CATALOGUE})
    assert missing == []


def test_every_catalogued_code_is_raised_somewhere() -> None:
    raised = {r.code for r in _everything()}
    assert sorted(set(CATALOGUE) - raised) == []


def test_shared_codes_are_those_of_the_plumbing() -> None:
    shared = {code for code, entry in CATALOGUE.items() if entry.shared}
    assert shared == _plumbing().codes


def test_every_operation_lists_exactly_its_own_codes() -> None:
    shared = {code for code, entry in CATALOGUE.items() if entry.shared}
    wrong = {}
    for (method, path), (view, walk) in _walks().items():
        listed = set(OPERATION_CODES.get(_name(view), ()))
        raised = walk.codes - shared - set(SHADOWED.get(_name(view), {}))
        if listed != raised:
            wrong[f"{method} {path}"] = {
                "missing": sorted(raised - listed),
                "never raised": sorted(listed - raised),
            }
    assert wrong == {}


def test_every_shadowed_code_is_still_found_by_the_walk() -> None:
    walks = {_name(view): walk for view, walk in _walks().values()}
    stale = sorted(
        f"{view}: {code}"
        for view, codes in SHADOWED.items()
        for code in codes
        if view not in walks or code not in walks[view].codes
    )
    assert stale == []


def test_every_operation_has_an_entry_and_no_entry_is_stale() -> None:
    views = {_name(view) for view, _walk in _walks().values()}
    assert sorted(views - set(OPERATION_CODES)) == []
    assert sorted(set(OPERATION_CODES) - views) == []


def test_statuses_match_the_catalogue() -> None:
    wrong = sorted(
        f"{r.code}: {r.status} at {r.where}"
        for r in _everything()
        if r.status is not None
        and r.code in CATALOGUE
        and r.status not in CATALOGUE[r.code].statuses
    )
    assert wrong == []


def test_members_are_catalogued_and_not_reserved() -> None:
    wrong = sorted(
        f"{r.code}: {sorted(r.members - set(CATALOGUE[r.code].members))} at {r.where}"
        for r in _everything()
        if r.code in CATALOGUE and not r.members <= set(CATALOGUE[r.code].members)
    )
    reserved = sorted(
        f"{r.code}: {r.members & RESERVED}" for r in _everything() if r.members & RESERVED
    )
    assert wrong == []
    assert reserved == []


def test_every_member_is_described_and_in_the_problem_schema() -> None:
    used = {member for entry in CATALOGUE.values() for member in entry.members}
    assert used == set(MEMBERS)
    assert used <= set(ProblemSerializer().fields)


def test_the_schema_lists_each_operations_codes(api_schema: dict) -> None:
    for (method, path), (view, _walk) in _walks().items():
        shown = "/" + path.replace("<int:", "{").replace(">", "}")
        operation = api_schema["paths"][shown][method.lower()]
        for status, codes in operation_codes(view, method).items():
            response = operation["responses"].get(str(status))
            if response is None:
                continue  # a shared status this operation does not document (e.g. 403 on reads)
            schema = response["content"]["application/problem+json"]["schema"]
            assert schema["allOf"][1]["properties"]["code"]["enum"] == codes, (method, path, status)


def test_the_schema_documents_a_status_for_each_own_code(api_schema: dict) -> None:
    for (method, path), (view, _walk) in _walks().items():
        shown = "/" + path.replace("<int:", "{").replace(">", "}")
        operation = api_schema["paths"][shown][method.lower()]
        for code in OPERATION_CODES[_name(view)]:
            for status in CATALOGUE[code].statuses:
                enum = operation["responses"][str(status)]["content"]["application/problem+json"][
                    "schema"
                ]["allOf"][1]["properties"]["code"]["enum"]
                assert code in enum, (method, path, code)


@cache
def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("errors_doc", ROOT / "scripts" / "errors_doc.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_errors_doc_is_regenerated(capsys: pytest.CaptureFixture[str]) -> None:
    assert _generator().main(["--check"]) == 0, capsys.readouterr().err


def test_api_doc_links_the_catalogue() -> None:
    assert "(errors.md)" in (ROOT / "docs" / "api.md").read_text(encoding="utf-8")


# --- what comes first where a code is shadowed (SHADOWED) -------------------------------------


@pytest.mark.integration
@pytest.mark.django_db
def test_an_unknown_answer_is_a_field_error_before_the_service(world: World) -> None:
    response = world.client("own_partner").post(
        f"/api/v1/tenants/{world.tenant.pk}/consents/",
        {"version": world.v2.pk, "answer": "maybe", "evidence": {}},
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "answer" in [error["field"] for error in response.json()["errors"]]


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/tenants/{other}/consents/"),
        ("post", "/api/v1/tenants/{other}/consents/"),
        ("get", "/api/v1/tenants/{other}/ledger/"),
    ],
)
def test_another_partners_tenant_is_not_found_before_the_service(
    world: World, method: str, path: str
) -> None:
    client = world.client("own_partner")
    response = getattr(client, method)(path.format(other=world.other_tenant.pk))
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.integration
@pytest.mark.django_db
def test_a_contract_for_another_partners_tenant_is_not_found(world: World) -> None:
    response = world.client("own_partner").post(
        "/api/v1/contracts/",
        {
            "tenant": world.other_tenant.pk,
            "product": "optim-id-plus",
            "start_date": "2025-04-01",
            "billing_cycle": "annual",
            "amount_jpy": 1,
        },
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "payload"),
    [
        ("/api/v1/contracts/", {"tenant": 0, "product": "optim-id-plus"}),
        ("/api/v1/contracts/{contract}/terminations/", {"end_date": "2025-03-20"}),
        ("/api/v1/contracts/{contract}/non-renewal/", {}),
        ("/api/v1/contracts/{contract}/non-renewal/withdraw/", None),
        ("/api/v1/contracts/{contract}/deletions/", None),
        ("/api/v1/tenants/{tenant}/consents/", {"version": 1, "answer": "accepted"}),
    ],
)
def test_a_read_only_key_meets_missing_scope_before_read_only_or_write_scope_required(
    world: World, path: str, payload: dict | None
) -> None:
    response = world.client("read_only").post(
        path.format(contract=world.contract.pk, tenant=world.tenant.pk), payload, format="json"
    )
    assert response.status_code == 403
    assert response.json()["code"] == "missing_scope"


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/contracts/", "/api/v1/tenants/{tenant}/consents/"])
def test_a_product_key_meets_wrong_caller_before_forbidden(world: World, path: str) -> None:
    response = world.client("product").post(path.format(tenant=world.tenant.pk), {}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "wrong_caller"


@pytest.mark.integration
@pytest.mark.django_db
def test_a_deemed_answer_is_a_field_error_before_the_truth_table(world: World) -> None:
    response = world.client("own_partner").post(
        f"/api/v1/tenants/{world.tenant.pk}/consents/",
        {"version": world.v2.pk, "answer": "deemed", "evidence": {}},
        format="json",
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert "answer" in [error["field"] for error in response.json()["errors"]]
