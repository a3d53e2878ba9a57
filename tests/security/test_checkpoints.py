"""Signed checkpoints of the chain heads (docs/ledger.md, "Checkpoints"; docs/security.md, 5).

The attacks are what a database administrator without the signing key can do with raw SQL:
an INSERT of a row plus an UPDATE of its tenant's head (no trigger involved), a rewrite of a
chain with recomputed hashes (trigger disabled), edits to the checkpoints themselves. Each
passes the chains' own check (`ledger_verify`), and the checkpoint catches it.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings as django_settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client

from agreements.enums import Answer, CheckpointKind
from agreements.ledger.append import entry_for, ledger_append
from agreements.ledger.checkpoints import (
    checkpoint_create,
    checkpoint_document,
    checkpoints_verify,
    statement_parse,
)
from agreements.ledger.heads import daily_heads
from agreements.ledger.keys import CheckpointKeyMissing, key_id, private_b64, public_b64
from agreements.ledger.rows import chain_hash, chained_row, record_payload
from agreements.ledger.verify import ledger_verify
from agreements.models import ConsentRecord, LedgerCheckpoint, LedgerHead, TermsVersion
from core import clock
from core.services import heartbeat_write
from tenants.models import Tenant
from tenants.scope import Scope
from terms_site.tasks import ledger_checkpoint
from tests.factories.consents import posted_version
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

T0 = datetime(2025, 4, 1, 10, 0, tzinfo=clock.TOKYO)
SIGNED = T0 + timedelta(hours=1)  # the checkpoint: covers rows recorded before SIGNED - 5 min
SYSTEM = Scope.system()


@pytest.fixture
def signing_key(settings: Any, tmp_path: Path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    settings.TERMS_CHECKPOINT_KEY = private_b64(key)
    settings.TERMS_CHECKPOINT_KEY_FILE = ""
    settings.TERMS_CHECKPOINT_PUBLIC_KEYS = []
    settings.VAR_DIR = tmp_path  # no local debug key from an earlier run
    return key


@pytest.fixture
def ledger(signing_key: Ed25519PrivateKey) -> Iterator[tuple[Tenant, Tenant, TermsVersion]]:
    """Tenant A with three rows, B with one, all at T0; checkpoint 1 signed an hour later."""
    version = posted_version()
    a, b = TenantFactory(), TenantFactory()
    with clock.frozen_at(T0):
        for answer in (Answer.ACCEPTED, Answer.REJECTED, Answer.ACCEPTED):
            ledger_append(tenant=a, version=version, answer=answer, scope=SYSTEM)
        ledger_append(tenant=b, version=version, answer=Answer.ACCEPTED, scope=SYSTEM)
    with clock.frozen_at(SIGNED):
        checkpoint_create(kind=CheckpointKind.MANUAL)
        yield a, b, version


def _forged_row(tenant: Tenant, version: TermsVersion, *, at: datetime) -> dict[str, Any]:
    """The next row of the tenant's chain, correctly hashed, as its own append would make it."""
    head = LedgerHead.objects.filter(tenant=tenant).first() or LedgerHead(tenant=tenant)
    entry = entry_for(
        version,
        answer=Answer.ACCEPTED,
        actor_kind="user",
        actor_ref="user:1",
        channel="portal",
        at=at,
        body_hash=version.body_hash,
    )
    return chained_row(entry, tenant_id=tenant.pk, seq=head.seq + 1, prev_hash=head.hash)


def _insert_and_move_head(row: dict[str, Any]) -> None:
    """What a database administrator can do without disabling anything: the trigger refuses
    UPDATE and DELETE of ledger rows only."""
    columns = list(row)
    values = [json.dumps(v) if k == "evidence_digests" else v for k, v in row.items()]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO agreements_consentrecord ({', '.join(columns)}) "  # noqa: S608 -- our columns
            f"VALUES ({', '.join(['%s'] * len(columns))})",
            values,
        )
        cursor.execute(
            "INSERT INTO agreements_ledgerhead (tenant_id, seq, hash, updated_at) "
            "VALUES (%s, %s, %s, now()) ON CONFLICT (tenant_id) "
            "DO UPDATE SET seq = EXCLUDED.seq, hash = EXCLUDED.hash",
            [row["tenant_id"], row["seq"], row["hash"]],
        )


