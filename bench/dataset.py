"""A large, valid dataset loaded quickly with PostgreSQL COPY (bench only).

Sizes (CLI flags of bench/run.py, or TERMS_BENCH_* variables):
  tenants (100,000) under partners (200); 2 products (the catalog) with `versions` (10) each;
  `ledger_rows` (1,000,000) consent ledger rows with valid hash chains; `contracts` (200,000:
  one per tenant and product while contracts ≤ 2 × tenants) with one open period each, of
  which `due_percent` (1 %) ended yesterday; consent states for every tenant × document;
  `portal_users` (1,000) tenant admins with signed-in sessions.

The small objects (catalog, versions and their articles, staff) go through the services or
the ORM; the large tables are written with COPY in the text format. Ledger chains are
built by the ledger's own row builder (agreements/ledger/rows.py: chained_row, docs/ledger.md);
only the transport is COPY, so `verify_ledger` passes on the result.
"""

from __future__ import annotations

import io
import json
import os
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection, models
from django.utils.crypto import get_random_string

from agreements import rules
from agreements.catalog import BIZ, ID_PLUS, catalog_ensure
from agreements.enums import ConsentMode, LegalBasis, ProductKeyScope, VersionStatus
from agreements.ledger.append import entry_for
from agreements.ledger.rows import GENESIS_HASH, chained_row
from agreements.models import (
    ConsentRecord,
    ConsentState,
    Contract,
    ContractPeriod,
    LedgerHead,
    ProductKey,
    TermsDocument,
    TermsVersion,
)
from agreements.services.imports import terms_import
from core import clock
from tenants.keys import PARTNER_KEY_TAG, PRODUCT_KEY_TAG, issue_key
from tenants.models import Membership, Partner, PartnerAPIKey, Tenant
from tenants.scope import Scope

DEMO_TERMS = Path(__file__).resolve().parent.parent / "agreements" / "demo_terms"
CHUNK_ROWS = 50_000
PASSWORD = "bench-password-not-a-secret"  # noqa: S105 -- a throwaway bench database


@dataclass(frozen=True)
class Sizes:
    tenants: int = 100_000
    partners: int = 200
    versions: int = 10
    ledger_rows: int = 1_000_000
    contracts: int = 200_000
    due_percent: float = 1.0
    portal_users: int = 1_000

    @classmethod
    def from_env(cls, **overrides: Any) -> Sizes:
        values: dict[str, Any] = {}
        for name, default in cls().__dict__.items():
            raw = os.environ.get(f"TERMS_BENCH_{name.upper()}")
            if raw:
                values[name] = type(default)(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def scaled(self, factor: float) -> Sizes:
        """The same shape at `factor` of the size (the baseline of benchmark 6)."""
        return Sizes(
            tenants=max(10, int(self.tenants * factor)),
            partners=max(1, int(self.partners * factor)),
            versions=self.versions,
            ledger_rows=int(self.ledger_rows * factor),
            contracts=max(2, int(self.contracts * factor)),
            due_percent=self.due_percent,
            portal_users=min(self.portal_users, max(1, int(self.tenants * factor))),
        )


@dataclass
class Loaded:
    """What the benchmarks need to address the data."""

    today: date
    sizes: Sizes
    partner_keys: dict[int, str]  # partner id → full key
    tenant_partner: list[int]  # index = tenant id (0 unused) → partner id
    product_keys: dict[str, str]  # product code → full key
    documents: dict[str, int]  # product code → base document id
    current_versions: dict[str, int]  # product code → version in force
    portal_sessions: list[tuple[str, int]] = field(default_factory=list)  # (session key, tenant)
    editor_id: int = 0
    publisher_id: int = 0
    due_periods: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> str:
        """What a later run on the kept database needs (bench.run --reuse-db)."""
        data = asdict(self)
        data["today"] = self.today.isoformat()
        return json.dumps(data)

    @classmethod
    def from_json(cls, text: str) -> Loaded:
        data = json.loads(text)
        data["today"] = date.fromisoformat(data["today"])
        data["sizes"] = Sizes(**data["sizes"])
        data["partner_keys"] = {int(k): v for k, v in data["partner_keys"].items()}
        data["portal_sessions"] = [tuple(pair) for pair in data["portal_sessions"]]
        return cls(**data)


# --- COPY ------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict | list):
        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    text = str(value)
    if "\\" in text or "\t" in text or "\n" in text or "\r" in text:
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


class Copier:
    """COPY rows of one model: every concrete column, defaults filled in the Python way."""

    def __init__(self, model: type[models.Model], now: datetime) -> None:
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in self.fields]
        self.defaults: dict[str, Any] = {}
        for f in self.fields:
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                self.defaults[f.attname] = now
            elif f.has_default() or f.null or f.empty_strings_allowed:
                # Django's own fallback: the declared default, else "" for text, else NULL.
                value = f.get_default()
                if value is not None or f.null:
                    self.defaults[f.attname] = value
        self.rows = 0

    def line(self, row: dict[str, Any]) -> str:
        values = []
        for f in self.fields:
            name = f.attname
            if name in row:
                values.append(_text(row[name]))
            elif name in self.defaults:
                values.append(_text(self.defaults[name]))
            else:
                raise KeyError(f"{self.model.__name__}.{name} has no value and no default")
        return "\t".join(values) + "\n"

    def copy(self, rows: Iterable[dict[str, Any]]) -> int:
        table = connection.ops.quote_name(self.model._meta.db_table)
        cols = ", ".join(connection.ops.quote_name(c) for c in self.columns)
        sql = f"COPY {table} ({cols}) FROM STDIN"
        buffer = io.StringIO()
        pending = 0
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg2's cursor: copy_expert
            for row in rows:
                buffer.write(self.line(row))
                pending += 1
                if pending >= CHUNK_ROWS:
                    buffer.seek(0)
                    raw.copy_expert(sql, buffer)
                    self.rows += pending
                    buffer, pending = io.StringIO(), 0
            if pending:
                buffer.seek(0)
                raw.copy_expert(sql, buffer)
                self.rows += pending
        return self.rows


