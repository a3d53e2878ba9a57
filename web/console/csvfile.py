"""CSV files staff download and open in a spreadsheet (Excel in Japan: UTF-8 with a BOM).

Their cells carry what customers and partners typed (tenant names, the answerer's name in
the evidence): a cell starting with `=`, `+`, `-`, `@`, a tab or a carriage return would be
run as a formula by the spreadsheet (CSV injection). Such text cells get a leading `'`, which
the spreadsheet shows as text and does not display; numbers are written as they are.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any, TextIO

BOM = "\ufeff"  # Excel in Japan opens UTF-8 CSV correctly only with a byte order mark
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> Any:
    """`value` as a cell the spreadsheet shows and never evaluates."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


class Writer:
    """csv.writer whose every cell goes through `cell`."""

    def __init__(self, buffer: TextIO) -> None:
        self._writer = csv.writer(buffer, lineterminator="\r\n")

    def writerow(self, row: Iterable[Any]) -> None:
        self._writer.writerow([cell(value) for value in row])

    def writerows(self, rows: Iterable[Iterable[Any]]) -> None:
        for row in rows:
            self.writerow(row)
