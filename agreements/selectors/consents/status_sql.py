"""The status check's rows as one hand-written statement (status_check.py): the tenant's
contracts for the product and, per document of the product, what the check reads; for one
tenant or, on PostgreSQL, for many tenants at once (the bulk status check)."""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from django.db import connections, router
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.utils import ProgrammingError

from agreements.enums import Answer, CaseStatus, ConsentMode, LegalBasis, VersionStatus
from agreements.models import TermsDocument

# A contract as the status check reads it: pk, status, option (one row per option, None
# without one), start date, end date.
ContractRow = tuple[Any, ...]  # (int, str, int | None, date, date | None)

# The status check in one hand-written statement: the ORM spent about 60 % of the check's CPU
# compiling the twelve correlated subqueries the document branch replaces, on every call, and
# the tenant's contracts were a statement of their own. Two branches of one UNION ALL:
#
# - per document of the product, the in-force and posted pending versions, the tenant's last
#   answer to the version in force, its projection row, its live case and the version binding
#   it. Same semantics as those subqueries (latest row by id or seq, LIMIT 1), each read
#   through an index: versions by (document, status), the projection by (tenant, document),
#   the ledger and the cases by tenant. Its last join is the hand-written form of
#   rules.binding_version (R4): the newest version in effect that binds the tenant — on a
#   548-4(1) ground, imported as history, accepted last, or not owed (no contract of the
#   tenant bound by the document on its effective date); tests/agreements/
#   test_binding_version.py holds it equal to the rule. Only for a tenant the caller reaches
#   (`any_tenant`: staff; otherwise a tenant with a contract for the product, status_check.py);
# - the tenant's contracts for the product, one row per option, document columns NULL.
#
# `{tenant}` is the tenant's id, `{tenants}` what the tenants come from and `{tenant_columns}`
# and `{tenant_order}` what identifies and orders them (_single and _many below).
_DOCUMENT_BRANCH_LATERAL = """
SELECT {tenant_columns}d.id, d.slug, d.kind, d.option_id,
       f.id, f.label, f.consent_mode, f.is_historical, f.effective_on,
       f.gating_enabled, f.gating_grace_days,
       (SELECT r.answer FROM agreements_consentrecord r
           JOIN agreements_termsversion rv ON rv.id = r.version_id
         WHERE r.document_id = d.id AND r.tenant_id = {tenant} AND rv.status = %(effective)s
         ORDER BY r.seq DESC LIMIT 1),
       p.id, p.label, p.effective_on, p.gating_enabled, p.gating_grace_days,
       s.status, s.version_id,
       c.status, c.end_date,
       b.id, b.label,
       {contract_nulls}, d.precedence
  FROM {tenants}agreements_termsdocument d
  LEFT JOIN LATERAL (
       SELECT v.id, v.label, v.consent_mode, v.is_historical, v.effective_on,
              v.gating_enabled, v.gating_grace_days
         FROM agreements_termsversion v
        WHERE v.document_id = d.id AND v.status = %(effective)s ORDER BY v.id DESC LIMIT 1
  ) f ON TRUE
  LEFT JOIN LATERAL (
       SELECT v.id, v.label, v.effective_on, v.gating_enabled, v.gating_grace_days
         FROM agreements_termsversion v
        WHERE v.document_id = d.id AND v.status = %(scheduled)s AND v.posted_at IS NOT NULL
        ORDER BY v.id DESC LIMIT 1
  ) p ON TRUE
  LEFT JOIN LATERAL (
       SELECT st.status, st.version_id FROM agreements_consentstate st
        WHERE st.document_id = d.id AND st.tenant_id = {tenant} LIMIT 1
  ) s ON TRUE
  LEFT JOIN LATERAL (
       SELECT tc.status, tc.end_date FROM agreements_terminationcase tc
         JOIN agreements_termsversion cv ON cv.id = tc.version_id
        WHERE tc.tenant_id = {tenant} AND cv.document_id = d.id
          AND tc.status IN (%(case_open)s, %(case_confirmed)s)
        ORDER BY tc.id DESC LIMIT 1
  ) c ON TRUE
  LEFT JOIN LATERAL (
       SELECT bv.id, bv.label FROM agreements_termsversion bv
        WHERE bv.document_id = d.id AND bv.status IN (%(effective)s, %(superseded)s)
          AND {binds}
        ORDER BY bv.effective_on DESC, bv.id DESC LIMIT 1
  ) b ON TRUE
 WHERE d.product_id = %(product)s AND {reached}"""

