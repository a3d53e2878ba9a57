"""Each product's own rulebook, as data (docs/rules.md).

One versioned TOML file per product under `data/`, named by the product's code, says for each
rule R1–R19 whether that product's terms contain it, the article, a short quotation and the
parameters the code reads (periods, the cap, the deletion timetable, proration, settlement,
termination reasons with their grounds). The code asks the rulebook, never the product code:
a third product is a new file plus its tests.

Files rather than database rows because a rulebook is a reading of a published text: it is
reviewed like code, changes with the tests that pin it, and needs no migration to correct.
A product without a file gets the empty rulebook, which cites nothing and applies nothing.

Pure: no Django, no clock. Parsing uses the standard library's `tomllib`.
"""

from __future__ import annotations

from agreements.rulebook.book import (
    EMPTY,
    ReasonEntry,
    Rulebook,
    RuleEntry,
    article_en,
    article_ja,
    load_rulebook,
    rulebook_for,
    rulebooks,
)

__all__ = [
    "EMPTY",
    "ReasonEntry",
    "RuleEntry",
    "Rulebook",
    "article_en",
    "article_ja",
    "load_rulebook",
    "rulebook_for",
    "rulebooks",
]
