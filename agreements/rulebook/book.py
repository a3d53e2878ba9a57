"""The rulebook's shape, its loader and the article formats (see the package docstring)."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DATA_DIR = Path(__file__).resolve().parent / "data"
RULES = tuple(f"R{n}" for n in range(1, 20))

# "13.1(5)": article 13, paragraph 1, item 5. Items are written as in the terms.
_ARTICLE = re.compile(r"^(\d+)(?:\.(\d+))?(?:\((\d+)\))?$")
_ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii", "ix", "x", "xi", "xii")


def _parts(article: str) -> list[tuple[str, str | None, str | None]]:
    parts = []
    for piece in (p.strip() for p in article.split(",")):
        match = _ARTICLE.match(piece)
        if match is None:
            raise ValueError(f"not an article reference: {piece!r}")
        parts.append((match.group(1), match.group(2), match.group(3)))
    return parts


def article_ja(article: str | None) -> str:
    """「第13条第1項第5号」 for "13.1(5)"; several references joined by 、; "" for none."""
    if not article:
        return ""
    out = []
    for number, paragraph, item in _parts(article):
        text = f"第{number}条"
        if paragraph:
            text += f"第{paragraph}項"
        if item:
            text += f"第{item}号"
        out.append(text)
    return "、".join(out)


def article_en(article: str | None) -> str:
    """ "Article 13(1)(v)" for "13.1(5)"; "Articles 5(4)(ii), 5(5)" for several; "" for none."""
    if not article:
        return ""
    out = []
    for number, paragraph, item in _parts(article):
        text = number
        if paragraph:
            text += f"({paragraph})"
        if item:
            index = int(item) - 1
            text += f"({_ROMAN[index] if 0 <= index < len(_ROMAN) else item})"
        out.append(text)
    return ("Articles " if len(out) > 1 else "Article ") + ", ".join(out)


@dataclass(frozen=True)
class ReasonEntry:
    """A termination reason under one product's terms (R14): its article and its own grounds."""

    code: str
    article: str
    grounds: str = ""
    # Staff must state the specific ground in words (the terms' list is not in the text).
    stated_ground: bool = False
    # What staff are told before choosing it (never shown to customers).
    staff_note: str = ""
    # The reason's own article removes the accounts (ID+ 14.2): cited for them instead of R13.
    removes_accounts: bool = False


@dataclass(frozen=True)
class RuleEntry:
    """One rule under one product's terms."""

    rule: str
    contained: bool
    article: str | None = None
    quote: str = ""
    note: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    @property
    def article_ja(self) -> str:
        return article_ja(self.article) if self.contained else ""

    @property
    def article_en(self) -> str:
        return article_en(self.article) if self.contained else ""


@dataclass(frozen=True)
class Rulebook:
    """What one product's terms say, rule by rule; `EMPTY` cites and applies nothing."""

    code: str
    name: str = ""
    name_en: str = ""
    terms_title: str = ""
    read_from: str = ""
    read_from_en: str = ""
    text_complete: bool = False
    product_word: str = ""
    rules: Mapping[str, RuleEntry] = field(default_factory=dict)
    reasons: Mapping[str, ReasonEntry] = field(default_factory=dict)

    # --- generic -----------------------------------------------------------------------

    def entry(self, rule: str) -> RuleEntry:
        """The rule's entry; a rule the file does not mention is not contained."""
        return self.rules.get(rule) or RuleEntry(rule=rule, contained=False)

    def has(self, rule: str) -> bool:
        return self.entry(rule).contained

    def param(self, rule: str, name: str, default: Any = None) -> Any:
        entry = self.entry(rule)
        return entry.params.get(name, default) if entry.contained else default

    def entries(self) -> list[RuleEntry]:
        """Every rule R1–R19 in order, contained or not (the console's table)."""
        return [self.entry(rule) for rule in RULES]

    # --- what the code reads -----------------------------------------------------------

    @property
    def change_clause(self) -> str:
        """R2: the change clause a new version relies on by default; "" where the terms
        available contain none (a revision then rests on CC 548-4 alone)."""
        return str(self.param("R2", "change_clause", "") or "")

    @property
    def start_day_counts(self) -> bool:
        """R10: whether a term counts its start day (default: it does)."""
        return bool(self.entry("R10").params.get("start_day_counts", True))

    @property
    def auto_renewal(self) -> bool:
        """R11: whether the terms themselves renew a contract."""
        return self.has("R11") and bool(self.param("R11", "auto_renewal", False))

    @property
    def notice_months(self) -> int | None:
        """R11: the terms' notice period for a non-renewal, in months."""
        value = self.param("R11", "notice_months") if self.auto_renewal else None
        return int(value) if value is not None else None

    @property
    def no_proration(self) -> bool:
        """R12: the terms say fees are not prorated (原則として)."""
        return bool(self.param("R12", "no_proration", False))

    @property
    def settlement_reasons(self) -> frozenset[str]:
        """R12: end reasons after which fees paid continuously are settled (精算)."""
        return frozenset(self.param("R12", "settlement_on_end_reasons", ()) or ())

    def settles(self, *, reason: str | None, billing_cycle: str) -> bool:
        """R12: whether an end for `reason` keeps the settlement of fees for a contract billed
        by `billing_cycle`: only fees paid continuously (月額等で継続的に支払われる, Biz 7.2)
        are settled, never a lump sum paid once."""
        continuous = billing_cycle not in (self.param("R12", "not_continuous", ()) or ())
        return bool(reason) and reason in self.settlement_reasons and continuous

    @property
    def accounts_removed_on_end(self) -> bool:
        """R13: the terms remove the accounts on the end date (ID+ 9.2)."""
        return bool(self.param("R13", "accounts_removed_on_end", False))

    @property
    def end_notice_article(self) -> str:
        """The article by which the customer notifies the end of use in the prescribed way
        (Biz 5.3), or "" where the terms have no such clause: a renewal notice names it as
        what a non-renewal application is."""
        entry = self.entry("R13")
        if entry.contained and self.param("R13", "customer_notifies_end", False):
            return entry.article or ""
        return ""

    @property
    def deletion_timetable(self) -> tuple[int, int] | None:
        """R15: months after the end until primary data may go and backups are purged."""
        if not self.has("R15"):
            return None
        return (
            int(self.param("R15", "primary_after_months")),
            int(self.param("R15", "backup_after_months")),
        )

    @property
    def claims_window_months(self) -> int | None:
        """R16: months after the end for a written claim for damages, where the terms say so."""
        value = self.param("R16", "months_after_end")
        return int(value) if value is not None else None

    @property
    def has_liability_cap(self) -> bool:
        """R17: the terms cap the company's liability (Biz 12.4)."""
        return self.has("R17")

    @property
    def rejection_reach_disputed(self) -> bool:
        """R6: whether a discontinuation after an objection to a deemed-consent revision rests
        on a disputed reading (Biz 2.4 names the changes of 2.2 and 2.3)."""
        return bool(self.param("R6", "reach_over_deemed_disputed", False))

    @property
    def liability_cap_disputed(self) -> bool:
        """R17: the lump-sum reading of the cap is disputed, so both figures are shown."""
        return bool(self.param("R17", "lump_sum_reading_disputed", False))

    @property
    def without_prior_demand(self) -> bool:
        """R14: the terms let the company terminate 事前の催告を要せず (Biz 13.1)."""
        return bool(self.param("R14", "without_prior_demand", False))

    @property
    def staff_reasons(self) -> tuple[str, ...]:
        """R14: the reasons staff may terminate for under these terms, in the file's order."""
        return tuple(self.reasons)

    def reason(self, code: str) -> ReasonEntry | None:
        """The article and grounds a termination reason has under these terms (R14)."""
        return self.reasons.get(str(code))

    def reason_article_ja(self, code: str) -> str:
        entry = self.reason(code)
        return article_ja(entry.article) if entry else ""

    def reason_article_en(self, code: str) -> str:
        entry = self.reason(code)
        return article_en(entry.article) if entry else ""


