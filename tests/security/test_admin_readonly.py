"""The Django admin reads immutable data but cannot change it (docs/security.md, threat 5).

Each attack submits the admin's own change form, as a browser would, with one value
altered: before this control the admin saved it outside the services and the audit trail.
Now the admin answers 403 and the row is unchanged. What staff may still do from the admin
(revoke a key, retry a message, edit a partner's contact data) goes through a service or
leaves an audit row.
"""

from __future__ import annotations

from datetime import date
from html.parser import HTMLParser
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from agreements.enums import ContractStatus, DeletionKind, DeletionStatus, VersionStatus
from agreements.models import Contract, DataDeletion, Paragraph, TermsVersion
from core import clock
from core.enums import AuditAction
from core.models import AuditEntry
from tenants.models import Partner, PartnerAPIKey
from tests.factories.agreements import ContractFactory, VersionFactory
from tests.factories.tenants import PartnerFactory, TenantFactory, make_partner_key

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


class _FormFields(HTMLParser):
    """The fields a browser would submit from the admin's change form."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self._in_form = False
        self._select: str | None = None
        self._select_value: str | None = None
        self._select_first: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id", "").endswith("_form"):
            self._in_form = True
        if not self._in_form:
            return
        name = a.get("name")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in ("submit", "button", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.data.setdefault(name, []).append(
                a.get("value", "on" if kind == "checkbox" else "")
            )
        elif tag == "select" and name:
            self._select, self._select_value, self._select_first = name, None, None
        elif tag == "option" and self._select:
            if self._select_first is None:
                self._select_first = a.get("value", "")
            if "selected" in a:
                self._select_value = a.get("value", "")
        elif tag == "textarea" and name:
            self._textarea = name
            self.data.setdefault(name, []).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._in_form = False
        elif tag == "select" and self._select:
            value = self._select_value if self._select_value is not None else self._select_first
            self.data.setdefault(self._select, []).append(value or "")
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea:
            self.data[self._textarea][-1] += (
                data.lstrip("\n") if not self.data[self._textarea][-1] else data
            )


def _admin_change(client: Client, obj: Any, **changes: Any) -> int:
    """Open `obj`'s admin change page, alter `changes` in its form and submit it."""
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    page = client.get(url)
    assert page.status_code == 200
    fields = _FormFields()
    fields.feed(page.content.decode())
    data: dict[str, Any] = {name: values for name, values in fields.data.items()}
    for name, value in changes.items():
        data[name] = [str(value)]
    data["_save"] = ["Save"]
    return client.post(url, data).status_code


@pytest.fixture
def effective_version() -> TermsVersion:
    return VersionFactory(status=VersionStatus.EFFECTIVE, effective_on=date(2024, 11, 22))


def test_admin_cannot_rewrite_a_paragraph_of_an_effective_version(
    admin_client, effective_version
) -> None:
    paragraph = Paragraph.objects.filter(article__version=effective_version).first()
    assert paragraph is not None
    before = paragraph.text

    status = _admin_change(admin_client, paragraph, text="当社はいつでも何でも変更できます。")

    paragraph.refresh_from_db()
    assert (status, paragraph.text) == (403, before)


def test_admin_cannot_rewrite_an_article_heading_of_an_effective_version(
    admin_client, effective_version
) -> None:
    article = effective_version.articles.order_by("position").first()
    before = article.heading

    status = _admin_change(admin_client, article, heading="第１条（差し替え）")

    article.refresh_from_db()
    assert (status, article.heading) == (403, before)


def test_admin_cannot_edit_a_draft_outside_the_services(admin_client) -> None:
    # A draft edited in the admin would leave no author record: four eyes would not see it.
    draft = VersionFactory(status=VersionStatus.DRAFT, effective_on=None)

    status = _admin_change(admin_client, draft, title="書き換えた題名")

    draft.refresh_from_db()
    assert status == 403
    assert draft.title != "書き換えた題名"


def test_admin_cannot_move_a_contract_to_another_tenant_or_end_it(admin_client) -> None:
    contract = ContractFactory()
    other = TenantFactory()

    status = _admin_change(admin_client, contract, tenant=other.pk, status=ContractStatus.ENDED)

    contract.refresh_from_db()
    assert status == 403
    assert contract.tenant_id != other.pk
    assert contract.status == ContractStatus.ACTIVE


