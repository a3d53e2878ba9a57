"""Dates as readers expect them: 2025年3月31日 on Japanese pages, 31 Mar 2025 on English ones.

One style per language (core.dates, which e-mails use too): 2026年12月16日（水） in Japanese,
Wed, 16 Dec 2026 in English (never ISO: 2026-12-16 is for machines, in attributes, CSV and
JSON). Japanese document text shown on an English page (the binding notice, R8) keeps the
Japanese style with a Japanese weekday (`jdate_wd_ja`): an English weekday inside a Japanese date reads as an error.

Business dates are JST dates (docs/architecture.md, "The clock"); instants are shown in JST with the
zone named on English pages, since an English reader may be elsewhere.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django import template
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from core import clock
from core.dates import date_text, instant_text, is_japanese

register = template.Library()


def _is_japanese() -> bool:
    return is_japanese(translation.get_language())


def format_date(value: date | datetime | None, *, weekday: bool = False) -> str:
    """A business date in the active language (core.dates: the one style, e-mails use it
    too); an instant is first turned into its JST date."""
    if value is None or value == "":
        return ""
    if isinstance(value, datetime):
        value = clock.business_date(value)
    return date_text(value, language=translation.get_language(), weekday=weekday)


def format_date_ja(value: date | datetime | None, *, weekday: bool = False) -> str:
    """The Japanese style whatever the page's language: for text that is Japanese itself."""
    with translation.override("ja"):
        return format_date(value, weekday=weekday)


def format_instant(value: datetime | None, *, weekday: bool = False) -> str:
    """An instant in JST to the minute: 2025年3月31日 14:05 / 31 Mar 2025 14:05 JST, or with
    the weekday: 2025年3月31日（月） 14:05 / Mon, 31 Mar 2025 14:05 JST."""
    if value is None:
        return ""
    return instant_text(value, language=translation.get_language(), weekday=weekday)


@register.filter(name="jdate")
def jdate(value: date | datetime | None) -> str:
    return format_date(value)


@register.filter(name="jdate_wd")
def jdate_wd(value: date | datetime | None) -> str:
    """With the weekday: deadlines are easier to plan with it."""
    return format_date(value, weekday=True)


@register.filter(name="jdate_wd_ja")
def jdate_wd_ja(value: date | datetime | None) -> str:
    """A date inside Japanese document text: Japanese with its Japanese weekday on any page."""
    return format_date_ja(value, weekday=True)


@register.filter(name="day_before")
def day_before(value: date | None) -> date | None:
    """The last day before `value`: e.g. the last day to object to a change effective on it."""
    if value is None or value == "":
        return None
    return value - timedelta(days=1)


@register.filter(name="jdatetime")
def jdatetime(value: datetime | None) -> str:
    return format_instant(value)


@register.filter(name="jdatetime_wd")
def jdatetime_wd(value: datetime | None) -> str:
    """An instant with the date's weekday, for what people act on (a receipt's filing time)."""
    return format_instant(value, weekday=True)


@register.filter(name="days_until")
def days_until(value: date | None) -> int | None:
    """Whole days from today (JST) to `value`; negative once it has passed."""
    if value is None or value == "":
        return None
    return (value - clock.today()).days


class _ParenNode(template.Node):
    def __init__(self, nodelist: template.NodeList) -> None:
        self.nodelist = nodelist

    def render(self, context: template.Context) -> SafeString:
        inner = self.nodelist.render(context)
        # Full-width brackets belong to Japanese text; English takes ASCII ones after a space
        # (collapsed by HTML where the template already has one).
        return mark_safe(f"（{inner}）" if _is_japanese() else f" ({inner})")  # noqa: S308 -- rendered, escaped content


@register.tag(name="paren")
def paren(parser: template.base.Parser, token: template.base.Token) -> _ParenNode:
    """{% paren %}…{% endparen %}: （…） on Japanese pages, (…) on English ones."""
    nodelist = parser.parse(("endparen",))
    parser.delete_first_token()
    return _ParenNode(nodelist)


@register.simple_tag(name="colon")
def colon() -> str:
    """A label's colon: ： in Japanese, ": " in English."""
    return "：" if _is_japanese() else ": "


@register.simple_tag(name="sep")
def sep() -> str:
    """A list separator: 、 in Japanese, a comma in English."""
    return "、" if _is_japanese() else ", "


@register.simple_tag(name="dot")
def dot() -> str:
    """The middle dot joining two labels: ・ in Japanese, a comma in English."""
    return "・" if _is_japanese() else ", "
