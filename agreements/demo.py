"""The demo data set, laid out relative to an as-of date so that it is always live.

The story is played through the real services with the one clock moved day by day, so the
demo holds exactly what the service would have recorded: contracts in every state, answers
of every kind (accepted, rejected, deemed), an effective deemed-mode revision, a rejection
case confirmed into a termination, deletions falling due, and an explicit-consent revision
posted but not yet effective.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from dateutil.relativedelta import relativedelta
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from agreements.catalog import BIZ, ID_PLUS, Catalog, catalog_ensure
from agreements.enums import Answer, BillingCycle, ConsentMode, LegalBasis, TerminationReason
from agreements.models import Article, Contract, ProductKey, TerminationCase, TermsVersion
from agreements.rules import period_end
from agreements.services.consents import EvidenceInput, case_confirm, consent_answer
from agreements.services.contracts import (
    contract_create,
    contracts_roll_due,
    non_renewal_request,
    termination_request,
)
from agreements.services.imports import terms_import, terms_import_notice
from agreements.services.version_drafts import article_upsert, version_draft_create
from agreements.services.versions import (
    notices_post_due,
    version_schedule,
    versions_apply_effective,
)
from core import clock
from tenants.enums import KeyScope, Role
from tenants.keys import PARTNER_KEY_TAG, PRODUCT_KEY_TAG, hash_key, issue_key
from tenants.models import Membership, Partner, PartnerAPIKey, Tenant
from tenants.scope import Scope

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 -- demo data only, printed by loaddemo
DEMO_TERMS_DIR = Path(__file__).resolve().parent / "demo_terms"
SEED_BIZ = "000_3b3fbece59582643.txt"
SEED_ID_PLUS_NOTICE = "003_9a175ff40b65501c.txt"
MARKER_PARTNER = "demo-partner-a"


@dataclass
class DemoSummary:
    as_of: date
    created: bool = True
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # (where, user, password)
    keys: list[tuple[str, str]] = field(default_factory=list)  # (who, key)
    story: list[str] = field(default_factory=list)


def _user(username: str, *, email: str, staff: bool = False, superuser: bool = False):
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=username, defaults={"email": email, "is_staff": staff, "is_superuser": superuser}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    return user


def _demo_secret(name: str) -> str:
    # Demo keys are derived from their name so that re-running loaddemo prints the same key.
    return f"demo-{name}-not-for-production"


def _partner(code: str, name: str, email: str, summary: DemoSummary) -> tuple[Partner, Scope]:
    partner, _ = Partner.objects.get_or_create(
        code=code, defaults={"name": name, "contact_email": email}
    )
    issued = issue_key(PARTNER_KEY_TAG, secret=_demo_secret(code))
    key, _ = PartnerAPIKey.objects.get_or_create(
        hashed_key=issued.hashed,
        defaults={
            "partner": partner,
            "name": "demo",
            "prefix": issued.prefix,
            "scopes": [KeyScope.READ, KeyScope.WRITE],
        },
    )
    summary.keys.append((partner.name, issued.full))
    return partner, Scope.partner(key)


def _product_key(catalog: Catalog, summary: DemoSummary) -> None:
    for product in (catalog.biz, catalog.id_plus):
        issued = issue_key(PRODUCT_KEY_TAG, secret=_demo_secret(product.code))
        if not ProductKey.objects.filter(hashed_key=issued.hashed).exists():
            ProductKey.objects.create(
                product=product,
                name="demo",
                prefix=issued.prefix,
                hashed_key=hash_key(issued.full),
                scopes=["status:read", "deletion:ack"],
            )
        summary.keys.append((f"{product.name} (product)", issued.full))


def _staff(summary: DemoSummary) -> dict[str, object]:
    admin = _user("admin", email="admin@optim.example", staff=True, superuser=True)
    summary.logins.append(("admin / console (superuser)", admin.username, DEMO_PASSWORD))
    staff = {"admin": admin}
    for group_name in ("editor", "publisher", "viewer"):
        user = _user(f"staff-{group_name}", email=f"{group_name}@optim.example", staff=True)
        user.groups.add(Group.objects.get(name=group_name))
        staff[group_name] = user
        summary.logins.append((f"console ({group_name})", user.username, DEMO_PASSWORD))
    return staff


def _tenant(
    name: str, slug: str, partner: Partner | None, summary: DemoSummary, *, locale: str = "ja"
) -> tuple[Tenant, Membership]:
    tenant, _ = Tenant.objects.get_or_create(
        name=name,
        defaults={"partner": partner, "contact_email": f"it@{slug}.example", "locale": locale},
    )
    admin_membership = None
    for role in (Role.ADMIN, Role.VIEWER):
        email = f"{role}@{slug}.example"
        user = _user(email, email=email)
        membership, _ = Membership.objects.get_or_create(
            user=user, tenant=tenant, defaults={"role": role}
        )
        if role == Role.ADMIN:
            admin_membership = membership
        summary.logins.append((f"portal {role} ({name})", email, DEMO_PASSWORD))
    assert admin_membership is not None  # noqa: S101 -- created above
    return tenant, admin_membership


def _article_body(article: Article) -> str:
    lines: list[str] = []
    for paragraph in article.paragraphs.order_by("position"):
        lines.append(f"{paragraph.label}{paragraph.text}" if paragraph.label else paragraph.text)
        lines.extend(f"{item['label']}{item['text']}" for item in paragraph.items)
    return "\n".join(lines)


def _next_label(article: Article) -> str:
    numbers = [p.number for p in article.paragraphs.all() if p.number]
    return f"{(max(numbers) if numbers else 0) + 1}."


def _import_terms(terms_dir: Path | None, *, as_of: date, summary: DemoSummary) -> None:
    """The versions in force: the real seeds with --terms-dir, else the demo samples."""
    system = Scope.system()
    with clock.frozen_at(as_of):
        if terms_dir is not None:
            biz_text = (terms_dir / SEED_BIZ).read_text(encoding="utf-8")
            notice_text = (terms_dir / SEED_ID_PLUS_NOTICE).read_text(encoding="utf-8")
            terms_import(
                scope=system,
                product_code=BIZ,
                label="2024-11-22",
                effective_on=min(date(2024, 11, 22), as_of - timedelta(days=90)),
                text=biz_text,
                historical=True,
            )
            terms_import_notice(scope=system, product_code=ID_PLUS, text=notice_text)
            summary.story.append(
                "terms: real seeds (Optimal Biz 2024-11-22, ID+ 2022 excerpt pair)"
            )
        else:
            for code, name, day in (
                (BIZ, "optimal-biz.txt", date(2024, 11, 22)),
                (ID_PLUS, "optim-id-plus.txt", date(2022, 4, 27)),
            ):
                terms_import(
                    scope=system,
                    product_code=code,
                    label=day.isoformat(),
                    effective_on=min(day, as_of - timedelta(days=90)),
                    text=(DEMO_TERMS_DIR / name).read_text(encoding="utf-8"),
                    historical=True,
                )
            summary.story.append("terms: demo samples (shipped; --terms-dir loads the real seeds)")


def _revision(
    *,
    catalog: Catalog,
    staff: dict[str, object],
    label: str,
    drafted_on: date,
    notice_on: date,
    effective_on: date,
    mode: str,
    legal_basis: str,
    rationale: str,
    categories: list[dict[str, str]],
    edit: Callable[[TermsVersion, Scope], None],
) -> TermsVersion:
    editor, publisher = Scope.staff(staff["editor"]), Scope.staff(staff["publisher"])  # type: ignore[arg-type]
    with clock.frozen_at(drafted_on):
        draft = version_draft_create(scope=editor, document=catalog.biz_terms, label=label)
        edit(draft, editor)
        return version_schedule(
            scope=publisher,
            version=draft,
            notice_on=notice_on,
            effective_on=effective_on,
            consent_mode=mode,
            legal_basis=legal_basis,
            rationale=rationale,
            categories=categories,
        )


def _edit_change_clause(draft: TermsVersion, scope: Scope) -> None:
    article = draft.articles.get(number=2)
    body = _article_body(article) + (
        f"\n{_next_label(article)}当社は、本規約を変更する場合、効力発生日の７日前までに"
        "変更内容及び効力発生日を当社ウェブサイトに掲示します。"
    )
    article_upsert(scope=scope, version=draft, number=2, title=article.title, body=body)


def _edit_data_storage(draft: TermsVersion, scope: Scope) -> None:
    last = draft.articles.order_by("-number").first()
    number = (last.number if last else 0) + 1
    article_upsert(
        scope=scope,
        version=draft,
        number=number,
        title="データの保管場所",
        body=(
            "1. 当社は、本製品の提供に必要な範囲で、お客様のデータを日本国外のデータセンターに"
            "保管することがあります。\n2. 前項の保管先は、当社ウェブサイトに掲示します。"
        ),
    )


def _evidence(name: str, email: str, method: str) -> EvidenceInput:
    return EvidenceInput(
        person_name=name,
        person_email=email,
        ip_address="203.0.113.10",
        user_agent="Mozilla/5.0 (demo)",
        obtained_at=clock.now(),
        method=method,
    )


def _create(scope: Scope, on: date, **kwargs: object) -> Contract:
    with clock.frozen_at(on):
        return contract_create(scope=scope, start_date=on, **kwargs)  # type: ignore[arg-type]


def _start_for_end(end: date, months: int) -> date:
    """The start date whose first period of `months` ends on `end` (R10, start day counts)."""
    start = end + timedelta(days=1) - relativedelta(months=months)
    while period_end(start=start, months=months) < end:
        start += timedelta(days=1)
    return start


@transaction.atomic
def demo_load(*, as_of: date, terms_dir: Path | None = None) -> DemoSummary:
    """Play the demo story up to `as_of`. Idempotent: a second run only prints the logins."""
    summary = DemoSummary(as_of=as_of)
    staff = _staff(summary)
    already = Partner.objects.filter(code=MARKER_PARTNER).exists()
    partner_a, scope_a = _partner(
        MARKER_PARTNER, "デモ販売パートナーA株式会社", "api@partner-a.example", summary
    )
    partner_b, scope_b = _partner(
        "demo-partner-b", "デモ販売パートナーB株式会社", "api@partner-b.example", summary
    )
    catalog = catalog_ensure()
    _product_key(catalog, summary)
    people = {
        slug: _tenant(name, slug, partner, summary, locale=locale)
        for name, slug, partner, locale in (
            ("株式会社デモ商事", "shoji", None, "ja"),
            ("デモ製作所株式会社", "seisakusho", partner_a, "ja"),
            ("デモ物流株式会社", "butsuryu", partner_a, "ja"),
            ("デモ建設株式会社", "kensetsu", partner_b, "ja"),
            ("Demo Trading K.K.", "trading", None, "en"),
            ("デモ医療法人", "iryo", partner_b, "ja"),
            ("デモ学園", "gakuen", None, "ja"),
            ("デモ旧商店", "shoten", partner_a, "ja"),
        )
    }
    if already:
        summary.created = False
        return summary

    _import_terms(terms_dir, as_of=as_of, summary=summary)
    staff_scope = Scope.staff(staff["admin"])  # type: ignore[arg-type]
    d = as_of
    t = {slug: tenant for slug, (tenant, _) in people.items()}
    admin_of = {slug: Scope.tenant_user(m) for slug, (_, m) in people.items()}
    annual = {"billing_cycle": BillingCycle.ANNUAL, "amount_jpy": 360_000}

    # Contracts in every state, each created on its start date (R9).
    near_deadline_end = d + timedelta(days=36)  # non-renewal deadline five days away
    shoji_biz = _create(
        staff_scope,
        _start_for_end(near_deadline_end, 12),
        tenant=t["shoji"],
        product=catalog.biz,
        auto_renew=True,
        notice_months=1,
        order_ref="DEMO-ORDER-001",
        **annual,
    )
    seisakusho_idp = _create(
        scope_a,
        d - relativedelta(months=10),
        tenant=t["seisakusho"],
        product=catalog.id_plus,
        **annual,
    )
    butsuryu_biz = _create(
        scope_a,
        _start_for_end(d - timedelta(days=35), 12),
        tenant=t["butsuryu"],
        product=catalog.biz,
        auto_renew=False,
        **annual,
    )
    kensetsu_biz = _create(
        staff_scope,
        d - relativedelta(months=8),
        tenant=t["kensetsu"],
        product=catalog.biz,
        billing_cycle=BillingCycle.MONTHLY,
        amount_jpy=30_000,
        auto_renew=True,
        notice_months=1,
    )
    trading_biz = _create(
        staff_scope,
        d - relativedelta(months=7),
        tenant=t["trading"],
        product=catalog.biz,
        auto_renew=True,
        notice_months=2,
        **annual,
    )
    trading_idp = _create(
        staff_scope,
        d - relativedelta(months=6),
        tenant=t["trading"],
        product=catalog.id_plus,
        options=[catalog.device_auth],
        billing_cycle=BillingCycle.MULTI_YEAR,
        cycle_months=36,
        amount_jpy=900_000,
        lump_sum_jpy=900_000,
        term_months=36,
    )
    iryo_biz = _create(
        scope_b,
        d - relativedelta(months=14),
        tenant=t["iryo"],
        product=catalog.biz,
        billing_cycle=BillingCycle.MONTHLY,
        amount_jpy=20_000,
        auto_renew=True,
        notice_months=1,
    )
    gakuen_biz = _create(
        staff_scope,
        d - relativedelta(months=5),
        tenant=t["gakuen"],
        product=catalog.biz,
        billing_cycle=BillingCycle.LUMP_SUM,
        lump_sum_jpy=500_000,
        term_months=24,
    )
    _create(
        scope_a,
        d - relativedelta(months=9),
        tenant=t["shoten"],
        product=catalog.biz,
        auto_renew=True,
        notice_months=1,
        **annual,
    )
    summary.story.append(f"contracts: {Contract.objects.count()} created on their start dates")

    # Revision A: deemed mode, effective 30 days ago (R3): silent tenants are deemed.
    rev_a = _revision(
        catalog=catalog,
        staff=staff,
        label=f"{(d - timedelta(days=30)).isoformat()}",
        drafted_on=d - timedelta(days=52),
        notice_on=d - timedelta(days=45),
        effective_on=d - timedelta(days=30),
        mode=ConsentMode.DEEMED,
        legal_basis=LegalBasis.REASONABLE,
        rationale="掲示期間を明確にするための変更であり、契約の目的に反せず合理的である（第２条第１項に基づく変更）。",
        categories=[{"kind": "editorial", "title": "変更手続の明確化"}],
        edit=_edit_change_clause,
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
            contract=kensetsu_biz,
            end_date=d - timedelta(days=10),
            reason=TerminationReason.NON_PAYMENT,
            note="３か月分の料金未払い（第１３条第１項第１号）",
        ),
    )
    on(d - timedelta(days=15), lambda: non_renewal_request(scope=scope_a, contract=seisakusho_idp))
    # Revision B: explicit consent, drafted once A is in force, posted three days ago and
    # effective in ten days (R4). Answers of both kinds; the others have not answered yet.
    pending: dict[str, TermsVersion] = {}

    def schedule_b() -> None:
        pending["b"] = _revision(
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
            edit=_edit_data_storage,
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

    for contract in (shoji_biz, butsuryu_biz, trading_idp, gakuen_biz, iryo_biz):
        contract.refresh_from_db()
    summary.story.extend(
        [
            f"revision {rev_a.label}: deemed mode, effective {rev_a.effective_on}",
            f"revision {rev_b.label}: explicit consent, posted {rev_b.notice_on}, effective {rev_b.effective_on}",
            f"{t['shoji'].name}: Optimal Biz auto-renews; non-renewal deadline in 5 days",
            f"{t['butsuryu'].name}: Optimal Biz ended {butsuryu_biz.ended_on}; deletions fall due",
            f"{t['kensetsu'].name}: terminated for non-payment",
            f"{t['shoten'].name}: rejected {rev_a.label}; case confirmed",
            f"{t['trading'].name}: ID+ with device authentication (R18) on its Optimal Biz",
        ]
    )
    _ = (trading_biz, gakuen_biz)
    return summary