EMPTY = Rulebook(code="")


def _entry(rule: str, raw: Mapping[str, Any]) -> RuleEntry:
    article = raw.get("article")
    if article is not None:
        article_ja(article)  # refuse a malformed reference when loading, not when showing
    return RuleEntry(
        rule=rule,
        contained=bool(raw.get("contained", False)),
        article=article,
        quote=str(raw.get("quote", "")),
        note=str(raw.get("note", "")),
        params=dict(raw.get("params", {})),
    )


def load_rulebook(path: Path) -> Rulebook:
    """Read one product's file; unknown rules and uncited reasons are refused."""
    with path.open("rb") as handle:
        raw = tomllib.load(handle)
    rules_raw: Mapping[str, Any] = raw.get("rules", {})
    unknown = set(rules_raw) - set(RULES)
    if unknown:
        raise ValueError(f"{path.name}: unknown rules {sorted(unknown)}")
    entries = {rule: _entry(rule, body) for rule, body in rules_raw.items()}
    for rule, entry in entries.items():
        if entry.contained and not entry.article:
            raise ValueError(f"{path.name}: {rule} is contained but cites no article")
        if not entry.contained and entry.article:
            raise ValueError(f"{path.name}: {rule} is not contained but cites {entry.article}")
    reasons: dict[str, ReasonEntry] = {}
    for code, body in rules_raw.get("R14", {}).get("reasons", {}).items():
        article_ja(body["article"])
        reasons[code] = ReasonEntry(
            code=code,
            article=body["article"],
            grounds=str(body.get("grounds", "")),
            stated_ground=bool(body.get("stated_ground", False)),
            staff_note=str(body.get("staff_note", "")),
            removes_accounts=bool(body.get("removes_accounts", False)),
        )
    return Rulebook(
        code=str(raw["code"]),
        name=str(raw.get("name", "")),
        name_en=str(raw.get("name_en", "")),
        terms_title=str(raw.get("terms_title", "")),
        read_from=str(raw.get("read_from", "")),
        read_from_en=str(raw.get("read_from_en", "")),
        text_complete=bool(raw.get("text_complete", False)),
        product_word=str(raw.get("product_word", "")),
        rules=entries,
        reasons=reasons,
    )


@cache
def _all() -> dict[str, Rulebook]:
    books: dict[str, Rulebook] = {}
    for path in sorted(DATA_DIR.glob("*.toml")):
        book = load_rulebook(path)
        if book.code != path.stem:
            raise ValueError(f"{path.name} holds the rulebook of {book.code!r}")
        books[book.code] = book
    return books


def rulebooks() -> list[Rulebook]:
    """Every product's rulebook, by code."""
    return list(_all().values())


def rulebook_for(code: str | None) -> Rulebook:
    """The rulebook of the product `code`; the empty one when there is none."""
    return _all().get(code or "", EMPTY)
