"""The published-report reader's vocabulary and hard limits: cells, rows, sources, budgets.

Split from :mod:`gkreport.readers.pub_sources` (which re-exports every public name):
every format reader (text, HTML, TSV, Word, Excel) builds the same :class:`Source` of
:class:`Row` and :class:`Cell`, under the same limits, so they live below all of them.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from gkreport.readers.files import MAX_INFLATED_BYTES, ReadError, decode_text

Mode = Literal["tab", "cells", "grid"]

# Limits of a published report's content. The file-level ones every input meets (size, zip
# members, what a zip may inflate to) are :mod:`gkreport.readers.files`'s, checked when the
# file is sniffed; a published report is also held to the tighter ones here (it is read whole
# into memory, and a real one is well under 1 MB).
MAX_BYTES = 50 * 1024 * 1024  # any file (files.MAX_FILE_BYTES: 100 MB for a workbook)
MAX_TEXT_CHARS = 5_000_000  # a .txt/.tsv/.html report (real ones: ~50 000)
MAX_LINE_CHARS = 200_000
MAX_ROW_CELLS = 512  # the widest official table has 16 value columns
MAX_CELLS = 200_000  # all table cells of one document (a real report: ~1 000)
MAX_SPAN = 64  # rowspan / colspan / gridSpan (the official tables are 28 x 16)
MAX_ZIP_MEMBERS = 5_000
MAX_XML_PART = 25 * 1024 * 1024  # word/document.xml, each worksheet, shared strings (unpacked)
MAX_UNPACKED = MAX_INFLATED_BYTES  # the same bound as every zip input
MAX_XLSX_ROWS, MAX_XLSX_COLS = 5_000, 256


class ReportReadError(ReadError):
    """The file cannot be read as a published report; the message is for the user (Chinese).

    A :class:`~gkreport.readers.files.ReadError` like every reader's: callers catch one type."""


@dataclass(frozen=True)
class Cell:
    """One cell of a source row; ``col``/``span`` are grid positions (grid mode only)."""

    text: str
    col: int = 0
    span: int = 1
    key: int | None = None  # identity of a merged cell, to skip vertical repeats in headers


@dataclass(frozen=True)
class Row:
    """A row of a source table. ``where`` says where it came from, for messages."""

    cells: tuple[Cell, ...]
    mode: Mode
    where: str
    table_no: int = 0


@dataclass
class Source:
    """What a format reader hands to the placer; ``notes`` are limits that were applied."""

    rows: list[Row]
    text: str
    meta: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


# A value as printed in the report, before the engine interprets it (values.parse_value makes
# a gkreport.core.values.Value of it when the Report is built).
RawValue = int | float | str | None

# ASCII digits only: "５" (full-width) stays text so that the engine can flag it at its cell.
_INT = re.compile(r"^[+-]?[0-9]{1,18}$")
_FLOAT = re.compile(r"^[+-]?([0-9]+\.[0-9]*|\.[0-9]+)$")
MAX_NUMBER_CHARS = 40  # longer "numbers" stay text: the engine reports them as 数值过大


def parse_text(text: str | None) -> RawValue:
    """Cell text -> value as published: int/float for a plain number, None for blank, else the text."""
    if text is None:
        return None
    s = str(text).strip().strip("\u3000\u00a0\u200b").strip()
    if not s:
        return None
    if _INT.match(s):
        return int(s)
    if len(s) <= MAX_NUMBER_CHARS and _FLOAT.match(s):
        return float(s)
    return s


def is_blank(text: str) -> bool:
    return not text.strip().strip("\u3000\u00a0\u200b").strip()


def shown(texts: Iterable[str]) -> str:
    """Published values for a message: “19”、“0”; blanks left out."""
    return "、".join(f"“{t.strip()}”" for t in texts if not is_blank(t)) or "（无）"


class Budget:
    """Counts table cells across a document so that no input can make millions of them."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cells = 0

    def take(self, n: int, where: str, *, row: bool = True, count: bool = True) -> None:
        """Count ``n`` more cells (``count``); ``row``: they are one row, which has a width limit."""
        if row and n > MAX_ROW_CELLS:
            raise ReportReadError(f"{where}有 {n} 个单元格，超过上限 {MAX_ROW_CELLS}，不像是年度报告的表格，"
                                  f"拒绝读取：{self.name}")
        self.cells += n if count else 0
        if self.cells > MAX_CELLS:
            raise ReportReadError(f"表格单元格总数超过上限 {MAX_CELLS}，不像是年度报告，拒绝读取：{self.name}")


def decode(data: bytes, path: Path) -> str:
    """Bytes -> text (UTF-8, UTF-16 with BOM, GB18030); refuse binary content and huge text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise ReportReadError(f"文件编码无法识别（UTF-16 内容已损坏），无法读取：{path.name}") from None
    else:
        if b"\x00" in data:
            raise ReportReadError(f"文件不是文本文件（含有二进制内容），无法读取：{path.name}")
        decoded = decode_text(data)
        if decoded is None:
            raise ReportReadError(f"文件编码无法识别（既不是 UTF-8 也不是 GB18030），无法读取：{path.name}")
        text = decoded
    if len(text) > MAX_TEXT_CHARS:
        raise ReportReadError(f"文本过长（{len(text)} 个字符，上限 {MAX_TEXT_CHARS}），不像是年度报告：{path.name}")
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\r\n\f")
    if text and controls / len(text) > 0.01:
        raise ReportReadError(f"文件内容像是二进制数据而不是文本，无法读取：{path.name}")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def check_lines(lines: Sequence[str], name: str) -> None:
    for no, ln in enumerate(lines, 1):
        if len(ln) > MAX_LINE_CHARS:
            raise ReportReadError(f"第{no}行过长（{len(ln)} 个字符，上限 {MAX_LINE_CHARS}），不像是年度报告：{name}")
