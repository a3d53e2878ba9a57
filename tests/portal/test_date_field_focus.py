"""The date fields' calendar button (and the field's own parts) draw the site focus ring:
3 px in --c-focus, 3:1 against the white field and the grey page (WCAG 2.2, 1.4.11 / 2.4.7).

Their focus sits in the browser's shadow tree, where the site's :focus-visible ring was not
drawn; tests/browser/test_keyboard.py tabs through a real date field, this checks the
stylesheet that draws it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

CSS = (Path(__file__).resolve().parents[2] / "static" / "css" / "terms.css").read_text("utf-8")
WHITE = (255, 255, 255)
PAGE_GREY = (0xF5, 0xF7, 0xFA)


def _luminance(rgb: tuple[int, int, int]) -> float:
    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.03928 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: tuple[int, int, int], b: tuple[int, int, int]) -> float:
    light, dark = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def _rule(selector: str) -> str:
    """The declarations of the rule whose whole selector is `selector`."""
    match = re.search(rf"(?:^|}}|\*/)\s*{re.escape(selector)}\s*{{([^}}]*)}}", CSS, re.M)
    assert match is not None, selector
    return match.group(1)


@pytest.mark.parametrize(
    "selector",
    [
        'input[type="date"]:focus',
        # The calendar button focused: the field matches :focus-within, not :focus.
        'input[type="date"]:focus-within',
        'input[type="date"]::-webkit-calendar-picker-indicator:focus',
        'input[type="date"]::-webkit-calendar-picker-indicator:focus-visible',
    ],
)
def test_date_field_and_its_calendar_button_draw_the_site_focus_ring(selector) -> None:
    declarations = _rule(selector)
    assert re.search(r"outline:\s*3px solid var\(--c-focus\)", declarations), declarations
    focus = re.search(r"--c-focus:\s*#([0-9a-fA-F]{6})", CSS)
    assert focus is not None
    ring = tuple(int(focus.group(1)[i : i + 2], 16) for i in (0, 2, 4))
    assert _contrast(ring, WHITE) >= 3
    assert _contrast(ring, PAGE_GREY) >= 3
