from __future__ import annotations

from datetime import date
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, ManagementUtility, call_command

from agreements.enums import VersionStatus
from agreements.models.consents import ConsentRecord, ConsentState
from agreements.models.documents import Article, Paragraph, TermsVersion
from agreements.services.imports import terms_import
from agreements.services.version_text import version_body_hash, version_doctext, version_stats
from agreements.text.diff.texts import doctext_from_parsed
from agreements.text.parser import parse_terms, strip_ws
from core.errors import PermissionDenied, ValidationFailed
from core.models import Event, Outbox
from tenants.scope import Scope
from tests.agreements.version_fixtures import *  # noqa: F403 -- fixtures
from tests.agreements.version_fixtures import seed_text
from tests.factories.agreements import ContractFactory
from tests.factories.tenants import MembershipFactory, TenantFactory

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

BIZ_TITLES = [
    "本規約について",
    "本規約の変更",
    "設備等の準備および維持",
    "利用許諾条件及び利用上の注意事項",
    "利用期間",
    "禁止事項",
    "非保証・免責",
    "お客様のデータ等による損害",
    "知的財産権の帰属",
    "保存情報・個人情報の保護",
    "秘密保持義務",
    "損害賠償額の制限",
    "当社からの契約の解約",
    "お客様の権利義務の譲渡禁止",
    "条項の分離独立",
    "準拠法",
    "協議",
    "専属的合意管轄裁判所",
    "各サービスの個別規定",
]


def _run(*args: str) -> str:
    out = StringIO()
    call_command("import_terms", *args, stdout=out)
    return out.getvalue()


def _write(tmp_path: Path, text: str, name: str = "terms.txt") -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _biz_args(path: str, label: str = "2024-11-22", *extra: str) -> list[str]:
    return [
        "--product",
        "optimal-biz",
        "--label",
        label,
        "--effective-on",
        "2024-11-22",
        *extra,
        path,
    ]


def test_import_terms_seed_000_historical_stores_19_articles(seeds_dir: Path) -> None:
    output = _run(*_biz_args(str(next(seeds_dir.glob("000_*.txt"))), "2024-11-22", "--historical"))

    version = TermsVersion.objects.get()
    assert (version.document.product.code, version.document.slug) == ("optimal-biz", "terms")
    assert (version.label, version.status, version.is_historical) == (
        "2024-11-22",
        VersionStatus.EFFECTIVE,
        True,
    )
    assert (version.title, version.effective_on) == ("Optimal Biz 利用規約", date(2024, 11, 22))
    assert version.last_revised_text == "最終改定：2024年 11 月 22日"
    articles = list(version.articles.order_by("position"))
    assert [a.title for a in articles] == BIZ_TITLES
    assert [(a.position, a.number) for a in articles] == [(n, n) for n in range(1, 20)]
    assert articles[0].heading == "第１条（本規約について）"
    assert version.body_hash == version_body_hash(version)
    stats = version_stats(version)
    assert stats == {"articles": 19, "paragraphs": 57, "items": 17}
    assert "articles:     19  paragraphs: 57  items: 17" in output
    assert "Optimal Biz 利用規約" in output
    assert "最終改定：2024年 11 月 22日" in output


def test_import_terms_seed_000_rows_give_back_the_parsed_text(biz_2024: TermsVersion, seeds_dir):
    parsed = parse_terms(seed_text(seeds_dir, "000"))
    assert version_doctext(biz_2024) == doctext_from_parsed(parsed)
    # Items keep their labels as written, half- and full-width alike.
    article_11 = Paragraph.objects.filter(article__version=biz_2024, article__number=11)
    labels = [item["label"] for p in article_11 for item in p.items]
    assert labels == ["（1）", "（2）", "（3）", "（4）"]
    # Every character of the articles is stored (whitespace aside).
    stored = "".join(
        strip_ws(a.heading + "".join(p.label + p.text for p in a.paragraphs))
        for a in version_doctext(biz_2024).articles
    )
    expected = "".join(
        strip_ws(
            a.heading
            + "".join(
                p.label + p.text + "".join(i.label + i.text for i in p.items) for p in a.paragraphs
            )
        )
        for a in parsed.articles
    )
    assert stored == expected


