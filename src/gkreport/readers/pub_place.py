"""Walk the rows of a published report and place every value into a cell — or report it.

One state machine recognises the form's tables by their printed labels and places values;
each table is read by the placer of its shape (the form's ``shapes``): ``blocks``
(:mod:`.pub_blocks`), ``rows`` (:mod:`.pub_rows`), ``single_row`` (:mod:`.pub_blocks`).
Import completeness is the contract: every value printed in a table is either placed in
its cell or named in an :class:`Issue`. A value whose cell cannot be determined (a row
with the wrong number of values, an unrecognised row label, a row printed for a whole
group) makes its cells *unread* with an error-level issue, so a check never treats the
report as passing and never reports the resulting gaps as arithmetic errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from gkreport.core.values import NOT_APPLICABLE

from . import pub_blocks, pub_rows
from .pub_model import Model, RowsTable, SingleRowTable, assemble
from .pub_solve import solve_row
from .pub_sources import Cell, RawValue, Row, is_blank, parse_text, shown

# Cell text that is data rather than a label: numbers (possibly with a unit, full-width
# digits or separators) and the usual "not applicable" marks.
_VALUEISH = re.compile(r"^[+\-−－]?[\d０-９][\d０-９,，.．\s]*(件|项|条|个|次|人|元|万元|亿元)?$")
# The engine's "not applicable" marks, and the crosses and backslash published tables also use.
_NA_MARKS = NOT_APPLICABLE | {"\\", "×", "x", "X"}
DECORATION = re.compile(r"^[-_=—－–\s]+$")


@dataclass(frozen=True)
class Issue:
    """Something the import met: ``error`` (values not placed: cells unread), ``warning``
    (content left out that does not change a placed value), ``info`` (values deduced)."""

    severity: str
    message: str
    cells: tuple[str, ...] = ()


def is_valueish(text: str) -> bool:
    """True for cell text that is a value (a number, a blank, a dash) rather than a label."""
    s = text.strip().strip("\u3000\u00a0").strip()
    return not s or s in _NA_MARKS or bool(_VALUEISH.match(s))



@dataclass
class TableState:
    """Where the walk is inside one table (each shape uses its own fields)."""

    head: list[Row] = field(default_factory=list)  # header rows read so far
    block: str | None = None  # blocks: the current block
    collecting_head: bool = False  # blocks: inside a block's column header
    columns: list[tuple[str, int | None]] | None = None  # rows: (col key, grid col) once known
    pending: list[str] = field(default_factory=list)  # rows: the first half of a broken label
    after: int = 0  # rows: grid row of the last row placed
    done: bool = False  # single_row: the data row was read


class Placer:
    """Walk the row stream and place values into the cells of one form."""

    def __init__(self, model: Model) -> None:
        self.m = model
        self.values: dict[str, RawValue] = dict.fromkeys(model.form.cells)
        self.placed: set[str] = set()
        self.unread: set[str] = set()
        self.issues: list[Issue] = []
        self.seen: set[str] = set()
        self.unknown_rows: dict[str, list[str]] = {}  # table -> labels of rows not recognised
        self.state: str | None = None  # the table being read
        self.st: dict[str, TableState] = {}
        for tid, tm in model.tables.items():
            self.st[tid] = TableState(after=min(tm.grid.values(), default=1) - 1 if isinstance(tm, RowsTable)
                                      else 0)
        self._handlers: dict[str, Callable[[str, Row], None]] = {
            "blocks": lambda tid, row: pub_blocks.blocks_row(self, tid, row),
            "rows": lambda tid, row: pub_rows.rows_row(self, tid, row),
            "single_row": lambda tid, row: pub_blocks.single_row(self, tid, row),
        }

    # -- issues
    def issue(self, severity: str, message: str, cells: Sequence[str] = ()) -> None:
        self.issues.append(Issue(severity, message, tuple(cells)))

    def mark_unread(self, ids: Iterable[str]) -> list[str]:
        ids = [c for c in ids if c not in self.placed]
        for c in ids:
            self.unread.add(c)
            self.values[c] = None
        return ids

    # -- placing
    def set(self, cid: str, text: str | RawValue, where: str) -> None:
        cell = self.m.form.cells[cid]
        value = text if not isinstance(text, str) else parse_text(text)
        if cid in self.placed:
            if value != self.values[cid]:
                self.placed.discard(cid)
                self.unread.add(cid)
                self.issue("error", f"{self.m.name(cell.table)}“{cell.label}”出现了两次且数值不同"
                                    f"（“{self.values[cid]}”与“{value}”），无法确定采用哪一个（{where}）", [cid])
                self.values[cid] = None
            return
        if cid in self.unread:
            return
        self.values[cid] = value
        self.placed.add(cid)

    def extra(self, table: str, what: str, texts: Iterable[str], where: str) -> None:
        for t in texts:
            if not is_blank(t):
                self.issue("warning", f"{self.m.name(table)} {what}多出一个数值“{t.strip()}”，未采用（{where}）")

    def place_seq(self, texts: Sequence[str], ids: Sequence[str], table: str, what: str, where: str) -> None:
        """Values in order into ``ids``; a count mismatch is resolved only if the rules force it."""
        if len(texts) == len(ids):
            for cid, t in zip(ids, texts, strict=True):
                self.set(cid, t, where)
            return
        solved = solve_row(texts, ids, self.m.form.cells, self.m.constraints(ids))
        if solved is None:
            self.row_unread(ids, table, what, where,
                            f"有 {len(texts)} 个数值（{shown(texts)}），应有 {len(ids)} 个，无法确定各数值所属的列")
            return
        for cid, t in solved.texts.items():
            self.set(cid, t, where)
        for cid, v in solved.deduced.items():
            self.set(cid, v, where)
        cells = [parse_text(solved.texts[c]) if c in solved.texts else solved.deduced[c] for c in ids]
        row = "、".join("空白" if v is None else str(v) for v in cells)
        if len(texts) < len(ids):
            said = (f"无论缺的是哪一列，符合表格规则（合计关系、件数不能为负）的只有一种读法：各列依次为 {row}"
                    "（未印出的格为推定值）")
        else:
            said = f"无论多出的是哪一个，各列都依次为 {row}，多出的数值 {shown(solved.dropped)} 未采用"
        self.issue("info", f"{self.m.name(table)} {what}有 {len(texts)} 个数值，应有 {len(ids)} 个；{said}（{where}）",
                   list(ids))

    def row_unread(self, ids: Sequence[str], table: str, what: str, where: str, why: str) -> None:
        ids = self.mark_unread(ids)
        self.issue("error", f"{self.m.name(table)} {what}{why}，该行按未能读取处理（{where}）", ids)

    # -- main loop
    def feed(self, rows: Iterable[Row]) -> None:
        for row in rows:
            if all(is_blank(c.text) or DECORATION.match(c.text) for c in row.cells):
                continue
            trig = self._trigger(row)
            if trig and trig != self.state:
                self._enter(trig)
            if self.state is not None:
                self._handlers[self.m.tables[self.state].shape](self.state, row)
            # rows before any of our tables (a contact table, a title row) are not table data

    def finish(self) -> None:
        """Rows of a table that got no value: unread if an unrecognised row may hold them."""
        for table in sorted(self.seen):
            ids = self.m.form.table(table).cell_ids
            rows: dict[str, list[str]] = {}
            for cid in ids:
                rows.setdefault(self.m.form.cells[cid].row_key, []).append(cid)
            empty = [r for r, cs in rows.items() if not any(c in self.placed or c in self.unread for c in cs)]
            if not empty:
                continue
            names = "、".join(f"“{self.m.form.cells[rows[r][0]].row_short}”" for r in empty)
            unknown = self.unknown_rows.get(table)
            if unknown:
                cells = self.mark_unread([c for r in empty for c in rows[r]])
                self.issue("error", f"{self.m.name(table)}没有读到 {names} 行；报告中有无法识别的行"
                                    f"（{'、'.join(unknown)}），其数值可能属于这些行，这些行按未能读取处理", cells)
            elif self.m.tables[table].shape == "rows":
                self.issue("warning", f"{self.m.name(table)}中没有找到 {names} 行，这些单元格留空")

    def split_row(self, row: Row) -> tuple[list[Cell], list[Cell]]:
        """Label cells (up to the last non-value cell) and value cells after them."""
        cells = list(row.cells)
        last = -1
        for i, c in enumerate(cells):
            if not is_valueish(c.text):
                last = i
        labels = [c for c in cells[: last + 1] if not is_blank(c.text)]
        values = cells[last + 1:]
        if row.mode == "tab":
            values = [c for c in values if c.text != ""]
        return labels, values

    def _trigger(self, row: Row) -> str | None:
        """The table a row's header labels start (a later table wins a row naming two), or,
        outside any table, the table whose row labels the row carries (its header was lost,
        e.g. on the previous page)."""
        texts = {self.m.c(c.text) for c in row.cells if not is_blank(c.text)}
        for tid, tm in reversed(self.m.tables.items()):
            if texts & tm.triggers:
                return tid
        if self.state is not None:
            return None  # inside a table only the header labels above switch tables
        labels, _ = self.split_row(row)
        names = [c.text for c in labels]
        if names:
            for tid, tm in self.m.tables.items():
                if not isinstance(tm, SingleRowTable) and tm.match_row(names) is not None:
                    return tid
        return None

    def _enter(self, table: str) -> None:
        self.state = table
        self.seen.add(table)
        st = self.st[table]
        shape = self.m.tables[table].shape
        if shape == "rows":
            st.head, st.columns, st.pending = [], None, []
        elif shape == "single_row":
            st.head, st.done = [], False

    def unknown_row(self, table: str, labels: Sequence[Cell], values: Sequence[Cell], where: str) -> None:
        name = "".join(c.text for c in labels).strip() or "（无标签）"
        self.unknown_rows.setdefault(table, []).append(f"“{name}”")
        self.issue("error", f"{self.m.name(table)} 未识别的行“{name}”，数值 {shown(v.text for v in values)} "
                            f"无法确定属于哪一行，未采用（{where}）")

    # -- grid helpers
    def grid_columns(self, head: Sequence[Row], cols: Sequence[tuple[str, str]]) -> list[tuple[str, int]] | None:
        """Find each column label in the header rows by grid position (labels may be split)."""
        per_col: dict[int, list[str]] = {}
        last_key: dict[int, int | None] = {}
        for r in head:
            for c in r.cells:
                if is_blank(c.text):
                    continue
                if c.key is not None and last_key.get(c.col) == c.key:
                    continue  # a vertical merge repeats its cell in the next row
                last_key[c.col] = c.key
                per_col.setdefault(c.col, []).append(self.m.c(c.text))
        located: list[tuple[str, int]] = []
        for key, lab in cols:
            for col, frags in sorted(per_col.items()):
                joined = "".join(frags)
                if frags[-1] == lab or joined.endswith(lab) or assemble(lab, frags):
                    located.append((key, col))
                    break
        return located or None

    def place_grid(self, row: Row, located: Sequence[tuple[str, int]], cell_id: Callable[[str], str],
                    table: str, what: str, min_col: int) -> None:
        """Values by grid position; a value outside every column means the row may be shifted:
        then the row is placed only if the rules force it (as a sequence of its values)."""
        hits = []
        used: set[int] = set()
        for _, col in located:
            hit = next((c for c in row.cells if c.col <= col < c.col + c.span), None)
            hits.append(hit)
            if hit is not None:
                used.add(hit.col)
        extras = [c for c in row.cells if c.col >= min_col and c.col not in used and not is_blank(c.text)]
        if extras:
            texts = [c.text for c in row.cells if c.col >= min_col]
            while texts and is_blank(texts[-1]):
                texts.pop()
            self.place_seq(texts, [cell_id(ck) for ck, _ in located], table, what, row.where)
            return
        for (ck, _), hit in zip(located, hits, strict=True):
            self.set(cell_id(ck), hit.text if hit else "", row.where)
