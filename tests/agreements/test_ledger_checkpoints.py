"""The checkpoint format and the documented reference verifier (docs/ledger.md, "Checkpoints")."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command

from agreements.enums import Answer, CheckpointKind
from agreements.ledger.append import ledger_append
from agreements.ledger.checkpoints import (
    checkpoint_create,
    checkpoint_document,
    heads_digest,
    statement_parse,
)
from agreements.ledger.heads import ChainHead
from agreements.ledger.keys import private_b64, public_b64, public_raw
from agreements.ledger.rows import canonical_json
from core import clock
from tenants.scope import Scope
from tests.factories.consents import posted_version
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2025, 4, 1, 10, 0, tzinfo=clock.TOKYO)


def _documented_verifier() -> dict[str, Any]:
    text = (REPO / "docs" / "ledger.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- reference-verifier:start -->\s*```python\n(.*?)```\s*<!-- reference-verifier:end -->",
        text,
        re.DOTALL,
    )
    assert block is not None, "docs/ledger.md lost its reference verifier block"
    namespace: dict[str, Any] = {"__name__": "ledger_reference_verifier"}
    exec(compile(block.group(1), "docs/ledger.md", "exec"), namespace)  # noqa: S102 -- our own doc
    return namespace


@pytest.fixture
def key(settings: Any, tmp_path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    settings.TERMS_CHECKPOINT_KEY = private_b64(key)
    settings.TERMS_CHECKPOINT_PUBLIC_KEYS = []
    settings.VAR_DIR = tmp_path
    return key


def test_checkpoint_heads_digest_is_sha256_of_canonical_heads_by_tenant() -> None:
    heads = [ChainHead(9, 2, "b" * 64), ChainHead(3, 5, "a" * 64)]
    expected = canonical_json(
        {
            "heads": [
                {"tenant_id": 3, "seq": 5, "hash": "a" * 64},
                {"tenant_id": 9, "seq": 2, "hash": "b" * 64},
            ]
        }
    )
    assert expected.startswith(b'{"heads":[{"hash":"aaaa')
    assert heads_digest(heads) == hashlib.sha256(expected).hexdigest()


def test_checkpoint_statement_lists_exactly_the_documented_fields(key) -> None:
    with clock.frozen_at(T0):
        checkpoint = checkpoint_create(kind=CheckpointKind.MANUAL)
    assert sorted(json.loads(checkpoint.statement)) == [
        "as_of",
        "created_at",
        "format",
        "heads_count",
        "heads_digest",
        "key_id",
        "number",
        "previous",
    ]
    statement = statement_parse(checkpoint.statement)
    assert (statement.number, statement.previous, statement.heads_count) == (1, None, 0)
    assert json.loads(checkpoint.statement)["created_at"] == "2025-04-01T01:00:00.000000Z"
    assert json.loads(checkpoint.statement)["as_of"] == "2025-04-01T00:55:00.000000Z"


def test_ledger_reference_ed25519_matches_rfc8032_and_the_library() -> None:
    verify = _documented_verifier()["ed25519_verify"]
    # RFC 8032, 7.1, TEST 1 (the empty message).
    secret = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
    public = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
    signature = bytes.fromhex(
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    )
    assert Ed25519PrivateKey.from_private_bytes(secret).sign(b"") == signature
    assert verify(public, b"", signature)
    for size in (1, 32, 200):
        key = Ed25519PrivateKey.generate()
        message = os.urandom(size)
        signed = key.sign(message)
        raw = public_raw(key.public_key())
        assert verify(raw, message, signed)
        assert not verify(raw, message + b"!", signed)
        assert not verify(raw, message, signed[:40] + bytes([signed[40] ^ 1]) + signed[41:])
        assert not verify(public, message, signed)


def test_ledger_reference_verifier_checks_a_checkpoint_against_the_export(
    key, tmp_path: Path
) -> None:
    version = posted_version()
    tenants = [TenantFactory(), TenantFactory()]
    with clock.frozen_at(T0):
        for answer in (Answer.ACCEPTED, Answer.REJECTED):
            for tenant in tenants:
                ledger_append(tenant=tenant, version=version, answer=answer, scope=Scope.system())
    with clock.frozen_at(T0 + timedelta(hours=1)):
        document = checkpoint_document(checkpoint_create(kind=CheckpointKind.MANUAL))
    export = tmp_path / "rows.jsonl"
    call_command("verify_ledger", export=str(export))
    lines = export.read_text(encoding="utf-8").splitlines()
    verifier = _documented_verifier()
    check = verifier["verify_checkpoint"]
    public = public_b64(key.public_key())
    assert list(check(document, public, lines)) == []

    stranger = public_b64(Ed25519PrivateKey.generate().public_key())
    assert list(check(document, stranger, lines)) == [(None, "bad_signature")]
    edited = json.loads(json.dumps(document))
    edited["heads"][0]["seq"] = 1
    assert list(check(edited, public, lines)) == [(None, "heads_altered")]

    rows = [json.loads(line) for line in lines]
    last = rows[1] | {"hash": "e" * 64}  # tenant 0's head row, rewritten
    rewritten = [json.dumps(r) for r in [rows[0], last, *rows[2:]]]
    assert list(check(document, public, rewritten)) == [(tenants[0].pk, "rewritten")]
    backdated = rows[3] | {"tenant_id": 10**9, "seq": 1}
    assert list(check(document, public, [*lines, json.dumps(backdated)])) == [
        (10**9, "uncovered_row")
    ]

    # Runnable as written: python verify.py rows.jsonl manifest.json PUBLIC_KEY.
    script = tmp_path / "verify.py"
    script.write_text(
        re.search(r"reference-verifier:start -->\s*```python\n(.*?)```", _doc(), re.DOTALL).group(1)  # type: ignore[union-attr]
    )
    manifest = tmp_path / "manifest.json"
    manifest.write_text(json.dumps({"checkpoint": document}))
    good = _run_script(script, export, manifest, public)
    assert (good.returncode, good.stdout) == (0, "")
    export.write_text("\n".join(rewritten) + "\n")
    bad = _run_script(script, export, manifest, public)
    assert bad.returncode == 1
    assert f"checkpoint: rewritten (tenant {tenants[0].pk})" in bad.stdout
    assert base64.b64decode(public) == public_raw(key.public_key())


def _doc() -> str:
    return (REPO / "docs" / "ledger.md").read_text(encoding="utf-8")


def _run_script(script: Path, *args: Path | str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), *map(str, args)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
