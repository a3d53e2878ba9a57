"""The status check's per-document rows as one hand-written statement (status_check.py), for
one tenant or, on PostgreSQL, for many tenants at once (the bulk status check)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connections, router

from agreements.enums import Answer, CaseStatus, ConsentMode, LegalBasis, VersionStatus
from agreements.models import TermsDocument

# The status check's per-document row in one hand-written statement: the ORM spent about 60 %
# of the check's CPU compiling the twelve correlated subqueries this replaces, on every call.
# Same semantics as those subqueries (latest row by id or seq, LIMIT 1), each read through an
# index: versions by (document, status), the projection by (tenant, document), the ledger and
# the cases by tenant. Its last join is the hand-written form of rules.binding_version (R4):
# the newest version in effect that binds the tenant — on a 548-4(1) ground, imported as
# history, accepted last, or not owed (no contract of the tenant bound by the document on its
# effective date); tests/agreements/test_binding_version.py holds it equal to the rule.
_DOCUMENTS_WITH_STATUS_SQL = """
SELECT d.id, d.slug, d.kind, d.option_id,
       f.id, f.label, f.consent_mode, f.is_historical, f.effective_on,
       f.gating_enabled, f.gating_grace_days,
       (SELECT r.answer FROM agreements_consentrecord r
           JOIN agreements_termsversion rv ON rv.id = r.version_id
         WHERE r.document_id = d.id AND r.tenant_id = %(tenant)s AND rv.status = %(effective)s
         ORDER BY r.seq DESC LIMIT 1),
       p.id, p.label, p.effective_on, p.gating_enabled, p.gating_grace_days,
       s.status, s.version_id,
       c.status, c.end_date,
       b.id, b.label
  FROM agreements_termsdocument d
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
        WHERE st.document_id = d.id AND st.tenant_id = %(tenant)s LIMIT 1
  ) s ON TRUE
  LEFT JOIN LATERAL (
       SELECT tc.status, tc.end_date FROM agreements_terminationcase tc
         JOIN agreements_termsversion cv ON cv.id = tc.version_id
        WHERE tc.tenant_id = %(tenant)s AND cv.document_id = d.id
          AND tc.status IN (%(case_open)s, %(case_confirmed)s)
        ORDER BY tc.id DESC LIMIT 1
  ) c ON TRUE
  LEFT JOIN LATERAL (
       SELECT bv.id, bv.label FROM agreements_termsversion bv
        WHERE bv.document_id = d.id AND bv.status IN (%(effective)s, %(superseded)s)
          AND (bv.is_historical
               OR bv.legal_basis IN (%(general_interest)s, %(reasonable)s)
               OR (bv.legal_basis = '' AND bv.consent_mode <> %(explicit_mode)s)
               OR (SELECT r.answer FROM agreements_consentrecord r
                    WHERE r.tenant_id = %(tenant)s AND r.version_id = bv.id
                    ORDER BY r.seq DESC LIMIT 1) = %(accepted)s
               OR NOT EXISTS (
                    SELECT 1 FROM agreements_contract k
                     WHERE k.tenant_id = %(tenant)s AND k.product_id = d.product_id
                       AND k.start_date <= bv.effective_on
                       AND (k.ended_on IS NULL OR k.ended_on >= bv.effective_on)
                       AND (d.option_id IS NULL OR EXISTS (
                            SELECT 1 FROM agreements_contract_options ko
                             WHERE ko.contract_id = k.id AND ko.option_id = d.option_id))))
        ORDER BY bv.effective_on DESC, bv.id DESC LIMIT 1
  ) b ON TRUE
 WHERE d.product_id = %(product)s
 ORDER BY d.precedence, d.slug
"""
# The portable form of the same statement (SQLite, which `make run` uses, has no LATERAL): each
# lateral row becomes a join on the id its correlated subquery picks. Same rows, same order.
_DOCUMENTS_WITH_STATUS_SQL_PORTABLE = """
SELECT d.id, d.slug, d.kind, d.option_id,
       f.id, f.label, f.consent_mode, f.is_historical, f.effective_on,
       f.gating_enabled, f.gating_grace_days,
       (SELECT r.answer FROM agreements_consentrecord r
           JOIN agreements_termsversion rv ON rv.id = r.version_id
         WHERE r.document_id = d.id AND r.tenant_id = %(tenant)s AND rv.status = %(effective)s
         ORDER BY r.seq DESC LIMIT 1),
       p.id, p.label, p.effective_on, p.gating_enabled, p.gating_grace_days,
       s.status, s.version_id,
       c.status, c.end_date,
       b.id, b.label
  FROM agreements_termsdocument d
  LEFT JOIN agreements_termsversion f ON f.id = (
       SELECT v.id FROM agreements_termsversion v
        WHERE v.document_id = d.id AND v.status = %(effective)s ORDER BY v.id DESC LIMIT 1)
  LEFT JOIN agreements_termsversion p ON p.id = (
       SELECT v.id FROM agreements_termsversion v
        WHERE v.document_id = d.id AND v.status = %(scheduled)s AND v.posted_at IS NOT NULL
        ORDER BY v.id DESC LIMIT 1)
  LEFT JOIN agreements_consentstate s ON s.id = (
       SELECT st.id FROM agreements_consentstate st
        WHERE st.document_id = d.id AND st.tenant_id = %(tenant)s LIMIT 1)
  LEFT JOIN agreements_terminationcase c ON c.id = (
       SELECT tc.id FROM agreements_terminationcase tc
         JOIN agreements_termsversion cv ON cv.id = tc.version_id
        WHERE tc.tenant_id = %(tenant)s AND cv.document_id = d.id
          AND tc.status IN (%(case_open)s, %(case_confirmed)s)
        ORDER BY tc.id DESC LIMIT 1)
  LEFT JOIN agreements_termsversion b ON b.id = (
       SELECT bv.id FROM agreements_termsversion bv
        WHERE bv.document_id = d.id AND bv.status IN (%(effective)s, %(superseded)s)
          AND (bv.is_historical
               OR bv.legal_basis IN (%(general_interest)s, %(reasonable)s)
               OR (bv.legal_basis = '' AND bv.consent_mode <> %(explicit_mode)s)
               OR (SELECT r.answer FROM agreements_consentrecord r
                    WHERE r.tenant_id = %(tenant)s AND r.version_id = bv.id
                    ORDER BY r.seq DESC LIMIT 1) = %(accepted)s
               OR NOT EXISTS (
                    SELECT 1 FROM agreements_contract k
                     WHERE k.tenant_id = %(tenant)s AND k.product_id = d.product_id
                       AND k.start_date <= bv.effective_on
                       AND (k.ended_on IS NULL OR k.ended_on >= bv.effective_on)
                       AND (d.option_id IS NULL OR EXISTS (
                            SELECT 1 FROM agreements_contract_options ko
                             WHERE ko.contract_id = k.id AND ko.option_id = d.option_id))))
        ORDER BY bv.effective_on DESC, bv.id DESC LIMIT 1)
 WHERE d.product_id = %(product)s
 ORDER BY d.precedence, d.slug
