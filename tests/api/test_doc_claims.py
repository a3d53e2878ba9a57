"""What docs/api.md states about periods and comparisons is what the code does."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from agreements.rulebook import rulebook_for
from agreements.rules.periods import chained_periods

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
API_DOC = (ROOT / "docs" / "api.md").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("product", "first_end", "phrase"),
    [
        ("optimal-biz", date(2025, 3, 31), "2024-04-01 + 12 months\n  ends 2025-03-31"),
        ("optim-id-plus", date(2025, 4, 1), "2024-04-01 + 12 months ends 2025-04-01"),
    ],
)
def test_the_api_doc_counts_each_products_first_day_as_its_rulebook_does(
    product: str, first_end: date, phrase: str
) -> None:
    counts = rulebook_for(product).start_day_counts
    ((_start, end),) = chained_periods(
        start=date(2024, 4, 1), months=12, count=1, start_day_counts=counts
    )
    assert end == first_end
    assert phrase in API_DOC


def test_the_api_doc_states_an_idplus_renewal_counts_its_first_day() -> None:
    counts = rulebook_for("optim-id-plus").start_day_counts
    periods = chained_periods(start=date(2024, 4, 1), months=12, count=2, start_day_counts=counts)
    assert periods[1] == (date(2025, 4, 2), date(2026, 4, 1))
    assert "ID+ 2025-04-02 + 12 months ends\n  2026-04-01" in API_DOC


def test_no_doc_claims_a_byte_for_byte_comparison_of_json() -> None:
    # Idempotency compares parsed JSON; events are the same JSON object, not the same bytes.
    claims = [
        f"{path.name}: {match.group(0)}"
        for path in (ROOT / "docs").glob("*.md")
        for match in re.finditer(r"[^\n]*byte[- ]for[- ]byte[^\n]*", path.read_text("utf-8"))
    ]
    assert claims == []
