"""The consent ledger: canonical form, chains, evidence, verification (docs/ledger.md; R15)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from agreements.db import ledger_trigger_disable_sql, ledger_trigger_enable_sql, redoable_batch
from agreements.enums import ActorKind, Answer, Channel
from agreements.ledger.append import append_cited, append_many, entry_for, ledger_append
from agreements.ledger.heads import heads_lock
from agreements.ledger.redact import evidence_redact
from agreements.ledger.rows import (
    GENESIS_HASH,
    Entry,
    EvidenceInput,
    RowTemplate,
    canonical_json,
    chain_hash,
    chained_row,
    evidence_digest,
    record_payload,
)
from agreements.ledger.verify import ledger_export_rows, ledger_verify
from agreements.models import ConsentEvidence, ConsentRecord, LedgerHead
from agreements.rules import TransitionNotAllowed
from agreements.services.consents.answers import consent_answer
from core import clock
from tenants.scope import Scope
from tests.factories.agreements import VersionFactory
from tests.factories.consents import BEFORE, admin_scope, bound_tenant, chain_rows, posted_version
from tests.factories.tenants import StaffFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

REPO = Path(__file__).resolve().parents[2]
SYSTEM = Scope.system()


def _tamper(sql: str, params: list[object]) -> None:
    """Run `sql` with the append-only trigger disabled (PostgreSQL), as a forger would."""
    disable = ledger_trigger_disable_sql(connection.vendor)
    if disable is None:
        pytest.skip("forging rows needs the PostgreSQL trigger switch")
    with connection.cursor() as cursor:
        # Django's foreign keys are deferred; PostgreSQL refuses ALTER TABLE while their
        # checks are pending in this (test) transaction, so run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(disable)
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute(ledger_trigger_enable_sql(connection.vendor))
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")


# --- canonical form --------------------------------------------------------------------------


def test_ledger_canonical_json_sorted_compact_utf8_with_microsecond_utc() -> None:
    payload = {
        "b": "規約",
        "a": datetime(2025, 4, 1, 9, 0, tzinfo=clock.TOKYO),
        "c": {"z": 1, "y": None},
    }
    assert canonical_json(payload) == (
        '{"a":"2025-04-01T00:00:00.000000Z","b":"規約","c":{"y":null,"z":1}}'.encode()
    )


def test_ledger_canonical_json_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="aware"):
        canonical_json({"at": datetime(2025, 4, 1)})  # noqa: DTZ001 -- the point of the test


def test_ledger_chain_hash_is_sha256_of_prev_hash_then_canonical_json() -> None:
    payload = {"seq": 1, "answer": "accepted"}
    expected = hashlib.sha256((GENESIS_HASH + '{"answer":"accepted","seq":1}').encode()).hexdigest()
    assert chain_hash(GENESIS_HASH, payload) == expected


def test_ledger_r15_evidence_digest_is_hmac_sha256_keyed_by_salt() -> None:
    expected = hmac.new(b"salt", "山田 太郎".encode(), hashlib.sha256).hexdigest()
    assert evidence_digest("salt", "山田 太郎") == expected


# --- appending -------------------------------------------------------------------------------


def test_ledger_append_one_chain_per_tenant_with_seq_and_links() -> None:
    version = posted_version()
    first, second = TenantFactory(), TenantFactory()
    with clock.frozen_at(BEFORE):
        rows = [
            ledger_append(tenant=first, version=version, answer=Answer.ACCEPTED, scope=SYSTEM),
            ledger_append(tenant=second, version=version, answer=Answer.ACCEPTED, scope=SYSTEM),
            ledger_append(tenant=first, version=version, answer=Answer.REJECTED, scope=SYSTEM),
        ]
    assert [(r.tenant_id, r.seq) for r in rows] == [(first.pk, 1), (second.pk, 1), (first.pk, 2)]
    assert rows[0].prev_hash == GENESIS_HASH
    assert rows[1].prev_hash == GENESIS_HASH
    assert rows[2].prev_hash == rows[0].hash
    for row in rows:
        row.refresh_from_db()
        assert chain_hash(row.prev_hash, record_payload(row)) == row.hash
    head = LedgerHead.objects.get(tenant=first)
    assert (head.seq, head.hash) == (2, rows[2].hash)
    assert ledger_verify() == []


def test_ledger_row_records_actor_channel_body_hash_and_notice() -> None:
    version = posted_version()
    tenant = TenantFactory()
    staff = StaffFactory()
    with clock.frozen_at(BEFORE) as now:
        row = ledger_append(
            tenant=tenant, version=version, answer=Answer.ACCEPTED, scope=Scope.staff(staff)
        )
    row.refresh_from_db()
    assert row.actor_kind == ActorKind.STAFF
    assert row.actor_ref == f"staff:{staff.pk}"
    assert row.channel == Channel.CONSOLE
    assert row.recorded_at == now
    assert row.version_body_hash == version.body_hash
    assert row.notice_posted_at == version.posted_at
    assert row.document_id == version.document_id


def test_ledger_r3_deemed_only_from_the_system() -> None:
    version = posted_version()
    with pytest.raises(TransitionNotAllowed) as refused:
        ledger_append(
            tenant=TenantFactory(),
            version=version,
            answer=Answer.DEEMED,
            scope=Scope.staff(StaffFactory()),
        )
    assert refused.value.code == "deemed_not_allowed_for_callers"
    assert not ConsentRecord.objects.exists()


# --- evidence and redaction (R15) ------------------------------------------------------------

EVIDENCE = EvidenceInput(
    person_name="山田 太郎",
    person_email="taro@customer.example",
    ip_address="203.0.113.7",
    user_agent="Mozilla/5.0",
    obtained_at=datetime(2025, 3, 5, 1, 2, 3, 456789, tzinfo=UTC),
    method="電子メールによる同意書",
)


def test_ledger_r15_personal_data_only_as_salted_digests() -> None:
    version = posted_version()
    with clock.frozen_at(BEFORE):
        row = ledger_append(
            tenant=TenantFactory(),
            version=version,
            answer=Answer.ACCEPTED,
            scope=SYSTEM,
            evidence=EVIDENCE,
        )
    evidence = ConsentEvidence.objects.get(record=row)
    assert len(evidence.salt) == 64
    assert evidence.person_email == "taro@customer.example"
    row.refresh_from_db()
    assert row.evidence_digests == {
        "person_name": evidence_digest(evidence.salt, "山田 太郎"),
        "person_email": evidence_digest(evidence.salt, "taro@customer.example"),
        "ip_address": evidence_digest(evidence.salt, "203.0.113.7"),
        "user_agent": evidence_digest(evidence.salt, "Mozilla/5.0"),
        "obtained_at": evidence_digest(evidence.salt, "2025-03-05T01:02:03.456789Z"),
        "method": evidence_digest(evidence.salt, "電子メールによる同意書"),
    }
    stored = json.dumps(
        list(ConsentRecord.objects.filter(pk=row.pk).values().get().values()),
        default=str,
        ensure_ascii=False,
    )
    for secret in ("taro@customer.example", "203.0.113.7", "山田", "Mozilla"):
        assert secret not in stored
    # An unsalted hash of a guessable value is not what the ledger holds.
    assert hashlib.sha256(b"taro@customer.example").hexdigest() not in stored


def test_ledger_r15_redaction_deletes_evidence_and_chain_stays_verifiable() -> None:
    version = posted_version()
    tenant = TenantFactory()
    with clock.frozen_at(BEFORE):
        for answer in (Answer.ACCEPTED, Answer.REJECTED):
            ledger_append(
                tenant=tenant, version=version, answer=answer, scope=SYSTEM, evidence=EVIDENCE
            )
    assert evidence_redact(tenant_id=tenant.pk) == 2
    assert not ConsentEvidence.objects.filter(tenant=tenant).exists()
    assert ConsentRecord.objects.filter(tenant=tenant).count() == 2
    assert ledger_verify() == []


def test_verify_ledger_r15_evidence_mismatch_is_caught() -> None:
    version = posted_version()
    tenant = TenantFactory()
    row = ledger_append(
        tenant=tenant, version=version, answer=Answer.ACCEPTED, scope=SYSTEM, evidence=EVIDENCE
    )
    ConsentEvidence.objects.filter(record=row).update(person_email="someone@else.example")
    problems = ledger_verify()
    assert [(p.tenant_id, p.seq, p.kind) for p in problems] == [(tenant.pk, 1, "evidence_mismatch")]


# --- constant cost per answer ----------------------------------------------------------------


def _queries_for_answer(rows_before: int) -> tuple[int, int]:
    """Queries of one ledger_append and one consent_answer on a chain of `rows_before` rows."""
    old = VersionFactory()
    version = posted_version()
    tenant = TenantFactory()
    bound_tenant(version.document, tenant=tenant)
    scope = admin_scope(tenant)
    chain_rows(tenant, old, rows_before)
    with clock.frozen_at(BEFORE):
        with CaptureQueriesContext(connection) as append:
            ledger_append(tenant=tenant, version=version, answer=Answer.ACCEPTED, scope=SYSTEM)
        with CaptureQueriesContext(connection) as answer:
            _record, created = consent_answer(
                scope=scope, tenant=tenant, version=version, answer=Answer.REJECTED
            )
    assert created
    assert LedgerHead.objects.get(tenant=tenant).seq == rows_before + 2
    return _statements(append), _statements(answer)


def _statements(captured: CaptureQueriesContext) -> int:
    """Queries other than the savepoints of nested atomic blocks."""
    return sum(
        1
        for query in captured.captured_queries
        if not query["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    )


def test_ledger_append_constant_queries_at_10_and_10000_rows() -> None:
    small = _queries_for_answer(10)
    large = _queries_for_answer(10_000)
    assert small == large
    # lock head; insert the row and move the head in one statement
    assert small[0] == 2


def test_ledger_append_first_row_creates_head_race_safely() -> None:
    tenant = TenantFactory()
    assert not LedgerHead.objects.filter(tenant=tenant).exists()
    row = ledger_append(tenant=tenant, version=posted_version(), answer="accepted", scope=SYSTEM)
    assert row.seq == 1
    assert LedgerHead.objects.get(tenant=tenant).hash == row.hash


# --- verification ----------------------------------------------------------------------------


def _three_rows() -> tuple[int, list[ConsentRecord]]:
    tenant = TenantFactory()
    version = posted_version()
    other = TenantFactory()
    rows = [
        ledger_append(tenant=tenant, version=version, answer=answer, scope=SYSTEM)
        for answer in (Answer.ACCEPTED, Answer.REJECTED, Answer.ACCEPTED)
    ]
    ledger_append(tenant=other, version=version, answer=Answer.ACCEPTED, scope=SYSTEM)
    return tenant.pk, rows


def test_verify_ledger_command_passes_on_a_valid_ledger(capsys: pytest.CaptureFixture[str]) -> None:
    _three_rows()
    call_command("verify_ledger")
    assert "ledger OK: 4 rows verified" in capsys.readouterr().out


def test_verify_ledger_forged_answer_is_caught_as_bad_hash() -> None:
    tenant_id, rows = _three_rows()
    _tamper(
        "UPDATE agreements_consentrecord SET answer = %s WHERE id = %s",
        [Answer.ACCEPTED, rows[1].pk],
    )
    with pytest.raises(CommandError, match=rf"tenant {tenant_id} seq 2: bad_hash"):
        call_command("verify_ledger")
    # Only the forged tenant's chain is reported.
    assert [(p.tenant_id, p.seq, p.kind) for p in ledger_verify()] == [(tenant_id, 2, "bad_hash")]


def test_verify_ledger_rewritten_row_is_caught_as_broken_link() -> None:
    tenant_id, rows = _three_rows()
    # A forger who recomputes row 2's own hash still breaks row 3's prev_hash link.
    forged = record_payload(rows[1]) | {"answer": Answer.ACCEPTED.value}
    _tamper(
        "UPDATE agreements_consentrecord SET answer = %s, hash = %s WHERE id = %s",
        [Answer.ACCEPTED, chain_hash(rows[1].prev_hash, forged), rows[1].pk],
    )
    with pytest.raises(CommandError, match=rf"tenant {tenant_id} seq 3: broken_link"):
        call_command("verify_ledger")


def test_verify_ledger_deleted_row_is_caught_as_seq_gap() -> None:
    tenant_id, rows = _three_rows()
    _tamper("DELETE FROM agreements_consentrecord WHERE id = %s", [rows[1].pk])
    with pytest.raises(CommandError, match=rf"tenant {tenant_id} seq 2: seq_gap"):
        call_command("verify_ledger")


def test_verify_ledger_truncated_tail_is_caught_as_head_mismatch() -> None:
    tenant_id, rows = _three_rows()
    _tamper("DELETE FROM agreements_consentrecord WHERE id = %s", [rows[2].pk])
    with pytest.raises(CommandError, match=rf"tenant {tenant_id} seq 3: head_mismatch"):
        call_command("verify_ledger", tenant=[tenant_id])


def test_verify_ledger_trigger_is_back_on_after_forging() -> None:
    _tenant_id, rows = _three_rows()
    _tamper("UPDATE agreements_consentrecord SET actor_ref = actor_ref WHERE id = %s", [rows[0].pk])
    from django.db import DatabaseError, transaction

    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        ConsentRecord.objects.filter(pk=rows[0].pk).update(actor_ref="x")


# --- the documented reference verifier -------------------------------------------------------


def _documented_verifier() -> dict[str, object]:
    text = (REPO / "docs" / "ledger.md").read_text(encoding="utf-8")
    block = re.search(
        r"<!-- reference-verifier:start -->\s*```python\n(.*?)```\s*<!-- reference-verifier:end -->",
        text,
        re.DOTALL,
    )
    assert block is not None, "docs/ledger.md lost its reference verifier block"
    namespace: dict[str, object] = {"__name__": "ledger_reference_verifier"}
    exec(compile(block.group(1), "docs/ledger.md", "exec"), namespace)  # noqa: S102 -- our own doc
    return namespace


def test_ledger_documented_reference_verifier_accepts_real_rows_and_catches_a_forgery(
    tmp_path: Path,
) -> None:
    version = posted_version()
    tenants = [TenantFactory(), TenantFactory()]
    with clock.frozen_at(BEFORE):
        for answer in (Answer.ACCEPTED, Answer.REJECTED, Answer.ACCEPTED):
            for tenant in tenants:
                ledger_append(
                    tenant=tenant, version=version, answer=answer, scope=SYSTEM, evidence=EVIDENCE
                )
    with clock.frozen_at(BEFORE):
        consent_scope = admin_scope(tenants[0])
        bound_tenant(version.document, tenant=tenants[0])
        # A real service-written row too (a portal answer with its actor and channel).
        consent_answer(scope=consent_scope, tenant=tenants[0], version=version, answer="rejected")
    export = tmp_path / "rows.jsonl"
    call_command("verify_ledger", export=str(export))
    lines = export.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 7
    verify_lines = _documented_verifier()["verify_lines"]
    assert list(verify_lines(lines)) == []  # type: ignore[operator]

    rows = [json.loads(line) for line in lines]
    forged = rows[2] | {"answer": "accepted" if rows[2]["answer"] != "accepted" else "rejected"}
    tampered = [json.dumps(r, ensure_ascii=False) for r in [*rows[:2], forged, *rows[3:]]]
    assert list(verify_lines(tampered)) == [(forged["tenant_id"], forged["seq"], "bad_hash")]  # type: ignore[operator]
    gap = [lines[0], lines[2]]
    assert list(verify_lines(gap)) == [(rows[0]["tenant_id"], 2, "seq_gap")]  # type: ignore[operator]


def test_ledger_export_rows_match_the_documented_payload_keys() -> None:
    version = posted_version()
    ledger_append(tenant=TenantFactory(), version=version, answer=Answer.ACCEPTED, scope=SYSTEM)
    (row,) = list(ledger_export_rows())
    assert sorted(row) == sorted(
        [
            "tenant_id",
            "seq",
            "document_id",
            "version_id",
            "answer",
            "actor_kind",
            "actor_ref",
            "channel",
            "recorded_at",
            "version_body_hash",
            "notice_posted_at",
            "evidence_digests",
            "prev_hash",
            "hash",
        ]
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", row["recorded_at"])
    # Posted 09:00 JST on 2025-03-01 (the factory's notice date).
    assert row["notice_posted_at"] == "2025-03-01T00:00:00.000000Z"


def _deemed_entry(version, *, actor_ref: str) -> Entry:
    """The system's deemed answer to `version` now, as the effective-date job writes it."""
    return entry_for(
        version,
        answer=Answer.DEEMED,
        actor_kind=ActorKind.SYSTEM,
        actor_ref=actor_ref,
        channel=Channel.SYSTEM,
        at=clock.now(),
        body_hash=version.body_hash,
    )


