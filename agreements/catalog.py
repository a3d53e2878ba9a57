"""The products, options and terms documents the service is built around (docs/architecture.md).

Optimal Biz (MDM) and OPTiM ID+ (SSO), each with its base terms (利用規約, R1); ID+'s
device-authentication option requires an Optimal Biz contract of the same tenant (R18).
`catalog_ensure()` creates or refreshes them and is safe to run any number of times
(loaddemo and import_terms both call it).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from agreements.enums import DocumentKind
from agreements.models.documents import TermsDocument
from agreements.models.products import Option, Product

BIZ = "optimal-biz"
ID_PLUS = "optim-id-plus"
DEVICE_AUTH = "device-auth"
BASE_TERMS_SLUG = "terms"

# Document titles are the vendor's Japanese titles (data, not interface strings).
BIZ_TERMS_TITLE = "Optimal Biz 利用規約"
ID_PLUS_TERMS_TITLE = "OPTiM ID+サービス利用規約"


@dataclass(frozen=True)
class Catalog:
    biz: Product
    id_plus: Product
    device_auth: Option
    biz_terms: TermsDocument
    id_plus_terms: TermsDocument

    def product(self, code: str) -> Product:
        return {BIZ: self.biz, ID_PLUS: self.id_plus}[code]


def _base_terms(product: Product, title: str) -> TermsDocument:
    document, _ = TermsDocument.objects.get_or_create(
        product=product,
        slug=BASE_TERMS_SLUG,
        defaults={"kind": DocumentKind.BASE, "title": title, "precedence": 0},
    )
    return document


@transaction.atomic
def catalog_ensure() -> Catalog:
    """Create the catalog, or bring its terms-derived fields up to date. Idempotent."""
    # Biz 5.2 counts the start day and the Biz terms have no auto-renewal clause (R10, R11):
    # a Biz contract's renewal comes from its order.
    biz, _ = Product.objects.update_or_create(
        code=BIZ,
        defaults={
            "start_day_counts": True,
            "terms_auto_renewal": False,
            "terms_notice_months": None,
        },
        create_defaults={
            "name": "Optimal Biz",
            "name_en": "Optimal Biz",
            "start_day_counts": True,
            "terms_auto_renewal": False,
            "terms_notice_months": None,
        },
    )
    # ID+ 5.4–5.5 (as revised 2022-04-27): auto-renewal, non-renewal one month ahead (R11).
    id_plus_terms = {
        "start_day_counts": True,
        "terms_auto_renewal": True,
        "terms_notice_months": settings.TERMS_ID_PLUS_NOTICE_MONTHS,
    }
    id_plus, _ = Product.objects.update_or_create(
        code=ID_PLUS,
        defaults=id_plus_terms,
        create_defaults={"name": "OPTiM ID+", "name_en": "OPTiM ID+", **id_plus_terms},
    )
    # ID+ 3.2: device authentication uses part of Optimal Biz and needs its own contract (R18).
    device_auth, _ = Option.objects.update_or_create(
        product=id_plus,
        code=DEVICE_AUTH,
        defaults={"requires_product": biz},
        create_defaults={
            "name": "デバイス認証機能",
            "name_en": "Device authentication",
            "requires_product": biz,
        },
    )
    return Catalog(
        biz=biz,
        id_plus=id_plus,
        device_auth=device_auth,
        biz_terms=_base_terms(biz, BIZ_TERMS_TITLE),
        id_plus_terms=_base_terms(id_plus, ID_PLUS_TERMS_TITLE),
    )
