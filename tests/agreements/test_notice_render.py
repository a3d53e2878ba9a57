from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest

from agreements.enums import ConsentMode, LegalBasis
from agreements.models.documents import TermsVersion
from agreements.selectors.versions import notice_list_public
from agreements.services.imports import terms_import_notice
from agreements.services.versions import (
    article_upsert,
    notice_post,
    notice_table,
    version_draft_create,
    version_draft_update,
    version_schedule,
)
from agreements.text.notice.reading import parse_notice
from agreements.text.parser import strip_ws
from core import clock
from core.clock import TOKYO
from tenants.scope import Scope
from tests.agreements.version_fixtures import *  # noqa: F403 -- fixtures
from tests.agreements.version_fixtures import seed_text
from tests.factories.agreements import VersionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def _cell(label: str | None, text: str) -> str:
    return strip_ws((label or "") + text)


@pytest.fixture
def idplus_pair(seeds_dir: Path, catalog) -> tuple[TermsVersion, TermsVersion]:
    return terms_import_notice(
        scope=Scope.system(), product_code="optim-id-plus", text=seed_text(seeds_dir, "003")
    )


def test_notice_table_r8_seed_003_reproduces_the_table_from_stored_versions(
    seeds_dir: Path, idplus_pair
) -> None:
    before, after = idplus_pair
    notice = parse_notice(seed_text(seeds_dir, "003"))

    table = notice_table(TermsVersion.objects.get(pk=after.pk))

    assert (table.title, table.document_title) == (
        "OPTiM ID+利用規約改定のお知らせ",
        "OPTiM ID+サービス利用規約",
    )
    assert (table.notice_on, table.effective_on) == (date(2022, 4, 19), date(2022, 4, 27))
    assert (table.predecessor, table.is_excerpt) == (before, True)
    assert [c["title"] for c in table.categories] == [
        "自動更新への対応",
        "誤字、表記揺れの統一などの軽微な修正",
    ]
    # The same (article, paragraph) pairs, the same before / after text once whitespace is
    # removed, 新設 where the before side is empty, in the notice's order (by category).
    expected = [
        (
            f"第{r.article_number}条",
            r.paragraph_label,
            "新設" if r.is_new else _cell(r.paragraph_label, r.before),
            _cell(r.paragraph_label, r.after),
        )
        for r in notice.rows
    ]
    got = [
        (t.article_label, t.paragraph_label, strip_ws(t.before), strip_ws(t.after))
        for t in table.rows
    ]
    assert got == expected
    assert [t.category_index for t in table.rows] == [r.category_index for r in notice.rows]
    assert [(group["title"], len(rows)) for group, rows in table.row_groups] == [
        ("自動更新への対応", 2),
        ("誤字、表記揺れの統一などの軽微な修正", 28),
    ]
    [new] = [t for t in table.rows if t.is_new]
    assert (new.article_label, new.paragraph_label, new.before_html) == ("第5条", "5.", "新設")


def test_notice_table_r8_seed_003_marks_changed_characters(idplus_pair) -> None:
    _, after = idplus_pair
    rows = notice_table(after).rows
    [row] = [t for t in rows if (t.article_number, t.paragraph_key) == (1, "(3)")]
    assert row.before_html.count("<del>使</del>") == 2
    assert row.after_html.count("<ins>利</ins>") == 2


def test_notice_table_seed_003_notice_is_public_from_its_notice_date(idplus_pair) -> None:
    _, after = idplus_pair
    assert after.posted_at == datetime(2022, 4, 19, tzinfo=TOKYO)
    assert list(notice_list_public()) == [after]


def test_notice_table_r8_full_revision_of_seed_000(biz_2024, editor, publisher) -> None:
    with clock.frozen_at(date(2025, 3, 3)):
        draft = version_draft_create(
            scope=Scope.staff(editor), document=biz_2024.document, label="2025-03-10"
        )
        article_2 = draft.articles.get(number=2)
        body = (
            "\n".join(f"{p.label} {p.text}" for p in article_2.paragraphs.order_by("position"))
            + "\n5. 当社は、変更の効力発生日の７日前までに変更を掲示します。"
        )
        article_upsert(
            scope=Scope.staff(editor), version=draft, number=2, title="本規約の変更", body=body
        )
        article_17 = "\n".join(
            p.text for p in draft.articles.get(number=17).paragraphs.order_by("position")
        )
        article_upsert(
            scope=Scope.staff(editor), version=draft, number=17, title="協議事項", body=article_17
        )
        version_draft_update(scope=Scope.staff(editor), version=draft, title="Optimal Biz 利用規約")
        scheduled = version_schedule(
            scope=Scope.staff(publisher),
            version=draft,
            notice_on=date(2025, 3, 3),
            effective_on=date(2025, 3, 10),
            consent_mode=ConsentMode.DEEMED,
            legal_basis=LegalBasis.GENERAL_INTEREST,  # type (i): seven days' lead suffice (R2)
            rationale="掲示時期の明記と表題の整理（第２条に基づく）",
            categories=[
                {"kind": "substantive", "title": "掲示時期の明記", "paragraphs": [[2, "5"]]},
                {"kind": "editorial", "title": "表題の整理", "paragraphs": [[17, ""]]},
            ],
        )
        notice_post(version=scheduled)

    table = notice_table(scheduled)

    assert (table.title, table.notice_on, table.effective_on, table.predecessor) == (
        "Optimal Biz 利用規約改定のお知らせ",
        date(2025, 3, 3),
        date(2025, 3, 10),
        biz_2024,
    )
    assert [
        (t.kind, t.article_label, t.paragraph_label, t.before[:4], t.category_index)
        for t in table.rows
    ] == [
        ("added", "第2条", "5.", "新設", 1),
        ("heading", "第17条", None, "第１７条", 2),  # a heading row has the key ""
    ]
    assert table.rows[0].after_html.startswith("5.<ins>当社は")
    assert table.rows[1].after_html == "第１７条（協議<ins>事項</ins>）"
    assert [(g["title"] if g else None, len(rows)) for g, rows in table.row_groups] == [
        ("掲示時期の明記", 1),
        ("表題の整理", 1),
    ]


def test_notice_table_without_based_on_uses_the_version_in_force_before(catalog) -> None:
    document = catalog.biz_terms
    VersionFactory(
        document=document,
        label="2023",
        status="superseded",
        effective_on=date(2023, 1, 1),
        superseded_on=date(2024, 1, 1),
        articles=[("目的", "旧い目的です。")],
    )
    current = VersionFactory(
        document=document,
        label="2024",
        effective_on=date(2024, 1, 1),
        articles=[("目的", "新しい目的です。")],
    )
    [row] = notice_table(current).rows
    assert (row.kind, row.before, row.after) == (
        "changed",
        "1.旧い目的です。",
        "1.新しい目的です。",
    )
