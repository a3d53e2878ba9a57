"""Fixtures of the console tests: one staff user per group and a small world to look at."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Group

from agreements.catalog import catalog_ensure
from agreements.enums import VersionStatus
from agreements.models import Contract, TermsDocument, TermsVersion
from agreements.services.versions import (
    article_upsert,
    notice_post,
    version_draft_create,
    version_schedule,
)
from tenants.models import Partner, Tenant
from tenants.scope import Scope
from tests.factories.agreements import ContractFactory, VersionFactory
from tests.factories.tenants import PartnerFactory, StaffFactory, TenantFactory, UserFactory

PASSWORD = "pass-1234-word"


def make_staff(group: str | None, *, username: str | None = None):
    user = StaffFactory(username=username) if username else StaffFactory()
    if group:
        # get_or_create: browser tests flush the tables the data migration filled.
        user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


@pytest.fixture
def viewer(db):
    return make_staff("viewer")


@pytest.fixture
def editor(db):
    return make_staff("editor")


@pytest.fixture
def publisher(db):
    return make_staff("publisher")


@pytest.fixture
def staff_without_group(db):
    return make_staff(None)


@pytest.fixture
def customer_user(db):
    return UserFactory()


@dataclass
class World:
    document: TermsDocument
    current: TermsVersion
    draft: TermsVersion
    partner: Partner
    tenant: Tenant
    contract: Contract


@pytest.fixture
def world(db, editor) -> World:
    catalog = catalog_ensure()
    document = catalog.biz_terms
    current = VersionFactory(
        document=document,
        label="2024-11-22",
        effective_on=date(2024, 11, 22),
        articles=[
            ("本規約について", "本規約は本製品を利用するお客様に適用されます。"),
            ("本規約の変更", "当社は本規約を変更できるものとします。"),
        ],
    )
    draft = VersionFactory(
        document=document,
        label="draft-1",
        status=VersionStatus.DRAFT,
        effective_on=None,
        based_on=current,
        created_by=editor,
        articles=[
            ("本規約について", "本規約は本製品を利用するすべてのお客様に適用されます。"),
            ("本規約の変更", "当社は本規約を変更できるものとします。"),
        ],
    )
    partner = PartnerFactory()
    tenant = TenantFactory(partner=partner, corporate_number="7000012050002")
    contract = ContractFactory(tenant=tenant, product=catalog.biz)
    return World(document, current, draft, partner, tenant, contract)


def post_revision(
    *, document: TermsDocument, editor, publisher, today: date, consent_mode: str = "deemed"
) -> TermsVersion:
    """Draft, schedule and post a revision of `document` through the services (notice today)."""
    draft = version_draft_create(scope=Scope.staff(editor), document=document, label="rev-1")
    article_upsert(
        scope=Scope.staff(editor),
        version=draft,
        number=1,
        title="本規約について",
        body="1. 本規約は本製品を利用するすべてのお客様に適用されます。",
    )
    version_schedule(
        scope=Scope.staff(publisher),
        version=draft,
        notice_on=today,
        effective_on=today + timedelta(days=14),
        consent_mode=consent_mode,
        legal_basis="general_interest",  # type (i): 14 days' lead suffice (R2)
        rationale="適用範囲を明確にするため。",
    )
    notice_post(version=draft)
    draft.refresh_from_db()
    return draft
