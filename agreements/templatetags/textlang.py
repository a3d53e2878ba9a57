"""`{{ text|text_lang }}`: "ja" for a text with kana or kanji, else "en" — for a `lang`
attribute on text whose language the page does not choose (a schema's descriptions, a
Japanese name on an English page)."""

from __future__ import annotations

import re

from django import template
from django.utils import translation
from django.utils.html import conditional_escape, format_html

from core.dates import is_japanese

register = template.Library()

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


@register.filter
def text_lang(text: object) -> str:
    return "ja" if _CJK.search(str(text or "")) else "en"


@register.filter(is_safe=True)
def ja_text(text: object) -> str:
    """Japanese data (a company, product or document name, a version's public name) on a page
    that is not Japanese: wrapped in `<span lang="ja">` so that a screen reader reads it as
    Japanese; anything else (or any text on a Japanese page) escaped as it is."""
    value = "" if text is None else str(text)
    if _CJK.search(value) and not is_japanese(translation.get_language()):
        return format_html('<span lang="ja">{}</span>', value)
    return conditional_escape(value)
