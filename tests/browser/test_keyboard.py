"""What axe-core cannot see, found with the keyboard and at phone widths (issue #18): the
focus ring's contrast, a failed submit's error summary and title, success messages read out,
heading levels on the review page, members' controls that name the member and a removal that
asks first, the draft editor's confirmations, marker and 320 px width, the dashboard chart's
colours and link names, `lang` on Japanese text in English pages, and the notice table on a
390 px phone. Each leaves a screenshot under test-artifacts/screenshots/.
"""

from __future__ import annotations

import itertools
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from playwright.sync_api import Page, expect

from agreements.catalog import ID_PLUS
from agreements.demo import demo_load
from agreements.models import TermsDocument, TermsVersion
from agreements.services.imports import terms_import_notice
from tenants.models import Membership
from tenants.scope import Scope
from tests.browser.test_portal_flows import REVIEW_DAY, portal_login
from tests.portal.conftest import build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TOKYO = ZoneInfo("Asia/Tokyo")


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(float(x)) for x in re.findall(r"[\d.]+", css)[:3])
    return r, g, b


WHITE = (255, 255, 255)
PAGE_GREY = (0xF5, 0xF7, 0xFA)


def test_focus_ring_has_3_to_1_against_the_page(page: Page, live_server, shot) -> None:
    page.goto(f"{live_server.url}/portal/login/")
    page.keyboard.press("Tab")  # the skip link
    page.keyboard.press("Tab")  # the brand link, in the white header
    ring = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
    width = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
    assert float(width.removesuffix("px")) >= 2
    assert contrast(rgb(ring), WHITE) >= 3
    assert contrast(rgb(ring), PAGE_GREY) >= 3
    page.focus("#id_username")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    shot("keyboard-focus-ring")


def test_date_field_and_its_calendar_button_show_the_focus_ring(
    page: Page, live_server, shot
) -> None:
    """Every tab stop inside a date field (its parts and the calendar button, focused in the
    browser's shadow tree) draws the site ring on the field: 3 px, 3:1 on white and grey."""
    base = live_server.url
    with time_machine.travel(REVIEW_DAY, tick=True):
        world = build_world(name="株式会社日付欄")
        portal_login(page, base, world.admin.user.username)
        page.goto(f"{base}/portal/contracts/{world.contract.pk}/")
        field = page.locator("#id_end_date")
        field.scroll_into_view_if_needed()
        page.focus("#id_end_date")
        page.keyboard.press("Shift+Tab")
        stops = 0
        while True:
            page.keyboard.press("Tab")
            if not page.evaluate("document.activeElement.id === 'id_end_date'"):
                break
            stops += 1
            ring = page.evaluate("getComputedStyle(document.activeElement).outlineColor")
            width = page.evaluate("getComputedStyle(document.activeElement).outlineWidth")
            style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert (style, float(width.removesuffix("px"))) == ("solid", 3.0)
            assert contrast(rgb(ring), WHITE) >= 3
            assert contrast(rgb(ring), PAGE_GREY) >= 3
            shot(f"keyboard-date-field-stop-{stops}")
            assert stops < 6
        # Year, month, day and the calendar button: the button's stop (where the field
        # matches :focus-within, not :focus) is among those checked.
        assert stops >= 4


