"""A full partner integration against a live server, sandbox clock included (docs/api.md,
"Sandbox").

The client is the one openapi-python-client generates from the served schema (as in
test_generated_clients.py and docs/api.md, "Generated clients"); a local HTTP receiver checks
every webhook's signature with the snippet docs/api.md gives partners. The walk: sandbox keys
→ webhook → onboard → invite → contract → revision posted → answer → advance past the
effective date → non-renewal and deletion request → advance past the end → deletion
acknowledged by the sandbox's product key. Live data next to it is untouched and unseen.
"""

from __future__ import annotations

import http.server
import importlib
import json
import sys
import threading
import typing
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any, get_type_hints

import pytest
from django.test import Client

from agreements.enums import ContractStatus, DeletionStatus
from agreements.models import Contract, TermsVersion
from core import clock
from core.models import Event
from tenants.delivery.outbox import outbox_deliver_due
from tenants.models import Partner, Tenant
from tenants.webhooks import SIGNATURE_HEADER
from tests.api.test_generated_clients import PACKAGE, SCHEMA_PATH, _generate
from tests.api.test_webhook_receiver import documented_verifier
from tests.factories.agreements import DocumentFactory, VersionFactory
from tests.factories.contracts import idplus_product, make_contract
from tests.factories.tenants import PartnerFactory, TenantFactory, make_partner_key

pytestmark = [pytest.mark.integration]

verify = documented_verifier()


@pytest.fixture(scope="module")
def client_package(
    tmp_path_factory: pytest.TempPathFactory, django_db_blocker: Any
) -> Iterator[Any]:
    tmp = tmp_path_factory.mktemp("sandbox-client")
    with django_db_blocker.unblock():
        response = Client().get(SCHEMA_PATH)
    assert response.status_code == 200
    (tmp / "schema.json").write_bytes(response.content)
    _generate(tmp)
    sys.path.insert(0, str(tmp))
    try:
        yield importlib.import_module(PACKAGE)
    finally:
        sys.path.remove(str(tmp))
        for name in [n for n in sys.modules if n.split(".")[0] == PACKAGE]:
            del sys.modules[name]


