"""The translation catalogues are complete and safe to interpolate.

Japanese is the source language, so the English catalogue must translate every entry, while the
Japanese catalogue only needs the msgids written in English and the plural forms. A placeholder
lost or invented in a translation raises KeyError (or shows a raw `%(n)s`) only when that
message is rendered, so it is checked here for every entry at once.
"""

from __future__ import annotations

import ast
import gettext
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.unit

LOCALE_DIR = Path(settings.BASE_DIR) / "locale"

# %(name)s / %s / %d (python-format), {name} (python-brace-format), and HTML tags.
PLACEHOLDER = re.compile(r"%\([A-Za-z_]\w*\)[sdifr]|%[sdif]|\{[A-Za-z_]\w*\}|</?[A-Za-z][^>]*>")
# Kana, kanji and full-width forms: an msgid without them (but with a letter) is English.
JAPANESE = re.compile(r"[\u3000-\u30ff\u3400-\u9fff\uff00-\uffef]")


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    msgstr: dict[int, str] = field(default_factory=dict)
    flags: set[str] = field(default_factory=set)
    line: int = 0


@dataclass
class Catalogue:
    header: Entry
    entries: list[Entry]

    @property
    def nplurals(self) -> int:
        found = re.search(r"nplurals=(\d+)", self.header.msgstr.get(0, ""))
        assert found, "the header declares no Plural-Forms"
        return int(found.group(1))


