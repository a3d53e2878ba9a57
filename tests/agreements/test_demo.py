"""loaddemo lays out a live demo relative to --as-of, through the real services (Foundation 3)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta

import pytest
from django.core.management import call_command

from agreements.enums import VersionStatus
from agreements.ledger.verify import ledger_verify
from agreements.models.consents import ConsentRecord, ConsentState
from agreements.models.contracts import Contract, NonRenewalRequest, TerminationCase
from agreements.models.deletions import DataDeletion
from agreements.models.documents import TermsVersion
from tenants.models import Tenant

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

AS_OF = date(2026, 6, 15)


def test_loaddemo_lays_out_every_state_relative_to_as_of(capsys) -> None:
    call_command("loaddemo", "--as-of", AS_OF.isoformat())
    out = capsys.readouterr().out
    assert "loaded" in out
    assert "Api-Key tpk_" in out

    assert Counter(Contract.objects.values_list("status", "end_reason")) == {
        ("active", ""): 6,
        ("ended", "expired"): 1,
        ("terminated", "non_payment"): 1,
        ("terminated", "terms_rejected"): 1,  # the R6 case confirmed by staff
    }

    assert set(ConsentRecord.objects.values_list("answer", flat=True)) == {
        "accepted",
        "rejected",
        "deemed",
    }

    pending = TermsVersion.objects.get(status=VersionStatus.SCHEDULED)
    assert pending.posted_at is not None
    assert pending.notice_on == AS_OF - timedelta(days=3)
    assert pending.effective_on == AS_OF + timedelta(days=10)
    assert pending.consent_mode == "explicit"
    assert Counter(
        ConsentState.objects.filter(version=pending).values_list("status", flat=True)
    ) == {
        "no_answer": 5,
        "accepted": 1,
        "rejected": 1,
    }
    assert TerminationCase.objects.filter(status="open", version=pending).count() == 1

    shoji = Contract.objects.get(tenant__name="株式会社デモ商事")
    request_deadline = shoji.periods.get(status="open").end_date
    assert request_deadline == AS_OF + timedelta(days=36)
    assert NonRenewalRequest.objects.filter(status="active").count() == 1
    due = DataDeletion.objects.filter(status="scheduled", due_on__lte=AS_OF)
    assert due.count() == 1
    trading_idp = Contract.objects.get(
        tenant__name="Demo Trading K.K.", product__code="optim-id-plus"
    )
    assert list(trading_idp.options.values_list("code", flat=True)) == ["device-auth"]
    assert ledger_verify() == []


def test_loaddemo_is_idempotent(capsys) -> None:
    call_command("loaddemo", "--as-of", AS_OF.isoformat())
    counts = (Tenant.objects.count(), Contract.objects.count(), ConsentRecord.objects.count())
    call_command("loaddemo", "--as-of", AS_OF.isoformat())
    assert "already present" in capsys.readouterr().out
    assert (
        Tenant.objects.count(),
        Contract.objects.count(),
        ConsentRecord.objects.count(),
    ) == counts


def test_loaddemo_with_the_real_seeds(seeds_dir) -> None:
    call_command("loaddemo", "--as-of", AS_OF.isoformat(), "--terms-dir", str(seeds_dir))
    biz = TermsVersion.objects.get(document__product__code="optimal-biz", label="2024-11-22")
    assert biz.articles.count() == 19
    assert (
        TermsVersion.objects.filter(
            document__product__code="optim-id-plus", is_excerpt=True
        ).count()
        == 2
    )
