"""Every e-mail writes a date the way the pages do: 2026年12月17日（木） / Thu, 17 Dec 2026, with
the weekday (core.dates), never ISO (2026-12-17) and never a Japanese date without its weekday
(「2026年12月17日 から」). A revision's name made from its date (「2026年12月17日改定」,
"Revision of 17 Dec 2026") is a name, not a date to act on, and keeps the pages' form.

The check renders every kind's templates (ja and en, text and HTML) with a payload that fills
every field any e-mail template reads, each date-like field as the ISO string services store,
under the branches that change which sentences (and dates) appear."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from agreements.catalog import catalog_ensure
from core.enums import OutboxChannel
from core.models import Outbox
from tenants.delivery.email import email_render
from tenants.delivery.kinds import MESSAGES
from tests.console.test_no_iso_dates import ISO_DATE, visible_text

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

TEMPLATES = Path(__file__).resolve().parents[2] / "templates" / "emails"
FIELD = re.compile(r"\b[pd]\.([a-z_]+)")
DATE_LIKE = re.compile(r"(_on|_date|deadline|_end|_start|_due|_closes|_from|_until)$")
INSTANT_LIKE = re.compile(r"_at$")

JA_WEEKDAYS = "月火水木金土日"
# A Japanese date not followed by its weekday, unless it is a revision's name (…日改定).
BARE_JA_DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日(?!（[月火水木金土日]）|改定)")
MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
EN_DATE = re.compile(rf"(?P<before>.{{0,13}})(?P<date>\b\d{{1,2}} (?:{MONTHS}) \d{{4}})")
EN_WEEKDAY = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), $|Revision of $")

# The branches that decide which sentences an e-mail carries.
VARIANTS = [
    {"answer": "accepted", "has_ended": False, "legal_basis": "general_interest"},
    {"answer": "rejected", "has_ended": True, "legal_basis": "reasonable"},
    {
        "answer": "rejected",
        "needs_consent": True,
        "legal_basis": "explicit_consent",
        "consent_mode": "deemed",
        "version_effective": True,
        "cause": "accepted",
        "settlement_due": True,
        "accounts_removed_on_end": True,
    },
]


def _fields() -> set[str]:
    fields: set[str] = set()
    for path in TEMPLATES.rglob("*.*"):
        fields |= set(FIELD.findall(path.read_text(encoding="utf-8")))
    for kind in MESSAGES.values():
        fields |= kind.dates | kind.instants
    return fields


def _payload(variant: dict[str, object]) -> dict[str, object]:
    payload: dict[str, object] = {}
    for field in sorted(_fields()):
        if INSTANT_LIKE.search(field):
            payload[field] = "2026-12-17T05:06:00+00:00"
        elif DATE_LIKE.search(field):
            payload[field] = "2026-12-17"
        else:
            payload[field] = "x"
    payload.update(
        contract_id=3,
        version_id=5,
        record_id=7,
        product="optimal-biz",
        product_code="optimal-biz",
        product_name="Optimal Biz",
        name="2026年12月17日改定",
        version_name="2026年12月17日改定",
        binding_version_name="2026年12月17日改定",
        binding_version_label="2026-12",
        rejection_seq=4,
        notice_days=30,
        invitation_url="https://portal.example/invite/abc",
    )
    payload.update(variant)
    return payload


def date_style_findings(text: str, locale: str) -> list[str]:
    """The dates in `text` (what a person reads) that are not in the pages' style."""
    found = ISO_DATE.findall(text) + BARE_JA_DATE.findall(text)
    if locale == "en":
        found += [
            match.group("date")
            for match in EN_DATE.finditer(text)
            if not EN_WEEKDAY.search(match.group("before"))
        ]
    return found


@pytest.mark.unit
def test_the_date_style_check_finds_the_old_email_style() -> None:
    """The check can fail: the styles e-mails used to write are found."""
    assert date_style_findings("改定後の規約は 2026年12月17日 から適用されます。", "ja") == [
        "2026年12月17日"
    ]
    assert date_style_findings("due 2026-12-17", "ja") == ["2026-12-17"]
    assert date_style_findings("applies from 17 Dec 2026.", "en") == ["17 Dec 2026"]
    assert date_style_findings("2026年12月17日（木）から（2026年12月17日改定）", "ja") == []
    assert date_style_findings("from Thu, 17 Dec 2026 (Revision of 17 Dec 2026)", "en") == []


@pytest.mark.parametrize("locale", ["ja", "en"])
@pytest.mark.parametrize("variant", range(len(VARIANTS)))
def test_no_email_writes_an_iso_date_or_a_date_without_its_weekday(locale, variant) -> None:
    catalog_ensure()
    payload = _payload(VARIANTS[variant])
    found: dict[str, list[str]] = {}
    weekday_dates = 0
    for kind in MESSAGES:
        row = Outbox(
            kind=kind,
            channel=OutboxChannel.EMAIL,
            dedupe_key=f"style:{kind}",
            payload=payload,
            recipient="it@customer.example",
            locale=locale,
        )
        subject, text, html = email_render(row)
        for part, body in (("subject", subject), ("text", text), ("html", visible_text(html))):
            findings = date_style_findings(body, locale)
            if findings:
                found[f"{kind} {part}"] = findings
            weekday_dates += body.count("2026年12月17日（木）") + body.count("Thu, 17 Dec 2026")
    assert found == {}
    assert weekday_dates > 50  # the dates are there, in the one style
