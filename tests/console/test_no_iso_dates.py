"""One date style for people: 2026年12月16日（水）, through the one formatter
(agreements/templatetags/jdates.py). No date reaches a person in ISO form (2026-12-16);
machine-readable places (datetime="", a date input's value="", CSV, JSON) keep ISO.

Two checks: every template, read without rendering (no ISO date format outside an
attribute), and the console's main pages rendered in Japanese (no ISO date in their text)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from agreements.catalog import catalog_ensure
from agreements.models import Contract
from agreements.services.consents.answers import consent_answer
from core import clock
from tenants.scope import Scope
from tests.console.conftest import make_staff, post_revision

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"
# A `date` filter whose format writes a date the ISO way (or as digits and dots), and
# isoformat called from a template.
ISO_FORMAT = re.compile(r"""\|\s*date\s*:\s*(["'])(?P<fmt>[^"']*)\1""")
ISO_LIKE = re.compile(r"^(c|[Yy][-./][mn][-./][dj].*|DATE_FORMAT|SHORT_DATE_FORMAT|r|U)$")
ATTRIBUTE = re.compile(r"""(datetime|value)=["'][^"']*$""")
# Shown to people on purpose, with the reason.
ALLOWED = {
    # The receipt's exact timestamp as evidence, under the readable one (jdatetime).
    ("agreements/portal/_receipt.html", "c"),
    ("agreements/portal/_request_receipt.html", "c"),
}
ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")


def _template_findings() -> list[str]:
    findings = []
    for path in sorted(TEMPLATES.rglob("*.html")) + sorted(TEMPLATES.rglob("*.txt")):
        name = str(path.relative_to(TEMPLATES))
        text = path.read_text(encoding="utf-8")
        if "isoformat" in text:
            findings.append(f"{name}: isoformat")
        for match in ISO_FORMAT.finditer(text):
            fmt = match.group("fmt")
            if not ISO_LIKE.match(fmt) or (name, fmt) in ALLOWED:
                continue
            if ATTRIBUTE.search(text[max(0, match.start() - 200) : match.start()]):
                continue  # datetime="…" / value="…": for machines
            line = text.count("\n", 0, match.start()) + 1
            findings.append(f"{name}:{line}: date:{fmt!r}")
    return findings


@pytest.mark.unit
def test_no_template_writes_a_date_the_iso_way() -> None:
    assert _template_findings() == []


# The customer portal and the public pages write every date a person reads with its weekday
# (2026年12月16日（水） / Wed, 16 Dec 2026): the weekday-less filters are the console's and
# the e-mails' business, not these pages'.
PERSON_FACING = ("agreements/portal", "tenants/portal", "agreements/public")
NO_WEEKDAY_FILTER = re.compile(r"\|\s*jdate(?:time)?\b(?!_)")


def _weekday_findings() -> list[str]:
    findings = []
    for folder in PERSON_FACING:
        for path in sorted((TEMPLATES / folder).rglob("*.html")):
            text = path.read_text(encoding="utf-8")
            for match in NO_WEEKDAY_FILTER.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                findings.append(f"{path.relative_to(TEMPLATES)}:{line}: {match.group().strip()}")
    return findings


@pytest.mark.unit
def test_portal_and_public_templates_write_dates_with_their_weekday() -> None:
    assert _weekday_findings() == []


@pytest.mark.unit
def test_the_weekday_check_finds_a_weekday_less_date(tmp_path, monkeypatch) -> None:
    folder = tmp_path / "agreements" / "portal"
    folder.mkdir(parents=True)
    (folder / "x.html").write_text("{{ a|jdate_wd }} {{ b|jdate }} {{ c|jdatetime }}", "utf-8")
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "TEMPLATES", tmp_path)
    assert _weekday_findings() == [
        "agreements/portal/x.html:1: |jdate",
        "agreements/portal/x.html:1: |jdatetime",
    ]


@pytest.mark.unit
def test_the_static_check_finds_an_iso_date(tmp_path, monkeypatch) -> None:
    """The check above can fail: a template with an ISO date is found, an attribute is not."""
    (tmp_path / "x.html").write_text(
        '<time datetime="{{ d|date:\'Y-m-d\' }}">{{ d|date:"Y-m-d" }}</time>', encoding="utf-8"
    )
    monkeypatch.setattr(__import__(__name__, fromlist=["x"]), "TEMPLATES", tmp_path)
    assert _template_findings() == ["x.html:1: date:'Y-m-d'"]


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
JA_DATE = re.compile(r"\d{4}年\d{1,2}月\d{1,2}日")


class _Text(HTMLParser):
    """The text a person reads: character data outside <script> / <style>, and outside the
    audit log's summaries (stored English log lines written by the services, not page text).
    With `skip_ja`, also outside elements marked lang="ja" (Japanese text on an English page,
    which keeps its own date style)."""

    def __init__(self, *, skip_ja: bool = False) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._summary = False
        self._skip_ja = skip_ja
        self._stack: list[tuple[str, bool]] = []  # open elements: (tag, inside lang="ja")

    def _in_ja(self) -> bool:
        return bool(self._stack) and self._stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "td" and "audit-summary" in (dict(attrs).get("class") or ""):
            self._summary = True
        if tag not in VOID:
            lang = dict(attrs).get("lang")
            ja = (lang or "").startswith("ja") if lang is not None else self._in_ja()
            self._stack.append((tag, ja))

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "td":
            self._summary = False
        for index in range(len(self._stack) - 1, -1, -1):
            if self._stack[index][0] == tag:
                del self._stack[index:]
                break

    def handle_data(self, data: str) -> None:
        if self._skip or self._summary or (self._skip_ja and self._in_ja()):
            return
        self.parts.append(data)


def visible_text(html: str, *, skip_ja: bool = False) -> str:
    parser = _Text(skip_ja=skip_ja)
    parser.feed(html)
    return " ".join(parser.parts)


def _console_pages(world, editor, publisher):
    """A posted revision with a rejection (so a case), and the console's main pages."""
    version = post_revision(
        document=world.document, editor=editor, publisher=publisher, today=clock.today()
    )
    consent_answer(scope=Scope.system(), tenant=world.tenant, version=version, answer="rejected")
    # The fixture's label is itself an ISO date (a label is staff's free text, not a date).
    world.current.label = "現行版"
    world.current.save(update_fields=["label"])
    contract = Contract.objects.filter(tenant=world.tenant).first()
    assert contract is not None
    catalog_ensure()
    pages = [
        reverse("console:home"),
        reverse("console:document-detail", args=[world.document.pk]),
        reverse("console:version-detail", args=[version.pk]),
        reverse("console:version-detail", args=[world.current.pk]),
        reverse("console:version-withdraw", args=[version.pk]),
        reverse("console:version-notice", args=[version.pk]),
        reverse("console:compare", args=[world.document.pk]),
        reverse("console:dashboard"),
        reverse("console:dashboard-drill", args=[version.pk]),
        reverse("console:dashboard-remind", args=[version.pk]),
        reverse("console:tenant-detail", args=[world.tenant.pk]),
        reverse("console:contract-list"),
        reverse("console:contract-detail", args=[contract.pk]),
        reverse("console:case-list"),
        reverse("console:deletion-list"),
        reverse("console:audit-list"),
        reverse("console:partner-detail", args=[world.partner.pk]),
        reverse("console:version-edit", args=[world.draft.pk]),
        reverse("console:deliveries"),
        reverse("console:products"),
    ]
    return version, pages


def _editor_and_publisher():
    """A staff member who sees every page (the draft editor as well as the publisher's)."""
    user = make_staff("publisher")
    user.groups.add(Group.objects.get_or_create(name="editor")[0])
    return user


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ja", "en"])
def test_console_pages_show_no_iso_date(client, world, editor, publisher, language) -> None:
    """Japanese pages: 2026年12月16日（水）; English pages: Wed, 16 Dec 2026 — neither shows an
    ISO date, and an English page shows no Japanese-style date outside Japanese text
    (lang="ja")."""
    version, pages = _console_pages(world, editor, publisher)
    client.force_login(_editor_and_publisher())
    found = {}
    for url in pages:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        html = response.content.decode()
        dates = ISO_DATE.findall(visible_text(html))
        if language == "en":
            dates += JA_DATE.findall(visible_text(html, skip_ja=True))
        if dates:
            found[url] = dates
    assert found == {}
    # The pages do show dates, in the one style of their language.
    body = client.get(
        reverse("console:version-detail", args=[version.pk]), HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    effective = version.effective_on
    if language == "ja":
        weekday = "月火水木金土日"[effective.weekday()]
        assert f"{effective.year}年{effective.month}月{effective.day}日（{weekday}）" in body
    else:
        weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[effective.weekday()]
        month = effective.strftime("%b")
        assert f"{weekday}, {effective.day} {month} {effective.year}" in body


# A date as people read it, without its weekday after it: 2026年12月16日 not followed by
# （水）. A version's default name (「2026年12月16日改定」 / "Revision of 16 Dec 2026") is a
# name, not a date; the example of the body's own 最終改定 line (例: …) is document text.
JA_DATE_NO_WEEKDAY = re.compile(r"(?<!例: )\d{4}年\d{1,2}月\d{1,2}日(?!（[月火水木金土日]）|改定)")
EN_DATE = re.compile(
    r"(?<!Mon, )(?<!Tue, )(?<!Wed, )(?<!Thu, )(?<!Fri, )(?<!Sat, )(?<!Sun, )(?<!Revision of )"
    r"\b\d{1,2} (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4}\b"
)


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize("language", ["ja", "en"])
def test_console_dates_carry_their_weekday(client, world, editor, publisher, language) -> None:
    """Every date the console shows is written by the one formatter with its weekday:
    2026年12月16日（水） / Wed, 16 Dec 2026 (document text, lang="ja" on English pages, and
    the audit log's stored summaries aside)."""
    _version, pages = _console_pages(world, editor, publisher)
    client.force_login(_editor_and_publisher())
    found = {}
    for url in pages:
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=language)
        assert response.status_code == 200, url
        text = visible_text(response.content.decode(), skip_ja=language == "en")
        pattern = JA_DATE_NO_WEEKDAY if language == "ja" else EN_DATE
        dates = pattern.findall(text)
        if dates:
            found[url] = dates
    assert found == {}


@pytest.mark.integration
@pytest.mark.django_db
def test_console_messages_write_their_dates_with_the_formatter(
    client, world, editor, publisher
) -> None:
    """The flash messages after confirming a termination case and recording a deletion
    request name their date as 2026年12月16日（水）, not 2026-12-16."""
    from agreements.models import DataDeletion, TerminationCase
    from agreements.templatetags.jdates import jdate_wd

    version = post_revision(
        document=world.document, editor=editor, publisher=publisher, today=clock.today()
    )
    consent_answer(scope=Scope.system(), tenant=world.tenant, version=version, answer="rejected")
    case = TerminationCase.objects.get(tenant=world.tenant)
    client.force_login(_editor_and_publisher())
    page = client.post(
        reverse("console:case-decide", args=[case.pk, "confirm"]), {"note": "確認済み"}, follow=True
    ).content.decode()
    case.refresh_from_db()
    assert f"契約は {jdate_wd(case.end_date)} に終了します" in page
    contract = world.contract
    contract.refresh_from_db()
    page = client.post(reverse("console:contract-deletion", args=[contract.pk]), follow=True)
    deletion = DataDeletion.objects.filter(contract=contract).latest("pk")
    assert f"期日 {jdate_wd(deletion.due_on)}" in page.content.decode()
