"""What a product's own terms say, for templates: `{% with book=code|rulebook %}`.

Customer texts (portal pages, e-mails, the public notice) read the article they cite, the
product's own word for itself and whether a rule exists at all from the product's rulebook,
never from a product code: where the terms do not contain a rule, the article is "" and the
template says "see your contract" instead of borrowing another product's article.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import translation
from django.utils.translation import gettext

from agreements.rulebook import EMPTY, Rulebook, rulebook_for
from agreements.selectors.consents import consent_status_label as status_label
from agreements.templatetags.jdates import sep
from core.dates import revision_name

register = template.Library()


def _is_japanese() -> bool:
    return (translation.get_language() or "ja").split("-")[0] == "ja"


def _book(value: Any) -> Rulebook:
    if isinstance(value, Rulebook):
        return value
    code = getattr(value, "code", value)  # a Product or its code
    return rulebook_for(str(code)) if code else EMPTY


@register.filter(name="rulebook")
def rulebook(value: Any) -> Rulebook:
    """The rulebook of a product (or of a product code); the empty one when there is none."""
    return _book(value)


@register.filter(name="has_rule")
def has_rule(value: Any, rule: str) -> bool:
    """Whether the product's terms contain `rule` ("R6")."""
    return _book(value).has(rule)


@register.filter(name="rule_article")
def rule_article(value: Any, rule: str) -> str:
    """「第2条第4項」 / "Article 2(4)" in the page's language; "" where the terms lack the rule."""
    entry = _book(value).entry(rule)
    return entry.article_ja if _is_japanese() else entry.article_en


@register.filter(name="rule_article_ja")
def rule_article_ja(value: Any, rule: str) -> str:
    """The Japanese citation on any page: for Japanese document text (the notice, R8)."""
    return _book(value).entry(rule).article_ja


@register.filter(name="product_word")
def product_word(value: Any) -> str:
    """How the terms call the product (Biz: 本製品) on Japanese pages; its name on English ones."""
    book = _book(value)
    if _is_japanese():
        return book.product_word or "本サービス"
    return book.name_en or book.name or "the service"


@register.filter(name="consent_mode_label")
def consent_mode_label(version: Any, document: Any = None) -> str:
    """The consent mode a customer is shown for a version: what the service records (R3).

    A deemed-mode revision of a product whose terms have no deemed-consent clause records
    silence as `outstanding`, never `deemed`, so it is not labelled みなし同意. Pass the
    version's document when the caller has it loaded with its product (no extra query)."""
    mode = getattr(version, "consent_mode", "")
    product = (document or version.document).product
    if mode == "deemed" and not _book(product).has("R3"):
        return gettext("回答のお願い（みなし同意の定めはありません）")
    return str(version.get_consent_mode_display())


@register.filter(name="deletion_day_label")
def deletion_day_label(value: Any) -> str:
    """R15: what the day a customer's deletion request is due is called. Terms with a deletion
    clause (Biz 10.3) give a deletion date; others only the day the product is told."""
    if _book(value).has("R15"):
        return gettext("削除の期日")
    return gettext("製品へ削除を指示する日")


@register.filter(name="consent_status_label")
def consent_status_label(status: Any, version: Any) -> str:
    """A tenant's status for `version` as people read it (selectors.consents.statuses)."""
    return status_label(str(status), legal_basis=getattr(version, "legal_basis", "") or "")


@register.filter(name="version_name")
def version_name(version: Any) -> str:
    """A version's name for customers and the public, in the page's language: the name staff
    chose, else the revision's effective date (「2026年12月16日改定」), never the internal
    working label unless nothing else exists (TermsVersion.display_name)."""
    if getattr(version, "public_name", "") or getattr(version, "effective_on", None) is None:
        return str(version.display_name)
    return revision_name(version.effective_on, language=translation.get_language())


@register.filter(name="article_list")
def article_list(numbers: Any) -> str:
    """Article numbers as a list people read: 第2条、第5条 / Article 2, Article 5."""
    return sep().join(gettext("第%(number)s条") % {"number": n} for n in numbers)
