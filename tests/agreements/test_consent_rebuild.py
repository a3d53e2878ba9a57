"""The ConsentState projection is rebuildable from the ledger and the versions (docs/ledger.md)."""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from hypothesis import event, given, settings
from hypothesis import strategies as st

from agreements.enums import ConsentMode, ConsentStatus, VersionStatus
from agreements.ledger.verify import ledger_verify
from agreements.models import ConsentState, TermsDocument, TermsVersion
from agreements.rules import TransitionNotAllowed
from agreements.services.consents.answers import consent_answer
from agreements.services.consents.effective import consents_apply_effective
from agreements.services.consents.projection import consent_state_rebuild, consent_states_open
from core import clock
from core.errors import Conflict
from tests.factories.agreements import (
    ContractFactory,
    DocumentFactory,
    OptionFactory,
    VersionFactory,
)
from tests.factories.consents import BEFORE, admin_scope, bound_tenant, posted_version
from tests.factories.tenants import TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _projection() -> set[tuple[int, int, int, str, int | None]]:
    return set(
        ConsentState.objects.values_list(
            "tenant_id", "document_id", "version_id", "status", "record_id"
        )
    )


# --- a random history -------------------------------------------------------------------------

TENANTS = 3
DOCUMENTS = 2  # base terms, and individual rules of an option tenants 0 and 1 hold

_answer = st.tuples(
    st.just("answer"),
    st.integers(0, TENANTS - 1),
    st.integers(0, DOCUMENTS - 1),
    st.sampled_from(["accepted", "rejected"]),
)
# Answers are most of what happens; posting, taking effect and time passing punctuate them.
operation = st.one_of(
    _answer,
    _answer,
    _answer,
    st.tuples(st.just("post"), st.integers(0, DOCUMENTS - 1), st.sampled_from(ConsentMode.values)),
    st.tuples(st.just("effective"), st.integers(0, DOCUMENTS - 1)),
    st.tuples(st.just("effective"), st.integers(0, DOCUMENTS - 1)),
    st.tuples(st.just("advance"), st.integers(1, 5)),
)
# Every history starts by posting a revision of each document (in a random mode), so the
# answers that follow have something to answer.
history_ops = st.builds(
    lambda modes, ops: [("post", i, mode) for i, mode in enumerate(modes)] + ops,
    st.lists(st.sampled_from(ConsentMode.values), min_size=DOCUMENTS, max_size=DOCUMENTS),
    st.lists(operation, min_size=1, max_size=14),
)


class History:
    """Replays operations the way the services see them in production, day by day."""

    def __init__(self) -> None:
        option = OptionFactory()
        base = DocumentFactory(product=option.product)
        rules = DocumentFactory(product=option.product, kind="individual", option=option)
        self.documents: list[TermsDocument] = [base, rules]
        for document in self.documents:
            VersionFactory(document=document, is_historical=True)  # in force, never posted
        self.tenants = [TenantFactory() for _ in range(TENANTS)]
        for index, tenant in enumerate(self.tenants):
            contract = ContractFactory(tenant=tenant, product=option.product)
            if index < 2:
                contract.options.add(option)
        self.scopes = [admin_scope(t) for t in self.tenants]
        self.today = date(2025, 1, 10)

    def latest(self, document: TermsDocument) -> TermsVersion | None:
        scheduled = document.versions.filter(status=VersionStatus.SCHEDULED).first()
        return scheduled or document.versions.filter(status=VersionStatus.EFFECTIVE).first()

    def run(self, op: tuple) -> None:
        kind = op[0]
        with clock.frozen_at(self.today):
            if kind == "advance":
                self.today += timedelta(days=op[1])
            elif kind == "post":
                self.post(self.documents[op[1]], op[2])
            elif kind == "answer":
                self.answer(op[1], self.documents[op[2]], op[3])
            elif kind == "effective":
                self.effective(self.documents[op[1]])

    def post(self, document: TermsDocument, mode: str) -> None:
        if document.versions.filter(status=VersionStatus.SCHEDULED).exists():
            return  # R7: one scheduled version at a time
        version = posted_version(
            document, mode=mode, notice_on=self.today, effective_on=self.today + timedelta(days=10)
        )
        consent_states_open(version=version)

    def answer(self, tenant: int, document: TermsDocument, value: str) -> None:
        version = self.latest(document)
        assert version is not None
        # Refused by the truth table, or the tenant is not bound (no option): nothing recorded.
        with contextlib.suppress(TransitionNotAllowed, Conflict):
            consent_answer(
                scope=self.scopes[tenant],
                tenant=self.tenants[tenant],
                version=version,
                answer=value,
            )

    def effective(self, document: TermsDocument) -> None:
        version = document.versions.filter(status=VersionStatus.SCHEDULED).first()
        if version is None:
            return
        assert version.effective_on is not None
        self.today = max(self.today, version.effective_on)
        TermsVersion.objects.filter(document=document, status=VersionStatus.EFFECTIVE).update(
            status=VersionStatus.SUPERSEDED, superseded_on=version.effective_on
        )
        TermsVersion.objects.filter(pk=version.pk).update(status=VersionStatus.EFFECTIVE)
        version.refresh_from_db()
        with clock.frozen_at(self.today):
            consents_apply_effective(version=version, today=self.today)


# Each example builds a small world in the database; 25 keeps the suite fast (the
# `thorough` profile does not override an explicit setting, so raise it here to dig deeper).
@settings(max_examples=25)
@given(history_ops)
def test_rebuild_consent_state_equals_the_live_projection(ops: list[tuple]) -> None:
    with transaction.atomic():
        history = History()
        for op in ops:
            history.run(op)
        live = _projection()
        for status in sorted({row[3] for row in live}):
            event(f"status {status}")
        assert consent_state_rebuild() == 0
        assert _projection() == live
        ConsentState.objects.all().delete()
        consent_state_rebuild()
        assert _projection() == live
        assert ledger_verify() == []
        transaction.set_rollback(True)


# --- the command ------------------------------------------------------------------------------


def test_rebuild_consent_state_command_repairs_a_corrupted_projection(
    capsys: pytest.CaptureFixture[str],
) -> None:
    version = posted_version()
    tenant = bound_tenant(version.document).tenant
    consent_states_open(version=version)
    with clock.frozen_at(BEFORE):
        record, _ = consent_answer(
            scope=admin_scope(tenant), tenant=tenant, version=version, answer="rejected"
        )
    ConsentState.objects.filter(tenant=tenant).update(status=ConsentStatus.ACCEPTED)
    with pytest.raises(CommandError, match="differs from the ledger in 1 rows"):
        call_command("rebuild_consent_state", check=True)
    assert ConsentState.objects.get(tenant=tenant).status == ConsentStatus.ACCEPTED  # untouched
    call_command("rebuild_consent_state")
    assert "1 rows changed" in capsys.readouterr().out
    state = ConsentState.objects.get(tenant=tenant)
    assert (state.status, state.record_id) == (ConsentStatus.REJECTED, record.pk)
    call_command("rebuild_consent_state", check=True)


def test_rebuild_consent_state_historical_explicit_version_owes_nothing() -> None:
    """An imported version never went through the effective-date job: nobody is outstanding."""
    document = DocumentFactory()
    VersionFactory(document=document, consent_mode=ConsentMode.EXPLICIT, is_historical=True)
    bound_tenant(document)
    assert consent_state_rebuild() == 0
    assert not ConsentState.objects.exists()
