"""`{{ text|text_lang }}`: "ja" for a text with kana or kanji, else "en" — for a `lang`
attribute on text whose language the page does not choose (a schema's descriptions, a
Japanese name on an English page)."""

from __future__ import annotations

import re

from django import template

register = template.Library()

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uff00-\uffef]")


@register.filter
def text_lang(text: object) -> str:
    return "ja" if _CJK.search(str(text or "")) else "en"
