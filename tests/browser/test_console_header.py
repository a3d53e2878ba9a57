"""The console's header stays on one line on a 1366 px wide screen (the common office
laptop): brand, menu and tools side by side, nothing wrapped."""

from __future__ import annotations

import pytest

from tests.console.conftest import make_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("width", [1366, 1440])
def test_header_is_one_line_at_laptop_width(page, live_server, login, shot, width) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    login(make_staff("publisher", username="publisher-with-a-long-name"))
    boxes = {
        name: page.locator(selector).bounding_box()
        for name, selector in {
            "brand": ".site-header .site-brand",
            "first": ".site-nav li:first-child a",
            "last": ".site-nav li:last-child a",
            "tools": ".site-header .site-tools",
            "logout": ".site-tools button:text('ログアウト')",
        }.items()
    }
    shot(f"console-header-{width}")
    tops = {name: round(box["y"] + box["height"] / 2) for name, box in boxes.items() if box}
    assert len(tops) == 5
    # One row: every part's middle within a few pixels of the brand's.
    assert max(tops.values()) - min(tops.values()) <= 8, tops
    header = page.locator(".site-header").bounding_box()
    assert header is not None
    assert header["height"] < 70, header
