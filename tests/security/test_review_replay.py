"""The known attacks replayed against a live server, without a browser (findings 1–4).

Each test is one finding of the review: the attacker signs in through the real login form
(CSRF token and all) or presents an API key, performs the attack over a socket with plain HTTP
(tests/security/http_replay.py), and the test checks the answer and then the database: the
attack was refused and nothing was written. The ORM and the factories only set up the actors
and read the outcome. Findings 5–8 are in test_review_replay_edges.py. The in-process tests
of each fix are the other tests in this directory.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse

from agreements.catalog import catalog_ensure
from agreements.enums import (
    Answer,
    ContractStatus,
    DeletionKind,
    DeletionStatus,
    VersionStatus,
)
from agreements.ledger.append import ledger_append
from agreements.ledger.keys import private_b64, public_b64
from agreements.ledger.verify import ledger_verify
from agreements.models import DataDeletion, LedgerCheckpoint, Paragraph, Termination, TermsVersion
from agreements.services.version_articles import article_upsert
from agreements.services.version_drafts import version_draft_create
from core import clock
from core.enums import AuditAction
from core.models import AuditEntry, Outbox
from tenants.models import Invitation, PartnerAPIKey, Tenant, WebhookEndpoint
from tenants.scope import Scope
from tests.api.conftest import TODAY as API_TODAY
from tests.api.conftest import World, build_world, make_staff
from tests.factories.agreements import ContractFactory, VersionFactory
from tests.factories.consents import posted_version
from tests.factories.tenants import PartnerFactory, TenantFactory, make_partner_key
from tests.security.http_replay import Caller, staff_session
from tests.security.test_admin_readonly import _FormFields
from tests.security.test_checkpoints import _forged_row, _insert_and_move_head

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

OUTSIDER = "attacker@outside.example"
HOOK = "https://attacker.example/hooks"


# --- 1. Staff roles reach past the console -------------------------------------------------


@pytest.fixture
def world() -> Iterator[World]:
    with clock.frozen_at(API_TODAY):
        yield build_world()


def _role_attacks(world: World) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        ("PATCH", f"/api/v1/tenants/{world.tenant.pk}/", {"partner": world.other_partner.pk}),
        (
            "POST",
            f"/api/v1/tenants/{world.other_tenant.pk}/invitations/",
            {"email": OUTSIDER, "role": "admin"},
        ),
        ("POST", "/api/v1/webhooks/", {"url": HOOK, "partner": world.other_partner.pk}),
        (
            "POST",
            f"/api/v1/contracts/{world.contract.pk}/terminations/",
            {"end_date": "2025-06-30", "reason": "listed_grounds", "note": "利用料金の未払い"},
        ),
    ]


def test_staff_roles_viewer_and_no_group_cannot_write_through_the_api(live_server, world) -> None:
    for groups in (("viewer",), ()):
        attacker = staff_session(live_server.url, make_staff(*groups))
        audit_before = AuditEntry.objects.count()
        for method, path, body in _role_attacks(world):
            response = attacker.api(method, path, body)
            assert response.status_code == 403, (groups, path, response.text[:300])
            assert response.json()["code"] == "staff_role", (groups, path)
        # The session is real: a viewer reads, a staff user in no group does not even that.
        read = attacker.api("GET", f"/api/v1/tenants/{world.tenant.pk}/")
        assert read.status_code == (200 if groups else 403), read.text[:300]

        assert Tenant.objects.get(pk=world.tenant.pk).partner_id == world.partner.pk
        assert not Invitation.objects.filter(email=OUTSIDER).exists()
        assert not Outbox.objects.filter(recipient=OUTSIDER).exists()
        assert not WebhookEndpoint.objects.filter(url=HOOK).exists()
        assert not Termination.objects.filter(contract=world.contract).exists()
        assert AuditEntry.objects.count() == audit_before

    # Control: the same requests, from the roles the console asks for, are well formed.
    editor = staff_session(live_server.url, make_staff("editor"))
    publisher = staff_session(live_server.url, make_staff("publisher"))
    attacks = _role_attacks(world)
    answers = [editor.api(*attacks[0]), editor.api(*attacks[1])]
    answers += [publisher.api(*attacks[2]), publisher.api(*attacks[3])]
    assert [r.status_code for r in answers] == [200, 201, 201, 201], [r.text[:200] for r in answers]


# --- 2. Four eyes --------------------------------------------------------------------------

FOUR_EYES_TODAY = date(2025, 3, 3)
SCHEDULE = {
    "notice_on": (FOUR_EYES_TODAY + timedelta(days=1)).isoformat(),
    "effective_on": (FOUR_EYES_TODAY + timedelta(days=10)).isoformat(),
    "consent_mode": "deemed",
    "legal_basis": "general_interest",  # type (i): ten days' lead suffice (R2)
    "rationale": "掲示の時期を明記するため。",
    "confirm": "1",
}


@pytest.fixture
def draft() -> Iterator[TermsVersion]:
    """An editor's draft of the Biz terms with one new article (tests/security/test_four_eyes)."""
    with clock.frozen_at(FOUR_EYES_TODAY):
        catalog = catalog_ensure()
        VersionFactory(
            document=catalog.biz_terms, label="2024-11-22", effective_on=date(2024, 11, 22)
        )
        editor = make_staff("editor")
        version = version_draft_create(
            scope=Scope.staff(editor), document=catalog.biz_terms, label="2025-04"
        )
        article_upsert(
            scope=Scope.staff(editor), version=version, number=3, title="変更の掲示", body="掲"
        )
        yield version


