"""Read a report as agencies publish it (text, docx, html, xlsx) into cell values.

Agencies publish their annual report as a web page, a Word file or a PDF; the tables
in it are the official ones, but what reaches us is mangled: PDF text extraction
shifts rows by a tab, breaks labels across lines, writes half-width brackets and
spaces inside labels; Word/HTML tables carry merged cells; spreadsheets put the grid
anywhere on any sheet. This module turns all of these into one thing: a value for
every cell id of the form, exactly as published.

Design:

- Every input becomes a stream of *rows* of *cells* (plus the report text). Text
  extraction gives rows whose empty cells are layout noise (``tab`` mode) or rows of
  one cell per line where every cell counts (``cells`` mode); Word/HTML/Excel tables
  give rows where a cell's column position is meaningful (``grid`` mode).
- One state machine walks the stream, recognises the three tables by their printed
  labels (taken from ``rules/form-*.json`` through :class:`gkreport.forms.Form`,
  compared with :func:`gkreport.labels.canonical`) and places values.
- Values are never interpreted: a plain number becomes ``int``/``float``, a blank
  stays ``None`` and anything else stays the raw string, so the validation engine can
  report units, dashes and full-width digits at their cell.
- Whatever cannot be placed is listed in ``unplaced`` in Chinese; nothing is guessed
  silently.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Literal, TypeVar

from ..forms import CellDef, Form, FormError, available_forms, form_for_year, load_form
from ..labels import canonical, normalize
from .files import decode_text

Value = int | float | str | None
Mode = Literal["tab", "cells", "grid"]

MAX_BYTES = 50 * 1024 * 1024
SUPPORTED = (".txt", ".tsv", ".docx", ".html", ".htm", ".xlsx", ".xlsm")
TABLE_NAMES = {"t1": "表一", "t2": "表二", "t3": "表三"}


class ReportReadError(Exception):
    """The file cannot be read as a published report; the message is for the user (Chinese)."""


@dataclass(frozen=True)
class Imported:
    """A published report read into the cells of one form.

    ``values`` has every cell id of ``form``: the value as published (number, raw text
    or ``None`` for a blank). ``unplaced`` lists table content that could not be put
    into a cell, ``notes`` what the reader noticed (missing columns, guessed form, ...).
    """

    form: str
    year: int | None
    agency: str | None
    date: str | None
    values: dict[str, Value]
    text: str
    unplaced: list[str]
    notes: list[str]
    source: str


# ------------------------------------------------------------------------------ values


# ASCII digits only: "５" (full-width) stays text so that the engine can flag it at its cell.
_INT = re.compile(r"^[+-]?[0-9]+$")
_FLOAT = re.compile(r"^[+-]?([0-9]+\.[0-9]*|\.[0-9]+)$")
# Cell text that is data rather than a label: numbers (possibly with a unit, full-width
# digits or separators) and the usual "not applicable" marks.
_VALUEISH = re.compile(
    r"^[+\-−－]?[\d０-９][\d０-９,，.．\s]*(件|项|条|个|次|人|元|万元|亿元)?$"
)
_NA_MARKS = {"/", "／", "\\", "-", "—", "——", "－", "―", "不适用", "无", "空", "×", "x", "X"}
_DECORATION = re.compile(r"^[-_=—－–\s]+$")


def parse_value(text: str | None) -> Value:
    """Cell text -> value as published: int/float for a plain number, None for blank, else the text."""
    if text is None:
        return None
    s = str(text).strip().strip("\u3000\u00a0\u200b").strip()
    if not s:
        return None
    if _INT.match(s):
        return int(s)
    if _FLOAT.match(s):
        return float(s)
    return s


def _is_valueish(text: str) -> bool:
    """True for cell text that is a value (a number, a blank, a dash) rather than a label."""
    s = text.strip().strip("\u3000\u00a0").strip()
    return not s or s in _NA_MARKS or bool(_VALUEISH.match(s))


def _is_blank(text: str) -> bool:
    return not text.strip().strip("\u3000\u00a0\u200b").strip()


# ------------------------------------------------------------------------------ rows


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
    """What a format reader hands to the placer."""

    rows: list[Row]
    text: str
    meta: dict[str, str] = field(default_factory=dict)


def _decode(data: bytes, path: Path) -> str:
    """Bytes -> text (UTF-8, UTF-16 with BOM, GB18030); refuse binary content."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = data.decode("utf-16")
    else:
        if b"\x00" in data:
            raise ReportReadError(f"文件不是文本文件（含有二进制内容），无法读取：{path.name}")
        decoded = decode_text(data)
        if decoded is None:
            raise ReportReadError(f"文件编码无法识别（既不是 UTF-8 也不是 GB18030），无法读取：{path.name}")
        text = decoded
    controls = sum(1 for ch in text if unicodedata.category(ch) == "Cc" and ch not in "\t\r\n\f")
    if text and controls / len(text) > 0.01:
        raise ReportReadError(f"文件内容像是二进制数据而不是文本，无法读取：{path.name}")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _text_rows(text: str) -> list[Row]:
    """Rows of a text extraction: tab-separated lines, or one cell per line."""
    lines = text.split("\n")
    single = sum(1 for ln in lines if ln.startswith("\t") and "\t" not in ln[1:])
    multi = sum(1 for ln in lines if "\t" in ln.strip("\t") or ln.count("\t") >= 2)
    if single > multi:
        return _cell_per_line_rows(lines)
    rows = []
    for no, ln in enumerate(lines, 1):
        if "\t" not in ln:
            continue
        cells = tuple(Cell(t, i) for i, t in enumerate(ln.split("\t")))
        rows.append(Row(cells, "tab", f"第{no}行"))
    return rows


