"""Tables with merged cells (HTML and Word spans) -> grid rows, where a column position counts.

Split from :mod:`gkreport.readers.pub_sources` (which re-exports every public name):
shared by the HTML reader (:mod:`.pub_html`) and the Word/Excel reader (:mod:`.pub_office`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from gkreport.readers.pub_cells import MAX_ROW_CELLS, MAX_SPAN, Budget, Cell, Row

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