def _rewrite_with_recomputed_hashes(tenant: Tenant, *, seq: int, answer: str) -> None:
    """Change one row's answer and recompute every hash after it, the head included, with the
    append-only trigger disabled (a superuser can)."""
    rows = list(ConsentRecord.objects.filter(tenant=tenant, seq__gte=seq).order_by("seq"))
    prev = rows[0].prev_hash
    updates = []
    for row in rows:
        payload = record_payload(row) | ({"answer": answer} if row.seq == seq else {})
        digest = chain_hash(prev, payload)
        updates.append((payload["answer"], prev, digest, row.pk))
        prev = digest
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE agreements_consentrecord DISABLE TRIGGER ledger_immutable")
        for answer_value, prev_hash, digest, pk in updates:
            cursor.execute(
                "UPDATE agreements_consentrecord SET answer = %s, prev_hash = %s, hash = %s "
                "WHERE id = %s",
                [answer_value, prev_hash, digest, pk],
            )
        cursor.execute("ALTER TABLE agreements_consentrecord ENABLE TRIGGER ledger_immutable")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        cursor.execute(
            "UPDATE agreements_ledgerhead SET hash = %s WHERE tenant_id = %s", [prev, tenant.pk]
        )


def _verify_fails(match: str) -> None:
    with pytest.raises(CommandError, match=match):
        call_command("verify_ledger")


# --- the two forgeries a database administrator can try -------------------------------------------------------


def test_checkpoint_catches_a_backdated_row_inserted_with_its_head_moved(ledger) -> None:
    a, _b, version = ledger
    _insert_and_move_head(_forged_row(a, version, at=T0 + timedelta(minutes=10)))
    # The chains alone accept it: that was the hole.
    assert ledger_verify() == []
    _verify_fails(rf"checkpoint 1: tenant {a.pk}: uncovered_row seq 4–4 claim to be recorded")


def test_checkpoint_catches_a_backdated_chain_of_a_tenant_it_does_not_name(ledger) -> None:
    _a, _b, version = ledger
    newcomer = TenantFactory()
    _insert_and_move_head(_forged_row(newcomer, version, at=T0))
    assert ledger_verify() == []
    _verify_fails(rf"checkpoint 1: tenant {newcomer.pk}: uncovered_row seq 1–1")


def test_checkpoint_catches_a_chain_rewritten_with_recomputed_hashes(ledger) -> None:
    a, _b, _version = ledger
    _rewrite_with_recomputed_hashes(a, seq=2, answer=Answer.ACCEPTED)
    assert ledger_verify() == []
    _verify_fails(rf"checkpoint 1: tenant {a.pk}: rewritten signed seq 3 hash")


def test_checkpoint_cannot_tell_a_row_dated_after_it_from_a_real_answer(ledger) -> None:
    """The documented limit (docs/ledger.md): an append dated after the newest checkpoint looks
    like any new answer, and the next checkpoint signs it in."""
    a, _b, version = ledger
    _insert_and_move_head(_forged_row(a, version, at=SIGNED))
    call_command("verify_ledger")
    with clock.frozen_at(SIGNED + timedelta(hours=1)):
        checkpoint_create(kind=CheckpointKind.MANUAL)
    assert checkpoints_verify(latest=0) == (2, [])


def test_checkpoint_holds_through_real_answers_after_it(ledger, capsys) -> None:
    a, _b, version = ledger
    with clock.frozen_at(SIGNED):
        ledger_append(tenant=a, version=version, answer=Answer.REJECTED, scope=SYSTEM)
        ledger_append(tenant=TenantFactory(), version=version, answer=Answer.ACCEPTED, scope=SYSTEM)
    call_command("verify_ledger")
    assert "ledger OK: 6 rows verified; 1 signed checkpoint hold" in capsys.readouterr().out


# --- the checkpoints themselves -----------------------------------------------------------


def test_checkpoint_heads_edited_to_match_a_forgery_are_caught(ledger) -> None:
    a, _b, _version = ledger
    _rewrite_with_recomputed_hashes(a, seq=2, answer=Answer.ACCEPTED)
    checkpoint = LedgerCheckpoint.objects.get()
    heads = [
        head | {"hash": LedgerHead.objects.get(tenant=a).hash}
        if head["tenant_id"] == a.pk
        else head
        for head in checkpoint.heads
    ]
    LedgerCheckpoint.objects.filter(pk=checkpoint.pk).update(heads=heads)
    _verify_fails("checkpoint 1: heads_altered the heads differ from the signed digest")


def test_checkpoint_statement_edited_fails_its_signature(ledger) -> None:
    checkpoint = LedgerCheckpoint.objects.get()
    edited = checkpoint.statement.replace('"heads_count":2', '"heads_count":1')
    assert edited != checkpoint.statement
    LedgerCheckpoint.objects.filter(pk=checkpoint.pk).update(statement=edited)
    _verify_fails("checkpoint 1: bad_signature")


