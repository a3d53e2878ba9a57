"""The products, options and terms documents the service is built around (docs/architecture.md).

Optimal Biz (MDM) and OPTiM ID+ (SSO), each with its base terms (利用規約, R1); ID+'s
device-authentication option requires an Optimal Biz contract of the same tenant (R18).
`catalog_ensure()` creates or refreshes them and is safe to run any number of times
(loaddemo and import_terms both call it).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from agreements.enums import DocumentKind
from agreements.models.documents import TermsDocument
from agreements.models.products import Option, Product
from agreements.rulebook import rulebook_for, rulebooks

BIZ = "optimal-biz"
ID_PLUS = "optim-id-plus"
DEVICE_AUTH = "device-auth"
BASE_TERMS_SLUG = "terms"


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


def _product(code: str) -> Product:
    """Create or refresh one product from its rulebook (R10, R11): the terms-derived fields
    follow the rulebook; names are only set when the product is created."""
    book = rulebook_for(code)
    terms = {
        "start_day_counts": book.start_day_counts,
        "terms_auto_renewal": book.auto_renewal,
        "terms_notice_months": book.notice_months,
    }
    product, _ = Product.objects.update_or_create(
        code=code,
        defaults=terms,
        create_defaults={"name": book.name or code, "name_en": book.name_en, **terms},
    )
    return product


@transaction.atomic
def catalog_ensure() -> Catalog:
    """Create the catalog, or bring its terms-derived fields up to date. Idempotent.

    Every product with a rulebook is created; what its terms say about counting, renewal and
    notice comes from that rulebook (agreements/rulebook/data/), never from code.
    """
    products = {book.code: _product(book.code) for book in rulebooks()}
    biz, id_plus = products[BIZ], products[ID_PLUS]
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
        biz_terms=_base_terms(biz, rulebook_for(BIZ).terms_title),
        id_plus_terms=_base_terms(id_plus, rulebook_for(ID_PLUS).terms_title),
    )