def test_import_terms_historical_writes_no_ledger_rows_or_notices(seeds_dir: Path, catalog) -> None:
    tenant = TenantFactory()
    MembershipFactory(tenant=tenant)
    ContractFactory(tenant=tenant, product=catalog.biz)

    _run(*_biz_args(str(next(seeds_dir.glob("000_*.txt"))), "2024-11-22", "--historical"))

    assert TermsVersion.objects.get().posted_at is None
    assert ConsentRecord.objects.count() == 0
    assert ConsentState.objects.count() == 0
    assert Outbox.objects.count() == 0
    assert Event.objects.count() == 0


def test_import_terms_historical_orders_versions_by_effective_date(seeds_dir: Path, catalog):
    text = seed_text(seeds_dir, "000")

    def load(label: str, day: date) -> TermsVersion:
        return terms_import(
            scope=Scope.system(),
            product_code="optimal-biz",
            label=label,
            effective_on=day,
            text=text,
            historical=True,
        )

    middle = load("2023", date(2023, 4, 1))
    oldest = load("2022", date(2022, 4, 1))  # imported after a later one: superseded at once
    newest = load("2024", date(2024, 11, 22))

    states = {
        v.label: (v.status, v.superseded_on)
        for v in TermsVersion.objects.filter(pk__in=[oldest.pk, middle.pk, newest.pk])
    }
    assert states == {
        "2022": (VersionStatus.SUPERSEDED, date(2023, 4, 1)),
        "2023": (VersionStatus.SUPERSEDED, date(2024, 11, 22)),
        "2024": (VersionStatus.EFFECTIVE, None),
    }


def test_import_terms_without_historical_is_a_draft_based_on_the_version_in_force(
    biz_2024: TermsVersion, seeds_dir: Path
) -> None:
    output = _run("--product", "optimal-biz", "--label", "2025-draft", _write_seed(seeds_dir))
    draft = TermsVersion.objects.get(label="2025-draft")
    assert (draft.status, draft.based_on_id, draft.is_historical) == (
        VersionStatus.DRAFT,
        biz_2024.pk,
        False,
    )
    assert draft.articles.count() == 19
    assert "as draft" in output


def _write_seed(seeds_dir: Path) -> str:
    return str(next(seeds_dir.glob("000_*.txt")))


def _gap(seed: str) -> str:
    return seed.replace("第３条（", "第４条（", 1)


BAD_INPUTS = [
    pytest.param(lambda seed: "", 1, "本文がありません", id="empty-file"),
    pytest.param(lambda seed: " \n\n  \n", 1, "本文がありません", id="blank-file"),
    pytest.param(
        lambda seed: "利用規約\n本規約は当社の製品に適用されます。\n以上\n",
        1,
        "条の見出しが見つかりません",
        id="no-headings",
    ),
    pytest.param(lambda seed: _gap(seed), 49, "条があるはずの位置に第", id="article-number-gap"),
    pytest.param(
        lambda seed: (
            "規約\n第１条（目的）\n1. 一つ目です。\n2. 二つ目です。\n2. 二つ目がもう一度。\n"
        ),
        5,
        "項が重複しています",
        id="duplicate-paragraph-label",
    ),
    pytest.param(
        lambda seed: (
            "規約\n第１条（目的）\n本文です。\n第２条（定義）\n本文です。\n第２条（適用）\n本文です。\n"
        ),
        6,
        "条が重複しているか、順序が前後しています",
        id="duplicate-article-heading",
    ),
]


@pytest.mark.parametrize(("make", "line", "fragment"), BAD_INPUTS)
def test_import_terms_bad_input_names_the_line_and_writes_nothing(
    make, line: int, fragment: str, seeds_dir: Path, tmp_path: Path
) -> None:
    path = _write(tmp_path, make(seed_text(seeds_dir, "000")))
    with pytest.raises(CommandError) as excinfo:
        _run(*_biz_args(path, "2024-11-22", "--historical"))
    message = str(excinfo.value)
    assert message.startswith(f"{path}: {line}行目: ")
    assert fragment in message
    assert TermsVersion.objects.count() == 0
    assert Article.objects.count() == 0
    assert Paragraph.objects.count() == 0


def test_import_terms_duplicate_label_refused_and_nothing_written(
    biz_2024: TermsVersion, seeds_dir: Path
) -> None:
    with pytest.raises(CommandError, match="2024-11-22"):
        _run(*_biz_args(_write_seed(seeds_dir), "2024-11-22", "--historical"))
    assert TermsVersion.objects.count() == 1
    assert Article.objects.count() == 19


