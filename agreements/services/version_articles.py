"""Editing a draft's articles one at a time: add or replace, delete, renumber (R7: drafts only).

Every edit checks the editor's role, locks the draft, records the editor as an author (four eyes,
versions/schedule.py) and writes an audit row.
"""

from __future__ import annotations

import re

from django.db import transaction
from django.utils.translation import gettext

from agreements.enums import AuthorRole
from agreements.models import Article, Paragraph, TermsVersion
from agreements.services.parse_messages import parse_error_text
from agreements.services.version_drafts import authored, locked_draft, require_editor, staff_actor
from agreements.services.version_text import full_width, rows_from_parsed
from agreements.text.parser import ParsedTerms, ParseError, parse_terms
from core.enums import AuditAction
from core.errors import NotFound, ValidationFailed
from core.services import audit_add
from tenants.scope import Scope

# An article heading's own number (第１条, 第 12 条): renumbering rewrites it.
_HEADING_NUMBER = re.compile(r"^第\s*[0-9０-９]+\s*条")


def _parse_article_body(number: int, title: str, body: str) -> ParsedTerms:
    title = (title or "").strip()
    if not title or re.search(r"[（）()]", title):
        raise ValidationFailed(
            gettext("条の表題を括弧なしで入力してください。"), code="invalid_article_title"
        )
    if number < 1:
        raise ValidationFailed(gettext("条番号は1以上です。"), code="invalid_article_number")
    # The parser reads a whole document whose first article is 第1条; the body lines are
    # numbered from line 2, so a ParseError's line - 1 is the line of the body.
    try:
        parsed = parse_terms(f"第1条（{title}）\n{body}")
    except ParseError as exc:
        raise ValidationFailed(
            gettext("本文%(line)d行目: %(error)s")
            % {"line": max(exc.line - 1, 1), "error": parse_error_text(exc)},
            code="parse_error",
            line=max(exc.line - 1, 1),
        ) from exc
    if len(parsed.articles) != 1 or parsed.trailer:
        raise ValidationFailed(
            gettext("本文には一つの条だけを入力してください（見出しや「以上」は含めません）。"),
            code="not_one_article",
        )
    return parsed


def _reposition(articles: list[Article]) -> None:
    """Give `articles` positions 1..n in list order without tripping the unique index."""
    if not articles:
        return
    offset = max(a.position for a in articles) + len(articles) + 1
    for index, article in enumerate(articles):
        Article.objects.filter(pk=article.pk).update(position=offset + index)
    for index, article in enumerate(articles, start=1):
        Article.objects.filter(pk=article.pk).update(position=index)
        article.position = index


@transaction.atomic
def article_upsert(
    *, scope: Scope, version: TermsVersion, number: int, title: str, body: str
) -> Article:
    """Create or replace article `number` of a draft from its plain text body.

    The body is written as in the documents: paragraphs ``1.``, items ``(1)``. A new article
    goes in number order.
    """
    require_editor(scope)
    locked = locked_draft(version)
    parsed = _parse_article_body(number, title, body)
    [(_, paragraphs)] = rows_from_parsed(parsed)
    heading = f"第{full_width(number)}条（{title.strip()}）"
    article = Article.objects.filter(version=locked, number=number).first()
    created = article is None
    if article is None:
        ordered = list(Article.objects.filter(version=locked).order_by("position"))
        article = Article.objects.create(
            version=locked,
            position=(max((a.position for a in ordered), default=0) + 1),
            number=number,
            heading=heading,
            title=title.strip(),
        )
        index = next((i for i, a in enumerate(ordered) if a.number > number), len(ordered))
        _reposition([*ordered[:index], article, *ordered[index:]])
    else:
        article.heading, article.title = heading, title.strip()
        article.save(update_fields=["heading", "title"])
        article.paragraphs.all().delete()
    for row in paragraphs:
        row.article = article
    Paragraph.objects.bulk_create(paragraphs)
    authored(scope, locked, AuthorRole.EDITED, f"article {number}")
    audit_add(
        actor=staff_actor(scope),
        # The audited object is the version, which an added article updates, not creates
        # (a `create` row on the version is its creation: the approval history reads it).
        action=AuditAction.UPDATE,
        obj=locked,
        summary=f"draft {locked.label}: {'added' if created else 'edited'} article {number}",
        data={"article": number, "title": title.strip(), "added": created},
    )
    return article


@transaction.atomic
def article_delete(*, scope: Scope, version: TermsVersion, number: int) -> None:
    """Delete article `number` of a draft (call `articles_renumber` to close the gap)."""
    require_editor(scope)
    locked = locked_draft(version)
    deleted, _ = Article.objects.filter(version=locked, number=number).delete()
    if not deleted:
        raise NotFound(gettext("第%(number)s条はありません。") % {"number": number})
    authored(scope, locked, AuthorRole.EDITED, f"article {number}")
    audit_add(
        actor=staff_actor(scope),
        action=AuditAction.REMOVE,
        obj=locked,
        summary=f"draft {locked.label}: deleted article {number}",
        data={"article": number},
    )


@transaction.atomic
def articles_renumber(*, scope: Scope, version: TermsVersion) -> list[Article]:
    """Number a draft's articles 1..n in document order and rewrite their headings.

    References inside the text (第５条に定める…) are the editor's to adjust.
    """
    require_editor(scope)
    locked = locked_draft(version)
    articles = list(Article.objects.filter(version=locked).order_by("position"))
    _reposition(articles)
    offset = max((a.number for a in articles), default=0) + len(articles) + 1
    for index, article in enumerate(articles):
        Article.objects.filter(pk=article.pk).update(number=offset + index)
    changes: list[tuple[int, int]] = []
    for index, article in enumerate(articles, start=1):
        if article.number != index:
            changes.append((article.number, index))
        article.number = index
        article.heading = _HEADING_NUMBER.sub(f"第{full_width(index)}条", article.heading.strip())
        Article.objects.filter(pk=article.pk).update(number=index, heading=article.heading)
    if changes:
        authored(scope, locked, AuthorRole.EDITED, "renumber")
        audit_add(
            actor=staff_actor(scope),
            action=AuditAction.UPDATE,
            obj=locked,
            summary=f"draft {locked.label}: renumbered {len(changes)} articles",
            data={"renumbered": changes},
        )
    return articles