@contextmanager
def indexes_deferred(model: type[models.Model]) -> Iterator[None]:
    """Drop the table's secondary indexes and its own foreign keys, then build them again
    once the rows are in, as pg_restore does: one sort per index and one join per foreign
    key instead of a B-tree insertion and a lookup per row (10,000,000 ledger rows into
    seven indexes otherwise cost most of the load). Primary and unique keys stay, since
    other tables' foreign keys may depend on them."""
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f'",
            [table],
        )
        foreign = cursor.fetchall()
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = %s::regclass AND NOT i.indisprimary AND NOT EXISTS ("
            "SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
            [table],
        )
        indexes = cursor.fetchall()
        quoted = connection.ops.quote_name(table)
        for name, _definition in foreign:
            cursor.execute(
                f"ALTER TABLE {quoted} DROP CONSTRAINT {connection.ops.quote_name(name)}"
            )
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '512MB'")
        for _name, definition in indexes:
            cursor.execute(definition)
        for name, definition in foreign:
            cursor.execute(
                f"ALTER TABLE {quoted} ADD CONSTRAINT {connection.ops.quote_name(name)} {definition}"
            )
        cursor.execute("RESET maintenance_work_mem")


def copy_rows(model: type[models.Model], rows: Iterable[dict[str, Any]], now: datetime) -> int:
    with indexes_deferred(model):
        return Copier(model, now).copy(rows)


def reset_sequences(models_: Sequence[type[models.Model]]) -> None:
    with connection.cursor() as cursor:
        for model in models_:
            table = model._meta.db_table
            quoted = connection.ops.quote_name(table)
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE(MAX(id), 1)) FROM {quoted}",  # noqa: S608 -- a model's own table name
                [table],
            )


def _states_bound() -> None:
    """ConsentState.bound as agreements.services.consents_bound keeps it: bound now by the
    row's document (an active contract for the product, with the option for individual
    rules); one UPDATE."""
    states = ConsentState._meta.db_table
    documents = TermsDocument._meta.db_table
    contracts = Contract._meta.db_table
    options = Contract.options.through._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {states} s SET bound = TRUE FROM {documents} d "  # noqa: S608 -- model tables
            f"WHERE d.id = s.document_id AND EXISTS (SELECT 1 FROM {contracts} c "
            "WHERE c.tenant_id = s.tenant_id AND c.product_id = d.product_id "
            "AND c.status = 'active' AND (d.option_id IS NULL OR EXISTS ("
            f"SELECT 1 FROM {options} o WHERE o.contract_id = c.id AND o.option_id = d.option_id)))"
        )


# --- The small objects -------------------------------------------------------------------------


def _version_text(base: str, n: int) -> str:
    """The demo sample with a marker in the first paragraph, so every version differs."""
    lines = base.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("1."):
            lines[i] = f"1. （第{n}版）{line[2:].lstrip()}"
            break
    return "\n".join(lines) + "\n"


