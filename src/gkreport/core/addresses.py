"""A1 address arithmetic as small pure functions (no workbook involved).

The column letters are converted here rather than by ``openpyxl.utils.cell``: importing
any part of openpyxl imports all of it (and numpy), and the forms, ``describe`` and the
engine use these functions at every start. Same range and results as openpyxl's (A..ZZZ,
checked against it for every column by tests/test_startup.py); the pure core must not import
openpyxl at all (tests/test_import_contract.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache

_REF = re.compile(r"^\$?([A-Za-z]{1,3})\$?([1-9][0-9]*)$")
MAX_COLUMN = 18278  # "ZZZ", the last column openpyxl's conversions accept


@cache
def get_column_letter(col: int) -> str:
    """``4`` -> ``"D"`` (1-based), like ``openpyxl.utils.cell.get_column_letter``."""
    if not 1 <= col <= MAX_COLUMN:
        raise ValueError(f"Invalid column index {col}")
    letters = ""
    while col:
        col, digit = divmod(col - 1, 26)
        letters = chr(ord("A") + digit) + letters
    return letters


@cache
def column_index_from_string(letters: str) -> int:
    """``"D"`` (or ``"d"``) -> ``4``, like ``openpyxl.utils.cell.column_index_from_string``."""
    letters = letters.upper()
    if not 1 <= len(letters) <= 3 or not all("A" <= ch <= "Z" for ch in letters):
        raise ValueError(f"{letters} is not a valid column name")
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - ord("A") + 1
    return index


def split_ref(ref: str) -> tuple[int, int]:
    """``"D7"`` -> ``(4, 7)`` (column, row), both 1-based."""
    m = _REF.match(ref.strip())
    if not m:
        raise ValueError(f"不是单元格地址：{ref!r}")
    return column_index_from_string(m[1].upper()), int(m[2])


def make_ref(col: int, row: int) -> str:
    """``(4, 7)`` -> ``"D7"``."""
    return f"{get_column_letter(col)}{row}"


def range_bounds(rng: str) -> tuple[int, int, int, int]:
    """``"B7:D7"`` -> ``(2, 7, 4, 7)`` as (min_col, min_row, max_col, max_row)."""
    first, _, last = rng.partition(":")
    c1, r1 = split_ref(first)
    c2, r2 = split_ref(last) if last else (c1, r1)
    return min(c1, c2), min(r1, r2), max(c1, c2), max(r1, r2)


def make_range(c1: int, r1: int, c2: int, r2: int) -> str:
    a, b = make_ref(c1, r1), make_ref(c2, r2)
    return a if a == b else f"{a}:{b}"


def offset_range(rng: str, rows: int, cols: int) -> str:
    """Shift a range by ``rows`` down and ``cols`` right."""
    c1, r1, c2, r2 = range_bounds(rng)
    return make_range(c1 + cols, r1 + rows, c2 + cols, r2 + rows)


def cells_in(rng: str) -> Iterator[tuple[int, int]]:
    """Every (col, row) inside a range, row by row."""
    c1, r1, c2, r2 = range_bounds(rng)
    for r in range(r1, r2 + 1):
        for c in range(c1, c2 + 1):
            yield c, r


def absolute(ref: str, sheet: str | None = None) -> str:
    """``"D7"`` -> ``"'表二'!$D$7"`` for formulas and defined names."""
    c1, r1, c2, r2 = range_bounds(ref)
    body = f"${get_column_letter(c1)}${r1}"
    if (c1, r1) != (c2, r2):
        body += f":${get_column_letter(c2)}${r2}"
    return f"{quote_sheet(sheet)}!{body}" if sheet else body


def quote_sheet(sheet: str) -> str:
    """Quote a sheet name for a formula (always quoted: ours contain spaces and CJK)."""
    return "'" + sheet.replace("'", "''") + "'"