def _cell_per_line_rows(lines: Sequence[str]) -> list[Row]:
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
            rows.append(Row(tuple(Cell(t, i) for i, t in enumerate(cur)), "cells", f"第{start}行起"))
        cur = []

    for no, ln in enumerate(lines, 1):
        if ln.startswith("\t"):
            if not cur:
                start = no
            cur.append(ln[1:])
            prev_was_cell = True
        elif ln.strip() and prev_was_cell and cur:
            cur[-1] += ln.strip()
        else:
            flush()
            prev_was_cell = False
    flush()
    return rows


def _grid_rows(table: Sequence[Sequence[tuple[str, int, int]]], table_no: int, what: str) -> list[Row]:
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
            rs = max(1, min(rs, n_rows - r))
            cs = max(1, min(cs, 1000))
            for dr in range(rs):
                for dc in range(cs):
                    occupied[(r + dr, c + dc)] = (key, text, c, cs)
            c += cs
    n_cols = max((c for _, c in occupied), default=-1) + 1
    rows = []
    for r in range(n_rows):
        cells: list[Cell] = []
        last_key: int | None = None
        for c in range(n_cols):
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


# ------------------------------------------------------------------------------ formats


def _read_text(path: Path, data: bytes) -> Source:
    text = _decode(data, path)
    return Source(_text_rows(text), text)


class _HtmlTables(HTMLParser):
    """Collect tables (cells with rowspan/colspan) and the text outside them; fetches nothing."""

    _BLOCK = frozenset({"p", "div", "br", "h1", "h2", "h3", "h4", "h5", "h6", "li", "section", "article",
                        "title"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[tuple[str, int, int]]]] = []
        self.lines: list[str] = []
        self._stack: list[dict] = []
        self._buf: list[str] = []
        self._skip = 0

    @staticmethod
    def _span(attrs: list[tuple[str, str | None]], name: str) -> int:
        for k, v in attrs:
            if k == name and v:
                m = re.match(r"\s*(\d+)", v)
                if m:
                    return max(1, int(m.group(1)))
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
            self.tables.append([r for r in t["rows"]])
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


def _read_html(path: Path, data: bytes) -> Source:
    head = data[:4096].decode("ascii", "ignore").lower()
    m = re.search(r"charset\s*=\s*[\"']?([a-z0-9_\-]+)", head)
    text: str | None = None
    if m and m.group(1) in ("gbk", "gb2312", "gb18030"):
        text = data.decode("gb18030", "replace")
    if text is None:
        text = _decode(data, path)
    parser = _HtmlTables()
    parser.feed(text)
    parser.close()
    rows: list[Row] = []
    for i, table in enumerate(parser.tables, 1):
        rows += _grid_rows(table, i, f"网页第{i}个表格")
    body = "\n".join(parser.lines)
    return Source(rows, body)


def _read_docx(path: Path, data: bytes) -> Source:
    import docx  # python-docx; imported here so that text-only use does not need it
    from docx.opc.exceptions import PackageNotFoundError

    try:
        doc = docx.Document(str(path))
    except (zipfile.BadZipFile, KeyError, ValueError, PackageNotFoundError) as e:
        raise ReportReadError(f"不是有效的 Word（.docx）文件：{path.name}（{e}）") from None
    except Exception as e:  # a damaged part: lxml and python-docx raise many types
        raise ReportReadError(f"Word 文件已损坏，无法读取：{path.name}（{type(e).__name__}）") from None
    rows: list[Row] = []
    # Merged cells are the same <w:tc> element repeated; number the elements while all of
    # them are referenced (lxml proxies, and so id(), are only stable while alive).
    keys: dict[int, int] = {}
    alive: list[object] = []
    for i, table in enumerate(doc.tables, 1):
        for r, row in enumerate(table.rows, 1):
            cells: list[Cell] = []
            offset = row.grid_cols_before
            row_cells = row.cells
            tcs = [cell._tc for cell in row_cells]
            alive.extend(tcs)
            c = 0
            while c < len(tcs):
                tc = tcs[c]
                span = 1
                while c + span < len(tcs) and tcs[c + span] is tc:
                    span += 1
                key = keys.setdefault(id(tc), len(keys) + 1)
                text = "".join(row_cells[c].text.split("\n"))
                cells.append(Cell(text, c + offset, span, key))
                c += span
            rows.append(Row(tuple(cells), "grid", f"Word第{i}个表格第{r}行", i))
    body = "\n".join(p.text for p in doc.paragraphs if p.text.strip())
    return Source(rows, body)


