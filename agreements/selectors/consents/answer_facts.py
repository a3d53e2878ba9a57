"""What an answer to a version reads of its tenant, in one statement under the head lock
(agreements.services.consents.answers): the projection row for the document, every contract
through which the document binds the tenant with the end filed for it, and the tenant's last
answer to each version it may still be bound by (R4).

The consent truth table, R4's "is an answer owed" and the binding version are decided from
these rows in Python, by the same rules the consent status uses (agreements.rules); only the
reads are put together. Plain SQL (no LATERAL), so SQLite runs the same statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import connection

from agreements.enums import ContractStatus, NonRenewalStatus, TerminationStatus
from agreements.models import ConsentState, Contract
from core import prepared

# The projection row's columns in model order, so that ConsentState.from_db takes them as is.
_STATE_FIELDS = [field.attname for field in ConsentState._meta.concrete_fields]
_OPTIONS_TABLE = Contract.options.through._meta.db_table


@dataclass(frozen=True)
class ContractReach:
    """One contract of the tenant that the document binds (R1), in time."""

    pk: int
    active: bool  # active now: the answer needs one (consent_answer's `not_bound`)
    start: date
    ended_on: date | None
    # The end it has, or the one filed for it (a non-renewal, a scheduled termination):
    # agreements.selectors.consents.bound.filed_end.
    filed_end: date | None


@dataclass(frozen=True)
class AnswerFacts:
    state: ConsentState | None  # the projection row (tenant × document), if any
    state_effective_on: date | None  # the effective date of the row's version
    contracts: tuple[ContractReach, ...]  # every status, oldest first
    last_answers: dict[int, str]  # version id → the tenant's last answer to it, where asked


def _day(value: Any) -> date | None:
    """A date column: SQLite hands computed columns back as ISO text."""
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def answer_facts(
    *,
    tenant_id: int,
    document_id: int,
    product_id: int,
    option_id: int | None,
    answers_to: Sequence[int] = (),
) -> AnswerFacts:
    """The rows an answer of `tenant_id` to a version of the document decides on, in one
    statement: one row per contract of the tenant for the document's product (and option, for
    individual rules), each carrying the projection row and the last answers to `answers_to`
    (at least one row, contracts or not)."""
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "document": document_id,
        "product": product_id,
        "option": option_id,
        "nonrenewal_active": NonRenewalStatus.ACTIVE.value,
        "termination_scheduled": TerminationStatus.SCHEDULED.value,
    }
    answers = []
    for index, version_id in enumerate(answers_to):
        params[f"v{index}"] = version_id
        answers.append(
            "(SELECT r.answer FROM agreements_consentrecord r "  # noqa: S608 -- placeholders only
            f"WHERE r.tenant_id = %(tenant)s AND r.version_id = %(v{index})s "
            "ORDER BY r.seq DESC LIMIT 1)"
        )
    option = (
        f" AND c.id IN (SELECT co.contract_id FROM {_OPTIONS_TABLE} co "  # noqa: S608 -- table name from the model
        "WHERE co.option_id = %(option)s)"
        if option_id is not None
        else ""
    )
    columns = ", ".join(
        [f"s.{name}" for name in _STATE_FIELDS]
        + [
            "sv.effective_on, c.id, c.status, c.start_date, c.ended_on",
            "(SELECT n.end_date FROM agreements_nonrenewalrequest n WHERE n.contract_id = c.id "
            "AND n.status = %(nonrenewal_active)s ORDER BY n.id LIMIT 1)",
            "(SELECT t.end_date FROM agreements_termination t WHERE t.contract_id = c.id "
            "AND t.status = %(termination_scheduled)s ORDER BY t.id LIMIT 1)",
            *answers,
        ]
    )
    sql = (
        f"SELECT {columns} FROM (SELECT %(tenant)s AS tenant_id) o "  # noqa: S608 -- placeholders only
        "LEFT JOIN agreements_consentstate s "
        "ON s.tenant_id = o.tenant_id AND s.document_id = %(document)s "
        "LEFT JOIN agreements_termsversion sv ON sv.id = s.version_id "
        "LEFT JOIN agreements_contract c "
        f"ON c.tenant_id = o.tenant_id AND c.product_id = %(product)s{option} "
        "ORDER BY c.id"
    )
    with connection.cursor() as cursor:
        prepared.execute(cursor, sql, params)
        rows = cursor.fetchall()
    first = rows[0]
    width = len(_STATE_FIELDS)
    state = (
        ConsentState.from_db(connection.alias, _STATE_FIELDS, first[:width])
        if first[0] is not None
        else None
    )
    contracts = []
    for row in rows:
        pk, status, start, ended_on, renewal_end, termination_end = row[width + 1 : width + 7]
        if pk is None:
            continue
        ended = _day(ended_on)
        filed = [d for d in (_day(renewal_end), _day(termination_end)) if d is not None]
        contracts.append(
            ContractReach(
                pk=pk,
                active=status == ContractStatus.ACTIVE,
                start=_day(start),  # type: ignore[arg-type]
                ended_on=ended,
                filed_end=ended if ended is not None else min(filed, default=None),
            )
        )
    last = first[width + 7 :]
    return AnswerFacts(
        state=state,
        state_effective_on=_day(first[width]) if state is not None else None,
        contracts=tuple(contracts),
        last_answers={
            version_id: answer
            for version_id, answer in zip(answers_to, last, strict=True)
            if answer is not None
        },
    )
