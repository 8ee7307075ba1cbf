"""The official grid of one table as boxes (merged ranges), taken from the form JSON.

Both writers (Word and HTML) and the tests draw from this one model, so the published
tables have exactly the merges of ``rules/form-<v>.json`` (the same source the Excel
template is drawn from): a label range or a merged data range is one box; nothing about
the layout is written by hand for a particular form version.
"""

from __future__ import annotations

from dataclasses import dataclass

from gkreport.core import addresses as addr
from gkreport.core.forms import Form, TableDef


@dataclass(frozen=True)
class Box:
    """One cell of the published table, possibly merged: rows ``r1..r2``, columns ``c1..c2``
    (1-based, relative to the table's top-left). ``cell_id`` is set for data cells; ``style``
    is the label style from the form (block, head, row, note) or ``data``."""

    r1: int
    c1: int
    r2: int
    c2: int
    text: str
    style: str
    cell_id: str | None = None

    @property
    def rowspan(self) -> int:
        return self.r2 - self.r1 + 1

    @property
    def colspan(self) -> int:
        return self.c2 - self.c1 + 1

    @property
    def merged(self) -> bool:
        return self.rowspan > 1 or self.colspan > 1


@dataclass(frozen=True)
class TableGrid:
    """The boxes of one table in reading order, with the grid's size and header rows."""

    table: TableDef
    boxes: tuple[Box, ...]

    @property
    def n_rows(self) -> int:
        return self.table.n_rows

    @property
    def n_cols(self) -> int:
        return self.table.n_cols

    @property
    def header_rows(self) -> int:
        return self.table.header_rows

    def row(self, r: int) -> list[Box]:
        """Boxes whose top-left lies in grid row ``r`` (what an HTML ``<tr>`` holds)."""
        return [b for b in self.boxes if b.r1 == r]

    def merges(self) -> list[tuple[int, int, int, int]]:
        return [(b.r1, b.c1, b.r2, b.c2) for b in self.boxes if b.merged]


def _relative(table: TableDef, rng: str) -> tuple[int, int, int, int]:
    c1, r1, c2, r2 = addr.range_bounds(rng)
    dr, dc = table.first_row - 1, table.first_col - 1
    return r1 - dr, c1 - dc, r2 - dr, c2 - dc


def table_grid(form: Form, table_id: str) -> TableGrid:
    """The official grid of ``table_id``; raises ValueError if the form leaves a gap or
    overlaps two boxes (forms.py already refuses overlaps; a gap would print a hole)."""
    table = form.table(table_id)
    boxes: list[Box] = []
    for lab in table.labels:
        r1, c1, r2, c2 = _relative(table, lab.range)
        boxes.append(Box(r1, c1, r2, c2, lab.text, lab.style))
    for cid in table.cell_ids:
        r1, c1, r2, c2 = _relative(table, form.cells[cid].range)
        boxes.append(Box(r1, c1, r2, c2, "", "data", cid))
    covered: dict[tuple[int, int], Box] = {}
    for b in boxes:
        for r in range(b.r1, b.r2 + 1):
            for c in range(b.c1, b.c2 + 1):
                if (r, c) in covered:
                    raise ValueError(f"表 {table_id} 的第 {r} 行第 {c} 列被两个单元格占用")
                covered[(r, c)] = b
    holes = [(r, c) for r in range(1, table.n_rows + 1) for c in range(1, table.n_cols + 1) if (r, c) not in covered]
    if holes:
        raise ValueError(f"表 {table_id} 的官方表格有空缺：{holes[:5]}")
    return TableGrid(table, tuple(sorted(boxes, key=lambda b: (b.r1, b.c1))))