def test_failed_submit_has_a_focused_error_summary_and_an_error_title(
    page: Page, live_server, shot
) -> None:
    page.goto(f"{live_server.url}/portal/login/")
    title = page.title()
    page.fill("#id_username", "nobody@example.com")
    page.fill("#id_password", "wrong-password")
    page.keyboard.press("Enter")
    summary = page.get_by_test_id("error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary).to_be_focused()
    assert page.title() == f"エラー: {title}"
    shot("keyboard-error-summary")
    # An empty submit: each field's error links to its field.
    page.fill("#id_username", "")
    page.fill("#id_password", "")
    page.locator("main form button[type=submit]").click()
    link = page.get_by_test_id("error-summary").locator("a").first
    expect(link).to_be_visible()
    link.press("Enter")
    expect(page.locator(link.get_attribute("href") or "#none")).to_be_focused()


def test_english_error_title(page: Page, live_server) -> None:
    page.goto(f"{live_server.url}/terms/")
    page.select_option("#language-select", "en")
    page.locator(".language-switch button").click()
    page.goto(f"{live_server.url}/portal/login/")
    page.locator("main form button[type=submit]").click()
    expect(page.get_by_test_id("error-summary")).to_be_visible()
    assert page.title().startswith("Error: ")


def test_review_headings_members_named_and_removal_confirmed(page: Page, live_server, shot) -> None:
    base = live_server.url
    with time_machine.travel(REVIEW_DAY, tick=True):
        world = build_world(name="株式会社見出しテスト")
        portal_login(page, base, world.admin.user.username)
        page.goto(f"{base}/portal/changes/{world.v2.pk}/")
        assert page.locator("h1").count() == 1
        levels = page.evaluate(
            "[...document.querySelectorAll('main h1, main h2, main h3, main h4, main h5')]"
            ".map(h => Number(h.tagName[1]))"
        )
        # No level is skipped going down, and the document's title sits under 改定後の全文.
        assert all(b <= a + 1 for a, b in itertools.pairwise(levels)), levels
        fulltext = page.locator("section[aria-labelledby=fulltext-heading]")
        expect(fulltext.locator("h3.doc-title")).to_have_count(1)
        assert fulltext.locator("h2.article-heading, h3.article-heading").count() == 0
        assert fulltext.locator("h4.article-heading").count() >= 1
        shot("keyboard-review-headings")

        # Members: each control says whose it is; 外す leads to a confirmation page.
        page.goto(f"{base}/portal/members/")
        viewer = world.viewer.user
        who = viewer.get_full_name() or viewer.email or viewer.username
        expect(page.get_by_label(f"{who}の役割")).to_be_visible()
        remove = page.get_by_role("link", name=re.compile(rf"^外す\s*（{re.escape(who)}）$"))
        expect(remove).to_be_visible()
        remove.focus()
        page.keyboard.press("Enter")
        expect(page).to_have_url(f"{base}/portal/members/{world.viewer.pk}/remove/")
        expect(page.get_by_role("heading", name=f"{who}をメンバーから外しますか？")).to_be_visible()
        expect(page.get_by_test_id("page-heading")).to_be_focused()  # not left on <body>
        assert Membership.objects.filter(pk=world.viewer.pk).exists()  # nothing happened yet
        shot("keyboard-member-remove-confirm")
        page.get_by_role("button", name=f"{who}を外す").press("Enter")
        expect(page).to_have_url(f"{base}/portal/members/")
        assert not Membership.objects.filter(pk=world.viewer.pk).exists()
        # The success message is a status region and takes focus, so it is read out.
        messages = page.get_by_test_id("messages")
        expect(messages).to_have_attribute("role", "status")
        expect(messages).to_be_focused()
        shot("keyboard-success-message")


def test_editor_dashboard_and_lang_over_the_demo(page: Page, live_server, login, shot, seeds_dir):
    base = live_server.url
    with time_machine.travel(datetime(2025, 6, 2, 10, 0, tzinfo=TOKYO), tick=True):
        demo_load(as_of=date(2025, 6, 2), terms_dir=seeds_dir)
        page.goto(f"{base}/console/login/")
        page.fill("#id_username", "staff-editor")
        page.fill("#id_password", "demo-pass-2026")
        page.locator("main form button[type=submit]").click()
        document = TermsDocument.objects.get(product__code="optimal-biz", slug="terms")
        page.goto(f"{base}/console/documents/{document.pk}/")
        page.fill("#id_label", "keyboard")
        page.locator("main form button[type=submit]").click()
        expect(page).to_have_url(re.compile(r"/console/versions/\d+/edit/$"))
        edit_url = page.url
        # The draft starts from the scheduled version when there is one (20 articles in the
        # demo), else the version in force (19): what matters is that nothing is deleted.
        articles = TermsVersion.objects.get(label="keyboard", document=document).articles.count()

        # The disclosure marker shows; at 320 px nothing overflows sideways.
        page.set_viewport_size({"width": 320, "height": 800})
        summary = page.locator("details.article-editor > summary").first
        assert summary.evaluate("s => getComputedStyle(s).display") == "list-item"
        page.locator("details.article-editor").last.evaluate("d => d.open = true")
        article = page.locator("details.article-editor").nth(18)
        article.locator("summary").click()
        delete = article.get_by_role("button", name=re.compile("を削除$"))
        expect(delete).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        box = delete.bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= 320
        shot("keyboard-editor-320")

        # Delete, renumber and replace each ask first.
        delete.press("Enter")
        expect(page.get_by_role("heading", name=re.compile("を削除しますか？$"))).to_be_visible()
        version = TermsVersion.objects.get(label="keyboard", document=document)
        assert version.articles.count() == articles
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        shot("keyboard-editor-delete-confirm")
        page.get_by_role("link", name="やめて編集に戻る").click()
        expect(page).to_have_url(edit_url)
        page.get_by_role("button", name="条番号を1から振り直す").press("Enter")
        expect(page.get_by_role("heading", name="条番号を1から振り直しますか？")).to_be_visible()
        page.goto(edit_url)
        page.locator("#paste-title").click()
        page.fill("#id_paste-text", (seeds_dir / next(seeds_dir.glob("000_*")).name).read_text())
        page.get_by_role("button", name="全文を読み込む").click()
        expect(page.get_by_role("heading", name=re.compile("置き換えますか？$"))).to_be_visible()
        assert version.articles.count() == articles
        page.get_by_role("button", name="全文を置き換える").click()
        expect(page).to_have_url(edit_url)

        # Dashboard: segments 3:1 against the white gaps between them; links say what they count.
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(f"{base}/console/dashboard/")
        fills = page.eval_on_selector_all(
            "svg.chart-bar rect[class^=seg-]",
            "rects => rects.map(r => [getComputedStyle(r).fill, getComputedStyle(r).stroke,"
            " getComputedStyle(r).strokeWidth])",
        )
        assert fills
        for fill, stroke, stroke_width in fills:
            assert rgb(stroke) == WHITE
            assert float(stroke_width.removesuffix("px")) >= 1
            assert contrast(rgb(fill), WHITE) >= 3, fill
        link = page.locator("[data-testid=dashboard-table] a[data-status=accepted]").first
        name = link.evaluate("a => a.textContent")
        assert "同意済み" in name, name  # the status, not only the number
        assert "Optimal Biz" in name, name  # and the document
        shot("keyboard-dashboard")

        # English pages mark Japanese names and titles as Japanese.
        public = page.context.browser.new_page(locale="en-US")
        public.goto(f"{base}/terms/")
        public.select_option("#language-select", "en")
        public.locator(".language-switch button").click()
        public.goto(f"{base}/terms/optimal-biz/")
        expect(public.locator("html")).to_have_attribute("lang", "en")
        expect(public.locator("main h1")).to_have_attribute("lang", "ja")
        expect(public.get_by_test_id("toc").locator("ol")).to_have_attribute("lang", "ja")
        shot("keyboard-public-en", public)


def test_notice_table_stacks_on_a_phone(page: Page, live_server, shot, seeds_dir) -> None:
    text = next(seeds_dir.glob("003_*.txt")).read_text(encoding="utf-8")
    _before, version = terms_import_notice(scope=Scope.system(), product_code=ID_PLUS, text=text)
    page.set_viewport_size({"width": 390, "height": 844})
    response = page.goto(f"{live_server.url}/notices/{version.pk}/")
    assert response is not None
    assert response.status == 200
    table = page.get_by_test_id("notice-table").first
    expect(table).to_be_visible()
    before = table.locator("td.before").first
    after = table.locator("td.after").first
    b, a = before.bounding_box(), after.bounding_box()
    assert b is not None
    assert a is not None
    # Stacked: each side takes (nearly) the screen's width, 改定後 under 改定前.
    assert b["width"] >= 300
    assert a["width"] >= 300
    assert a["y"] >= b["y"] + b["height"] - 1
    label = after.evaluate("td => getComputedStyle(td, '::before').content")
    assert "改定後" in label
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shot("phone-390-notice-table")
