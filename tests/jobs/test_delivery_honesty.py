"""A development mail backend delivers nothing, and the outbox says so (docs/jobs.md).

With the console (or dummy, or file) backend, a notice is printed and recorded as `logged`:
no sent time, no successful attempt, no reach for deemed consent (R3), still owed where a
notice is owed (R14), and listed on the console's delivery page. locmem, the mailbox the test
suite reads, is the control: the same flow there records `sent` and the tenant is reached.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse

from agreements.enums import ConsentStatus
from agreements.models import ConsentState
from agreements.services.consents.effective import consents_apply_effective
from core import clock
from core.enums import EventKind, OutboxChannel, OutboxStatus
from core.models import Delivery, Event, Outbox
from tenants.delivery.outbox import LOGGED_ONLY_NOTE, outbox_deliver_batch, outbox_retry
from tenants.scope import Scope
from tests.console.conftest import make_staff
from tests.factories.consents import bound_tenant, posted_version

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

CONSOLE = "django.core.mail.backends.console.EmailBackend"
DUMMY = "django.core.mail.backends.dummy.EmailBackend"
FILEBASED = "django.core.mail.backends.filebased.EmailBackend"
LOCMEM = "django.core.mail.backends.locmem.EmailBackend"


def _queued_notice(version, tenant_id: int) -> Outbox:
    event = Event.objects.create(
        kind=EventKind.NOTICE_POSTED,
        tenant_id=tenant_id,
        subject_type="agreements.termsversion",
        subject_id=version.pk,
        occurred_at=version.posted_at,
    )
    return Outbox.objects.create(
        kind=EventKind.NOTICE_POSTED,
        channel=OutboxChannel.EMAIL,
        dedupe_key=f"honesty:{version.pk}:{tenant_id}",
        event=event,
        tenant_id=tenant_id,
        recipient="admin@example.jp",
        payload={
            "version_id": version.pk,
            "document": "Optimal Biz 利用規約",
            "label": version.label,
            "notice_on": version.notice_on.isoformat(),
            "effective_on": version.effective_on.isoformat(),
            "consent_mode": "deemed",
        },
        next_attempt_at=version.posted_at,
    )


def _deliver_and_apply(settings, backend: str, tmp_path) -> tuple[Outbox, str]:
    settings.EMAIL_BACKEND = backend
    settings.EMAIL_FILE_PATH = str(tmp_path)
    version = posted_version()
    tenant = bound_tenant(version.document).tenant
    row = _queued_notice(version, tenant.pk)
    with clock.frozen_at(version.posted_at + timedelta(hours=1)):
        outbox_deliver_batch()
    with clock.frozen_at(version.effective_on):
        consents_apply_effective(version=version, today=version.effective_on)
    row.refresh_from_db()
    status = ConsentState.objects.get(tenant_id=tenant.pk, document=version.document).status
    return row, status


@pytest.mark.parametrize("backend", [CONSOLE, DUMMY, FILEBASED])
def test_a_development_backend_records_logged_not_sent_and_reaches_nobody(
    settings, tmp_path, capsys, backend
) -> None:
    row, status = _deliver_and_apply(settings, backend, tmp_path)
    assert row.status == OutboxStatus.LOGGED
    assert row.sent_at is None
    assert row.last_error == LOGGED_ONLY_NOTE
    (attempt,) = Delivery.objects.filter(outbox=row)
    assert attempt.succeeded is False
    assert attempt.error == LOGGED_ONLY_NOTE
    # R3: a notice nobody received starts no deemed consent.
    assert status == ConsentStatus.UNNOTIFIED
    if backend == CONSOLE:
        assert "admin@example.jp" in capsys.readouterr().out  # it was shown, not delivered
    # Final: the next batch does not print it again.
    with clock.frozen_at(row.next_attempt_at + timedelta(days=1)):
        assert outbox_deliver_batch() == {}


def test_the_test_mailbox_is_the_control_sent_and_reached(settings, tmp_path) -> None:
    row, status = _deliver_and_apply(settings, LOCMEM, tmp_path)
    assert row.status == OutboxStatus.SENT
    assert row.sent_at is not None
    assert Delivery.objects.get(outbox=row).succeeded is True
    assert len(mail.outbox) == 1
    assert status == ConsentStatus.DEEMED


def test_logged_messages_are_listed_on_the_console_and_cannot_be_retried(
    settings, tmp_path, client
) -> None:
    row, _status = _deliver_and_apply(settings, DUMMY, tmp_path)
    staff = make_staff("editor")
    assert outbox_retry(scope=Scope.staff_with_roles(staff), ids=[row.pk]) == 0
    client.force_login(staff)
    page = client.get(reverse("console:deliveries"), HTTP_ACCEPT_LANGUAGE="ja")
    assert page.status_code == 200
    html = page.content.decode()
    assert "記録のみ（未配信）" in html
    assert "開発用のメール設定のため未配信" in html
    assert f'value="{row.pk}"' not in html  # no retry checkbox
