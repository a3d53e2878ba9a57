from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tenants.rules import (
    corporate_number_check_digit,
    is_valid_corporate_number,
    normalize_corporate_number,
)

pytestmark = pytest.mark.unit

quick = settings(deadline=None, max_examples=100)

# Published corporate numbers (国税庁法人番号公表サイト); each check digit was verified.
KNOWN_VALID = {
    "7000012050002": "国税庁",
    "8700110005901": "国税庁の計算例（会社法人等番号 700110005901）",
    "2000012010019": "内閣府",
    "4000012090001": "経済産業省",
    "1180301018771": "トヨタ自動車株式会社",
    "5010401067252": "ソニーグループ株式会社",
    "1130001011420": "任天堂株式会社",
}

FULL_WIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")
base12 = st.text(alphabet="0123456789", min_size=12, max_size=12)


@pytest.mark.parametrize("number", list(KNOWN_VALID), ids=list(KNOWN_VALID.values()))
def test_corporate_number_check_digit_published_numbers(number: str) -> None:
    assert corporate_number_check_digit(number[1:]) == int(number[0])
    assert is_valid_corporate_number(number)


def test_corporate_number_check_digit_nta_worked_example() -> None:
    # 国税庁: 000012050002 → Σ = 2 + 5 + 2 + 2·1 = 11, 11 mod 9 = 2, 9 − 2 = 7
    assert corporate_number_check_digit("000012050002") == 7


@pytest.mark.parametrize(
    ("base", "check"),
    [
        ("000000000000", 9),  # Σ = 0 → 9 − 0
        ("000000000009", 9),  # Σ = 9 ≡ 0
        ("000000000001", 8),
        ("000000000010", 7),  # even position weighs 2
        ("100000000000", 7),  # 12th from the right is even
        ("010000000000", 8),  # 11th is odd
        ("999999999999", 9),  # Σ = 6·9 + 6·18 = 162 ≡ 0
        ("000000000004", 5),
        ("000000000040", 1),  # 8 mod 9 = 8 → 1
    ],
)
def test_corporate_number_check_digit_weights(base: str, check: int) -> None:
    assert corporate_number_check_digit(base) == check


@pytest.mark.parametrize(
    "base",
    [
        "",
        "00001205000",  # 11 digits
        "0000120500022",  # 13 digits
        "００００１２０５０００２",  # full-width
        "0000-1205000",
        "00001205000a",
        " 00001205000",
        "٠٠٠٠١٢٠٥٠٠٠٢",  # Arabic-Indic digits pass str.isdigit()
    ],
)
def test_corporate_number_check_digit_rejects_non_base(base: str) -> None:
    with pytest.raises(ValueError, match="12 ASCII digits"):
        corporate_number_check_digit(base)


@pytest.mark.parametrize(
    ("number", "wrong"),
    [(number, wrong) for number in KNOWN_VALID for wrong in "0123456789" if wrong != number[0]],
)
def test_is_valid_corporate_number_wrong_check_digit(number: str, wrong: str) -> None:
    assert not is_valid_corporate_number(wrong + number[1:])


@pytest.mark.parametrize(
    "value",
    [
        "",
        "700001205000",  # 12 digits
        "70000120500021",  # 14 digits
        "７００００１２０５０００２",  # full-width digits are not normalised here
        "7000 0120 50002",
        " 7000012050002",
        "7000012050002 ",
        "7000012050002\n",
        "7000-0120-50002",
        "T7000012050002",  # an invoice registration number, not a corporate number
        "+700001205000",
        "٧٠٠٠٠١٢٠٥٠٠٠٢",  # Arabic-Indic digits
        "7000012050002".replace("2", "²"),  # superscript two passes str.isdigit()
        "0000012050002",  # a check digit is never 0
        "7000012050020",  # two digits swapped
    ],
)
def test_is_valid_corporate_number_rejects_malformed(value: str) -> None:
    assert not is_valid_corporate_number(value)


@pytest.mark.parametrize(
    ("typed", "normalised"),
    [
        ("7000012050002", "7000012050002"),
        ("７００００１２０５０００２", "7000012050002"),
        ("７０００－０１２０－５０００２", "7000012050002"),
        ("7000-0120-50002", "7000012050002"),
        ("7000ー0120ー50002", "7000012050002"),  # IME prolonged sound mark for "-"
        ("7000‐0120−50002", "7000012050002"),  # hyphen and minus sign
        ("7000–0120—50002", "7000012050002"),  # en and em dash
        ("7000 0120 50002", "7000012050002"),
        ("７０００\u3000０１２０\u3000５０００２", "7000012050002"),
        ("  7000012050002\n", "7000012050002"),
        ("１1８0３0１0１8７7１", "1180301018771"),  # mixed widths
        ("T7000012050002", "T7000012050002"),  # letters are left for validation to refuse
        ("", ""),
    ],
)
def test_normalize_corporate_number(typed: str, normalised: str) -> None:
    assert normalize_corporate_number(typed) == normalised


@pytest.mark.parametrize("number", list(KNOWN_VALID))
def test_normalize_corporate_number_full_width_round_trip(number: str) -> None:
    typed = f"{number[:4]}-{number[4:8]}-{number[8:]}".translate(FULL_WIDTH)
    assert is_valid_corporate_number(normalize_corporate_number(typed))


@quick
@given(base=base12)
def test_corporate_number_check_digit_makes_every_base_valid(base: str) -> None:
    check = corporate_number_check_digit(base)
    assert 1 <= check <= 9
    assert is_valid_corporate_number(f"{check}{base}")


@quick
@given(base=base12, position=st.integers(0, 11), replacement=st.sampled_from("0123456789"))
def test_is_valid_corporate_number_detects_single_digit_errors(
    base: str, position: int, replacement: str
) -> None:
    """A substituted digit is caught unless it swaps 0 and 9 (a change of 9 ≡ 0 mod 9)."""
    number = f"{corporate_number_check_digit(base)}{base}"
    original = base[position]
    changed = number[: position + 1] + replacement + number[position + 2 :]
    caught = not is_valid_corporate_number(changed)
    undetectable = replacement == original or {original, replacement} == {"0", "9"}
    assert caught is not undetectable


@quick
@given(base=base12)
def test_normalize_corporate_number_accepts_full_width_input(base: str) -> None:
    number = f"{corporate_number_check_digit(base)}{base}"
    assert normalize_corporate_number(number.translate(FULL_WIDTH)) == number
    assert normalize_corporate_number(number) == number
