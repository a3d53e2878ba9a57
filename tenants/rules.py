"""Pure rules for tenants: the 法人番号 (corporate number) check digit, names fit for mail.

The corporate number is 13 digits: a check digit followed by the 12-digit base number
(法人番号の指定等に関する省令 第2条; the National Tax Agency publishes the formula).
"""

from __future__ import annotations

import unicodedata

CORPORATE_NUMBER_LENGTH = 13

# Full-width digits as typed with a Japanese IME.
_FULL_WIDTH_DIGITS = {ord("０") + n: str(n) for n in range(10)}
# Separators people type between digit groups (hyphens, dashes, minus signs, the katakana
# prolonged sound mark an IME produces for "-", and spaces); all are dropped.
_SEPARATORS = "-－‐‑‒–—―−ーｰ \u3000\t"
_NORMALISE = str.maketrans(_FULL_WIDTH_DIGITS | dict.fromkeys(map(ord, _SEPARATORS)))


def _is_ascii_digits(value: str, length: int) -> bool:
    # str.isdigit() alone would accept full-width and other Unicode digits.
    return len(value) == length and value.isascii() and value.isdigit()


def corporate_number_check_digit(base12: str) -> int:
    """Check digit for a 12-digit base number: 9 − (Σ Pn × Qn mod 9).

    Pn is the n-th digit counted from the right end of the base, Qn is 1 for odd n and 2
    for even n. 000012050002 (国税庁) → 7.
    """
    if not _is_ascii_digits(base12, CORPORATE_NUMBER_LENGTH - 1):
        raise ValueError(f"a base number is 12 ASCII digits, got {base12!r}")
    total = sum(
        int(digit) * (1 if n % 2 else 2) for n, digit in enumerate(reversed(base12), start=1)
    )
    return 9 - total % 9


def is_valid_corporate_number(value: str) -> bool:
    """Whether `value` is exactly 13 ASCII digits whose first digit checks the other 12.

    Nothing is normalised here (full-width digits, spaces and hyphens are invalid); run
    normalize_corporate_number on user input first.
    """
    if not _is_ascii_digits(value, CORPORATE_NUMBER_LENGTH):
        return False
    return int(value[0]) == corporate_number_check_digit(value[1:])


def normalize_corporate_number(value: str) -> str:
    """Turn what a user typed into plain ASCII digits: full-width digits become ASCII,
    hyphens, dashes and spaces (half- or full-width) are removed.

    The result is not validated: pass it to is_valid_corporate_number.
    """
    return value.strip().translate(_NORMALISE)


# Line and paragraph separators end a line in mail headers and in plain-text bodies as surely
# as CR and LF do; the other control characters (C0, DEL, C1) have no place in a name either.
_LINE_BREAKING = {"\u2028", "\u2029"}
# Control (Cc), format (Cf: zero-width, bidi overrides and isolates, BOM, soft hyphen, tags),
# private use (Co), surrogates (Cs), line (Zl) and paragraph (Zp) separators.
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Co", "Cs", "Zl", "Zp"})


def has_control_characters(value: str) -> bool:
    """Whether `value` holds a control character (CR, LF, tab, any other C0 or C1 control,
    DEL), a Unicode line or paragraph separator, or an invisible or reordering character
    (format characters such as U+200B, U+202E, U+2067, U+FEFF, U+00AD, tags; private use;
    surrogates): text that reaches an e-mail subject or a line of a message must stay one line
    and read as what it is (docs/security.md, e-mail headers and names)."""
    return any(
        ch in _LINE_BREAKING or unicodedata.category(ch) in _REFUSED_CATEGORIES for ch in value
    )