def _schedules(version: TermsVersion) -> int:
    return AuditEntry.objects.filter(
        object_id=version.pk, action__in=[AuditAction.SCHEDULE, AuditAction.WITHDRAW]
    ).count()


def test_four_eyes_no_one_schedules_what_they_edited_or_withdraws_what_they_scheduled(
    live_server, draft
) -> None:
    schedule = f"/console/versions/{draft.pk}/schedule/"
    edit_page = f"/console/versions/{draft.pk}/edit/"
    # The console lets only editors edit drafts: a publisher alone cannot even open the page.
    lone = staff_session(live_server.url, make_staff("publisher"))
    assert lone.get(edit_page).status_code == 403
    # A publisher who is an editor too, and a superuser, can edit ...
    for attacker_user in (make_staff("editor", "publisher"), make_staff(superuser=True)):
        attacker = staff_session(live_server.url, attacker_user)
        article = draft.articles.get(number=3)
        rewritten = attacker.submit(
            f"/console/versions/{draft.pk}/articles/{article.pk}/",
            {
                f"a{article.pk}-title": "変更の掲示",
                f"a{article.pk}-body": "当社は、いつでも予告なく本規約を変更できます。",
            },
            page=edit_page,
        )
        assert rewritten.status_code == 302, rewritten.text[:300]
        # ... and then cannot schedule what they edited.
        refused = attacker.submit(schedule, SCHEDULE)
        assert refused.status_code == 400, refused.text[:300]
        draft.refresh_from_db()
        assert (draft.status, draft.scheduled_at, _schedules(draft)) == (
            VersionStatus.DRAFT,
            None,
            0,
        )

    # A publisher who never touched it schedules it (the form is right) ...
    second = staff_session(live_server.url, make_staff("publisher"))
    review = second.submit(schedule, {k: v for k, v in SCHEDULE.items() if k != "confirm"})
    reviewed = re.search(r'name="body_hash" value="([0-9a-f]+)"', review.text)
    assert reviewed, review.text[:300]  # the review carries the hash of the text it showed
    assert second.submit(schedule, {**SCHEDULE, "body_hash": reviewed.group(1)}).status_code == 302
    draft.refresh_from_db()
    assert draft.status == VersionStatus.SCHEDULED
    # ... and cannot withdraw what he scheduled himself.
    withdrawn = second.submit(f"/console/versions/{draft.pk}/withdraw/", {"reason": "取りやめ"})
    assert withdrawn.status_code == 400, withdrawn.text[:300]
    draft.refresh_from_db()
    assert (draft.status, draft.withdrawn_at, draft.withdrawal_reason) == (
        VersionStatus.SCHEDULED,
        None,
        "",
    )
    assert not AuditEntry.objects.filter(object_id=draft.pk, action=AuditAction.WITHDRAW).exists()


# --- 3. The Django admin -------------------------------------------------------------------


def _admin_change(caller: Caller, obj: Any, **changes: Any) -> int:
    """Open `obj`'s admin change page over HTTP, alter `changes` in its form, submit it."""
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    page = caller.get(url)
    assert page.status_code == 200, (url, page.status_code)
    fields = _FormFields()
    fields.feed(page.text)
    data = dict(fields.data)
    assert "csrfmiddlewaretoken" in data, url
    data.update({name: [str(value)] for name, value in changes.items()})
    data["_save"] = ["Save"]
    return caller.request("POST", url, data=data).status_code


