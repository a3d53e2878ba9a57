"""The demo data set, laid out relative to an as-of date so that it is always live.

The story is played through the real services with the one clock moved day by day, so the
demo holds exactly what the service would have recorded: contracts in every state, answers
of every kind (accepted, rejected, deemed), an effective deemed-mode revision, a rejection
case confirmed into a termination, deletions falling due, and an explicit-consent revision
posted but not yet effective.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from django.db import transaction

from agreements.catalog import catalog_ensure
from agreements.demo.cast import (
    MARKER_PARTNER,
    partner_with_key,
    product_keys,
    staff_users,
    tenants_with_admins,
)
from agreements.demo.contracts import sign_contracts
from agreements.demo.summary import DemoSummary
from agreements.demo.terms import edit_change_clause, edit_data_storage, import_terms, revision
from agreements.enums import Answer, ConsentMode, LegalBasis, TerminationReason
from agreements.models.contracts import Contract, TerminationCase
from agreements.models.documents import TermsVersion
from agreements.services.consents import (
    EvidenceInput,
    case_confirm,
    consent_answer,
    notice_seen_in_portal,
)
from agreements.services.contracts import (
    contracts_roll_due,
    non_renewal_request,
    termination_request,
)
from agreements.services.versions import notices_post_due, versions_apply_effective
from core import clock
from tenants.models import Partner
from tenants.scope import Scope


def _evidence(name: str, email: str, method: str) -> EvidenceInput:
    return EvidenceInput(
        person_name=name,
        person_email=email,
        ip_address="203.0.113.10",
        user_agent="Mozilla/5.0 (demo)",
        obtained_at=clock.now(),
        method=method,
    )


@transaction.atomic
def demo_load(*, as_of: date, terms_dir: Path | None = None) -> DemoSummary:
    """Play the demo story up to `as_of`. Idempotent: a second run only prints the logins."""
    summary = DemoSummary(as_of=as_of)
    staff = staff_users(summary)
    already = Partner.objects.filter(code=MARKER_PARTNER).exists()
    partner_a, scope_a = partner_with_key(
        MARKER_PARTNER, "デモ販売パートナーA株式会社", "api@partner-a.example", summary
    )
    partner_b, scope_b = partner_with_key(
        "demo-partner-b", "デモ販売パートナーB株式会社", "api@partner-b.example", summary
    )
    catalog = catalog_ensure()
    product_keys(catalog, summary)
    people = tenants_with_admins(partner_a, partner_b, summary)
    if already:
        summary.created = False
        return summary

    import_terms(terms_dir, as_of=as_of, summary=summary)
    staff_scope = Scope.staff(staff["admin"])  # type: ignore[arg-type]
    d = as_of
    t = {slug: tenant for slug, (tenant, _) in people.items()}
    admin_of = {slug: Scope.tenant_user(m) for slug, (_, m) in people.items()}
    contracts = sign_contracts(
        as_of=d,
        catalog=catalog,
        tenants=t,
        staff_scope=staff_scope,
        scope_a=scope_a,
        scope_b=scope_b,
    )
    summary.story.append(f"contracts: {Contract.objects.count()} created on their start dates")

    # Revision A: deemed mode, effective 30 days ago (R3): silent tenants are deemed.
    rev_a = revision(
        catalog=catalog,
        staff=staff,
        label=f"{(d - timedelta(days=30)).isoformat()}",
        # A type-(ii) change: at least 30 days between posting and effect (R2).
        drafted_on=d - timedelta(days=70),
        notice_on=d - timedelta(days=62),
        effective_on=d - timedelta(days=30),
        mode=ConsentMode.DEEMED,
        legal_basis=LegalBasis.REASONABLE,
        rationale="掲示期間を明確にするための変更であり、契約の目的に反せず合理的である（第２条第１項に基づく変更）。",
        categories=[{"kind": "substantive", "title": "変更手続の明確化（掲示期間の新設）"}],
        edit=edit_change_clause,
    )
    start = min(c.start_date for c in Contract.objects.all())
    day = start
    events: dict[date, list[Callable[[], None]]] = {}

    def on(when: date, action: Callable[[], None]) -> None:
        events.setdefault(when, []).append(action)

    def answer(slug: str, version: TermsVersion, value: str, *, via_partner: bool = False) -> None:
        scope = scope_a if via_partner else admin_of[slug]
        email = f"admin@{slug}.example"
        method = "partner obtained by phone" if via_partner else "portal"
        version.refresh_from_db()  # posted or made effective by the day's jobs since
        consent_answer(
            scope=scope,
            tenant=t[slug],
            version=version,
            answer=value,
            evidence=_evidence(f"{slug} admin", email, method),
        )

    def seen(version: TermsVersion) -> None:
        # R3: each tenant's admin opens the notice in the portal (how it reached them).
        version.refresh_from_db()
        for slug, scope in admin_of.items():
            notice_seen_in_portal(scope=scope, tenant=t[slug], version=version)

    on(d - timedelta(days=55), lambda: seen(rev_a))
    # Before A takes effect: one accepts in the portal, one accepts through its partner,
    # one rejects (R6 case, later confirmed by staff into a prospective termination).
    on(d - timedelta(days=40), lambda: answer("shoji", rev_a, Answer.ACCEPTED))
    on(
        d - timedelta(days=40),
        lambda: answer("butsuryu", rev_a, Answer.ACCEPTED, via_partner=True),
    )
    on(d - timedelta(days=39), lambda: answer("shoten", rev_a, Answer.REJECTED))
    on(
        d - timedelta(days=35),
        lambda: case_confirm(
            scope=staff_scope,
            case=TerminationCase.objects.get(tenant=t["shoten"], version=rev_a),
            note="改定に同意いただけないため、将来に向けて提供を終了する（第２条第４項）。",
        ),
    )
    on(
        d - timedelta(days=20),
        lambda: termination_request(
            scope=staff_scope,
            contract=contracts["kensetsu_biz"],
            end_date=d - timedelta(days=10),
            reason=TerminationReason.NON_PAYMENT,
            note="３か月分の料金未払い（第１３条第１項第１号）",
        ),
    )
    on(
        d - timedelta(days=15),
        lambda: non_renewal_request(scope=scope_a, contract=contracts["seisakusho_idp"]),
    )
    # Revision B: explicit consent, drafted once A is in force, posted three days ago and
    # effective in ten days (R4). Answers of both kinds; the others have not answered yet.
    pending: dict[str, TermsVersion] = {}

    def schedule_b() -> None:
        pending["b"] = revision(
            catalog=catalog,
            staff=staff,
            label=f"{(d + timedelta(days=10)).isoformat()}",
            drafted_on=d - timedelta(days=5),
            notice_on=d - timedelta(days=3),
            effective_on=d + timedelta(days=10),
            mode=ConsentMode.EXPLICIT,
            legal_basis=LegalBasis.EXPLICIT_CONSENT,
            rationale="データの保管場所に関する新たな定めであり、お客様の個別の同意を得て変更する（第２条第２項）。",
            categories=[{"kind": "substantive", "title": "データの保管場所の新設"}],
            edit=edit_data_storage,
        )

    on(d - timedelta(days=5), schedule_b)
    on(d - timedelta(days=2), lambda: answer("trading", pending["b"], Answer.ACCEPTED))
    on(d - timedelta(days=1), lambda: answer("iryo", pending["b"], Answer.REJECTED))

    # Play every day up to the as-of date: the day's jobs first, then what people did.
    while day <= d:
        with clock.frozen_at(day):
            contracts_roll_due(today=day)
            for action in events.get(day, []):
                action()
            notices_post_due(today=day)
            versions_apply_effective(today=day)
        day += timedelta(days=1)
    rev_b = pending["b"]

    for contract in (
        contracts["shoji_biz"],
        contracts["butsuryu_biz"],
        contracts["trading_idp"],
        contracts["gakuen_biz"],
        contracts["iryo_biz"],
    ):
        contract.refresh_from_db()
    summary.story.extend(
        [
            f"revision {rev_a.label}: deemed mode, effective {rev_a.effective_on}",
            f"revision {rev_b.label}: explicit consent, posted {rev_b.notice_on}, effective {rev_b.effective_on}",
            f"{t['shoji'].name}: Optimal Biz auto-renews; non-renewal deadline in 5 days",
            f"{t['butsuryu'].name}: Optimal Biz ended {contracts['butsuryu_biz'].ended_on}; deletions fall due",
            f"{t['kensetsu'].name}: terminated for non-payment",
            f"{t['shoten'].name}: rejected {rev_a.label}; case confirmed",
            f"{t['trading'].name}: ID+ with device authentication (R18) on its Optimal Biz",
        ]
    )
    return summary
