"""Names cannot add lines to e-mails or break their headers (docs/security.md, e-mail).

Before: a tenant named "Acme\\nPlease sign in at https://evil.example" cut the subject after
"Acme" and put the rest (a link) on a line of its own in invitations and notices; a "\\r"
made the mail library refuse the subject, so the message failed on every attempt.
"""

from __future__ import annotations

import pytest
from django.core import mail

from core.enums import EventKind, OutboxChannel, OutboxStatus
from core.errors import ValidationFailed
from core.models import Outbox
from core.services import outbox_add
from tenants.delivery.email import email_message, email_render
from tenants.delivery.outbox import outbox_deliver_due
from tenants.models import Partner, Tenant
from tenants.rules import has_control_characters
from tenants.scope import Scope
from tenants.services import partner_create, tenant_create, tenant_update
from tests.factories.tenants import PartnerFactory, StaffFactory, TenantFactory, make_partner_key

INJECTED = [
    "テスト商事\nこちらからログイン: https://evil.example/login",
    "テスト商事\rBcc: victim@customer.example",
    "テスト商事\r\nX-Evil: 1",
    "テスト商事\u2028https://evil.example",
    "テスト商事\x00",
    "テスト商事\x1b[31m",
    "テスト商事\u0085次の行",
    "テスト商事\tタブ",
    # Bidirectional controls reorder what follows (U+202E in a partner name).
    "テスト商事\u202elpmaxe.live",
    "テスト商事\u2066隔離\u2069",
    "テスト商事\u200f",
    # Every format character, the zero-width joiner too: a company name needs none of them.
    "家族\u200d商事",
]


@pytest.mark.unit
@pytest.mark.parametrize("name", INJECTED)
def test_control_characters_are_recognised(name: str) -> None:
    assert has_control_characters(name)


@pytest.mark.unit
@pytest.mark.parametrize(
    "name", ["テスト商事株式会社", "ＡＢＣ　商事", "O'Brien & Co. (Japan)", "Société Générale"]
)
def test_ordinary_names_pass(name: str) -> None:
    assert not has_control_characters(name)


@pytest.fixture
def staff_scope(db) -> Scope:
    return Scope.staff(StaffFactory())


@pytest.fixture
def partner_scope(db) -> Scope:
    key, _ = make_partner_key(PartnerFactory())
    return Scope.partner(key)


@pytest.mark.integration
@pytest.mark.parametrize("name", INJECTED)
def test_tenant_name_with_a_line_break_is_refused(partner_scope, name) -> None:
    with pytest.raises(ValidationFailed) as exc:
        tenant_create(scope=partner_scope, name=name)
    assert list(exc.value.details["fields"]) == ["name"]
    assert not Tenant.objects.exists()


@pytest.mark.integration
def test_renaming_a_tenant_with_a_line_break_is_refused(staff_scope) -> None:
    tenant = TenantFactory(name="テスト商事")
    with pytest.raises(ValidationFailed) as exc:
        tenant_update(scope=staff_scope, tenant=tenant, name="テスト商事\r\nBcc: x@evil.example")
    assert list(exc.value.details["fields"]) == ["name"]
    tenant.refresh_from_db()
    assert tenant.name == "テスト商事"


@pytest.mark.integration
def test_partner_name_with_a_line_break_is_refused(staff_scope) -> None:
    with pytest.raises(ValidationFailed) as exc:
        partner_create(scope=staff_scope, code="evil", name="販売店\nhttps://evil.example")
    assert list(exc.value.details["fields"]) == ["name"]
    assert not Partner.objects.filter(code="evil").exists()


def _invitation(name: str) -> Outbox:
    row = outbox_add(
        kind=EventKind.INVITATION,
        channel=OutboxChannel.EMAIL,
        dedupe_key=f"inv:{abs(hash(name))}",
        payload={
            "tenant_id": 1,
            "tenant_name": name,
            "role": "admin",
            "invitation_url": "https://terms.example.com/portal/invitations/abc/",
        },
        recipient="new.admin@customer.example",
        tenant_id=1,
    )
    assert row is not None
    return row


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize(
    "name", ["テスト商事\nこちらからログイン: https://evil.example/login", "テスト商事\rX-Evil: 1"]
)
def test_a_queued_message_with_a_broken_name_stays_one_line_and_is_sent(settings, name) -> None:
    """Rows queued before the services refused such names: the name is shown on one line,
    the subject is one header value built by the mail library, and the message goes out."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    row = _invitation(name)
    subject, text, _html = email_render(row)
    assert "\n" not in subject
    assert "\r" not in subject
    assert "テスト商事 " in subject
    # No line of the message starts with the injected text.
    assert not any(line.startswith(("こちらから", "X-Evil")) for line in text.splitlines())
    message = email_message(row).message()
    assert message["X-Evil"] is None
    assert outbox_deliver_due() == {"email.sent": 1}
    row.refresh_from_db()
    assert row.status == OutboxStatus.SENT
    assert len(mail.outbox) == 1


# --- Invisible and reordering characters — a name that reads as something else -

INVISIBLE = [
    "テスト\u200b商事",  # zero-width space
    "テスト商事\u202egpj.exe",  # right-to-left override
    "テスト\u2067商事\u2069",  # right-to-left isolate
    "\ufeffテスト商事",  # byte order mark
    "テス\u00adト商事",  # soft hyphen
    "テスト商事\U000e0041",  # tag latin capital A
    "テスト\u200e商事",  # left-to-right mark
    "テスト\u061c商事",  # Arabic letter mark
    "テスト\ue000商事",  # private use
    "テスト\u2029商事",  # paragraph separator
]


@pytest.mark.unit
@pytest.mark.parametrize("name", INVISIBLE)
def test_invisible_and_bidi_characters_are_recognised(name: str) -> None:
    assert has_control_characters(name)


@pytest.mark.unit
@pytest.mark.parametrize("name", ["株式会社ＡＢＣ", "Müller GmbH", "كومبيوتر", "👍 商事", "é商事"])
def test_visible_text_of_any_script_passes(name: str) -> None:
    assert not has_control_characters(name)


@pytest.mark.integration
@pytest.mark.parametrize("name", INVISIBLE)
def test_api_tenant_name_with_invisible_characters_is_refused(db, name: str) -> None:
    from tests.api.conftest import key_client

    partner = PartnerFactory()
    client = key_client(make_partner_key(partner)[1])
    created = client.post("/api/v1/tenants/", {"name": name}, format="json")
    assert created.status_code == 400, created.content
    assert [e["field"] for e in created.json()["errors"]] == ["name"]
    tenant = TenantFactory(partner=partner, name="テスト商事")
    renamed = client.patch(f"/api/v1/tenants/{tenant.pk}/", {"name": name}, format="json")
    assert renamed.status_code == 400, renamed.content
    tenant.refresh_from_db()
    assert tenant.name == "テスト商事"
    assert not Tenant.objects.exclude(pk=tenant.pk).exists()
