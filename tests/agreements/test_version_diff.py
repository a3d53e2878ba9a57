from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from agreements.models.documents import TermsVersion
from agreements.services.imports import terms_import_notice
from agreements.services.version_text import (
    version_body_hash,
    version_diff,
    version_doctext,
    version_predecessor,
)
from agreements.services.versions import article_upsert, version_draft_create
from agreements.text.diff.articles import changed_only, diff_documents
from agreements.text.notice.excerpts import excerpt_pair
from agreements.text.notice.reading import parse_notice
from core import clock
from tenants.scope import Scope
from tests.agreements.version_fixtures import *  # noqa: F403 -- fixtures
from tests.agreements.version_fixtures import seed_text
from tests.factories.agreements import VersionFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


@pytest.fixture
def biz_draft(biz_2024: TermsVersion, editor) -> TermsVersion:
    with clock.frozen_at(date(2025, 3, 3)):
        return version_draft_create(
            scope=Scope.staff(editor), document=biz_2024.document, label="2025-draft"
        )


def test_version_diff_of_an_unedited_copy_has_no_changes(biz_2024, biz_draft) -> None:
    assert biz_draft.based_on_id == biz_2024.pk
    diff = version_diff(before=biz_2024, after=biz_draft)
    assert diff.has_changes is False
    assert len(diff.articles) == 19
    assert version_body_hash(biz_draft) == version_body_hash(biz_2024)


def test_version_diff_is_the_pure_diff_of_the_stored_texts(biz_2024, biz_draft, editor) -> None:
    before_text = version_doctext(biz_2024)
    article_2 = before_text.articles[1]
    body = (
        "\n".join(f"{p.label} {p.text}" for p in article_2.paragraphs)
        + "\n5. 当社は、変更の効力発生日の７日前までに変更を掲示します。"
    )
    article_upsert(
        scope=Scope.staff(editor), version=biz_draft, number=2, title="本規約の変更", body=body
    )

    diff = version_diff(before=biz_2024, after=biz_draft)

    assert diff == diff_documents(before_text, version_doctext(biz_draft))
    [changed] = changed_only(diff).articles
    assert (changed.kind, changed.number) == ("changed", 2)
    assert [(p.kind, p.after_label, p.after_text) for p in changed.paragraphs] == [
        ("added", "5.", "当社は、変更の効力発生日の７日前までに変更を掲示します。")
    ]
    assert version_body_hash(biz_draft) != version_body_hash(biz_2024)


def test_version_diff_seed_003_pair_is_the_diff_of_the_notice(seeds_dir: Path, catalog) -> None:
    text = seed_text(seeds_dir, "003")
    before, after = terms_import_notice(
        scope=Scope.system(), product_code="optim-id-plus", text=text
    )
    before_doc, after_doc = excerpt_pair(parse_notice(text).rows)

    assert version_doctext(before) == before_doc
    assert version_doctext(after) == after_doc
    assert version_diff(before=before, after=after) == diff_documents(before_doc, after_doc)


def test_version_doctext_reads_with_two_queries(biz_2024, django_assert_num_queries) -> None:
    with django_assert_num_queries(2):
        doc = version_doctext(biz_2024)
    assert len(doc.articles) == 19


def test_version_body_hash_is_sha256_of_the_canonical_json() -> None:
    version = VersionFactory(
        title="規約",
        preamble="",
        trailer="以上",
        articles=[("目的", "本規約の目的です。")],
    )
    canonical = (
        '{"articles":[{"heading":"第1条（目的）","number":1,"paragraphs":[["1","1.","本規約の目的です。"]],'
        '"title":"目的"}],"preamble":"","title":"規約","trailer":"以上"}'
    )
    assert json.loads(canonical)  # the documented shape is valid JSON
    assert version_body_hash(version) == hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def test_version_predecessor_is_the_version_in_force_before(catalog) -> None:
    document = catalog.biz_terms
    old = VersionFactory(
        document=document,
        label="old",
        status="superseded",
        effective_on=date(2023, 1, 1),
        superseded_on=date(2024, 1, 1),
    )
    new = VersionFactory(document=document, label="new", effective_on=date(2024, 1, 1))
    branched = VersionFactory(
        document=document, label="branch", status="draft", effective_on=None, based_on=old
    )
    assert version_predecessor(new) == old
    assert version_predecessor(old) is None
    # A draft revises what customers have, whatever it was based on (security.md, four eyes).
    assert version_predecessor(branched) == new
    branched.based_on = None  # an undated draft revises what is in force today
    with clock.frozen_at(date(2025, 1, 1)):
        assert version_predecessor(branched) == new