"""


def documents_with_status_sql(vendor: str) -> str:
    """The statement for this database: LATERAL on PostgreSQL, the portable form elsewhere."""
    if vendor == "postgresql":
        return _DOCUMENTS_WITH_STATUS_SQL
    return _DOCUMENTS_WITH_STATUS_SQL_PORTABLE


_DOCUMENTS_WITH_STATUS_COLUMNS = (
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


def documents_with_status_params(*, tenant_id: int, product_id: int) -> dict[str, Any]:
    """The statement's parameters: the caller's tenant and product, and the stored values of
    the statuses, legal bases and answers it compares with."""
    return {
        "tenant": tenant_id,
        "product": product_id,
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


def documents_with_status(*, tenant_id: int, product_id: int) -> list[dict[str, Any]]:
    """Per document of the product: the in-force and posted pending versions, the tenant's last
    answer to the version in force, its projection row, its live rejection case and the
    version that binds it (R4)."""
    # The same database the ORM reads of this check use (the replica inside reads_from_replica).
    connection = connections[router.db_for_read(TermsDocument)]
    with connection.cursor() as cursor:
        cursor.execute(
            documents_with_status_sql(connection.vendor),
            documents_with_status_params(tenant_id=tenant_id, product_id=product_id),
        )
        return [dict(zip(_DOCUMENTS_WITH_STATUS_COLUMNS, row, strict=True)) for row in cursor]


def _many_tenants(single: str) -> str:
    """The PostgreSQL statement for a list of tenants: the same statement with the tenant taken
    from `unnest(%(tenants)s)` instead of one parameter, rows in the list's order."""
    edits = (
        ("SELECT d.id, d.slug", "SELECT t.tenant_id, d.id, d.slug"),
        (
            "  FROM agreements_termsdocument d\n",
            "  FROM unnest(%(tenants)s::bigint[]) WITH ORDINALITY AS t(tenant_id, ord)\n"
            " CROSS JOIN agreements_termsdocument d\n",
        ),
        (" ORDER BY d.precedence, d.slug", " ORDER BY t.ord, d.precedence, d.slug"),
    )
    sql = single
    for old, new in edits:
        if sql.count(old) != 1:  # the statement changed shape: edit this too
            raise RuntimeError(f"status statement: expected one {old!r}")
        sql = sql.replace(old, new)
    return sql.replace("%(tenant)s", "t.tenant_id")


_DOCUMENTS_WITH_STATUS_MANY_SQL = _many_tenants(_DOCUMENTS_WITH_STATUS_SQL)


def documents_with_status_many(
    *, tenant_ids: Sequence[int], product_id: int
) -> dict[int, list[dict[str, Any]]]:
    """`documents_with_status` for each of `tenant_ids`: one statement on PostgreSQL, one per
    tenant elsewhere (SQLite has no LATERAL; `make run` serves a handful of tenants)."""
    connection = connections[router.db_for_read(TermsDocument)]
    found: dict[int, list[dict[str, Any]]] = {tenant_id: [] for tenant_id in tenant_ids}
    if not tenant_ids:
        return found
    if connection.vendor != "postgresql":
        return {
            tenant_id: documents_with_status(tenant_id=tenant_id, product_id=product_id)
            for tenant_id in tenant_ids
        }
    params = documents_with_status_params(tenant_id=0, product_id=product_id)
    params["tenants"] = list(tenant_ids)
    with connection.cursor() as cursor:
        cursor.execute(_DOCUMENTS_WITH_STATUS_MANY_SQL, params)
        for tenant_id, *row in cursor:
            found[tenant_id].append(dict(zip(_DOCUMENTS_WITH_STATUS_COLUMNS, row, strict=True)))
    return found