def _read_xlsx(path: Path, data: bytes) -> Source:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, InvalidFileException) as e:
        raise ReportReadError(f"不是有效的 Excel（.xlsx）文件：{path.name}（{e}）") from None
    except Exception as e:  # a damaged part: lxml, zlib and openpyxl raise many types
        raise ReportReadError(f"Excel 文件已损坏，无法读取：{path.name}（{type(e).__name__}）") from None
    rows: list[Row] = []
    lines: list[str] = []
    try:
        for i, ws in _damaged_as_read_error(path, enumerate(wb.worksheets, 1)):
            if not hasattr(ws, "iter_rows"):
                continue
            ws.reset_dimensions()
            for r, values in _damaged_as_read_error(path, enumerate(ws.iter_rows(values_only=True), 1)):
                cells = tuple(Cell(_xlsx_text(v), c) for c, v in enumerate(values))
                if any(not _is_blank(c.text) for c in cells):
                    lines.append("\t".join(c.text for c in cells).strip("\t"))
                rows.append(Row(cells, "grid", f"工作表“{ws.title}”第{r}行", i))
    finally:
        wb.close()
    return Source(rows, "\n".join(lines))


_T = TypeVar("_T")


def _damaged_as_read_error(path: Path, items: Iterable[_T]) -> Iterator[_T]:
    """``items``, read lazily from a workbook part (openpyxl's read-only mode parses while
    iterating): a damaged part is a ReportReadError, not a library exception."""
    it = iter(items)
    while True:
        try:
            item = next(it)
        except StopIteration:
            return
        except Exception as e:
            raise ReportReadError(f"Excel 文件已损坏，无法读取：{path.name}（{type(e).__name__}）") from None
        yield item


