"""The e-mail bound tenants will receive when a revision's notice is posted, rendered before
it is scheduled (the publisher reads what customers will read). Nothing is written."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from django.utils import translation
from django.utils.translation import gettext

from agreements.models import TermsVersion
from agreements.selectors.versions import version_in_force
from agreements.services.notice_payloads import binding_facts, version_gate_from, version_payload
from core import clock
from core.enums import EventKind
from core.models import Outbox
from tenants.delivery.email import email_render

LOCALES = ("ja", "en")


@dataclass(frozen=True)
class EmailPreview:
    locale: str
    subject: str
    body: str


def notice_email_preview(version: TermsVersion, **values: Any) -> list[EmailPreview]:
    """The notice e-mail (ja and en) for `version` as it would be with `values` (the schedule
    form's dates, consent mode and gating policy), for a placeholder tenant bound by the
    version in force."""
    draft = copy.copy(version)  # never saved: the form's values on a copy
    for name, value in values.items():
        if hasattr(draft, name):
            setattr(draft, name, value)
    binding = version_in_force(document=version.document, on_date=clock.today())
    previews = []
    for locale in LOCALES:
        with translation.override(locale):
            tenant_name = gettext("（お客様の名称）")
        payload = {
            "tenant_id": 0,
            "tenant_name": tenant_name,
            **version_payload(draft),
            "gate_from": version_gate_from(draft),
            **binding_facts(binding),
        }
        outbox = Outbox(
            kind=EventKind.NOTICE_POSTED, payload=payload, locale=locale, recipient="preview"
        )
        subject, body, _html = email_render(outbox)
        previews.append(EmailPreview(locale=locale, subject=subject, body=body))
    return previews
