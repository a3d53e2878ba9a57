"""What a parse failure means, in the reader's language: the parser (agreements.text) is pure
and says it in English for logs; people read it here."""

from __future__ import annotations

from django.utils.translation import gettext

from agreements.text.parser import ParseError


def parse_error_text(error: ParseError) -> str:
    """The reason `error` gives, translated where its kind is known, else as the parser said."""
    p = error.params
    if error.kind == "empty":
        return gettext("本文がありません")
    if error.kind == "no_headings":
        return gettext(
            "「第1条（見出し）」の形の条の見出しが見つかりません（見出しには括弧書きの表題が必要です）"
        )
    if error.kind == "article_gap":
        return gettext("第%(expected)s条があるはずの位置に第%(found)s条があります") % p
    if error.kind == "article_duplicate":
        return (
            gettext(
                "第%(found)s条が重複しているか、順序が前後しています（第%(expected)s条が続くはずです）"
            )
            % p
        )
    if error.kind == "paragraph_gap":
        return (
            gettext("第%(article)s条で第%(expected)s項があるはずの位置に第%(found)s項があります")
            % p
        )
    if error.kind == "paragraph_duplicate":
        return gettext("第%(article)s条の第%(found)s項が重複しています") % p
    return error.message
