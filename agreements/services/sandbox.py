"""Sandboxes: a partner's test data apart from live data, on a clock it moves (docs/api.md,
"Sandbox").

A sandbox is a partner row of its own linked to the live partner (`Partner.sandbox_of`), with
its own instant (`Partner.sandbox_now`) and its own copies of the products, their documents
and the versions in force (`Product.sandbox`). Its keys belong to it, so the partner scoping
every selector applies keeps its tenants, contracts, answers, events and webhooks apart from
live data; a simulated revision is a version of the sandbox's own document, so it binds the
sandbox's tenants and nobody else. Moving the clock is agreements.jobs.sandbox.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, TypeVar

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from agreements.enums import ConsentMode, LegalBasis, ProductKeyScope, VersionStatus
from agreements.models import Article, Paragraph, Product, ProductKey, TermsDocument, TermsVersion
from agreements.models.products import Option
from agreements.selectors.sandbox import (
    live_partner_of,
    sandbox_partner_keys,
    sandbox_product_keys,
)
from agreements.selectors.versions import version_in_force, version_pending
from agreements.services.version_text import copy_articles, notice_title_for, version_body_hash
from core import clock
from core.enums import AuditAction
from core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from core.services import audit_add
from tenants.auth import key_revoke
from tenants.keys import PARTNER_KEY_TAG, PRODUCT_KEY_TAG, issue_key
from tenants.models import Partner, PartnerAPIKey
from tenants.scope import Scope

SANDBOX_NOTE_TITLE = "（サンドボックスの模擬改定）"


def sandbox_of(scope: Scope, *, lock: bool = False) -> Partner:
    """The caller's sandbox partner row; a live key is refused with `sandbox_key_required`."""
    partner = None
    if scope.is_partner and scope.partner_id is not None:
        rows = Partner.objects.filter(pk=scope.partner_id, sandbox_of__isnull=False)
        partner = (rows.select_for_update() if lock else rows).first()
    if partner is None:
        raise PermissionDenied(
            _("この操作はサンドボックスのキーでのみ行えます。本番のデータには使えません。"),
            code="sandbox_key_required",
        )
    return partner


def _copy_catalog(sandbox: Partner, today: date) -> list[Product]:
    """Copy every live product, its options, documents and the versions in force."""
    products: dict[int, Product] = {}
    for live in Product.objects.filter(sandbox__isnull=True).order_by("pk"):
        products[live.pk] = Product.objects.create(
            code=live.code,
            name=live.name,
            name_en=live.name_en,
            start_day_counts=live.start_day_counts,
            terms_auto_renewal=live.terms_auto_renewal,
            terms_notice_months=live.terms_notice_months,
            sandbox=sandbox,
        )
    options: dict[int, Option] = {}
    for option in Option.objects.filter(product_id__in=products).order_by("pk"):
        options[option.pk] = Option.objects.create(
            product=products[option.product_id],
            code=option.code,
            name=option.name,
            name_en=option.name_en,
            requires_product=products.get(option.requires_product_id or 0),
        )
    documents = TermsDocument.objects.filter(product_id__in=products).order_by("pk")
    for document in documents:
        copy = TermsDocument.objects.create(
            product=products[document.product_id],
            option=options.get(document.option_id or 0),
            kind=document.kind,
            slug=document.slug,
            title=document.title,
            precedence=document.precedence,
        )
        source = version_in_force(document=document, on_date=today)
        if source is None:
            continue
        version = TermsVersion.objects.get(pk=source.pk)
        version.pk = None
        version.id = None
        version.document = copy
        version.based_on = None
        version.consents_owed = False
        version.save()
        copy_articles(source, version)
    return list(products.values())


def _issue(model: Any, tag: str, **fields: Any) -> tuple[Any, str]:
    issued = issue_key(tag)
    row = model.objects.create(prefix=issued.prefix, hashed_key=issued.hashed, **fields)
    return row, issued.full


@transaction.atomic
def sandbox_open(
    *, scope: Scope
) -> tuple[Partner, tuple[PartnerAPIKey, str], list[tuple[ProductKey, str]]]:
    """Create the caller's sandbox on first use (its clock starts now), and issue a new sandbox
    partner key (the live key's scopes) and one product key per sandbox product (so the
    integration can also play the product: status, deletion acknowledgements)."""
    live = live_partner_of(scope)
    _require_write(scope)
    Partner.objects.select_for_update().filter(pk=live.pk).first()
    sandbox = Partner.objects.filter(sandbox_of=live).first()
    if sandbox is None:
        sandbox = Partner.objects.create(
            code=f"{live.code}--sandbox"[:64],
            name=f"{live.name}（サンドボックス）",
            contact_email=live.contact_email,
            sandbox_of=live,
            sandbox_now=clock.now(),
        )
        _copy_catalog(sandbox, clock.today())
    live_key = scope.acting_key
    partner_key = _issue(
        PartnerAPIKey,
        PARTNER_KEY_TAG,
        partner=sandbox,
        name="sandbox",
        scopes=list(live_key.scopes if live_key is not None else []),
    )
    product_keys = [
        _issue(
            ProductKey,
            PRODUCT_KEY_TAG,
            product=product,
            name="sandbox",
            scopes=list(ProductKeyScope.values),
        )
        for product in Product.objects.filter(sandbox=sandbox).order_by("code")
    ]
    audit_add(
        actor=None,
        action="create",
        obj=sandbox,
        summary=f"sandbox of {live.code}: key {partner_key[0].prefix}",
        data={"live_partner": live.pk},
    )
    return sandbox, partner_key, product_keys


