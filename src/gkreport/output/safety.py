"""Keep text inert when it is written to a workbook (no formula injection).

openpyxl stores any string starting with ``=`` as a formula, and Excel (through
xlwings/COM) also parses ``+``, ``-`` and ``@`` as the start of a formula. Text that
comes from reports (agency names, raw cell text, messages) must stay text:

- openpyxl: assign, then force the cell's data type to string (the stored text is
  byte-for-byte what was read; no visible prefix);
- a live Excel range: prefix the apostrophe Excel itself uses for "this is text";
  Excel shows the text without it.
"""

from __future__ import annotations

import re
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 cannot hold (control characters such as the form feed pdftotext puts
# between pages, lone surrogates, U+FFFE/U+FFFF): openpyxl refuses them and Excel would
# refuse the file, so they are dropped from text written to a workbook. Written as the
# (few) characters excluded, not as the negation of XML's Char ranges: the same set, but the
# negated class over the whole of Unicode takes ~20 ms to compile at every start.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without the characters an .xlsx cannot store (they are invisible anyway)."""
    return _NOT_XML.sub("", text)


def looks_like_formula(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def set_text(cell: Any, text: str) -> None:
    """Write ``text`` into an openpyxl cell as a string, never as a formula."""
    cell.value = xml_safe(text)
    cell.data_type = "s"


def excel_text(text: str) -> str:
    """Text for a live Excel range (xlwings): prefixed with ``'`` when Excel would parse it."""
    return "'" + text if looks_like_formula(text) else text


EXCEL_MAX = 9.99999999999999e307  # beyond this Excel has no number; openpyxl would write "inf"


def set_value(cell: Any, value: Any) -> None:
    """Write a number as a number and any string as inert text (openpyxl).

    A float Excel cannot hold (inf, nan, > 9.99e307) is written as its text, so what
    was read is kept rather than silently lost on the next save.
    """
    if isinstance(value, float) and not (abs(value) <= EXCEL_MAX):
        set_text(cell, repr(value))
    elif isinstance(value, str):
        set_text(cell, value)
    else:
        cell.value = value