def parse_po(text: str) -> Catalogue:
    """A small .po reader: enough for what makemessages writes (obsolete `#~` entries skipped)."""
    entries: list[Entry] = []
    current = Entry()
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal current, target
        if target is not None:
            entries.append(current)
        current, target = Entry(), None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            finish()
        elif line.startswith("#,"):
            if target is not None:
                finish()
            current.flags |= {flag.strip() for flag in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            assert target is not None, f"line {number}: continuation without a keyword"
            value: str = ast.literal_eval(line)
            kind, index = target
            if kind == "msgstr":
                current.msgstr[index] += value
            else:
                setattr(current, kind, getattr(current, kind) + value)
        else:
            keyword, _, rest = line.partition(" ")
            value = ast.literal_eval(rest)
            if keyword in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
                finish()  # a new entry without the usual blank line before it
            plural = re.fullmatch(r"msgstr\[(\d+)\]", keyword)
            if keyword in ("msgctxt", "msgid", "msgid_plural"):
                current.line = current.line or number
                setattr(current, keyword, value)
                target = (keyword, 0)
            elif keyword == "msgstr" or plural:
                index = int(plural.group(1)) if plural else 0
                current.msgstr[index] = value
                target = ("msgstr", index)
            else:
                raise AssertionError(f"line {number}: unexpected {keyword!r}")
    finish()
    header = next(e for e in entries if e.msgid == "" and e.msgctxt is None)
    return Catalogue(header=header, entries=[e for e in entries if e is not header])


def placeholder_problems(entry: Entry) -> list[str]:
    """Placeholders and tags each translated form must carry: those of its source string.

    The singular form of a plural entry may drop the count (`one article`), so it is checked
    against the msgid and only for placeholders that the msgstr would otherwise invent.
    """
    problems = []
    for index, translated in entry.msgstr.items():
        if not translated:
            continue
        source = entry.msgid if index == 0 else (entry.msgid_plural or entry.msgid)
        wanted, got = Counter(PLACEHOLDER.findall(source)), Counter(PLACEHOLDER.findall(translated))
        if entry.msgid_plural:
            allowed = Counter(PLACEHOLDER.findall(entry.msgid)) | Counter(
                PLACEHOLDER.findall(entry.msgid_plural)
            )
            invented = got - allowed
            missing = (wanted - got) if index else Counter()
        else:
            invented, missing = got - wanted, wanted - got
        if missing or invented:
            problems.append(
                f"line {entry.line} {entry.msgid!r} [{index}] {translated!r}: "
                f"missing {sorted(missing.elements())}, unknown {sorted(invented.elements())}"
            )
    return problems


def load(language: str) -> Catalogue:
    path = LOCALE_DIR / language / "LC_MESSAGES" / "django.po"
    return parse_po(path.read_text(encoding="utf-8"))


def is_english(msgid: str) -> bool:
    return bool(re.search(r"[A-Za-z]", msgid)) and not JAPANESE.search(msgid)


# --- the reader itself ----------------------------------------------------------------------

SAMPLE = r"""
msgid ""
msgstr ""
"Language: en\n"
"Plural-Forms: nplurals=2; plural=(n != 1);\n"

#: a.py:1
#, python-format
msgid "終了日 %(end)s"
msgstr "End %(end)s"

#, fuzzy
msgid "改定"
msgstr "Rev"

msgid "あと%(n)s日"
msgid_plural "あと%(n)s日"
msgstr[0] "one day"
msgstr[1] ""
"%(n)s days"

#~ msgid "古い"
#~ msgstr "Old"
"""


def test_reader_parses_flags_plurals_and_continuations() -> None:
    catalogue = parse_po(SAMPLE)
    assert catalogue.nplurals == 2
    assert [(e.msgid, e.msgstr) for e in catalogue.entries] == [
        ("終了日 %(end)s", {0: "End %(end)s"}),
        ("改定", {0: "Rev"}),
        ("あと%(n)s日", {0: "one day", 1: "%(n)s days"}),
    ]
    assert "fuzzy" in catalogue.entries[1].flags
    assert "fuzzy" not in catalogue.entries[0].flags


@pytest.mark.parametrize(
    ("msgid", "msgstr", "ok"),
    [
        ("終了日 %(end)s", "Ends %(end)s", True),
        ("終了日 %(end)s", "Ends soon", False),
        ("終了日 %(end)s", "Ends %(ende)s", False),
        ("期限は<strong>%(d)s</strong>", "Due <strong>%(d)s</strong>", True),
        ("期限は<strong>%(d)s</strong>", "Due %(d)s", False),
        ("{name}さん", "Dear {name}", True),
        ("{name}さん", "Dear {nom}", False),
    ],
)
def test_placeholder_check(msgid: str, msgstr: str, ok: bool) -> None:
    assert (placeholder_problems(Entry(msgid=msgid, msgstr={0: msgstr})) == []) is ok


def test_plural_singular_may_drop_the_count_but_not_invent() -> None:
    entry = Entry(msgid="%(n)s条", msgid_plural="%(n)s条", msgstr={0: "one article"})
    assert placeholder_problems(entry) == []
    entry.msgstr = {0: "%(m)s article", 1: "articles"}
    assert len(placeholder_problems(entry)) == 2


# --- the catalogues -------------------------------------------------------------------------


def test_english_catalogue_is_complete() -> None:
    catalogue = load("en")
    assert "fuzzy" not in catalogue.header.flags
    assert catalogue.nplurals == 2
    assert len(catalogue.entries) > 1000
    untranslated = [
        e.msgid
        for e in catalogue.entries
        if "fuzzy" in e.flags
        or len(e.msgstr) != (catalogue.nplurals if e.msgid_plural else 1)
        or not all(text.strip() for text in e.msgstr.values())
    ]
    assert untranslated == []


def test_english_catalogue_keeps_every_placeholder() -> None:
    problems = [p for e in load("en").entries for p in placeholder_problems(e)]
    assert problems == []


def test_japanese_catalogue_translates_english_msgids_and_plurals() -> None:
    catalogue = load("ja")
    assert "fuzzy" not in catalogue.header.flags
    assert catalogue.nplurals == 1
    needed = [e for e in catalogue.entries if e.msgid_plural or is_english(e.msgid)]
    assert needed, "the code has English msgids (e.g. the language name)"
    missing = [
        e.msgid
        for e in needed
        if "fuzzy" in e.flags
        or len(e.msgstr) != (catalogue.nplurals if e.msgid_plural else 1)
        or not all(text.strip() for text in e.msgstr.values())
    ]
    assert missing == []
    problems = [p for e in catalogue.entries for p in placeholder_problems(e)]
    assert problems == []
    # Every entry of the English catalogue exists in the Japanese one (one makemessages run).
    assert {(e.msgctxt, e.msgid) for e in load("en").entries} <= {
        (e.msgctxt, e.msgid) for e in catalogue.entries
    }


@pytest.mark.parametrize("language", ["en", "ja"])
def test_compiled_catalogue_matches_the_source(language: str) -> None:
    """The committed .mo carries every translation of the .po (compilemessages was run)."""
    catalogue = load(language)
    mo = LOCALE_DIR / language / "LC_MESSAGES" / "django.mo"
    with mo.open("rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    stale = []
    for entry in catalogue.entries:
        if "fuzzy" in entry.flags or not entry.msgstr.get(0):
            continue
        key = entry.msgid if entry.msgctxt is None else f"{entry.msgctxt}\x04{entry.msgid}"
        if entry.msgid_plural:
            got = [compiled.ngettext(key, entry.msgid_plural, n) for n in (1, 2)]
            expected = [entry.msgstr[0], entry.msgstr[min(1, len(entry.msgstr) - 1)]]
        else:
            got, expected = [compiled.gettext(key)], [entry.msgstr[0]]
        if got != expected:
            stale.append(entry.msgid)
    assert stale == []