def _xlsx_text(v: object) -> str:
    """Excel cell value -> text that parse_value turns back into the same number."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, float):
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)
    return str(v)


# ------------------------------------------------------------------------------ form model


def _strip_enum(s: str) -> str:
    """Drop a leading enumerator (一、 （三） 1.) so that "予以公开" matches "（一）予以公开"."""
    return re.sub(r"^(（[一二三四五六七八九十]+）|[一二三四五六七八九十]+、|\d+[.、])", "", s)


@dataclass
class _Model:
    """The form's labels, canonicalised once, in the shape the placer needs."""

    form: Form
    canon: dict[str, str] = field(default_factory=dict)

    def c(self, text: str) -> str:
        got = self.canon.get(text)
        if got is None:
            got = self.canon[text] = canonical(text, self.form.synonyms)
        return got

    def __post_init__(self) -> None:
        f = self.form
        # table 1: block title -> (ordered columns, rows)
        self.t1_blocks: dict[str, list[tuple[str, str]]] = {}  # block canon -> [(col key, col canon)]
        self.t1_rows: dict[str, tuple[str, str, int]] = {}  # row canon -> (block canon, row key, grid row)
        self.t1_cell: dict[tuple[str, str], str] = {}  # (row key, col key) -> cell id
        for cell in sorted(f.table_cells("t1"), key=lambda x: (x.grid_row, x.grid_col)):
            block = self.c(cell.row_path[0])
            cols = self.t1_blocks.setdefault(block, [])
            if (cell.col_key, self.c(cell.col_path[-1])) not in cols:
                cols.append((cell.col_key, self.c(cell.col_path[-1])))
            self.t1_rows[self.c(cell.row_path[-1])] = (block, cell.row_key, cell.grid_row)
            self.t1_cell[(cell.row_key, cell.col_key)] = cell.id
        # table 2: rows by path, columns in official order
        t2 = f.table_cells("t2")
        self.t2_cols: list[tuple[str, str]] = []
        self.t2_rows: list[tuple[str, tuple[str, ...], int]] = []  # (row key, canon path, grid row)
        self.t2_cell: dict[tuple[str, str], str] = {}
        for cell in sorted(t2, key=lambda x: (x.grid_row, x.grid_col)):
            if (cell.col_key, self.c(cell.col_path[-1])) not in self.t2_cols:
                self.t2_cols.append((cell.col_key, self.c(cell.col_path[-1])))
            if not any(k == cell.row_key for k, _, _ in self.t2_rows):
                self.t2_rows.append((cell.row_key, tuple(self.c(p) for p in cell.row_path), cell.grid_row))
            self.t2_cell[(cell.row_key, cell.col_key)] = cell.id
        self.t2_col_names = {k: next(c.col_path[-1] for c in t2 if c.col_key == k) for k, _ in self.t2_cols}
        # table 3: one row of cells in grid order
        self.t3_cells: list[CellDef] = sorted(f.table_cells("t3"), key=lambda x: x.grid_col)
        t1_labels = {self.c(lab.text) for lab in f.table("t1").labels}
        t3_labels = {self.c(lab.text) for lab in f.table("t3").labels}
        self.t3_triggers = {self.c(c.col_path[0]) for c in self.t3_cells}
        self.t2_triggers = {
            self.c(lab.text) for lab in f.table("t2").labels if lab.style in ("head", "note")
        } - t3_labels - t1_labels - {"总计", "其他"}
        self.t1_head = {self.c(lab.text) for lab in f.table("t1").labels if lab.style == "head"} - {
            self.c(k) for cols in self.t1_blocks.values() for _, k in cols
        }

    def t2_row_name(self, key: str) -> str:
        cell = self.form.cells[self.t2_cell[(key, self.t2_cols[0][0])]]
        return cell.row_short or cell.row_path[-1]

    def match_t2_row(self, labels: Sequence[str]) -> str | None:
        """Row key of table 2 for the label cells of a row, or None."""
        labs = [self.c(t) for t in labels if not _is_blank(t)]
        if not labs:
            return None
        for k in range(1, len(labs) + 1):
            joined = "".join(labs[-k:])
            hits = [key for key, path, _ in self.t2_rows if path[-1] == joined]
            if not hits:
                hits = [key for key, path, _ in self.t2_rows if _strip_enum(path[-1]) == _strip_enum(joined)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                # the same leaf text under two parents: the other label cells decide
                parents = set(labs[:-k])
                best = [key for key, path, _ in self.t2_rows if key in hits and parents & set(path[:-1])]
                if len(best) == 1:
                    return best[0]
        return None

    def match_t1_row(self, labels: Sequence[str]) -> tuple[str, str, int] | None:
        labs = [self.c(t) for t in labels if not _is_blank(t)]
        for k in range(1, len(labs) + 1):
            joined = "".join(labs[-k:])
            if joined in self.t1_rows:
                return self.t1_rows[joined]
        return None


def _assemble(label: str, fragments: Sequence[str]) -> bool:
    """True when ``label`` is one fragment, or consecutive-in-order fragments joined.

    Text extraction breaks header labels across lines and even rows ("上一年" … "项目数量");
    the pieces still come in reading order.
    """
    if label in fragments:
        return True
    rest = label
    for frag in fragments:
        if frag and rest.startswith(frag):
            rest = rest[len(frag):]
            if not rest:
                return True
    return False


# ------------------------------------------------------------------------------ placing


class _Placer:
    """Walk the row stream and place values into the cells of one form."""

    def __init__(self, model: _Model) -> None:
        self.m = model
        self.values: dict[str, Value] = dict.fromkeys(model.form.cells)
        self.placed: set[str] = set()
        self.unplaced: list[str] = []
        self.notes: list[str] = []
        self.seen: set[str] = set()
        self.state: str | None = None
        # table 1
        self.block: str | None = None
        self.head_rows: list[Row] = []
        self.collecting_head = False
        # table 2
        self.t2_head: list[Row] = []
        self.t2_columns: list[tuple[str, int | None]] | None = None  # (col key, grid col)
        self.pending: list[str] = []
        # table 3
        self.t3_head: list[Row] = []
        self.t3_done = False

    # -- helpers
    def _set(self, cid: str, text: str, where: str) -> None:
        cell = self.m.form.cells[cid]
        if cid in self.placed:
            self.unplaced.append(
                f"{TABLE_NAMES[cell.table]}“{cell.label}”出现了两次，第二次的数值“{text.strip()}”未采用（{where}）"
            )
            return
        self.values[cid] = parse_value(text)
        self.placed.add(cid)

    def _extra(self, table: str, what: str, texts: Iterable[str], where: str) -> None:
        for t in texts:
            if not _is_blank(t):
                self.unplaced.append(f"{TABLE_NAMES[table]} {what}多出一个数值“{t.strip()}”（{where}）")

    @staticmethod
    def _split(row: Row) -> tuple[list[Cell], list[Cell]]:
        """Label cells (up to the last non-value cell) and value cells after them."""
        cells = list(row.cells)
        last = -1
        for i, c in enumerate(cells):
            if not _is_valueish(c.text):
                last = i
        labels = [c for c in cells[: last + 1] if not _is_blank(c.text)]
        values = cells[last + 1:]
        if row.mode == "tab":
            values = [c for c in values if c.text != ""]
        return labels, values

    def _trigger(self, row: Row) -> str | None:
        texts = {self.m.c(c.text) for c in row.cells if not _is_blank(c.text)}
        if texts & self.m.t3_triggers:
            return "t3"
        if texts & self.m.t2_triggers:
            return "t2"
        if texts & set(self.m.t1_blocks) or texts & self.m.t1_head:
            return "t1"
        if self.state is not None:
            return None  # inside a table only the header labels above switch tables
        # A table whose header was lost (e.g. on the previous page) starts with a data row.
        labels, _ = self._split(row)
        names = [c.text for c in labels]
        if names and self.m.match_t1_row(names):
            return "t1"
        if names and self.m.match_t2_row(names):
            return "t2"
        return None

    # -- main loop
    def feed(self, rows: Iterable[Row]) -> None:
        for row in rows:
            if all(_is_blank(c.text) or _DECORATION.match(c.text) for c in row.cells):
                continue
            trig = self._trigger(row)
            if trig and trig != self.state:
                self._enter(trig)
            if self.state == "t1":
                self._t1(row)
            elif self.state == "t2":
                self._t2(row)
            elif self.state == "t3":
                self._t3(row)
            # rows before any of our tables (a contact table, a title row) are not table data

    def _enter(self, table: str) -> None:
        self.state = table
        self.seen.add(table)
        if table == "t2":
            self.t2_head, self.t2_columns, self.pending = [], None, []
        elif table == "t3":
            self.t3_head, self.t3_done = [], False

    # -- table 1
    def _t1(self, row: Row) -> None:
        m = self.m
        texts = [m.c(c.text) for c in row.cells if not _is_blank(c.text)]
        blocks = [t for t in texts if t in m.t1_blocks]
        if blocks:
            self.block, self.head_rows, self.collecting_head = blocks[0], [], False
            return
        labels, values = self._split(row)
        if texts and texts[0] in m.t1_head:
            self.head_rows, self.collecting_head = [row], True
            return
        hit = m.match_t1_row([c.text for c in labels]) if labels else None
        if hit is None:
            if self.collecting_head and not any(not _is_blank(v.text) for v in values):
                self.head_rows.append(row)
                return
            if any(not _is_blank(v.text) for v in values):
                name = "".join(c.text for c in labels).strip() or "（无标签）"
                shown = "、".join(v.text.strip() for v in values if not _is_blank(v.text))
                self.unplaced.append(f"表一 未识别的行“{name}”，数值 {shown} 未采用（{row.where}）")
            return
        self.collecting_head = False
        block, row_key, grid_row = hit
        if self.block is not None and block != self.block:
            self.block = block
            self.head_rows = []
        self.block = block
        cols = m.t1_blocks[block]
        what = f"第{grid_row}行（{labels[-1].text.strip()}）"
        if row.mode == "grid":
            located = self._grid_columns(self.head_rows, [k for k in cols])
            if located is None:  # no usable header: the data columns follow the label in order
                first = labels[-1].col + labels[-1].span
                located = []
                for c in row.cells:
                    if c.col >= first and len(located) < len(cols):
                        located.append((cols[len(located)][0], c.col))
            self._place_grid(row, located, lambda ck: m.t1_cell[(row_key, ck)], "t1", what,
                             min_col=labels[-1].col + labels[-1].span)
            return
        frags = [m.c(c.text) for r in self.head_rows for c in r.cells
                 if not _is_blank(c.text) and m.c(c.text) not in m.t1_head]
        present = [ck for ck, lab in cols if _assemble(lab, frags)] if frags else [ck for ck, _ in cols]
        if not present:
            present = [ck for ck, _ in cols]
        self._place_seq(values, present, lambda ck: m.t1_cell[(row_key, ck)], "t1", what, row.where)

    # -- table 2
    def _t2(self, row: Row) -> None:
        m = self.m
        labels, values = self._split(row)
        names = [c.text for c in labels]
        key = m.match_t2_row(names) if names else None
        if key is None and self.pending and names:
            key = m.match_t2_row([*self.pending, *names])
        has_values = any(not _is_blank(v.text) for v in values)
        is_head = any(m.c(c.text) in m.t2_triggers for c in labels)
        if self.t2_columns is None and not has_values and (is_head or key is None):
            self.t2_head.append(row)
            return
        if key is not None and not values:
            self.pending = names  # a label with no cells after it: maybe the first half of a broken label
            return
        if key is None:
            if not has_values:
                self.pending = names
                return
            name = "".join(names).strip() or "（无标签）"
            shown = "、".join(v.text.strip() for v in values if not _is_blank(v.text))
            self.unplaced.append(f"表二 未识别的行“{name}”，数值 {shown} 未采用（{row.where}）")
            self.pending = []
            return
        self.pending = []
        if self.t2_columns is None:
            self.t2_columns = self._t2_header(row.mode)
        grid_row = next(g for k, _, g in m.t2_rows if k == key)
        what = f"第{grid_row}行（{m.t2_row_name(key)}）"
        if row.mode == "grid":
            if any(c is None for _, c in self.t2_columns):
                first = labels[-1].col + labels[-1].span
                cells = [c for c in row.cells if c.col >= first]
                cols = [(k, cells[i].col if i < len(cells) else None)
                        for i, (k, _) in enumerate(self.t2_columns)]
            else:
                cols = self.t2_columns
            self._place_grid(row, [(k, c) for k, c in cols if c is not None],
                             lambda ck: m.t2_cell[(key, ck)], "t2", what,
                             min_col=labels[-1].col + labels[-1].span)
        else:
            self._place_seq(values, [k for k, _ in self.t2_columns], lambda ck: m.t2_cell[(key, ck)],
                            "t2", what, row.where)

    def _t2_header(self, mode: Mode) -> list[tuple[str, int | None]]:
        """Columns of table 2 present in the header, in official order (with grid columns)."""
        m = self.m
        keys = [k for k, _ in m.t2_cols]
        if mode == "grid" and self.t2_head:
            located = self._grid_columns(self.t2_head, m.t2_cols)
            if located is not None:
                got = dict(located)
                present = [(k, got[k]) for k in keys if k in got]
                self._note_missing_t2([k for k, _ in present])
                return present
        frags = [m.c(c.text) for r in self.t2_head for c in r.cells if not _is_blank(c.text)]
        if not frags:
            self.notes.append("表二没有找到表头（申请人情况各列），按官方列顺序读取")
            return [(k, None) for k in keys]
        present = [(k, None) for k, lab in m.t2_cols if _assemble(lab, frags)]
        if len(present) < 2:
            self.notes.append("表二表头无法识别，按官方列顺序读取")
            return [(k, None) for k in keys]
        self._note_missing_t2([k for k, _ in present])
        return present

    def _note_missing_t2(self, present: Sequence[str]) -> None:
        for k, _ in self.m.t2_cols:
            if k not in present:
                self.notes.append(f"表二缺少“{self.m.t2_col_names[k]}”列，该列各单元格留空")

    # -- table 3
    def _t3(self, row: Row) -> None:
        labels, values = self._split(row)
        if labels:
            if self.t3_done:
                self.state = None
                return
            self.t3_head.append(row)
            return
        if self.t3_done:
            self._extra("t3", "数据行之后", [v.text for v in values], row.where)
            return
        self.t3_done = True
        cells = self.m.t3_cells
        if row.mode == "grid":
            heads = [c for r in self.t3_head for c in r.cells if not _is_blank(c.text)]
            lo = min((c.col for c in heads), default=0)
            hi = max((c.col + c.span - 1 for c in heads), default=lo + len(cells) - 1)
            inside = [c for c in row.cells if lo <= c.col <= hi]
            outside = [c.text for c in row.cells if not lo <= c.col <= hi]
            self._extra("t3", "", outside, row.where)
            texts = [c.text for c in inside]
        else:
            texts = [v.text for v in values]
        self._place_seq_texts(texts, [c.id for c in cells], "t3", "数据行", row.where)

    # -- placing
    def _grid_columns(self, head: Sequence[Row],
                      cols: Sequence[tuple[str, str]]) -> list[tuple[str, int]] | None:
        """Find each column label in the header rows by grid position (labels may be split)."""
        per_col: dict[int, list[str]] = {}
        last_key: dict[int, int | None] = {}
        for r in head:
            for c in r.cells:
                if _is_blank(c.text):
                    continue
                if c.key is not None and last_key.get(c.col) == c.key:
                    continue  # a vertical merge repeats its cell in the next row
                last_key[c.col] = c.key
                per_col.setdefault(c.col, []).append(self.m.c(c.text))
        located: list[tuple[str, int]] = []
        for key, lab in cols:
            for col, frags in sorted(per_col.items()):
                joined = "".join(frags)
                if frags[-1] == lab or joined.endswith(lab) or _assemble(lab, frags):
                    located.append((key, col))
                    break
        return located or None

    def _place_grid(self, row: Row, located: Sequence[tuple[str, int]], cell_id, table: str, what: str,
                    min_col: int) -> None:
        used: set[int] = set()
        for ck, col in located:
            hit = next((c for c in row.cells if c.col <= col < c.col + c.span), None)
            self._set(cell_id(ck), hit.text if hit else "", row.where)
            if hit is not None:
                used.add(hit.col)
        extras = [c.text for c in row.cells if c.col >= min_col and c.col not in used]
        self._extra(table, what, extras, row.where)

    def _place_seq(self, values: Sequence[Cell], keys: Sequence[str], cell_id, table: str, what: str,
                   where: str) -> None:
        self._place_seq_texts([v.text for v in values], [cell_id(k) for k in keys], table, what, where)

    def _place_seq_texts(self, texts: Sequence[str], ids: Sequence[str], table: str, what: str,
                         where: str) -> None:
        if len(texts) < len(ids):
            shown = "、".join(f"“{t.strip()}”" for t in texts if not _is_blank(t)) or "（无）"
            self.unplaced.append(
                f"{TABLE_NAMES[table]} {what}只有 {len(texts)} 个数值，应有 {len(ids)} 个，"
                f"无法确定各数值所属的列，该行留空：{shown}（{where}）"
            )
            return
        for cid, t in zip(ids, texts[: len(ids)], strict=True):
            self._set(cid, t, where)
        self._extra(table, what, texts[len(ids):], where)


# ------------------------------------------------------------------------------ tsv


def _read_tsv(path: Path, data: bytes) -> tuple[Source, dict[str, list[list[str]]]]:
    """The transcription format: ``# key: value`` lines and [table1]/[table2]/[table3] sections."""
    text = _decode(data, path)
    meta: dict[str, str] = {}
    sections: dict[str, list[list[str]]] = {}
    cur: str | None = None
    for ln in text.split("\n"):
        if ln.startswith("#"):
            k, _, v = ln[1:].partition(":")
            meta[k.strip().lower()] = v.strip()
        elif re.match(r"^\[table\d\]\s*$", ln.strip()):
            cur = ln.strip()[1:-1]
            sections[cur] = []
        elif cur and ln.strip():
            sections[cur].append(ln.split("\t"))
    if not sections:
        raise ReportReadError(f"转录文件中没有 [table1]/[table2]/[table3] 段落：{path.name}")
    return Source([], text, meta), sections


def _place_tsv(m: _Model, sections: dict[str, list[list[str]]], p: _Placer) -> None:
    for parts in sections.get("table1", []):
        if len(parts) < 4:
            p.unplaced.append(f"表一 行格式不对：“{' | '.join(parts)}”")
            continue
        block, row, col, val = parts[0], parts[1], parts[2], "\t".join(parts[3:])
        hit = m.match_t1_row([row])
        cols = dict((lab, k) for k, lab in m.t1_blocks.get(m.c(block), []))
        if hit is None or hit[0] != m.c(block) or m.c(col) not in cols:
            p.unplaced.append(f"表一 无法对应“{block} / {row} / {col}”，数值“{val.strip()}”未采用")
            continue
        p._set(m.t1_cell[(hit[1], cols[m.c(col)])], val, f"[table1] {row}")
    t2 = sections.get("table2", [])
    if t2:
        head = [m.c(h) for h in t2[0][1:]]
        keys: list[str | None] = []
        by_label = {lab: k for k, lab in m.t2_cols}
        for h in head:
            keys.append(by_label.get(h))
        p._note_missing_t2([k for k in keys if k])
        for parts in t2[1:]:
            key = m.match_t2_row(parts[0].split("/"))
            if key is None:
                p.unplaced.append(f"表二 未识别的行“{parts[0]}”，数值未采用")
                continue
            grid_row = next(g for k, _, g in m.t2_rows if k == key)
            what = f"第{grid_row}行（{m.t2_row_name(key)}）"
            vals = parts[1:]
            for i, t in enumerate(vals):
                k = keys[i] if i < len(keys) else None
                if k is None:
                    p._extra("t2", what, [t], "[table2]")
                else:
                    p._set(m.t2_cell[(key, k)], t, "[table2]")
        p.seen.add("t2")
    for parts in sections.get("table3", []):
        if len(parts) < 3:
            p.unplaced.append(f"表三 行格式不对：“{' | '.join(parts)}”")
            continue
        path = "".join(m.c(x) for x in parts[0].split("/")) + m.c(parts[1])
        hit = next((c for c in m.t3_cells if "".join(m.c(x) for x in c.col_path) == path), None)
        if hit is None:
            p.unplaced.append(f"表三 无法对应“{parts[0]} / {parts[1]}”，数值“{parts[2].strip()}”未采用")
            continue
        p._set(hit.id, "\t".join(parts[2:]), "[table3]")
    for t in ("table1", "table3"):
        if sections.get(t):
            p.seen.add("t" + t[-1])


# ------------------------------------------------------------------------------ metadata


_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "O": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5,
              "六": 6, "七": 7, "八": 8, "九": 9}
