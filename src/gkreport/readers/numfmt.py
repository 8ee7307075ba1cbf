"""openpyxl's number-format and sheet-title predicates, without importing openpyxl.

The fast reader (:mod:`gkreport.readers.workbook`) must decide exactly as openpyxl does
which cell styles turn numbers into dates or durations, which sheet titles it refuses
and how it converts a number's text; importing any part of openpyxl imports all of it
(~0.1 s, most of a one-file ``check``). So the few definitions it needs are copied here
from openpyxl 3.1 (``openpyxl.styles.numbers``, ``openpyxl.workbook.child``,
``openpyxl.worksheet._reader``), and tests/test_numfmt.py pins them to the installed
openpyxl: the same tables and patterns, the same answers on every built-in format and
on generated ones. A newer openpyxl that changed them fails those tests.
"""

from __future__ import annotations

import re

# openpyxl.styles.numbers.BUILTIN_FORMATS
BUILTIN_FORMATS: dict[int, str] = {
    0: 'General',
    1: '0',
    2: '0.00',
    3: '#,##0',
    4: '#,##0.00',
    5: '"$"#,##0_);("$"#,##0)',
    6: '"$"#,##0_);[Red]("$"#,##0)',
    7: '"$"#,##0.00_);("$"#,##0.00)',
    8: '"$"#,##0.00_);[Red]("$"#,##0.00)',
    9: '0%',
    10: '0.00%',
    11: '0.00E+00',
    12: '# ?/?',
    13: '# ??/??',
    14: 'mm-dd-yy',
    15: 'd-mmm-yy',
    16: 'd-mmm',
    17: 'mmm-yy',
    18: 'h:mm AM/PM',
    19: 'h:mm:ss AM/PM',
    20: 'h:mm',
    21: 'h:mm:ss',
    22: 'm/d/yy h:mm',
    37: '#,##0_);(#,##0)',
    38: '#,##0_);[Red](#,##0)',
    39: '#,##0.00_);(#,##0.00)',
    40: '#,##0.00_);[Red](#,##0.00)',
    41: r'_(* #,##0_);_(* \(#,##0\);_(* "-"_);_(@_)',
    42: r'_("$"* #,##0_);_("$"* \(#,##0\);_("$"* "-"_);_(@_)',
    43: r'_(* #,##0.00_);_(* \(#,##0.00\);_(* "-"??_);_(@_)',
    44: r'_("$"* #,##0.00_)_("$"* \(#,##0.00\)_("$"* "-"??_)_(@_)',
    45: 'mm:ss',
    46: '[h]:mm:ss',
    47: 'mmss.0',
    48: '##0.0E+0',
    49: '@',
}

LITERAL_GROUP = r'".*?"'  # anything in quotes
LOCALE_GROUP = r'\[(?!hh?\]|mm?\]|ss?\])[^\]]*\]'  # anything in brackets but hours, minutes, seconds
STRIP_RE = re.compile(f"{LITERAL_GROUP}|{LOCALE_GROUP}")
TIMEDELTA_RE = re.compile(r'\[hh?\](:mm(:ss(\.0*)?)?)?|\[mm?\](:ss(\.0*)?)?|\[ss?\](\.0*)?', re.I)
_DATE_CHAR = re.compile(r"(?<![_\\])[dmhysDMHYS]")

# openpyxl.workbook.child.INVALID_TITLE_REGEX: a sheet title openpyxl refuses to load
INVALID_TITLE_REGEX = re.compile(r'[\\*?:/\[\]]')


def builtin_format_code(index: int) -> str | None:
    """One of the standard format codes by index (None for an unknown one)."""
    return BUILTIN_FORMATS.get(index)


def is_date_format(fmt: str | None) -> bool:
    """Whether openpyxl reads a number in this format as a date or time."""
    if fmt is None:
        return False
    fmt = STRIP_RE.sub("", fmt.split(";")[0])  # the first section, quoted text and locales dropped
    return _DATE_CHAR.search(fmt) is not None


def is_timedelta_format(fmt: str | None) -> bool:
    """Whether openpyxl reads a number in this format as a duration ([h]:mm ...)."""
    if fmt is None:
        return False
    return TIMEDELTA_RE.search(fmt.split(";")[0]) is not None


def cast_number(value: str) -> int | float:
    """A number's text as openpyxl's sheet reader converts it (``_cast_number``)."""
    if "." in value or "E" in value or "e" in value:
        return float(value)
    return int(value)