def test_checkpoint_signed_with_another_key_is_refused(ledger, settings) -> None:
    """A database administrator can sign with a key of their own; nobody trusts it."""
    settings.TERMS_CHECKPOINT_KEY = private_b64(Ed25519PrivateKey.generate())
    with clock.frozen_at(SIGNED + timedelta(hours=1)):
        forged = checkpoint_create(kind=CheckpointKind.MANUAL)
    settings.TERMS_CHECKPOINT_KEY = private_b64(Ed25519PrivateKey.generate())
    _verify_fails(f"checkpoint 2: unknown_key key id {forged.key_id}")


def test_checkpoint_removed_from_the_middle_is_caught(ledger) -> None:
    with clock.frozen_at(SIGNED + timedelta(hours=1)):
        checkpoint_create(kind=CheckpointKind.MANUAL)
        checkpoint_create(kind=CheckpointKind.MANUAL)
    LedgerCheckpoint.objects.filter(number=2).delete()
    _verify_fails("checkpoint 2: removed the numbering has a gap here")


def test_checkpoint_removed_from_the_end_is_caught_by_an_outside_copy(ledger, tmp_path) -> None:
    """Deleting the newest checkpoints leaves no gap; the copy kept outside the database (a
    backup manifest, a saved export) still names it."""
    a, _b, version = ledger
    copy = tmp_path / "checkpoint-1.json"
    copy.write_text(json.dumps(checkpoint_document(LedgerCheckpoint.objects.get())))
    LedgerCheckpoint.objects.all().delete()
    _insert_and_move_head(_forged_row(a, version, at=T0 + timedelta(minutes=10)))
    call_command("verify_ledger")  # nothing left inside the database to compare with
    with pytest.raises(CommandError, match="checkpoint 1: not_in_database"):
        call_command("verify_ledger", checkpoint=[str(copy)])
    with pytest.raises(CommandError, match="no_checkpoint"):
        call_command("verify_ledger", require_checkpoint=True)


def test_checkpoint_rotated_key_still_verifies_with_its_public_key(
    ledger, settings, signing_key
) -> None:
    old = LedgerCheckpoint.objects.get()
    settings.TERMS_CHECKPOINT_KEY = private_b64(Ed25519PrivateKey.generate())
    with clock.frozen_at(SIGNED + timedelta(hours=1)):
        checkpoint_create(kind=CheckpointKind.MANUAL)
    _count, problems = checkpoints_verify(latest=0)
    assert [str(p) for p in problems] == [f"checkpoint 1: unknown_key key id {old.key_id}"]
    settings.TERMS_CHECKPOINT_PUBLIC_KEYS = [public_b64(signing_key.public_key())]
    assert checkpoints_verify(latest=0) == (2, [])


def test_checkpoint_statement_chains_to_the_previous_one(ledger) -> None:
    with clock.frozen_at(SIGNED + timedelta(hours=1)):
        second = checkpoint_create(kind=CheckpointKind.MANUAL)
    first = LedgerCheckpoint.objects.get(number=1)
    assert statement_parse(first.statement).previous is None
    assert statement_parse(second.statement).previous == first.digest
    assert statement_parse(second.statement).as_of == SIGNED + timedelta(minutes=55)


# --- the key ------------------------------------------------------------------------------


def test_checkpoint_production_without_a_key_fails_loudly_and_writes_nothing(
    settings, caplog
) -> None:
    settings.DEBUG = False
    settings.TERMS_CHECKPOINT_KEY = ""
    settings.TERMS_CHECKPOINT_KEY_FILE = ""
    with pytest.raises(CheckpointKeyMissing, match="TERMS_CHECKPOINT_KEY"):
        checkpoint_create(kind=CheckpointKind.DAILY)
    with caplog.at_level(logging.ERROR, logger="terms.ledger"), pytest.raises(CheckpointKeyMissing):
        ledger_checkpoint()
    assert [r.message for r in caplog.records] == ["ledger.checkpoint_failed"]
    assert LedgerCheckpoint.objects.count() == 0
    with pytest.raises(CommandError, match="no checkpoint signing key"):
        call_command("ledger_checkpoint")


def test_checkpoint_production_without_a_key_leaves_readyz_alone(settings, client: Client) -> None:
    settings.DEBUG = False
    settings.TERMS_CHECKPOINT_KEY = ""
    settings.TERMS_CHECKPOINT_KEY_FILE = ""
    heartbeat_write(name="beat")
    heartbeat_write(name="worker")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert "checkpoint" not in response.content.decode()


