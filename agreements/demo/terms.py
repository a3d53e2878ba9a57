"""The demo's terms: the versions in force (the shipped samples or the real seeds) and the
revisions the story drafts and schedules through the real services.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

from agreements.catalog import BIZ, ID_PLUS, Catalog
from agreements.demo.summary import DemoSummary
from agreements.models.documents import Article, TermsVersion
from agreements.services.imports import terms_import, terms_import_notice
from agreements.services.version_articles import article_upsert
from agreements.services.version_drafts import version_draft_create
from agreements.services.versions import version_schedule
from core import clock
from tenants.scope import Scope

# The samples ship next to the package (bench reads them from there too).
DEMO_TERMS_DIR = Path(__file__).resolve().parent.parent / "demo_terms"
SEED_BIZ = "000_3b3fbece59582643.txt"
SEED_ID_PLUS_NOTICE = "003_9a175ff40b65501c.txt"


def _article_body(article: Article) -> str:
    lines: list[str] = []
    for paragraph in article.paragraphs.order_by("position"):
        lines.append(f"{paragraph.label}{paragraph.text}" if paragraph.label else paragraph.text)
        lines.extend(f"{item['label']}{item['text']}" for item in paragraph.items)
    return "\n".join(lines)


def _next_label(article: Article) -> str:
    numbers = [p.number for p in article.paragraphs.all() if p.number]
    return f"{(max(numbers) if numbers else 0) + 1}."


def import_terms(terms_dir: Path | None, *, as_of: date, summary: DemoSummary) -> None:
    """The versions in force: the real seeds with --terms-dir, else the demo samples."""
    system = Scope.system()
    with clock.frozen_at(as_of):
        if terms_dir is not None:
            biz_text = (terms_dir / SEED_BIZ).read_text(encoding="utf-8")
            notice_text = (terms_dir / SEED_ID_PLUS_NOTICE).read_text(encoding="utf-8")
            terms_import(
                scope=system,
                product_code=BIZ,
                label="2024-11-22",
                effective_on=min(date(2024, 11, 22), as_of - timedelta(days=90)),
                text=biz_text,
                historical=True,
            )
            terms_import_notice(scope=system, product_code=ID_PLUS, text=notice_text)
            summary.story.append(
                "terms: real seeds (Optimal Biz 2024-11-22, ID+ 2022 excerpt pair)"
            )
        else:
            for code, name, day in (
                (BIZ, "optimal-biz.txt", date(2024, 11, 22)),
                (ID_PLUS, "optim-id-plus.txt", date(2022, 4, 27)),
            ):
                terms_import(
                    scope=system,
                    product_code=code,
                    label=day.isoformat(),
                    effective_on=min(day, as_of - timedelta(days=90)),
                    text=(DEMO_TERMS_DIR / name).read_text(encoding="utf-8"),
                    historical=True,
                )
            summary.story.append("terms: demo samples (shipped; --terms-dir loads the real seeds)")


def revision(
    *,
    catalog: Catalog,
    staff: dict[str, object],
    label: str,
    drafted_on: date,
    notice_on: date,
    effective_on: date,
    mode: str,
    legal_basis: str,
    rationale: str,
    categories: list[dict[str, str]],
    edit: Callable[[TermsVersion, Scope], None],
) -> TermsVersion:
    editor, publisher = Scope.staff(staff["editor"]), Scope.staff(staff["publisher"])  # type: ignore[arg-type]
    with clock.frozen_at(drafted_on):
        draft = version_draft_create(scope=editor, document=catalog.biz_terms, label=label)
        edit(draft, editor)
        return version_schedule(
            scope=publisher,
            version=draft,
            notice_on=notice_on,
            effective_on=effective_on,
            consent_mode=mode,
            legal_basis=legal_basis,
            rationale=rationale,
            categories=categories,
        )


def edit_change_clause(draft: TermsVersion, scope: Scope) -> None:
    article = draft.articles.get(number=2)
    body = _article_body(article) + (
        f"\n{_next_label(article)}当社は、本規約を変更する場合、効力発生日の７日前までに"
        "変更内容及び効力発生日を当社ウェブサイトに掲示します。"
    )
    article_upsert(scope=scope, version=draft, number=2, title=article.title, body=body)


def edit_data_storage(draft: TermsVersion, scope: Scope) -> None:
    last = draft.articles.order_by("-number").first()
    number = (last.number if last else 0) + 1
    article_upsert(
        scope=scope,
        version=draft,
        number=number,
        title="データの保管場所",
        body=(
            "1. 当社は、本製品の提供に必要な範囲で、お客様のデータを日本国外のデータセンターに"
            "保管することがあります。\n2. 前項の保管先は、当社ウェブサイトに掲示します。"
        ),
    )
