"""Published report files -> rows of cells (plus the report's prose), within hard limits.

Every format becomes a :class:`Source`: rows of :class:`Cell` and the text outside the
tables. Text extraction gives rows whose empty cells are layout noise (``tab`` mode) or
one cell per line where every cell counts (``cells`` mode); Word/HTML/Excel tables give
rows where a cell's column position is meaningful (``grid`` mode).

The files come from the internet, so every reader is bounded: total size, line length,
cells per row and per document, merged-cell spans, zip members. Anything beyond a limit,
and any damaged file, is a :class:`ReportReadError` with a Chinese message naming the
file, never a traceback or gigabytes of memory.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal

from .files import decode_text

Mode = Literal["tab", "cells", "grid"]

MAX_BYTES = 50 * 1024 * 1024  # any file
MAX_TEXT_CHARS = 5_000_000  # a .txt/.tsv/.html report (real ones: ~50 000)
MAX_LINE_CHARS = 200_000
MAX_ROW_CELLS = 512  # the widest official table has 16 value columns
MAX_CELLS = 200_000  # all table cells of one document (a real report: ~1 000)
MAX_SPAN = 64  # rowspan / colspan / gridSpan (the official tables are 28 x 16)
MAX_ZIP_MEMBERS = 5_000
MAX_XML_PART = 25 * 1024 * 1024  # word/document.xml, each worksheet, shared strings (unpacked)
MAX_UNPACKED = 300 * 1024 * 1024
MAX_XLSX_ROWS, MAX_XLSX_COLS = 5_000, 256


class ReportReadError(Exception):
    """The file cannot be read as a published report; the message is for the user (Chinese)."""


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


Value = int | float | str | None

# ASCII digits only: "５" (full-width) stays text so that the engine can flag it at its cell.
_INT = re.compile(r"^[+-]?[0-9]{1,18}$")
_FLOAT = re.compile(r"^[+-]?([0-9]+\.[0-9]*|\.[0-9]+)$")
MAX_NUMBER_CHARS = 40  # longer "numbers" stay text: the engine reports them as 数值过大


def parse_text(text: str | None) -> Value:
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


# ------------------------------------------------------------------------------ text


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


def _check_lines(lines: Sequence[str], name: str) -> None:
    for no, ln in enumerate(lines, 1):
        if len(ln) > MAX_LINE_CHARS:
            raise ReportReadError(f"第{no}行过长（{len(ln)} 个字符，上限 {MAX_LINE_CHARS}），不像是年度报告：{name}")


def text_rows(text: str, name: str = "") -> list[Row]:
    """Rows of a text extraction: tab-separated lines, or one cell per line."""
    lines = text.split("\n")
    _check_lines(lines, name)
    budget = Budget(name)
    single = sum(1 for ln in lines if ln.startswith("\t") and "\t" not in ln[1:])
    multi = sum(1 for ln in lines if "\t" in ln.strip("\t") or ln.count("\t") >= 2)
    if single > multi:
        return _cell_per_line_rows(lines, budget)
    rows = []
    for no, ln in enumerate(lines, 1):
        if "\t" not in ln:
            continue
        budget.take(ln.count("\t") + 1, f"第{no}行")
        cells = tuple(Cell(t, i) for i, t in enumerate(ln.split("\t")))
        rows.append(Row(cells, "tab", f"第{no}行"))
    return rows


def _cell_per_line_rows(lines: Sequence[str], budget: Budget) -> list[Row]:
    """Group ``\\tcell`` lines into rows (a blank line ends a row).

    A line without the leading tab directly after a cell line continues that cell: a
    label broken across lines ("本年新" / "制作数量") is joined with no separator.
    """
    rows: list[Row] = []
    cur: list[str] = []
    start = 0
    prev_was_cell = False

    def flush() -> None:
        nonlocal cur
        if cur:
            budget.take(len(cur), f"第{start}行起")
            rows.append(Row(tuple(Cell(t, i) for i, t in enumerate(cur)), "cells", f"第{start}行起"))
        cur = []

    for no, ln in enumerate(lines, 1):
        if ln.startswith("\t"):
            if not cur:
                start = no
            cur.append(ln[1:])
            prev_was_cell = True
            if len(cur) > MAX_ROW_CELLS:
                flush()
        elif ln.strip() and prev_was_cell and cur:
            cur[-1] += ln.strip()
        else:
            flush()
            prev_was_cell = False
    flush()
    return rows


# ------------------------------------------------------------------------------ grids


Spec = tuple[str, int, int]  # (text, rowspan, colspan) as in HTML


def grid_rows(table: Sequence[Sequence[Spec]], table_no: int, what: str, budget: Budget) -> list[Row]:
    """Expand (text, rowspan, colspan) rows into grid rows; merged cells appear once per row."""
    occupied: dict[tuple[int, int], tuple[int, str, int, int]] = {}
    n_rows = len(table)
    key = 0
    for r, row in enumerate(table):
        c = 0
        for text, rs, cs in row:
            while (r, c) in occupied:
                c += 1
            key += 1
            rs = max(1, min(rs, n_rows - r, MAX_SPAN))
            cs = max(1, min(cs, MAX_SPAN))
            budget.take(rs * cs, f"{what}第{r + 1}行", row=False)
            for dr in range(rs):
                for dc in range(cs):
                    occupied[(r + dr, c + dc)] = (key, text, c, cs)
            c += cs
            if c > MAX_ROW_CELLS:
                budget.take(c, f"{what}第{r + 1}行", count=False)
    width: dict[int, int] = {}  # row -> columns up to its last cell (no padding of short rows)
    for r, c in occupied:
        width[r] = max(width.get(r, 0), c + 1)
    rows = []
    for r in range(n_rows):
        cells: list[Cell] = []
        last_key: int | None = None
        for c in range(width.get(r, 0)):
            hit = occupied.get((r, c))
            if hit is None:
                cells.append(Cell("", c))
                last_key = None
                continue
            k, text, c0, cs = hit
            if k == last_key:
                continue
            cells.append(Cell(text, c0, cs, k))
            last_key = k
        rows.append(Row(tuple(cells), "grid", f"{what}第{r + 1}行", table_no))
    return rows


def span_value(v: str | None) -> tuple[int, bool]:
    """A span attribute: at most 6 digits are read (``int()`` of 5000 digits raises); capped."""
    m = re.match(r"\s*(\d{1,6})", v or "")
    if not m:
        return 1, False
    n = max(1, int(m.group(1)))
    return min(n, MAX_SPAN), n > MAX_SPAN


class _HtmlTables(HTMLParser):
    """Collect tables (cells with rowspan/colspan) and the text outside them; fetches nothing."""

    _BLOCK = frozenset({"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section", "article",
                        "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[Spec]]] = []
        self.lines: list[str] = []
        self.capped = 0
        self.n_cells = 0
        self._stack: list[dict] = []
        self._buf: list[str] = []
        self._skip = 0

    def _span(self, attrs: list[tuple[str, str | None]], name: str) -> int:
        for k, v in attrs:
            if k == name and v:
                n, capped = span_value(v)
                self.capped += capped
                return n
        return 1

    def _flush(self) -> None:
        line = "".join(self._buf).strip()
        if line:
            self.lines.append(line)
        self._buf = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style", "noscript", "template"):
            self._skip += 1
        elif tag == "table":
            self._flush()
            self._stack.append({"rows": [], "cell": None})
        elif not self._stack:
            if tag in self._BLOCK:
                self._flush()
        elif tag == "tr":
            self._close_cell()
            self._stack[-1]["rows"].append([])
        elif tag in ("td", "th"):
            self._close_cell()
            self.n_cells += 1
            if self.n_cells > MAX_CELLS:
                raise ReportReadError(f"网页中的表格单元格超过上限 {MAX_CELLS}，不像是年度报告")
            t = self._stack[-1]
            if not t["rows"]:
                t["rows"].append([])
            t["cell"] = ([], self._span(attrs, "rowspan"), self._span(attrs, "colspan"))

    def _close_cell(self) -> None:
        if not self._stack:
            return
        t = self._stack[-1]
        if t["cell"] is not None:
            parts, rs, cs = t["cell"]
            t["rows"][-1].append((re.sub(r"\s+", " ", "".join(parts)).strip(), rs, cs))
            t["cell"] = None

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "noscript", "template"):
            self._skip = max(0, self._skip - 1)
        elif tag == "table" and self._stack:
            self._close_cell()
            t = self._stack.pop()
            self.tables.append(list(t["rows"]))
        elif self._stack and tag in ("td", "th"):
            self._close_cell()
        elif not self._stack and tag in self._BLOCK:
            self._flush()

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._stack:
            cell = self._stack[-1]["cell"]
            if cell is not None:
                # Line breaks inside a cell are layout: join the pieces with no separator.
                cell[0].append(data.replace("\n", "").replace("\r", ""))
        else:
            self._buf.append(data)

    def close(self) -> None:
        super().close()
        while self._stack:
            self.handle_endtag("table")
        self._flush()


def read_html(path: Path, data: bytes) -> Source:
    head = data[:4096].decode("ascii", "ignore").lower()
    m = re.search(r"charset\s*=\s*[\"']?([a-z0-9_\-]+)", head)
    text: str | None = None
    if m and m.group(1) in ("gbk", "gb2312", "gb18030"):
        text = data.decode("gb18030", "replace")
        if len(text) > MAX_TEXT_CHARS:
            raise ReportReadError(f"网页过长（{len(text)} 个字符），不像是年度报告：{path.name}")
    if text is None:
        text = decode(data, path)
    parser = _HtmlTables()
    try:
        parser.feed(text)
        parser.close()
    except ReportReadError as e:
        raise ReportReadError(f"{e}：{path.name}") from None
    budget = Budget(path.name)
    rows: list[Row] = []
    for i, table in enumerate(parser.tables, 1):
        rows += grid_rows(table, i, f"网页第{i}个表格", budget)
    notes = [f"网页表格中有 {parser.capped} 处合并单元格跨度超过 {MAX_SPAN}，按 {MAX_SPAN} 读取"] if parser.capped else []
    return Source(rows, "\n".join(parser.lines), notes=notes)


# ------------------------------------------------------------------------------ tsv


def read_tsv(path: Path, data: bytes) -> tuple[Source, dict[str, list[list[str]]]]:
    """The transcription format: ``# key: value`` lines and [table1]/[table2]/[table3] sections."""
    text = decode(data, path)
    _check_lines(text.split("\n"), path.name)
    meta: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    cur: str | None = None
    budget = Budget(path.name)
    for no, ln in enumerate(text.split("\n"), 1):
        if ln.startswith("#"):
            k, _, v = ln[1:].partition(":")
            meta[k.strip().lower()] = v.strip()
        elif re.match(r"^\[table\d\]\s*$", ln.strip()):
            cur = ln.strip()[1:-1]
            sections[cur] = []
        elif cur and ln.strip():
            budget.take(ln.count("\t") + 1, f"第{no}行")
            sections[cur].append(ln.split("\t"))
    if not sections:
        raise ReportReadError(f"转录文件中没有 [table1]/[table2]/[table3] 段落：{path.name}")
    return Source([], text, meta), sections