@pytest.mark.django_db
def test_ledger_append_many_copies_rows_that_verify_whatever_their_characters() -> None:
    """The batch path writes with COPY: separators, backslashes and Japanese in a row's text
    and in its evidence JSON must arrive exactly as hashed."""
    version = posted_version()
    tenants = [bound_tenant(version.document).tenant for _ in range(3)]
    chain_rows(tenants[0], VersionFactory(), 2)  # one chain already has rows
    with clock.frozen_at(BEFORE):
        entry = _deemed_entry(version, actor_ref="system\tback\\slash\nnew")
        heads = heads_lock([t.pk for t in tenants])
        written = append_many(
            heads=heads,
            entries=[
                (t.pk, replace(entry, notice_reached=f"ポータル\t閲覧 \\ {t.pk}")) for t in tenants
            ],
        )
    rows = {r.pk: r for r in ConsentRecord.objects.filter(version=version)}
    assert [tenant for tenant, _pk in written] == [t.pk for t in tenants]
    for tenant, pk in written:
        assert rows[pk].tenant_id == tenant
        assert rows[pk].actor_ref == "system\tback\\slash\nnew"
        assert rows[pk].evidence_digests["notice_reached"] == f"ポータル\t閲覧 \\ {tenant}"
    assert rows[written[0][1]].seq == 3
    assert ledger_verify() == []