def test_admin_cannot_rewrite_a_deletions_acknowledgement_evidence(admin_client) -> None:
    contract = ContractFactory()
    deletion = DataDeletion.objects.create(
        contract=contract,
        tenant=contract.tenant,
        kind=DeletionKind.BACKUP,
        status=DeletionStatus.ACKNOWLEDGED,
        due_on=date(2025, 6, 1),
        acknowledged_at=clock.now(),
        ack_evidence={"certificate": "wipe-2025-06-01"},
    )

    status = _admin_change(admin_client, deletion, ack_evidence='{"certificate": "forged"}')

    deletion.refresh_from_db()
    assert status == 403
    assert (deletion.ack_evidence, deletion.status) == (
        {"certificate": "wipe-2025-06-01"},
        DeletionStatus.ACKNOWLEDGED,
    )


def test_admin_cannot_move_a_partner_key_to_another_partner(admin_client) -> None:
    key, _plain = make_partner_key()
    thief = PartnerFactory()

    status = _admin_change(admin_client, key, partner=thief.pk)

    assert status == 403
    assert PartnerAPIKey.objects.get(pk=key.pk).partner_id == key.partner_id != thief.pk


def test_admin_key_revocation_goes_through_the_service_and_is_audited(
    admin_client, admin_user
) -> None:
    key, _plain = make_partner_key()
    url = reverse("admin:tenants_partnerapikey_changelist")

    response = admin_client.post(url, {"action": "revoke", "_selected_action": [key.pk]})

    key.refresh_from_db()
    assert response.status_code == 302
    assert key.revoked_at is not None
    entry = AuditEntry.objects.get(action=AuditAction.REVOKE_KEY, object_id=key.pk)
    assert entry.actor == admin_user


def test_admin_partner_contact_change_leaves_an_audit_row(admin_client, admin_user) -> None:
    partner = PartnerFactory()

    status = _admin_change(admin_client, partner, contact_email="new@partner.example")

    partner.refresh_from_db()
    assert (status, partner.contact_email) == (302, "new@partner.example")
    entry = AuditEntry.objects.get(object_type="tenants.partner", object_id=partner.pk)
    assert (entry.actor, entry.action) == (admin_user, AuditAction.UPDATE)
    assert entry.data["contact_email"] == "new@partner.example"


@pytest.mark.parametrize(
    "name",
    [
        "販売店\r\nhttps://evil.example",
        "販売店\nこちらからログイン",
        "販売店\u2028https://evil.example",
        "販売店\u0085next",
        "販売\t店",
        "販売店\u202elpmaxe.live",
        "x" * 256,
    ],
)
def test_admin_partner_name_follows_the_services_rule(admin_client, name: str) -> None:
    """The admin's partner form saved names with CR/LF, U+2028, U+0085, a tab or
    U+202E (the services refuse them: they reach e-mail subjects). Now refused with the
    services' message, nothing saved, no audit row."""
    partner = PartnerFactory(name="元の販売店")

    status = _admin_change(admin_client, partner, name=name)

    partner.refresh_from_db()
    assert (status, partner.name) == (200, "元の販売店")
    assert not AuditEntry.objects.filter(object_type="tenants.partner", object_id=partner.pk)
    _admin_change(admin_client, partner, name="新しい販売店")
    partner.refresh_from_db()
    assert partner.name == "新しい販売店"


def test_admin_partner_code_and_keys_are_read_only(admin_client) -> None:
    partner = PartnerFactory()
    key, _plain = make_partner_key(partner)

    _admin_change(admin_client, partner, code="renamed")

    assert Partner.objects.get(pk=partner.pk).code == partner.code
    assert PartnerAPIKey.objects.get(pk=key.pk).partner_id == partner.pk


def test_admin_cannot_add_or_delete_immutable_rows(admin_client, effective_version) -> None:
    for model, obj in (
        (TermsVersion, effective_version),
        (Paragraph, Paragraph.objects.filter(article__version=effective_version).first()),
        (Contract, ContractFactory()),
    ):
        meta = model._meta
        add = reverse(f"admin:{meta.app_label}_{meta.model_name}_add")
        delete = reverse(f"admin:{meta.app_label}_{meta.model_name}_delete", args=[obj.pk])
        assert admin_client.get(add).status_code == 403, meta.label
        assert admin_client.post(delete, {"post": "yes"}).status_code == 403, meta.label
        assert model.objects.filter(pk=obj.pk).exists()