def test_checkpoint_debug_without_a_key_makes_one_under_var_and_keeps_it(
    settings, tmp_path, caplog
) -> None:
    settings.DEBUG = True
    settings.TERMS_CHECKPOINT_KEY = ""
    settings.TERMS_CHECKPOINT_KEY_FILE = ""
    settings.VAR_DIR = tmp_path
    with caplog.at_level(logging.WARNING, logger="terms.ledger"):
        first = checkpoint_create(kind=CheckpointKind.MANUAL)
    assert [r.message for r in caplog.records] == ["ledger.checkpoint_key_ephemeral"]
    key_file = tmp_path / "checkpoint-ed25519.pem"
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    assert checkpoint_create(kind=CheckpointKind.MANUAL).key_id == first.key_id
    assert checkpoints_verify(latest=0) == (2, [])


@pytest.mark.parametrize("form", ["base64", "pem", "file"])
def test_checkpoint_key_from_base64_pem_or_file(settings, tmp_path, form: str) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    settings.DEBUG = False
    settings.TERMS_CHECKPOINT_KEY = {"base64": private_b64(key), "pem": pem, "file": ""}[form]
    settings.TERMS_CHECKPOINT_KEY_FILE = ""
    if form == "file":
        (tmp_path / "key.pem").write_text(pem)
        settings.TERMS_CHECKPOINT_KEY_FILE = str(tmp_path / "key.pem")
    checkpoint = checkpoint_create(kind=CheckpointKind.MANUAL)
    assert checkpoint.key_id == key_id(key.public_key())
    signature = base64.b64decode(checkpoint.signature)
    key.public_key().verify(signature, checkpoint.statement.encode())  # raises if invalid


# --- the daily job, the public page -------------------------------------------------------


def test_checkpoint_daily_job_signs_the_heads_logged_for_the_day(ledger) -> None:
    _a, _b, version = ledger
    day = T0.date() + timedelta(days=1)
    with clock.frozen_at(clock.start_of_day(day) + timedelta(minutes=10)):
        ledger_append(tenant=TenantFactory(), version=version, answer=Answer.ACCEPTED, scope=SYSTEM)
        number = ledger_checkpoint()
    checkpoint = LedgerCheckpoint.objects.get(number=number)
    assert checkpoint.kind == CheckpointKind.DAILY
    assert checkpoint.as_of == clock.start_of_day(day)
    assert checkpoint.heads == [head.as_dict() for head in daily_heads(day=day)]
    assert checkpoint.heads_count == 2  # the answer after 00:00 waits for tomorrow's
    schedule = django_settings.CELERY_BEAT_SCHEDULE["ledger-checkpoint-daily"]
    assert schedule["task"] == ledger_checkpoint.name == "ops.ledger_checkpoint"


def test_checkpoint_public_page_lists_checkpoints_and_the_key(ledger, signing_key) -> None:
    a, _b, _version = ledger
    checkpoint = LedgerCheckpoint.objects.get()
    client = Client()
    page = client.get("/ledger/checkpoints/", HTTP_ACCEPT_LANGUAGE="ja")
    assert page.status_code == 200
    html = page.content.decode()
    assert "同意台帳のチェックポイント" in html
    assert checkpoint.digest in html
    assert public_b64(signing_key.public_key()) in html

    body = client.get("/ledger/checkpoints.json").json()
    assert body["algorithm"] == "Ed25519"
    assert body["public_keys"][0]["public_key"] == public_b64(signing_key.public_key())
    (item,) = body["checkpoints"]
    assert item["number"] == 1
    # Anyone can check the signature with the published key and nothing else.
    public = Ed25519PublicKey.from_public_bytes(
        base64.b64decode(body["public_keys"][0]["public_key"])
    )
    public.verify(base64.b64decode(item["signature"]), item["statement"].encode())
    # The per-tenant heads stay private: only their digest is published.
    assert LedgerHead.objects.get(tenant=a).hash not in json.dumps(body)
    assert "heads" not in item


def test_checkpoint_public_json_pages_with_before(ledger) -> None:
    with clock.frozen_at(SIGNED + timedelta(hours=1)):
        for _ in range(55):
            checkpoint_create(kind=CheckpointKind.MANUAL)
    body = Client().get("/ledger/checkpoints.json").json()
    assert [c["number"] for c in body["checkpoints"]] == list(range(56, 6, -1))
    assert body["next"] == "/ledger/checkpoints.json?before=7"
    older = Client().get(body["next"]).json()
    assert [c["number"] for c in older["checkpoints"]] == [6, 5, 4, 3, 2, 1]
    assert older["next"] is None


def test_checkpoint_public_page_in_english(ledger) -> None:
    html = Client().get("/ledger/checkpoints/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Consent ledger checkpoints" in html
    assert "Public keys (Ed25519)" in html