# The portable form of the same branch (SQLite, which `make run` uses, has no LATERAL): each
# lateral row becomes a join on the id its correlated subquery picks. Same rows, same order.
_DOCUMENT_BRANCH_PORTABLE = """
SELECT {tenant_columns}d.id, d.slug, d.kind, d.option_id,
       f.id, f.label, f.consent_mode, f.is_historical, f.effective_on,
       f.gating_enabled, f.gating_grace_days,
       (SELECT r.answer FROM agreements_consentrecord r
           JOIN agreements_termsversion rv ON rv.id = r.version_id
         WHERE r.document_id = d.id AND r.tenant_id = {tenant} AND rv.status = %(effective)s
         ORDER BY r.seq DESC LIMIT 1),
       p.id, p.label, p.effective_on, p.gating_enabled, p.gating_grace_days,
       s.status, s.version_id,
       c.status, c.end_date,
       b.id, b.label,
       {contract_nulls}, d.precedence
  FROM {tenants}agreements_termsdocument d
  LEFT JOIN agreements_termsversion f ON f.id = (
       SELECT v.id FROM agreements_termsversion v
        WHERE v.document_id = d.id AND v.status = %(effective)s ORDER BY v.id DESC LIMIT 1)
  LEFT JOIN agreements_termsversion p ON p.id = (
       SELECT v.id FROM agreements_termsversion v
        WHERE v.document_id = d.id AND v.status = %(scheduled)s AND v.posted_at IS NOT NULL
        ORDER BY v.id DESC LIMIT 1)
  LEFT JOIN agreements_consentstate s ON s.id = (
       SELECT st.id FROM agreements_consentstate st
        WHERE st.document_id = d.id AND st.tenant_id = {tenant} LIMIT 1)
  LEFT JOIN agreements_terminationcase c ON c.id = (
       SELECT tc.id FROM agreements_terminationcase tc
         JOIN agreements_termsversion cv ON cv.id = tc.version_id
        WHERE tc.tenant_id = {tenant} AND cv.document_id = d.id
          AND tc.status IN (%(case_open)s, %(case_confirmed)s)
        ORDER BY tc.id DESC LIMIT 1)
  LEFT JOIN agreements_termsversion b ON b.id = (
       SELECT bv.id FROM agreements_termsversion bv
        WHERE bv.document_id = d.id AND bv.status IN (%(effective)s, %(superseded)s)
          AND {binds}
        ORDER BY bv.effective_on DESC, bv.id DESC LIMIT 1)
 WHERE d.product_id = %(product)s AND {reached}"""

# Whether version `bv` binds the tenant (rules.binding_version, R4).
_BINDS = """(bv.is_historical
               OR bv.legal_basis IN (%(general_interest)s, %(reasonable)s)
               OR (bv.legal_basis = '' AND bv.consent_mode <> %(explicit_mode)s)
               OR (SELECT r.answer FROM agreements_consentrecord r
                    WHERE r.tenant_id = {tenant} AND r.version_id = bv.id
                    ORDER BY r.seq DESC LIMIT 1) = %(accepted)s
               OR NOT EXISTS (
                    SELECT 1 FROM agreements_contract k
                     WHERE k.tenant_id = {tenant} AND k.product_id = d.product_id
                       AND k.start_date <= bv.effective_on
                       AND (k.ended_on IS NULL OR k.ended_on >= bv.effective_on)
                       AND (d.option_id IS NULL OR EXISTS (
                            SELECT 1 FROM agreements_contract_options ko
                             WHERE ko.contract_id = k.id AND ko.option_id = d.option_id))))"""

