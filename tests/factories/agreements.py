from __future__ import annotations

import hashlib
from datetime import date

import factory

from agreements.enums import ConsentMode, DocumentKind, VersionStatus
from agreements.models import (
    Article,
    Contract,
    ContractPeriod,
    Option,
    Paragraph,
    Product,
    TermsDocument,
    TermsVersion,
)
from agreements.rules import period_end
from agreements.services.consents_bound import consent_states_bound_sync
from tests.factories.tenants import TenantFactory


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"product-{n}")
    name = factory.Sequence(lambda n: f"製品{n}")
    name_en = factory.Sequence(lambda n: f"Product {n}")


class OptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Option

    product = factory.SubFactory(ProductFactory)
    code = factory.Sequence(lambda n: f"option-{n}")
    name = factory.Sequence(lambda n: f"オプション{n}")


class DocumentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TermsDocument

    product = factory.SubFactory(ProductFactory)
    kind = DocumentKind.BASE
    slug = factory.Sequence(lambda n: f"terms-{n}")
    title = factory.LazyAttribute(lambda o: f"{o.product.name} 利用規約")


class VersionFactory(factory.django.DjangoModelFactory):
    """A version with two articles; status and dates as given."""

    class Meta:
        model = TermsVersion
        skip_postgeneration_save = True

    document = factory.SubFactory(DocumentFactory)
    label = factory.Sequence(lambda n: f"v{n}")
    title = factory.LazyAttribute(lambda o: o.document.title)
    status = VersionStatus.EFFECTIVE
    consent_mode = ConsentMode.DEEMED
    effective_on = date(2024, 1, 1)
    body_hash = factory.LazyAttribute(lambda o: hashlib.sha256(o.label.encode()).hexdigest())

    @factory.post_generation
    def articles(obj, create, extracted, **kwargs):
        if not create:
            return
        texts = extracted or [
            ("本規約について", "本規約は本製品の利用に適用されます。"),
            ("本規約の変更", "当社は本規約を変更できます。"),
        ]
        for position, (title, text) in enumerate(texts, start=1):
            article = Article.objects.create(
                version=obj,
                position=position,
                number=position,
                heading=f"第{position}条（{title}）",
                title=title,
            )
            Paragraph.objects.create(article=article, position=1, number=1, label="1.", text=text)


class ContractFactory(factory.django.DjangoModelFactory):
    """An active contract with its first period open."""

    class Meta:
        model = Contract
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    product = factory.SubFactory(ProductFactory)
    start_date = date(2024, 4, 1)
    term_months = 12

    @factory.post_generation
    def period(obj, create, extracted, **kwargs):
        if create and extracted is not False:
            ContractPeriod.objects.create(
                contract=obj,
                tenant=obj.tenant,
                seq=1,
                start_date=obj.start_date,
                end_date=period_end(start=obj.start_date, months=obj.term_months),
            )

    @factory.post_generation
    def bound_sync(obj, create, extracted, **kwargs):
        # What contract_create does: the consent projection learns the tenant is bound.
        if create:
            consent_states_bound_sync(tenant_ids=[obj.tenant_id])