_DATE = re.compile(r"^\s*([\d〇零○一二三四五六七八九Ｏ]{4})\s*年\s*([\d一二三四五六七八九十]{1,3})\s*月\s*"
                   r"([\d一二三四五六七八九十]{1,3})\s*日\s*$")
_AGENCY_END = ("人民政府", "政府", "办公室", "办事处", "委员会", "管委会", "局", "厅", "署", "院",
               "中心", "镇", "乡", "街道")


def _cn_number(s: str) -> int:
    s = unicodedata.normalize("NFKC", s)
    if s.isdigit():
        return int(s)
    if len(s) == 4:  # a year written digit by digit: 二〇二一
        return int("".join(str(_CN_DIGITS[ch]) for ch in s))
    if "十" in s:
        tens, _, ones = s.partition("十")
        return (_CN_DIGITS[tens] if tens else 1) * 10 + (_CN_DIGITS[ones] if ones else 0)
    return _CN_DIGITS[s]


def _find_date(lines: Sequence[str]) -> tuple[str | None, int | None]:
    """The signature date (the last line that is only a date), as ISO text, and its line index."""
    for i in range(len(lines) - 1, -1, -1):
        m = _DATE.match(lines[i])
        if m:
            try:
                y, mo, d = (_cn_number(g) for g in m.groups())
            except KeyError:
                continue
            if 1 <= mo <= 12 and 1 <= d <= 31:
                return f"{y:04d}-{mo:02d}-{d:02d}", i
    return None, None