@pytest.mark.django_db
@pytest.mark.parametrize("reached", ["ポータル\t閲覧 \\ {t}", 'quote " \u2028 {t}', ""])
def test_r3_append_cited_writes_what_append_many_writes(reached: str) -> None:
    """The effective-date job's path (one entry, a citation per tenant) writes the rows
    append_many writes for the same entries, hash for hash; an empty citation takes
    append_many's own path."""
    version = posted_version()
    tenants = [bound_tenant(version.document).tenant for _ in range(4)]
    cited, many = tenants[:2], tenants[2:]
    with clock.frozen_at(BEFORE):
        entry = _deemed_entry(version, actor_ref="system")
        got = append_cited(
            heads=heads_lock([t.pk for t in cited]),
            entry=entry,
            citations=[(t.pk, reached.format(t=n)) for n, t in enumerate(cited)],
        )
        want = append_many(
            heads=heads_lock([t.pk for t in many]),
            entries=[(t.pk, entry.reached_by(reached.format(t=n))) for n, t in enumerate(many)],
        )
    rows = {r.pk: r for r in ConsentRecord.objects.filter(version=version)}
    for (_c, got_pk), (_m, want_pk) in zip(got, want, strict=True):
        a, b = rows[got_pk], rows[want_pk]
        assert a.evidence_digests == b.evidence_digests
        assert (a.seq, a.answer, a.recorded_at) == (b.seq, b.answer, b.recorded_at)
    assert [t for t, _pk in got] == [t.pk for t in cited]
    assert ledger_verify() == []