# Documents are read for a tenant the caller reaches: staff reach every tenant (the caller
# checked it exists), a product a tenant with a contract for it (status_check.py).
_REACHED = """(%(any_tenant)s OR EXISTS (
       SELECT 1 FROM agreements_contract kr
        WHERE kr.tenant_id = {tenant} AND kr.product_id = %(product)s))"""

_CONTRACT_BRANCH = """
UNION ALL
SELECT {tenant_columns}{document_nulls},
       k.id, k.status, ko.option_id, k.start_date, k.ended_on, NULL
  FROM {tenants}agreements_contract k
  LEFT JOIN agreements_contract_options ko ON ko.contract_id = k.id
 WHERE k.tenant_id = {tenant} AND k.product_id = %(product)s
 ORDER BY {tenant_order}precedence, slug, contract_id, contract_option_id
"""

_DOCUMENT_COLUMNS = (
    "pk",
    "slug",
    "kind",
    "option_id",
    "in_force_id",
    "in_force_label",
    "in_force_mode",
    "in_force_historical",
    "in_force_effective_on",
    "in_force_gating",
    "in_force_grace_days",
    "in_force_answer",
    "pending_id",
    "pending_label",
    "pending_effective_on",
    "pending_gating",
    "pending_grace_days",
    "state_status",
    "state_version_id",
    "case_status",
    "case_end_date",
    "binding_id",
    "binding_label",
)
# After the document columns: a contract row's (NULL on document rows), then the sort key.
_CONTRACT_COLUMNS = (
    "contract_id",
    "contract_status",
    "contract_option_id",
    "contract_start_date",
    "contract_ended_on",
)
STATUS_COLUMNS = (*_DOCUMENT_COLUMNS, *_CONTRACT_COLUMNS, "precedence")
_WIDTH = len(_DOCUMENT_COLUMNS)


def _statement(document_branch: str, **tenant: str) -> str:
    """The whole statement from a form of the document branch and how tenants are named."""
    parts = {
        "binds": _BINDS.format(**tenant),
        "reached": _REACHED.format(**tenant),
        # The first branch names the columns the ORDER BY reads (and PostgreSQL types the
        # NULLs of each branch from the other).
        "contract_nulls": ", ".join(f"NULL AS {name}" for name in _CONTRACT_COLUMNS),
        "document_nulls": ", ".join(["NULL"] * _WIDTH),
    }
    return (document_branch + _CONTRACT_BRANCH).format(**parts, **tenant)


_SINGLE = {"tenant": "%(tenant)s", "tenants": "", "tenant_columns": "", "tenant_order": ""}
# PostgreSQL only: the tenants from `unnest(%(tenants)s)`, rows in the list's order.
_MANY = {
    "tenant": "t.tenant_id",
    "tenants": "unnest(%(tenants)s::bigint[]) WITH ORDINALITY AS t(tenant_id, ord)\n CROSS JOIN ",
    "tenant_columns": "t.tenant_id, t.ord, ",
    "tenant_order": "ord, ",
}

_STATUS_SQL = _statement(_DOCUMENT_BRANCH_LATERAL, **_SINGLE)
_STATUS_SQL_PORTABLE = _statement(_DOCUMENT_BRANCH_PORTABLE, **_SINGLE)
_STATUS_MANY_SQL = _statement(_DOCUMENT_BRANCH_LATERAL, **_MANY)


def status_sql(vendor: str) -> str:
    """The statement for this database: LATERAL on PostgreSQL, the portable form elsewhere."""
    if vendor == "postgresql":
        return _STATUS_SQL
    return _STATUS_SQL_PORTABLE