def _find_year(title: str, text: str) -> int | None:
    for s in (title, text):
        m = re.search(r"((?:19|20)\d{2})\s*年\s*度?\s*(?:的\s*)?政\s*府\s*信\s*息\s*公\s*开", s)
        if m:
            return int(m.group(1))
    m = re.search(r"((?:19|20)\d{2})\s*年", title)
    return int(m.group(1)) if m else None


def _find_agency(lines: Sequence[str], title: str, date_idx: int | None, text: str) -> str | None:
    """Signature line above the date, else the issuer named in the title before the year."""
    if date_idx is not None:
        for j in range(date_idx - 1, max(-1, date_idx - 4), -1):
            cand = re.sub(r"\s+", "", lines[j])
            if cand and len(cand) <= 40 and cand.endswith(_AGENCY_END):
                return cand
            if cand:
                break
    m = re.match(r"^\s*(.+?)\s*(?:19|20)\d{2}\s*年", title)
    if m:
        name = re.sub(r"\s+", "", m.group(1))
        if name and not name.endswith(("人民政府", "政府")) and f"{name}人民政府" in re.sub(r"\s+", "", text):
            return f"{name}人民政府"
        return name or None
    return None


def _title(lines: Sequence[str]) -> str:
    for ln in lines:
        if ln.strip():
            return ln.strip()
    return ""