def _versions(today: date, count: int) -> tuple[dict[str, int], dict[str, list[TermsVersion]]]:
    """`count` versions per product: historical imports, then dated and posted like real ones
    (the last one in force since 60 days ago, the others six months apart)."""
    catalog = catalog_ensure()
    system = Scope.system()
    texts = {
        BIZ: (DEMO_TERMS / "optimal-biz.txt").read_text(encoding="utf-8"),
        ID_PLUS: (DEMO_TERMS / "optim-id-plus.txt").read_text(encoding="utf-8"),
    }
    documents = {BIZ: catalog.biz_terms.pk, ID_PLUS: catalog.id_plus_terms.pk}
    versions: dict[str, list[TermsVersion]] = {}
    for code, text in texts.items():
        made = []
        for n in range(1, count + 1):
            effective_on = today - timedelta(days=60 + 182 * (count - n))
            version = terms_import(
                scope=system,
                product_code=code,
                label=f"bench-v{n:02d}",
                effective_on=effective_on,
                text=_version_text(text, n),
                historical=True,
            )
            made.append(version)
        versions[code] = made
    # Dated and posted like revisions that went through the jobs (the ledger cites them).
    for made in versions.values():
        for version in made:
            version.refresh_from_db()
            notice_on = version.effective_on - timedelta(days=14)
            version.notice_on = notice_on
            version.posted_at = clock.start_of_day(notice_on) + timedelta(hours=9)
            version.consent_mode = ConsentMode.DEEMED
            version.legal_basis = LegalBasis.REASONABLE
            version.rationale = "bench"
            version.is_historical = False
            version.save(
                update_fields=[
                    "notice_on",
                    "posted_at",
                    "consent_mode",
                    "legal_basis",
                    "rationale",
                    "is_historical",
                ]
            )
    return documents, versions


def _staff() -> tuple[int, int]:
    user_model = get_user_model()
    ids = []
    for name in ("bench-editor", "bench-publisher"):
        user, _ = user_model.objects.get_or_create(
            username=name, defaults={"is_staff": True, "email": f"{name}@bench.example"}
        )
        group, _ = Group.objects.get_or_create(name=name.removeprefix("bench-"))
        user.groups.add(group)
        ids.append(user.pk)
    return ids[0], ids[1]


# --- The large tables ------------------------------------------------------------------------


def _contract_dates(today: date, index: int, due_every: int) -> tuple[date, date]:
    """(start, end) of the open 12-month period: every `due_every`-th ended yesterday."""
    if due_every and index % due_every == 0:
        end = today - timedelta(days=1)
        start = _start_for_end(end)
    else:
        start = today - timedelta(days=365) + timedelta(days=1 + index % 360)
        end = rules.period_end(start=start, months=12)
    return start, end


def _start_for_end(end: date) -> date:
    """A start date whose 12-month period ends on `end` (R10)."""
    guess = end - timedelta(days=366)
    while rules.period_end(start=guess, months=12) < end:
        guess += timedelta(days=1)
    return guess


