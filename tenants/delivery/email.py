"""Rendering an outbox e-mail: template per event kind, typed payload, dates as people write them."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from core.dates import date_text, instant_text, is_japanese, revision_name
from core.enums import EventKind
from core.models import Outbox
from core.services import message_id_for
from tenants.delivery.kinds import GENERIC, message_kind

# Control characters and Unicode line separators: a value with one of these would end the
# subject line early (the rest becomes body lines of the writer's choosing) or, with a bare CR,
# make the mail library refuse the header on every attempt. Services refuse them in names
# (tenants.rules.has_control_characters); this covers rows queued before that check.
_LINE_BREAKERS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def one_line(value: str) -> str:
    """`value` with every run of control characters replaced by one space."""
    return _LINE_BREAKERS.sub(" ", value)


def portal_links(payload: dict[str, Any]) -> dict[str, str]:
    """Absolute links for a message: the portal pages a tenant acts on, the public notice.

    Paths come from the URL configuration by name, so a moved page cannot leave e-mails
    pointing at nothing.
    """
    base = settings.TERMS_PORTAL_BASE_URL.rstrip("/")
    home = f"{base}{reverse('portal:home')}"
    links = {"portal": home, "consents": home}
    if payload.get("contract_id"):
        links["contract"] = f"{base}{reverse('portal:contract', args=[payload['contract_id']])}"
    else:
        links["contract"] = f"{base}{reverse('portal:contracts')}"
    if payload.get("version_id"):
        links["notice"] = f"{base}{reverse('public:notice-detail', args=[payload['version_id']])}"
        links["version"] = f"{base}{reverse('portal:review', args=[payload['version_id']])}"
    if payload.get("record_id"):
        links["receipt"] = f"{base}{reverse('portal:receipt', args=[payload['record_id']])}"
    if payload.get("deletion_id"):
        links["deletion"] = links["contract"]
        if payload.get("kind") == "requested":  # a customer's request has a receipt (R13)
            links["deletion_receipt"] = (
                f"{base}{reverse('portal:request-receipt', args=['deletion', payload['deletion_id']])}"
            )
    if payload.get("invitation_url"):
        links["invitation"] = one_line(str(payload["invitation_url"]))
    links["console"] = f"{base}/console/"
    return links


def format_date(value: date, locale: str) -> str:
    """A business date as people write it, as the pages write it (core.dates, with the
    weekday): 2025年2月28日（金） / Fri, 28 Feb 2025."""
    return date_text(value, language=locale, weekday=True)


def format_instant(value: datetime, locale: str) -> str:
    """An instant in JST to the minute, with the weekday as a receipt writes it:
    2025年2月28日（金） 14:05（日本時間） / Fri, 28 Feb 2025 14:05 JST."""
    text = instant_text(value, language=locale, weekday=True)
    # A message may be read anywhere: Japanese names the zone too (the pages do not).
    return f"{text}（日本時間）" if is_japanese(locale) else text


def _formatted_dates(payload: dict[str, Any], locale: str) -> dict[str, str]:
    formatted = {}
    for key, value in payload.items():
        if isinstance(value, datetime):
            formatted[key] = format_instant(value, locale)
        elif isinstance(value, date):
            formatted[key] = format_date(value, locale)
    return formatted


# A version's name in a payload, and the effective date its default name is made from.
_VERSION_NAMES = (
    ("name", "effective_on"),
    ("version_name", "effective_on"),
    ("binding_version_name", "binding_version_effective_on"),
)


def _day(value: Any) -> date | None:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def version_names(payload: dict[str, Any], locale: str) -> dict[str, str]:
    """The payload's version names in the message's language, as the portal's pages name a
    version (version_name): the name staff chose, else the default from the effective date.
    Payloads carry the Japanese default (「2025年4月1日改定」); an English message says
    "Revision of 1 Apr 2025" instead. A name staff chose is kept as they wrote it."""
    names = {}
    for name_key, date_key in _VERSION_NAMES:
        name, day = payload.get(name_key), _day(payload.get(date_key))
        if isinstance(name, str) and day is not None and name == revision_name(day, language="ja"):
            names[name_key] = revision_name(day, language=locale)
    return names


def email_context(outbox: Outbox, locale: str) -> dict[str, Any]:
    """What every e-mail template sees: `p` (payload, its declared date fields as dates, its
    version names in the message's language), `d` (those dates written out in the message's
    language), `links` (absolute URLs)."""
    payload = dict(outbox.payload)
    if "data" in payload and isinstance(payload["data"], dict):
        payload = {**payload["data"], **payload}
    # Every field a template shows is one line (a name, a label, a code): keep it so.
    payload = {k: one_line(v) if isinstance(v, str) else v for k, v in payload.items()}
    payload = message_kind(outbox.kind).parse(payload)
    payload.update(version_names(payload, locale))
    kind_label = (
        str(EventKind(outbox.kind).label) if outbox.kind in EventKind.values else outbox.kind
    )
    return {
        "p": payload,
        "d": _formatted_dates(payload, locale),
        "links": portal_links(outbox.payload),
        "kind": outbox.kind,
        "kind_label": kind_label,
        "locale": locale,
        "recipient": outbox.recipient,
    }


def template_names(kind: str, locale: str, extension: str) -> list[str]:
    """The kind's own template (tenants.delivery.kinds), then the generic one."""
    names = [f"emails/{locale}/{message_kind(kind).template}.{extension}"]
    if not names[0].endswith(f"/{GENERIC}.{extension}"):
        # Kept as a safety net: a template removed by mistake degrades to the generic message
        # instead of losing the e-mail (the test suite checks every kind's templates exist).
        names.append(f"emails/{locale}/{GENERIC}.{extension}")
    return names


def email_render(outbox: Outbox) -> tuple[str, str, str]:
    """Subject, plain text and HTML of an outbox e-mail, in the row's language.

    Templates: `templates/emails/<locale>/<template of the kind>.{txt,html}`; the plain-text
    template's first line is the subject.
    """
    locale = outbox.locale if outbox.locale in {"ja", "en"} else "ja"
    context = email_context(outbox, locale)
    with translation.override(locale):
        text = render_to_string(template_names(outbox.kind, locale, "txt"), context)
        html = render_to_string(template_names(outbox.kind, locale, "html"), context)
    subject, _, body = text.lstrip().partition("\n")
    body = re.sub(r"\n{3,}", "\n\n", body.strip())  # blocks left empty by a condition
    # The subject goes to the mail library as one header value, never joined into raw headers.
    return one_line(subject).strip(), body + "\n", html


def email_message(outbox: Outbox, *, connection_: Any = None) -> EmailMultiAlternatives:
    subject, text, html = email_render(outbox)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[outbox.recipient],
        connection=connection_,
        headers={
            "Message-ID": message_id_for(outbox),
            "X-Terms-Outbox": str(outbox.pk),
            "X-Terms-Kind": outbox.kind,
        },
    )
    message.attach_alternative(html, "text/html")
    return message