AWKWARD = [
    "",
    "ポータル@2025-03-01T00:00:00.000000Z#12",
    'quote " and \\ backslash',
    "tab\tnew\nline\rreturn",
    "\u0000 nul \u2028 line separator </script> \U0001f600",
    '"\\u0000seq\\u0000"',  # what a placeholder looks like inside the template
]


@pytest.mark.unit
@pytest.mark.parametrize("reached", AWKWARD)
@pytest.mark.parametrize("actor_ref", ["system", 'a\tb\\c"d 日本語'])
def test_r3_deemed_rows_template_hashes_as_canonical_json_does(
    reached: str, actor_ref: str
) -> None:
    """The effective-date job's rows hash through a template of the canonical JSON; it must
    give the hash chained_row gives, whatever the text."""
    entry = Entry(
        document_id=3,
        version_id=17,
        answer="deemed",
        actor_kind="system",
        actor_ref=actor_ref,
        channel="system",
        recorded_at=datetime(2026, 12, 16, 0, 0, 1, 5, tzinfo=UTC),
        version_body_hash="ab" * 32,
        notice_posted_at=datetime(2026, 11, 1, tzinfo=UTC),
        notice_reached=reached,
    )
    template = RowTemplate(entry)
    for tenant_id, seq, prev in ((1, 1, GENESIS_HASH), (987654321, 12, "f" * 64)):
        expected = chained_row(entry, tenant_id=tenant_id, seq=seq, prev_hash=prev)["hash"]
        got = template.hash(
            prev_hash=prev,
            tenant_id=tenant_id,
            seq=seq,
            reached_json=json.dumps(reached, ensure_ascii=False),
        )
        assert got == expected