def load(sizes: Sizes, *, seed: int = 1, log: Callable[[str], None] = print) -> Loaded:
    """Fill the (empty, migrated) current database; returns what the benchmarks address."""
    rng = random.Random(seed)
    today = clock.today()
    now = clock.now()
    timings: dict[str, float] = {}

    def step(name: str, started: float) -> None:
        timings[name] = round(time.perf_counter() - started, 2)
        log(f"  loaded {name} in {timings[name]} s")

    t = time.perf_counter()
    documents, versions = _versions(today, sizes.versions)
    editor_id, publisher_id = _staff()
    current = {code: made[-1].pk for code, made in versions.items()}
    step("catalog and versions", t)

    # Partners and their keys (deterministic secrets: a throwaway database).
    t = time.perf_counter()
    partner_keys: dict[int, str] = {}
    copy_rows(
        Partner,
        (
            {"id": p, "code": f"bench-p{p:04d}", "name": f"ベンチ販売店{p:04d}"}
            for p in range(1, sizes.partners + 1)
        ),
        now,
    )
    key_rows = []
    for p in range(1, sizes.partners + 1):
        issued = issue_key(PARTNER_KEY_TAG, secret=f"bench-partner-{seed}-{p}")
        partner_keys[p] = issued.full
        key_rows.append(
            {
                "id": p,
                "partner_id": p,
                "name": "bench",
                "prefix": issued.prefix,
                "hashed_key": issued.hashed,
                "scopes": ["read", "write"],
            }
        )
    copy_rows(PartnerAPIKey, key_rows, now)
    key_prefix = {row["partner_id"]: row["prefix"] for row in key_rows}
    product_keys: dict[str, str] = {}
    for code in (BIZ, ID_PLUS):
        issued = issue_key(PRODUCT_KEY_TAG, secret=f"bench-product-{seed}-{code}")
        ProductKey.objects.create(
            product=catalog_ensure().product(code),
            name="bench",
            prefix=issued.prefix,
            hashed_key=issued.hashed,
            scopes=[ProductKeyScope.STATUS_READ, ProductKeyScope.DELETION_ACK],
        )
        product_keys[code] = issued.full
    step("partners and keys", t)

    # Tenants, spread over the partners.
    t = time.perf_counter()
    tenant_partner = [0] + [1 + (i % sizes.partners) for i in range(sizes.tenants)]
    copy_rows(
        Tenant,
        (
            {
                "id": i,
                "name": f"ベンチ株式会社{i:06d}",
                "partner_id": tenant_partner[i],
                "external_ref": f"ext-{i}",
                "contact_email": f"admin{i}@tenant{i}.bench.example",
            }
            for i in range(1, sizes.tenants + 1)
        ),
        now,
    )
    step("tenants", t)

    # Contracts (Biz for every tenant, then ID+), one open period each; `due_percent` due.
    t = time.perf_counter()
    products = catalog_ensure()
    product_ids = {BIZ: products.biz.pk, ID_PLUS: products.id_plus.pk}
    due_every = round(100 / sizes.due_percent) if sizes.due_percent > 0 else 0
    contract_rows: list[dict[str, Any]] = []
    period_rows: list[dict[str, Any]] = []
    due = 0
    for c in range(1, sizes.contracts + 1):
        tenant_id = 1 + (c - 1) % sizes.tenants
        code = BIZ if c <= sizes.tenants else ID_PLUS
        start, end = _contract_dates(today, c, due_every)
        due += end < today
        id_plus = code == ID_PLUS
        auto = id_plus or c % 2 == 0
        contract_rows.append(
            {
                "id": c,
                "tenant_id": tenant_id,
                "product_id": product_ids[code],
                "status": "active",
                "start_date": start,
                "term_months": 12,
                "auto_renew": auto,
                "auto_renew_source": "terms" if id_plus else "order",
                "notice_months": 1 if auto else None,
                "notice_source": "terms" if id_plus else "order",
                "billing_cycle": "monthly",
                "amount_jpy": 10_000,
            }
        )
        period_rows.append(
            {
                "id": c,
                "contract_id": c,
                "tenant_id": tenant_id,
                "seq": 1,
                "start_date": start,
                "end_date": end,
                "status": "open",
            }
        )
    copy_rows(Contract, contract_rows, now)
    copy_rows(ContractPeriod, period_rows, now)
    del contract_rows, period_rows
    step("contracts and periods", t)

    # The ledger: per tenant `per` rows alternating the two documents over their latest
    # versions, chained in Python; heads and the projection follow from the last rows.
    t = time.perf_counter()
    per = max(2, sizes.ledger_rows // sizes.tenants) if sizes.ledger_rows else 0
    codes = (BIZ, ID_PLUS)
    chosen: list[tuple[str, TermsVersion]] = []
    for k in range(per):
        code = codes[k % 2]
        made = versions[code]
        index = len(made) - ((per - k + 1) // 2)
        chosen.append((code, made[max(0, index)]))
    body_hash = {v.pk: v.body_hash for _c, v in chosen}
    records = 0
    heads: list[dict[str, Any]] = []
    states: list[dict[str, Any]] = []

    def ledger_rows() -> Iterator[dict[str, Any]]:
        nonlocal records
        for tenant_id in range(1, sizes.tenants + 1):
            prev = GENESIS_HASH
            last: dict[int, tuple[int, str, int]] = {}
            accepted_by_partner = tenant_id % 10 == 0
            prefix = key_prefix[tenant_partner[tenant_id]]
            for k, (_code, version) in enumerate(chosen):
                records += 1
                final = k >= per - 2
                if accepted_by_partner and final:
                    answer, kind, ref, channel = "accepted", "partner_key", f"key:{prefix}", "api"
                    at = version.posted_at + timedelta(days=1, seconds=tenant_id % 3600)
                else:
                    answer, kind, ref, channel = "deemed", "system", "system", "system"
                    at = clock.start_of_day(version.effective_on) + timedelta(
                        minutes=1, microseconds=tenant_id
                    )
                entry = entry_for(
                    version,
                    answer=answer,
                    actor_kind=kind,
                    actor_ref=ref,
                    channel=channel,
                    at=at,
                    body_hash=body_hash[version.pk],
                )
                row = chained_row(entry, tenant_id=tenant_id, seq=k + 1, prev_hash=prev)
                yield {
                    "id": records,
                    **row,
                    "recorded_at": at.astimezone(UTC),
                    "notice_posted_at": version.posted_at.astimezone(UTC),
                }
                prev = row["hash"]
                last[version.document_id] = (version.pk, answer, records)
            heads.append({"id": tenant_id, "tenant_id": tenant_id, "seq": per, "hash": prev})
            for document_id, (version_id, answer, record_id) in last.items():
                states.append(
                    {
                        "tenant_id": tenant_id,
                        "document_id": document_id,
                        "version_id": version_id,
                        "status": answer,
                        "record_id": record_id,
                    }
                )

    if per:
        copy_rows(ConsentRecord, ledger_rows(), now)
        copy_rows(LedgerHead, heads, now)
        for n, row in enumerate(states, start=1):
            row["id"] = n
        copy_rows(ConsentState, states, now)
    else:
        # No ledger: every bound tenant has not answered the version in force yet.
        states = [
            {
                "id": n,
                "tenant_id": tenant_id,
                "document_id": documents[code],
                "version_id": current[code],
                "status": "no_answer",
            }
            for n, (tenant_id, code) in enumerate(
                ((t_, c_) for t_ in range(1, sizes.tenants + 1) for c_ in codes), start=1
            )
        ]
        copy_rows(ConsentState, states, now)
    _states_bound()
    step(f"ledger ({records} rows, {per} per tenant), heads and consent states", t)

    # Portal users: one admin per tenant for the first `portal_users` tenants, signed in.
    t = time.perf_counter()
    sessions = _portal_users(min(sizes.portal_users, sizes.tenants), now, rng)
    step("portal users and sessions", t)

    t = time.perf_counter()
    reset_sequences(
        [
            Partner,
            PartnerAPIKey,
            Tenant,
            Contract,
            ContractPeriod,
            ConsentRecord,
            LedgerHead,
            ConsentState,
            get_user_model(),
            Membership,
        ]
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE IF NOT EXISTS bench_insert ("
            " id bigserial PRIMARY KEY, tenant_id bigint NOT NULL, answer varchar(16) NOT NULL,"
            " body jsonb NOT NULL, created_at timestamptz NOT NULL DEFAULT now())"
        )
        # Fresh visibility maps and statistics, as a long-running database would have.
        cursor.execute("VACUUM ANALYZE")
    step("sequences and ANALYZE", t)
    return Loaded(
        today=today,
        sizes=sizes,
        partner_keys=partner_keys,
        tenant_partner=tenant_partner,
        product_keys=product_keys,
        documents=documents,
        current_versions=current,
        portal_sessions=sessions,
        editor_id=editor_id,
        publisher_id=publisher_id,
        due_periods=due,
        seconds=timings,
    )


def _portal_users(count: int, now: datetime, rng: random.Random) -> list[tuple[str, int]]:
    """`count` tenant admins (user i ↔ tenant i) and one valid signed-in session each."""
    user_model = get_user_model()
    # One hash for everybody: the bench measures pages, not password hashing.
    password = make_password(PASSWORD)
    base = (user_model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) + 1
    copy_rows(
        user_model,
        (
            {
                "id": base + i,
                "password": password,
                "username": f"bench-user-{i:06d}",
                "email": f"user{i}@tenant{i}.bench.example",
                "is_superuser": False,
                "is_staff": False,
                "is_active": True,
                "date_joined": now,
                "first_name": "",
                "last_name": "",
            }
            for i in range(1, count + 1)
        ),
        now,
    )
    copy_rows(
        Membership,
        (
            {"id": i, "user_id": base + i, "tenant_id": i, "role": "admin"}
            for i in range(1, count + 1)
        ),
        now,
    )
    probe = user_model(password=password)
    auth_hash = probe.get_session_auth_hash()
    store = SessionStore()
    expire = now + timedelta(days=1)
    sessions: list[tuple[str, int]] = []
    rows = []
    for i in range(1, count + 1):
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {
            "_auth_user_id": str(base + i),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": auth_hash,
            "portal_tenant_id": i,
        }
        rows.append({"session_key": key, "session_data": store.encode(data), "expire_date": expire})
        sessions.append((key, i))
    from django.contrib.sessions.models import Session  # noqa: PLC0415 -- app registry ready

    copy_rows(Session, rows, now)
    rng.shuffle(sessions)
    return sessions


def current_version(code: str) -> TermsVersion:
    return TermsVersion.objects.get(
        document__product__code=code, document__slug="terms", status=VersionStatus.EFFECTIVE
    )


def base_document(code: str) -> TermsDocument:
    return TermsDocument.objects.get(product__code=code, slug="terms")