def _require_write(scope: Scope) -> None:
    if not scope.can_write:
        raise PermissionDenied(
            _("このAPIキーには更新の権限がありません。"), code="write_scope_required"
        )


KeyRow = TypeVar("KeyRow", PartnerAPIKey, ProductKey)


def _revoke(scope: Scope, keys: QuerySet[KeyRow], key_id: int) -> KeyRow:
    """Revoke one of `keys` (the caller's sandbox's); revoking a revoked key changes nothing."""
    _require_write(scope)
    key = keys.filter(pk=key_id).first()
    if key is None:
        raise NotFound(_("サンドボックスのキーが見つかりません。"), code="sandbox_key_not_found")
    # Keys run on real time whatever a sandbox's clock says: the live key revokes them.
    if key_revoke(key, at=clock.wall_now()):
        audit_add(
            actor=None,
            action=AuditAction.REVOKE_KEY,
            obj=key,
            summary=f"sandbox key {key.prefix}",
            data={"live_partner": live_partner_of(scope, "revoke").pk, "prefix": key.prefix},
            actor_label=f"partner-key:{scope.partner_key.prefix if scope.partner_key else ''}",
        )
    return key


@transaction.atomic
def sandbox_partner_key_revoke(*, scope: Scope, key_id: int) -> PartnerAPIKey:
    """Revoke a partner key of the caller's sandbox, with the caller's live key (`write`):
    from the next request on, the key is a 401."""
    return _revoke(scope, sandbox_partner_keys(scope=scope, doing="revoke"), key_id)


@transaction.atomic
def sandbox_product_key_revoke(*, scope: Scope, key_id: int) -> ProductKey:
    """Revoke a product key of the caller's sandbox, as sandbox_partner_key_revoke."""
    return _revoke(scope, sandbox_product_keys(scope=scope, doing="revoke"), key_id)


def _full_width(number: int) -> str:
    return str(number).translate(str.maketrans("0123456789", "０１２３４５６７８９"))


@transaction.atomic
def sandbox_revision_schedule(
    *,
    scope: Scope,
    product_code: str,
    effective_on: date,
    consent_mode: str,
    notice_on: date | None = None,
) -> TermsVersion:
    """Schedule a simulated revision of the sandbox's copy of a product's base terms: the
    version in force with one added article, posted on `notice_on` (default the sandbox's
    today) and effective on `effective_on`. Visible to the sandbox's tenants only."""
    sandbox = sandbox_of(scope)
    today = clock.today()
    notice_on = notice_on or today
    # At most a year ahead: a revision pending for ever would block every later one, and a
    # sandbox revision cannot be withdrawn.
    if notice_on < today or effective_on <= notice_on or effective_on > today + timedelta(days=366):
        raise ValidationFailed(
            _(
                "掲示日はサンドボックスの今日以降、効力発生日は掲示日より後で、"
                "今日から1年以内にしてください。"
            ),
            code="sandbox_revision_dates",
        )
    document = (
        TermsDocument.objects.select_for_update()
        .filter(product__sandbox=sandbox, product__code=product_code, option__isnull=True)
        .order_by("precedence", "pk")
        .first()
    )
    if document is None:
        raise NotFound(_("製品が見つかりません。"), code="product_not_found")
    source = version_in_force(document=document, on_date=today)
    if source is None or version_pending(document=document) is not None:
        raise Conflict(
            _("この製品には改定できる版がないか、すでに予定の改定があります。"),
            code="sandbox_revision_pending",
        )
    number = (source.articles.order_by("-number").values_list("number", flat=True).first()) or 0
    version = TermsVersion.objects.create(
        document=document,
        label=f"sandbox-{effective_on.isoformat()}",
        status=VersionStatus.SCHEDULED,
        title=source.title,
        preamble=source.preamble,
        trailer=source.trailer,
        consent_mode=consent_mode,
        legal_basis=(
            LegalBasis.EXPLICIT_CONSENT
            if consent_mode == ConsentMode.EXPLICIT
            else LegalBasis.GENERAL_INTEREST
        ),
        rationale="サンドボックスの模擬改定",
        change_clause=source.change_clause,
        based_on=source,
        notice_on=notice_on,
        effective_on=effective_on,
        scheduled_at=clock.now(),
    )
    copy_articles(source, version)
    article = Article.objects.create(
        version=version,
        position=(source.articles.count() + 1),
        number=number + 1,
        heading=f"第{_full_width(number + 1)}条{SANDBOX_NOTE_TITLE}",
        title=SANDBOX_NOTE_TITLE.strip("（）"),
    )
    Paragraph.objects.create(
        article=article,
        position=1,
        number=1,
        label="",
        text="本条は、サンドボックスで改定の流れを試すための模擬の変更です。",
        items=[],
    )
    version.notice_title = notice_title_for(version)
    version.body_hash = version_body_hash(version)
    version.save(update_fields=["notice_title", "body_hash", "updated_at"])
    return version
