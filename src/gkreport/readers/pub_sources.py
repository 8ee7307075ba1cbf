"""Published report files -> rows of cells (plus the report's prose), within hard limits.

Every format becomes a :class:`Source`: rows of :class:`Cell` and the text outside the
tables. Text extraction gives rows whose empty cells are layout noise (``tab`` mode) or
one cell per line where every cell counts (``cells`` mode); Word/HTML/Excel tables give
rows where a cell's column position is meaningful (``grid`` mode).

The files come from the internet, so every reader is bounded: total size, line length,
cells per row and per document, merged-cell spans, zip members. Anything beyond a limit,
and any damaged file, is a :class:`ReportReadError` with a Chinese message naming the
file, never a traceback or gigabytes of memory.

This module keeps the plain-text and TSV readers and re-exports the rest, which lives in
small modules of its own: the vocabulary and limits (:mod:`.pub_cells`), merged-cell
grids (:mod:`.pub_grid`) and web pages (:mod:`.pub_html`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

from .pub_cells import MAX_BYTES as MAX_BYTES
from .pub_cells import MAX_CELLS as MAX_CELLS
from .pub_cells import MAX_LINE_CHARS as MAX_LINE_CHARS
from .pub_cells import MAX_NUMBER_CHARS as MAX_NUMBER_CHARS
from .pub_cells import MAX_ROW_CELLS as MAX_ROW_CELLS
from .pub_cells import MAX_SPAN as MAX_SPAN
from .pub_cells import MAX_TEXT_CHARS as MAX_TEXT_CHARS
from .pub_cells import MAX_UNPACKED as MAX_UNPACKED
from .pub_cells import MAX_XLSX_COLS as MAX_XLSX_COLS
from .pub_cells import MAX_XLSX_ROWS as MAX_XLSX_ROWS
from .pub_cells import MAX_XML_PART as MAX_XML_PART
from .pub_cells import MAX_ZIP_MEMBERS as MAX_ZIP_MEMBERS
from .pub_cells import Budget as Budget
from .pub_cells import Cell as Cell
from .pub_cells import Mode as Mode
from .pub_cells import RawValue as RawValue
from .pub_cells import ReportReadError as ReportReadError
from .pub_cells import Row as Row
from .pub_cells import Source as Source
from .pub_cells import check_lines
from .pub_cells import decode as decode
from .pub_cells import is_blank as is_blank
from .pub_cells import parse_text as parse_text
from .pub_cells import shown as shown
from .pub_grid import Spec as Spec
from .pub_grid import grid_rows as grid_rows
from .pub_grid import span_value as span_value
from .pub_html import read_html as read_html

Value = RawValue  # the name it had; RawValue tells it from gkreport.core.values.Value


# ------------------------------------------------------------------------------ text


def text_rows(text: str, name: str = "") -> list[Row]:
    """Rows of a text extraction: tab-separated lines, or one cell per line."""
    lines = text.split("\n")
    check_lines(lines, name)
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


# ------------------------------------------------------------------------------ tsv


def read_tsv(path: Path, data: bytes) -> tuple[Source, dict[str, list[list[str]]]]:
    """The transcription format: ``# key: value`` lines and [table1]/[table2]/[table3] sections."""
    text = decode(data, path)
    check_lines(text.split("\n"), path.name)
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