class _Receiver(http.server.BaseHTTPRequestHandler):
    secret = ""
    received: list[tuple[bool, dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        ok = verify(_Receiver.secret, self.headers[SIGNATURE_HEADER], body)
        _Receiver.received.append((ok, json.loads(body)))
        self.send_response(204 if ok else 400)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def receiver(settings: Any) -> Iterator[str]:
    settings.DEBUG = True
    settings.TERMS_WEBHOOK_ALLOW_HOSTS = ["127.0.0.1"]
    _Receiver.received = []
    server = http.server.HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hooks/terms"
    finally:
        server.shutdown()
        server.server_close()


class Api:
    """Calls generated operations by tag and operation id; every answer is its parsed model."""

    def __init__(self, package: Any, base_url: str, key: str) -> None:
        self.package = package
        self.client = package.AuthenticatedClient(
            base_url=base_url, token=key, prefix="Api-Key", raise_on_unexpected_status=True
        )

    def close(self) -> None:
        self.client.get_httpx_client().close()

    def call(self, tag: str, operation: str, expect: int, body: Any = None, **params: Any) -> Any:
        module = _operation_module(operation)
        if body is not None:
            hint = get_type_hints(module.sync_detailed)["body"]
            # An optional body is `Model | Unset`: the model is the member that reads a dict.
            body_type = next(t for t in (*typing.get_args(hint), hint) if hasattr(t, "from_dict"))
            params["body"] = body_type.from_dict(body)
        response = module.sync_detailed(client=self.client, **params)
        assert response.status_code == expect, (operation, response.status_code, response.content)
        parsed = response.parsed
        return parsed.to_dict() if hasattr(parsed, "to_dict") else parsed


def _operation_module(operation: str) -> Any:
    """The generated module of an operation (grouped by the operation's first tag)."""
    api = Path(importlib.import_module(f"{PACKAGE}.api").__file__ or "").parent
    found = sorted(api.glob(f"*/{operation}.py"))
    assert len(found) == 1, (operation, found)
    return importlib.import_module(f"{PACKAGE}.api.{found[0].parent.name}.{operation}")


def _live_world() -> tuple[str, Contract]:
    """A live partner with a live customer and the live ID+ terms in force."""
    product = idplus_product()
    document = DocumentFactory(product=product, slug="terms", title="OPTiM ID+ 利用規約")
    VersionFactory(document=document, label="2024-01-01", effective_on=date(2024, 1, 1))
    partner = PartnerFactory()
    live_tenant = TenantFactory(partner=partner, name="本番商事株式会社")
    live_contract = make_contract(
        tenant=live_tenant, product=product, start_date=clock.today() - timedelta(days=200)
    )
    _key, raw = make_partner_key(partner)
    return raw, live_contract


def _deliver() -> None:
    outbox_deliver_due()  # as the worker would, after each step


@pytest.mark.django_db(transaction=True)
def test_full_partner_integration_on_the_sandbox_clock(
    client_package: Any, live_server: Any, receiver: str
) -> None:
    live_raw, live_contract = _live_world()
    live = Api(client_package, live_server.url, live_raw)
    issued = live.call("sandbox", "sandbox_create", 201)
    sandbox = Api(client_package, live_server.url, issued["key"])
    product_raw = next(k["key"] for k in issued["product_keys"] if k["product"] == "optim-id-plus")
    product = Api(client_package, live_server.url, product_raw)
    try:
        _walk(live, sandbox, product, issued, receiver, live_raw, live_contract)
    finally:
        for api in (live, sandbox, product):
            api.close()


def _walk(
    live: Api,
    sandbox: Api,
    product: Api,
    issued: dict[str, Any],
    receiver: str,
    live_raw: str,
    live_contract: Contract,
) -> None:
    today = date.fromisoformat(issued["today"])
    assert sandbox.call("sandbox", "sandbox_clock_retrieve", 200)["today"] == issued["today"]

    hook = sandbox.call("webhooks", "webhooks_create", 201, {"url": receiver, "event_kinds": []})
    _Receiver.secret = hook["secret"]

    # Onboard, invite, contract.
    tenant = sandbox.call(
        "tenants",
        "tenants_create",
        201,
        {"name": "砂場商事株式会社", "contact_email": "it@sandbox.example"},
    )
    sandbox.call(
        "tenants",
        "tenants_invitations_create",
        201,
        {"email": "admin@sandbox.example", "role": "admin"},
        tenant_id=tenant["id"],
    )
    contract = sandbox.call(
        "contracts",
        "contracts_create",
        201,
        {
            "tenant": tenant["id"],
            "product": "optim-id-plus",
            "start_date": today.isoformat(),
            "billing_cycle": "annual",
            "amount_jpy": 120000,
        },
    )
    _deliver()

    # A revision posted in the sandbox, answered.
    effective_on = today + timedelta(days=40)
    revision = sandbox.call(
        "sandbox",
        "sandbox_revisions_create",
        201,
        {
            "product": "optim-id-plus",
            "effective_on": effective_on.isoformat(),
            "consent_mode": "explicit",
        },
    )
    assert revision["status"] == "scheduled"
    assert revision["posted_at"] is not None
    sandbox.call(
        "consents",
        "tenants_consents_create",
        201,
        {
            "version": revision["version"],
            "answer": "accepted",
            "evidence": {
                "person_name": "山田 太郎",
                "obtained_at": issued["now"],
                "method": "書面",
            },
        },
        tenant_id=tenant["id"],
    )
    _deliver()

    # Past the effective date: the revision is in force for the sandbox only.
    moved = sandbox.call(
        "sandbox",
        "sandbox_clock_advance",
        200,
        {"to": f"{(effective_on + timedelta(days=1)).isoformat()}T09:00:00+09:00"},
    )
    assert moved["days"] == 41
    assert TermsVersion.objects.get(pk=revision["version"]).status == "effective"
    # Never back, and advancing to the same instant again runs nothing.
    backwards = {"to": f"{today.isoformat()}T09:00:00+09:00"}
    assert sandbox.call("sandbox", "sandbox_clock_advance", 409, backwards)["code"] == (
        "sandbox_clock_backwards"
    )
    again = sandbox.call("sandbox", "sandbox_clock_advance", 200, {"to": moved["now"]})
    assert again["days"] == 0

    # Non-renewal, and deletion of the data at the end.
    non_renewal = sandbox.call(
        "contracts", "contracts_non_renewal_create", 201, {}, contract_id=contract["id"]
    )
    end = date.fromisoformat(non_renewal["end_date"])
    sandbox.call("contracts", "contracts_deletions_create", 201, contract_id=contract["id"])
    sandbox.call(
        "sandbox",
        "sandbox_clock_advance",
        200,
        {"to": f"{(end + timedelta(days=2)).isoformat()}T09:00:00+09:00"},
    )
    assert Contract.objects.get(pk=contract["id"]).status == ContractStatus.ENDED

    # The product (the sandbox's product key) acknowledges the ordered deletion.
    ordered = product.call("products", "deletions_list", 200)["results"]
    assert [d["status"] for d in ordered] == [DeletionStatus.ORDERED]
    done = product.call(
        "products",
        "deletions_ack",
        200,
        # Not after the sandbox's own instant (09:00 that day): a completion in the future is
        # refused, by the sandbox's clock as by the live one.
        {"completed_at": f"{(end + timedelta(days=2)).isoformat()}T08:30:00+09:00"},
        deletion_id=ordered[0]["id"],
    )
    assert done["status"] == DeletionStatus.ACKNOWLEDGED
    _deliver()

    # Every webhook verified, and the walk's events all arrived.
    assert _Receiver.received
    assert all(ok for ok, _body in _Receiver.received)
    kinds = {
        body["type"] if "type" in body else body.get("kind") for _ok, body in _Receiver.received
    }
    assert {
        "tenant.created",
        "invitation.created",
        "contract.created",
        "notice.posted",
        "consent.answer_recorded",
        "contract.non_renewal_received",
        "contract.ended",
        "deletion.ordered",
        "deletion.done",
    } <= kinds, kinds

    # Live data: untouched by a year of sandbox days, and never sees the sandbox's.
    live_contract.refresh_from_db()
    assert live_contract.status == ContractStatus.ACTIVE
    assert live.call("tenants", "tenants_list", 200)["results"][0]["name"] == "本番商事株式会社"
    assert len(live.call("tenants", "tenants_list", 200)["results"]) == 1
    live_partner = Partner.objects.get(api_keys__prefix=live_raw.split("_")[1])
    assert not Event.objects.filter(partner_id=live_partner.pk, kind="notice.posted").exists()
    assert Tenant.objects.filter(partner__sandbox_of=live_partner).count() == 1
    assert sandbox.call("tenants", "tenants_retrieve", 200, tenant_id=tenant["id"])
    live.call("tenants", "tenants_retrieve", 404, tenant_id=tenant["id"])
    sandbox.call("tenants", "tenants_retrieve", 404, tenant_id=live_contract.tenant_id)
