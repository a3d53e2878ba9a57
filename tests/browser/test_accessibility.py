"""axe-core over every page, in Japanese and in English: no WCAG 2.2 AA violation.

Each audience is crawled from its start page over the demo data (the real seed documents):
every same-site link is followed once per route, so a new screen is scanned as soon as a
link reaches it, and the route table check below fails when a page that answers GET is
neither reached by a link nor listed with the reason it is not. The API docs are scanned as
well. axe-core is the npm package in tests/browser/package.json (`npm ci`), evaluated in the
page by Playwright (tests/browser/axe.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import Resolver404, get_resolver, resolve
from playwright.sync_api import Page, expect

from agreements.demo import demo_load
from agreements.demo.cast import DEMO_PASSWORD
from agreements.models import TermsDocument
from tests.browser.axe import axe_violations, describe

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")
AS_OF = date(2025, 6, 2)
LANGUAGES = ("ja", "en")

# Never followed: they end the session, or answer a file rather than a page.
SKIP_ROUTES = {
    "console:logout",
    "console:version-export",
    "portal:logout",
    "portal:receipt-pdf",
    "portal:request-receipt-pdf",
    "public:checkpoint-list-json",
    "public:terms-version-pdf",
}
# Pages that answer GET but are reached by no link of a signed-in crawl, each scanned by
# the test named beside it.
ELSEWHERE = {
    "console:login": "test_sign_in_pages_and_api_docs",
    "portal:login": "test_sign_in_pages_and_api_docs",
    "portal:password-reset": "test_sign_in_pages_and_api_docs",
    "portal:password-reset-done": "test_sign_in_pages_and_api_docs",
    "portal:password-reset-complete": "test_sign_in_pages_and_api_docs",
    "portal:password-reset-confirm": "test_sign_in_pages_and_api_docs (invalid link page)",
    "portal:invitation-accept": "test_sign_in_pages_and_api_docs (invalid link page)",
}
# Routes that only take POST (their answer is a redirect or the page they were posted from).
POST_ONLY = {
    "console:partner-key-issue",
    "console:partner-key-revoke",
    "console:tenant-invite",
    "console:invitation-revoke",
    "console:membership-role",
    "console:membership-remove",
    "console:article-add",
    "console:article-save",
    "console:article-delete",
    "console:articles-renumber",
    "console:version-rebase",
    "console:version-paste",
    "console:contract-terminate",
    "console:contract-succession",
    "console:contract-non-renewal",
    "console:contract-non-renewal-withdraw",
    "console:contract-deletion",
    "console:case-decide",
    "console:product-key-issue",
    "console:product-key-revoke",
    "console:dashboard-remind-schedule",
    "console:dashboard-remind-cancel",
    "portal:answer",
    "portal:non-renewal",
    "portal:non-renewal-withdraw",
    "portal:termination",
    "portal:deletion",
    "portal:deletion-withdraw",
    "portal:switch-tenant",
    "portal:member-invite",
    "portal:member-role",
    "portal:invitation-revoke",
    "portal:contact-add",
    "portal:contact-remove",
    "portal:reminder-pref",
}


def route_of(url: str) -> str | None:
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return match.view_name


# Routes whose pages differ by the state of their object (a draft, a scheduled version...):
# several of their URLs are visited, the others' once.
VISITS = {
    "console:version-detail": 8,
    "console:document-detail": 3,
    "portal:review": 3,
    "portal:receipts": 2,  # one list per customer: the second has receipts of requests
    "portal:contract": 4,
}


def crawl(
    page: Page,
    base: str,
    starts: list[str],
    prefixes: Iterable[str],
    visited: dict[str, int] | None = None,
) -> dict[str, list]:
    """Visit every page reachable from `starts` by links under `prefixes`, a few URLs per
    route (`visited` counts them, across crawls when passed); axe each. Returns
    {route: reports of violations} for every route visited."""
    seen: dict[str, list] = {}
    visited = {} if visited is None else visited
    done: set[str] = set()
    queue = list(starts)
    while queue:
        url = queue.pop(0)
        route = route_of(url)
        if route is None or route in SKIP_ROUTES or url in done:
            continue
        if url not in starts and visited.get(route, 0) >= VISITS.get(route, 1):
            continue
        done.add(url)
        response = page.goto(f"{base}{url}")
        assert response is not None
        if response.status == 404:
            # A link to an object the route refuses (the tenant page links the delivery form of
            # every posted version, the form takes live ones only): the route is scanned
            # through another link, which the route table check makes sure of.
            continue
        # 409: a page that refuses up front (scheduling while another version is scheduled)
        # is still a page people read, so it is scanned like the others.
        assert response.status in (200, 409), f"{url} answered {response.status}"
        assert page.url.startswith(f"{base}"), url
        landed = urlsplit(page.url).path
        if route_of(landed) != route:  # redirected: scan where it landed on its own turn
            queue.append(landed)
            continue
        visited[route] = visited.get(route, 0) + 1
        # A page opened by a link has failed no submit: no error summary, no 「エラー: 」 title.
        assert page.get_by_test_id("error-summary").count() == 0, url
        violations = axe_violations(page)
        seen.setdefault(route, [])
        if violations:
            seen[route].append(describe(url, violations))
        for href in page.eval_on_selector_all(
            "a[href]", "links => links.map(a => a.getAttribute('href'))"
        ):
            if href.startswith(tuple(prefixes)) and "format=" not in href:
                queue.append(href)
    return seen


def set_language(page: Page, base: str, language: str) -> None:
    page.goto(f"{base}/terms/")
    page.select_option("#language-select", language)
    page.locator(".language-switch button").click()
    expect(page.locator("html")).to_have_attribute("lang", language)


def sign_in(page: Page, base: str, area: str, username: str) -> None:
    page.goto(f"{base}/{area}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/{area}/")


def assert_clean(found: dict[str, list]) -> None:
    failures = [report for reports in found.values() for report in reports]
    assert not failures, "\n".join(str(f) for f in failures)


@pytest.fixture
def demo(seeds_dir):
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=TOKYO), tick=True):
        demo_load(as_of=AS_OF, terms_dir=seeds_dir)
        yield


def _get_routes(namespace: str) -> set[str]:
    resolver = get_resolver()
    names = set()
    for pattern in resolver.url_patterns:
        if getattr(pattern, "namespace", None) == namespace:
            names.update(f"{namespace}:{p.name}" for p in pattern.url_patterns if p.name)
    return names


def test_console_pages_have_no_violations(page: Page, live_server, demo) -> None:
    for language in LANGUAGES:
        page.context.clear_cookies()
        _console(page, live_server.url, language)


def _console(page: Page, base: str, language: str) -> None:
    set_language(page, base, language)
    # A draft to edit (its editor, change categories and schedule pages), made by an editor
    # through the form after an empty submit, whose error page is scanned too; the crawl is
    # made by another member of staff, who may schedule it (not its author).
    sign_in(page, base, "console", "staff-editor")
    document = TermsDocument.objects.order_by("pk").first()
    assert document is not None
    page.goto(f"{base}/console/documents/{document.pk}/")
    page.locator("main form button[type=submit]").click()
    expect(page.locator(".error-summary")).to_be_visible()
    errors = axe_violations(page)
    page.fill("#id_label", f"a11y-{language}")
    page.locator("main form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/console/versions/\d+/edit/$"))
    draft = urlsplit(page.url).path
    expect(page.locator("[data-testid=messages]")).to_be_focused()  # the success is read out
    page.context.clear_cookies()
    set_language(page, base, language)
    sign_in(page, base, "console", "admin")
    starts = [draft, draft.removesuffix("edit/"), "/console/", "/console/search/?q=デモ"]
    found = crawl(page, base, starts, ["/console/"])
    found["error page"] = [describe("document (empty submit)", errors)] if errors else []
    expected = _get_routes("console") - SKIP_ROUTES - POST_ONLY - set(ELSEWHERE)
    assert expected - set(found) == set(), "pages no link reached"
    assert_clean(found)


def test_portal_and_public_pages_have_no_violations(page: Page, live_server, demo) -> None:
    for language in LANGUAGES:
        page.context.clear_cookies()
        _portal_and_public(page, live_server.url, language)


def _portal_and_public(page: Page, base: str, language: str) -> None:
    set_language(page, base, language)
    starts = ["/terms/", "/terms/optimal-biz/", "/verify/", "/ledger/checkpoints/"]
    found = crawl(page, base, starts, ["/terms/", "/notices/", "/ledger/"])
    visited: dict[str, int] = {}
    # A customer with an open explicit-consent revision, then one with a non-renewal filed.
    for user in ("admin@shoji.example", "admin@seisakusho.example"):
        page.context.clear_cookies()
        set_language(page, base, language)
        sign_in(page, base, "portal", user)
        for route, reports in crawl(page, base, ["/portal/"], ["/portal/"], visited).items():
            found.setdefault(route, []).extend(reports)
    expected = (
        (_get_routes("portal") | _get_routes("public")) - SKIP_ROUTES - POST_ONLY - set(ELSEWHERE)
    )
    assert expected - set(found) == set(), "pages no link reached"
    assert_clean(found)


@pytest.mark.parametrize("language", LANGUAGES)
def test_sign_in_pages_and_api_docs(page: Page, live_server, language) -> None:
    base = live_server.url
    set_language(page, base, language)
    found: dict[str, list] = {}
    for path in [
        "/console/login/",
        "/portal/login/",
        "/portal/password/reset/",
        "/portal/password/reset/sent/",
        "/portal/password/reset/done/",
        "/portal/password/reset/MQ/not-a-token/",
        "/portal/invitations/not-a-token/",
        "/api/v1/docs/",
        "/api/v1/redoc/",
    ]:
        response = page.goto(f"{base}{path}")
        assert response is not None
        assert response.status < 500, path
        if path.startswith("/api/"):
            page.wait_for_selector("h1, h2", timeout=15_000)
        violations = axe_violations(page)
        found[path] = [describe(path, violations)] if violations else []
    assert_clean(found)