@pytest.mark.django_db
def test_ledger_append_many_builds_each_row_alone_when_the_entries_differ() -> None:
    """A batch whose entries differ in more than the citation (or cite for some tenants and
    not others) is not templated: every row still verifies and cites what it was given."""
    version = posted_version()
    tenants = [bound_tenant(version.document).tenant for _ in range(3)]
    with clock.frozen_at(BEFORE):
        entry = _deemed_entry(version, actor_ref="system")
        entries = [
            (tenants[0].pk, replace(entry, notice_reached="ポータル")),
            (tenants[1].pk, entry),
            (tenants[2].pk, replace(entry, actor_ref="other")),
        ]
        written = append_many(heads=heads_lock([t.pk for t in tenants]), entries=entries)
    rows = {r.pk: r for r in ConsentRecord.objects.filter(version=version)}
    assert [rows[pk].actor_ref for _t, pk in written] == ["system", "system", "other"]
    assert rows[written[0][1]].evidence_digests == {"notice_reached": "ポータル"}
    assert rows[written[1][1]].evidence_digests == {}
    assert ledger_verify() == []


@pytest.mark.django_db(transaction=True)
def test_r3_a_deemed_batch_skips_the_wal_flush_only_as_its_own_transaction() -> None:
    """The effective-date job's batches commit without waiting for the WAL flush; a batch
    inside a caller's transaction leaves the caller's durability alone."""
    if connection.vendor != "postgresql":
        pytest.skip("synchronous_commit is PostgreSQL's")

    def setting() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            return cursor.fetchone()[0]

    assert setting() == "on"
    with redoable_batch():
        assert setting() == "off"
    assert setting() == "on"
    with transaction.atomic():
        with redoable_batch():
            assert setting() == "on"
        assert setting() == "on"