def status_params(*, tenant_id: int, product_id: int, any_tenant: bool) -> dict[str, Any]:
    """The statement's parameters: the caller's tenant and product, whether documents are read
    for a tenant without a contract for the product (staff), and the stored values of the
    statuses, legal bases and answers it compares with."""
    return {
        "tenant": tenant_id,
        "product": product_id,
        "any_tenant": any_tenant,
        "effective": VersionStatus.EFFECTIVE.value,
        "superseded": VersionStatus.SUPERSEDED.value,
        "scheduled": VersionStatus.SCHEDULED.value,
        "case_open": CaseStatus.OPEN.value,
        "case_confirmed": CaseStatus.CONFIRMED.value,
        "general_interest": LegalBasis.GENERAL_INTEREST.value,
        "reasonable": LegalBasis.REASONABLE.value,
        "explicit_mode": ConsentMode.EXPLICIT.value,
        "accepted": Answer.ACCEPTED.value,
    }


# On PostgreSQL the single-tenant statement runs inside a PL/pgSQL function, which keeps its
# plan for the session: planning the statement cost about three times running it (1.4 ms
# against 0.35 ms a call at 100,000 tenants), and a cold status check is this statement. A
# function, not PREPARE, because PREPARE does not survive PgBouncer's transaction pooling.
# Its name carries a hash of its text, so code and function always agree: `migrate` creates
# it (post_migrate, agreements/apps.py); a process that meets a database without it uses the
# statement itself (logged once).
_FUNCTION_ARGUMENTS = {"tenant": "p_tenant", "product": "p_product", "any_tenant": "p_any_tenant"}
_FUNCTION_SIGNATURE = "p_tenant bigint, p_product bigint, p_any_tenant boolean"
log = logging.getLogger(__name__)


def _function_query() -> str:
    """The single-tenant statement with the function's arguments in place of the caller's
    parameters and the stored values it compares with written in as literals."""
    constants = status_params(tenant_id=0, product_id=0, any_tenant=False)

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _FUNCTION_ARGUMENTS:
            return _FUNCTION_ARGUMENTS[name]
        return "'" + str(constants[name]).replace("'", "''") + "'"

    return re.sub(r"%\((\w+)\)s", replace, _STATUS_SQL)


STATUS_FUNCTION = (
    "agreements_status_rows_" + hashlib.sha256(_function_query().encode()).hexdigest()[:12]
)
_function_missing: set[str] = set()  # database aliases found without it (this process)


def install_status_function(connection: BaseDatabaseWrapper) -> None:
    """Create the status check's function on a PostgreSQL database, unless it exists (its
    name is its text's hash: one that exists is this one), so a `migrate` with nothing new
    needs no right to create it. Its result columns take the types the statement gives them
    on this database."""
    if connection.vendor != "postgresql":
        return
    query = _function_query()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT to_regprocedure(%s) IS NOT NULL", [f"{STATUS_FUNCTION}(bigint,bigint,boolean)"]
        )
        if cursor.fetchone()[0]:
            _function_missing.discard(connection.alias)
            return
        cursor.execute(
            f"SELECT * FROM ({_STATUS_SQL}) q LIMIT 0",  # noqa: S608 -- this module's text
            status_params(tenant_id=0, product_id=0, any_tenant=False),
        )
        oids = [column.type_code for column in cursor.description]
        cursor.execute(
            "SELECT oid::int, format_type(oid, NULL) FROM pg_type WHERE oid = ANY(%s)", [oids]
        )
        types = dict(cursor.fetchall())
        columns = ", ".join(
            f"o_{name} {types[oid]}" for name, oid in zip(STATUS_COLUMNS, oids, strict=True)
        )
        cursor.execute(
            f"""CREATE OR REPLACE FUNCTION {STATUS_FUNCTION}({_FUNCTION_SIGNATURE})
RETURNS TABLE ({columns}) LANGUAGE plpgsql STABLE AS $status$
#variable_conflict use_column
BEGIN
RETURN QUERY {query};
END
$status$"""
        )
    _function_missing.discard(connection.alias)