# ------------------------------------------------------------------------------ form detection


def _form_scores(rows: Sequence[Row]) -> dict[str, int]:
    """How many printed labels unique to each form version appear as table cells.

    ``any`` counts the labels of any form: zero means there is no report table at all.
    """
    forms = {v: load_form(v) for v in available_forms()}
    labels: dict[str, set[str]] = {}
    for v, f in forms.items():
        s: set[str] = set()
        for t in f.tables:
            s |= {normalize(lab.text) for lab in t.labels}
        labels[v] = s
    texts = {normalize(c.text) for r in rows for c in r.cells if not _is_blank(c.text)}
    scores = {"any": len(set().union(*labels.values()) & texts)}
    for v, s in labels.items():
        others = set().union(*(o for k, o in labels.items() if k != v))
        scores[v] = len((s - others) & texts)
    return scores


def _choose_form(form: str, scores: dict[str, int], year: int | None, notes: list[str]) -> str:
    if form != "auto":
        if form not in available_forms():
            raise ReportReadError(f"没有 {form} 版表式（可用：{'、'.join(available_forms())}）")
        return form
    scores = {v: s for v, s in scores.items() if v != "any"}
    best = max(scores.values(), default=0)
    winners = [v for v, s in scores.items() if s == best]
    if best > 0 and len(winners) == 1:
        chosen = winners[0]
        by_year = form_for_year(year) if year else None
        if by_year is not None and by_year.version != chosen:
            notes.append(
                f"表格标签是 {chosen} 版表式，但 {year} 年度应使用 {by_year.version} 版表式；按表格标签读取"
            )
        return chosen
    by_year = form_for_year(year) if year else None
    if by_year is not None:
        notes.append(f"无法从表格标签判断表式版本，按报告年度 {year} 采用 {by_year.version} 版表式")
        return by_year.version
    raise ReportReadError("无法判断报告使用的表式版本（2019 版还是 2021 版），请用 --form 指定")