def test_admin_superuser_change_forms_change_nothing(live_server) -> None:
    paragraph = Paragraph.objects.filter(
        article__version=VersionFactory(status=VersionStatus.EFFECTIVE)
    ).first()
    contract, other_tenant = ContractFactory(), TenantFactory()
    deletion = DataDeletion.objects.create(
        contract=contract,
        tenant=contract.tenant,
        kind=DeletionKind.BACKUP,
        status=DeletionStatus.ACKNOWLEDGED,
        due_on=date(2025, 6, 1),
        acknowledged_at=clock.now(),
        ack_evidence={"certificate": "wipe-2025-06-01"},
    )
    key, _plain = make_partner_key()
    thief = PartnerFactory()
    root = staff_session(live_server.url, make_staff(superuser=True), door="/admin/login/")
    audit_before = AuditEntry.objects.count()

    statuses = [
        _admin_change(root, paragraph, text="当社はいつでも何でも変更できます。"),
        _admin_change(root, contract, tenant=other_tenant.pk, status=ContractStatus.ENDED),
        _admin_change(root, deletion, ack_evidence='{"certificate": "forged"}'),
        _admin_change(root, key, partner=thief.pk),
    ]

    assert statuses == [403] * 4
    before_text = paragraph.text
    paragraph.refresh_from_db()
    contract.refresh_from_db()
    deletion.refresh_from_db()
    assert paragraph.text == before_text
    assert (contract.tenant_id, contract.status) != (other_tenant.pk, ContractStatus.ENDED)
    assert contract.status == ContractStatus.ACTIVE
    assert (deletion.ack_evidence, deletion.status) == (
        {"certificate": "wipe-2025-06-01"},
        DeletionStatus.ACKNOWLEDGED,
    )
    assert PartnerAPIKey.objects.get(pk=key.pk).partner_id == key.partner_id != thief.pk
    assert AuditEntry.objects.count() == audit_before
    # Control: a 403 here is not the CSRF check: an allowed change saves and is audited.
    partner = PartnerFactory()
    assert _admin_change(root, partner, contact_email="new@partner.example") == 302
    partner.refresh_from_db()
    assert partner.contact_email == "new@partner.example"


# --- 4. Ledger forgery by a database administrator -----------------------------------------

T0 = datetime(2025, 4, 1, 10, 0, tzinfo=clock.TOKYO)
SIGNED = T0 + timedelta(hours=1)  # covers rows recorded before SIGNED - 5 min


@pytest.fixture
def signing_key(settings, tmp_path) -> Ed25519PrivateKey:
    key = Ed25519PrivateKey.generate()
    settings.TERMS_CHECKPOINT_KEY = private_b64(key)
    settings.TERMS_CHECKPOINT_KEY_FILE = ""
    settings.TERMS_CHECKPOINT_PUBLIC_KEYS = []
    settings.VAR_DIR = tmp_path
    return key


def test_ledger_forgery_after_a_checkpoint_fails_verification(live_server, signing_key) -> None:
    version = posted_version()
    tenant = TenantFactory()
    with clock.frozen_at(T0):
        for answer in (Answer.ACCEPTED, Answer.REJECTED):
            ledger_append(tenant=tenant, version=version, answer=answer, scope=Scope.system())
    with clock.frozen_at(SIGNED):
        call_command("ledger_checkpoint")
    call_command("verify_ledger")  # holds before the forgery

    # The DB administrator: INSERT a backdated row and move the head, no trigger disabled.
    _insert_and_move_head(_forged_row(tenant, version, at=T0 + timedelta(minutes=10)))

    assert ledger_verify() == []  # the chains alone accept it
    with pytest.raises(CommandError, match=rf"checkpoint 1: tenant {tenant.pk}: uncovered_row"):
        call_command("verify_ledger")

    # Anyone can fetch the checkpoint and the key that checks it.
    published = Caller(live_server.url).get("/ledger/checkpoints.json")
    assert published.status_code == 200
    body = published.json()
    public = public_b64(signing_key.public_key())
    assert [k["public_key"] for k in body["public_keys"]] == [public]
    (item,) = body["checkpoints"]
    checkpoint = LedgerCheckpoint.objects.get()
    assert (item["number"], item["digest"]) == (1, checkpoint.digest)
    Ed25519PublicKey.from_public_bytes(base64.b64decode(public)).verify(
        base64.b64decode(item["signature"]), item["statement"].encode()
    )