@dataclass
class StatusRows:
    """What the status check reads for one tenant: its contracts for the product, and per
    document of the product (in order) the statement's row."""

    contracts: list[ContractRow] = field(default_factory=list)
    documents: list[dict[str, Any]] = field(default_factory=list)

    def add(self, row: Sequence[Any]) -> None:
        if row[0] is not None:
            self.documents.append(dict(zip(_DOCUMENT_COLUMNS, row, strict=False)))
            return
        pk, status, option, start, ended = row[_WIDTH : _WIDTH + len(_CONTRACT_COLUMNS)]
        self.contracts.append((pk, status, option, _date(start), _date(ended)))


def _date(value: Any) -> date | None:
    # SQLite names no type for a column of a UNION's later branch: its dates come as text.
    return date.fromisoformat(value) if isinstance(value, str) else value


def status_rows(*, tenant_id: int, product_id: int, any_tenant: bool) -> StatusRows:
    """The tenant's contracts for the product and the product's documents as the tenant stands
    on each: the in-force and posted pending versions, its last answer to the version in
    force, its projection row, its live rejection case and the version that binds it (R4).
    Without `any_tenant`, no documents for a tenant without a contract for the product."""
    # The same database the check's other reads use (the replica inside reads_from_replica).
    connection = connections[router.db_for_read(TermsDocument)]
    found = StatusRows()
    with connection.cursor() as cursor:
        if (
            connection.vendor == "postgresql"
            and connection.alias not in _function_missing
            and _call_function(connection, cursor, (tenant_id, product_id, any_tenant))
        ):
            for row in cursor:
                found.add(row)
            return found
        cursor.execute(
            status_sql(connection.vendor),
            status_params(tenant_id=tenant_id, product_id=product_id, any_tenant=any_tenant),
        )
        for row in cursor:
            found.add(row)
    return found


def _call_function(connection: BaseDatabaseWrapper, cursor: Any, args: tuple[Any, ...]) -> bool:
    """Run the status function; False (and the statement from now on) where the database was
    not migrated with this code. Inside a transaction the error would abort it: raised."""
    try:
        cursor.execute(f"SELECT * FROM {STATUS_FUNCTION}(%s, %s, %s)", args)  # noqa: S608
    except ProgrammingError as error:
        # 42883: no such function (a database migrated by other code); 42501: the role may
        # not execute it (EXECUTE revoked from PUBLIC without a grant to the service's role).
        code = getattr(error.__cause__, "pgcode", None)
        if code not in ("42883", "42501") or connection.in_atomic_block:
            raise
        _function_missing.add(connection.alias)
        log.warning(
            "status check: %s is %s on database %s (docs/operations.md, Upgrade); using the "
            "statement",
            STATUS_FUNCTION,
            "missing" if code == "42883" else "not executable by this role",
            connection.alias,
        )
        return False
    return True


def status_rows_many(
    *, tenant_ids: Sequence[int], product_id: int, any_tenant: bool
) -> dict[int, StatusRows]:
    """`status_rows` for each of `tenant_ids`: one statement on PostgreSQL, one per tenant
    elsewhere (SQLite has no LATERAL; `make run` serves a handful of tenants)."""
    connection = connections[router.db_for_read(TermsDocument)]
    if not tenant_ids:
        return {}
    if connection.vendor != "postgresql":
        return {
            tenant_id: status_rows(
                tenant_id=tenant_id, product_id=product_id, any_tenant=any_tenant
            )
            for tenant_id in tenant_ids
        }
    found = {tenant_id: StatusRows() for tenant_id in tenant_ids}
    params = status_params(tenant_id=0, product_id=product_id, any_tenant=any_tenant)
    params["tenants"] = list(tenant_ids)
    with connection.cursor() as cursor:
        cursor.execute(_STATUS_MANY_SQL, params)
        for tenant_id, _ord, *row in cursor:
            found[tenant_id].add(row)
    return found