# ------------------------------------------------------------------------------ entry point


def _check_zip(path: Path, data: bytes, ext: str) -> None:
    """A .docx/.xlsx is a zip: refuse anything else, and archives that unpack to far too much."""
    import io

    bad = f"文件内容不是 {ext} 格式（可能已损坏或扩展名不对）：{path.name}"
    if not data.startswith(b"PK"):
        raise ReportReadError(bad)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            unpacked = sum(info.file_size for info in zf.infolist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise ReportReadError(bad) from None
    if unpacked > 10 * MAX_BYTES:
        raise ReportReadError(f"文件解压后过大（{unpacked / 1024 / 1024:.0f} MB），拒绝读取：{path.name}")


def read_published(path: Path, form: str = "auto", year: int | None = None) -> Imported:
    """Read a published report into the cells of its form (see the module docstring).

    ``form`` ("auto", "2019", "2021") and ``year`` override what the reader detects.
    Raises :class:`ReportReadError` with a Chinese message when the file cannot be used.
    """
    path = Path(path)
    if not path.exists():
        raise ReportReadError(f"文件不存在：{path}")
    if not path.is_file():
        raise ReportReadError(f"不是文件：{path}")
    ext = path.suffix.lower()
    if ext not in SUPPORTED:
        legacy = (".pdf", ".doc", ".xls", ".wps")
        hint = "；PDF 等请先另存为 Word（.docx）或文本（.txt）" if ext in legacy else ""
        raise ReportReadError(
            f"不支持的文件类型“{ext or '（无扩展名）'}”：{path.name}。"
            f"可读取 .txt、.tsv、.docx、.html/.htm、.xlsx{hint}"
        )
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise ReportReadError(f"文件过大（{size / 1024 / 1024:.1f} MB，上限 50 MB）：{path.name}")
    data = path.read_bytes()
    if ext in (".docx", ".xlsx", ".xlsm"):
        _check_zip(path, data, ext)

    sections: dict[str, list[list[str]]] | None = None
    if ext == ".tsv":
        src, sections = _read_tsv(path, data)
    elif ext == ".txt":
        src = _read_text(path, data)
    elif ext in (".html", ".htm"):
        src = _read_html(path, data)
    elif ext == ".docx":
        src = _read_docx(path, data)
    else:
        src = _read_xlsx(path, data)

    notes: list[str] = []
    lines = src.text.split("\n")
    title = src.meta.get("title") or _title(lines)
    if year is None:
        meta_year = src.meta.get("year", "")
        year = int(meta_year) if meta_year.isdigit() else _find_year(title, src.text)
    if form == "auto" and src.meta.get("form") in available_forms():
        form = src.meta["form"]
    if sections is not None:
        pseudo = [Row(tuple(Cell(x) for part in parts for x in part.split("/")), "tab", "")
                  for sec in sections.values() for parts in sec]
        scores = _form_scores(pseudo)
    else:
        scores = _form_scores(src.rows)
    if scores["any"] == 0:
        raise ReportReadError(f"文件中没有找到政府信息公开年度报告的统计表格：{path.name}")
    try:
        version = _choose_form(form, scores, year, notes)
        model = _Model(load_form(version))
    except FormError as e:
        raise ReportReadError(str(e)) from None

    placer = _Placer(model)
    if sections is not None:
        _place_tsv(model, sections, placer)
    else:
        placer.feed(src.rows)
    if not placer.placed and not placer.unplaced:
        raise ReportReadError(f"文件中没有找到政府信息公开年度报告的统计表格：{path.name}")
    for t in ("t1", "t2", "t3"):
        if t not in placer.seen:
            notes.append(f"没有找到{TABLE_NAMES[t]}（{model.form.table(t).title}），其单元格留空")
    notes.extend(placer.notes)

    date, date_idx = _find_date(lines)
    if "agency" in src.meta:
        agency: str | None = re.sub(r"[（(].*[）)]\s*$", "", src.meta["agency"]).strip() or None
    else:
        agency = _find_agency(lines, title, date_idx, src.text)
    if src.meta.get("date"):
        date = src.meta["date"]
    return Imported(
        form=version, year=year, agency=agency, date=date, values=placer.values, text=src.text,
        unplaced=placer.unplaced, notes=notes, source=str(path),
    )