def test_terms_import_parse_error_carries_the_line(seeds_dir: Path, catalog) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        terms_import(
            scope=Scope.system(),
            product_code="optimal-biz",
            label="x",
            effective_on=date(2024, 11, 22),
            text=_gap(seed_text(seeds_dir, "000")),
            historical=True,
        )
    assert (excinfo.value.code, excinfo.value.details["line"]) == ("parse_error", 49)


def test_terms_import_historical_in_the_future_refused(seeds_dir: Path, catalog) -> None:
    with pytest.raises(ValidationFailed) as excinfo:
        terms_import(
            scope=Scope.system(),
            product_code="optimal-biz",
            label="future",
            effective_on=date(2999, 1, 1),
            text=seed_text(seeds_dir, "000"),
            historical=True,
        )
    assert excinfo.value.code == "historical_in_future"
    assert TermsVersion.objects.count() == 0


def test_terms_import_refused_for_a_tenant_user(seeds_dir: Path) -> None:
    membership = MembershipFactory()
    with pytest.raises(PermissionDenied):
        terms_import(
            scope=Scope.tenant_user(membership),
            product_code="optimal-biz",
            label="x",
            effective_on=None,
            text=seed_text(seeds_dir, "000"),
            historical=False,
        )


def test_import_terms_unknown_product_is_a_clear_error(seeds_dir: Path) -> None:
    with pytest.raises(CommandError, match="no-such-product"):
        _run("--product", "no-such-product", "--label", "x", _write_seed(seeds_dir))


def test_import_terms_notice_seed_003_stores_the_excerpt_pair(seeds_dir: Path) -> None:
    notice = str(next(seeds_dir.glob("003_*.txt")))
    output = _run("--notice", notice, "--product", "optim-id-plus")

    before = TermsVersion.objects.get(label="2022-04-19-before")
    after = TermsVersion.objects.get(label="2022-04-27")
    assert (before.document_id, before.document.product.code) == (
        after.document_id,
        "optim-id-plus",
    )
    assert (before.status, before.effective_on, before.superseded_on) == (
        VersionStatus.SUPERSEDED,
        date(2022, 4, 19),
        date(2022, 4, 27),
    )
    assert (after.status, after.effective_on, after.notice_on, after.based_on_id) == (
        VersionStatus.EFFECTIVE,
        date(2022, 4, 27),
        date(2022, 4, 19),
        before.pk,
    )
    assert (before.is_excerpt, after.is_excerpt, before.is_historical, after.is_historical) == (
        True,
        True,
        True,
        True,
    )
    # The former text's own date is not in the notice: customers see no 「2022年4月19日改定」.
    assert (before.display_name, after.display_name) == (
        "2022年4月27日改定前の版",
        "2022年4月27日改定",
    )
    assert after.title == "OPTiM ID+サービス利用規約"
    assert after.notice_title == "OPTiM ID+利用規約改定のお知らせ"
    assert [(c["index"], c["kind"], c["title"]) for c in after.categories] == [
        (1, "substantive", "自動更新への対応"),
        (2, "editorial", "誤字、表記揺れの統一などの軽微な修正"),
    ]
    assert after.categories[0]["paragraphs"] == [[5, "4"], [5, "5"]]
    assert after.articles.get(number=5).change_category == "substantive"
    assert after.articles.get(number=1).change_category == "editorial"
    assert "OPTiM ID+利用規約改定のお知らせ" in output
    assert ConsentRecord.objects.count() == 0
    assert Outbox.objects.count() == 0


def test_import_terms_notice_twice_refused(seeds_dir: Path) -> None:
    notice = str(next(seeds_dir.glob("003_*.txt")))
    _run("--notice", notice, "--product", "optim-id-plus")
    with pytest.raises(CommandError, match="2022-04-19-before"):
        _run("--notice", notice, "--product", "optim-id-plus")
    assert TermsVersion.objects.count() == 2


def test_import_terms_exit_code_non_zero_on_bad_input(tmp_path: Path, capsys) -> None:
    """As from a shell: the error goes to stderr and the process exits with status 1."""
    path = _write(tmp_path, "")
    utility = ManagementUtility(["manage.py", "import_terms", *_biz_args(path)])
    with pytest.raises(SystemExit) as excinfo:
        utility.execute()
    assert excinfo.value.code == 1
    assert f"{path}: 1行目: 本文がありません" in capsys.readouterr().err
