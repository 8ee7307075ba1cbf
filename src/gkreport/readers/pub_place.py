"""Walk the rows of a published report and place every value into a cell — or report it.

One state machine recognises the three tables by their printed labels and places values.
Import completeness is the contract: every value printed in a table is either placed in
its cell or named in an :class:`Issue`. A value whose cell cannot be determined (a row
with the wrong number of values, an unrecognised row label, a row printed for a whole
group) makes its cells *unread* with an error-level issue, so a check never treats the
report as passing and never reports the resulting gaps as arithmetic errors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from .pub_model import Model, assemble
from .pub_solve import solve_row
from .pub_sources import Cell, Row, Value, is_blank, parse_text, shown
from .pub_table2 import Table2

TABLE_NAMES = {"t1": "表一", "t2": "表二", "t3": "表三"}

# Cell text that is data rather than a label: numbers (possibly with a unit, full-width
# digits or separators) and the usual "not applicable" marks.
_VALUEISH = re.compile(r"^[+\-−－]?[\d０-９][\d０-９,，.．\s]*(件|项|条|个|次|人|元|万元|亿元)?$")
_NA_MARKS = {"/", "／", "\\", "-", "—", "——", "－", "―", "不适用", "无", "空", "×", "x", "X"}
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



class Placer(Table2):
    """Walk the row stream and place values into the cells of one form."""

    def __init__(self, model: Model) -> None:
        self.m = model
        self.values: dict[str, Value] = dict.fromkeys(model.form.cells)
        self.placed: set[str] = set()
        self.unread: set[str] = set()
        self.issues: list[Issue] = []
        self.seen: set[str] = set()
        self.unknown_rows: dict[str, list[str]] = {}  # table -> labels of rows not recognised
        self.state: str | None = None
        # table 1
        self.block: str | None = None
        self.head_rows: list[Row] = []
        self.collecting_head = False
        # table 2
        self.t2_head: list[Row] = []
        self.t2_columns: list[tuple[str, int | None]] | None = None  # (col key, grid col)
        self.pending: list[str] = []
        self.t2_after = min(model.t2_grid.values(), default=1) - 1
        # table 3
        self.t3_head: list[Row] = []
        self.t3_done = False

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
    def set(self, cid: str, text: str | Value, where: str) -> None:
        cell = self.m.form.cells[cid]
        value = text if not isinstance(text, str) else parse_text(text)
        if cid in self.placed:
            if value != self.values[cid]:
                self.placed.discard(cid)
                self.unread.add(cid)
                self.issue("error", f"{TABLE_NAMES[cell.table]}“{cell.label}”出现了两次且数值不同"
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
                self.issue("warning", f"{TABLE_NAMES[table]} {what}多出一个数值“{t.strip()}”，未采用（{where}）")

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
        self.issue("info", f"{TABLE_NAMES[table]} {what}有 {len(texts)} 个数值，应有 {len(ids)} 个；{said}（{where}）",
                   list(ids))

    def row_unread(self, ids: Sequence[str], table: str, what: str, where: str, why: str) -> None:
        ids = self.mark_unread(ids)
        self.issue("error", f"{TABLE_NAMES[table]} {what}{why}，该行按未能读取处理（{where}）", ids)

    # -- main loop
    def feed(self, rows: Iterable[Row]) -> None:
        for row in rows:
            if all(is_blank(c.text) or DECORATION.match(c.text) for c in row.cells):
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
                self.issue("error", f"{TABLE_NAMES[table]}没有读到 {names} 行；报告中有无法识别的行"
                                    f"（{'、'.join(unknown)}），其数值可能属于这些行，这些行按未能读取处理", cells)
            elif table == "t2":
                self.issue("warning", f"{TABLE_NAMES[table]}中没有找到 {names} 行，这些单元格留空")

    def _split(self, row: Row) -> tuple[list[Cell], list[Cell]]:
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
        texts = {self.m.c(c.text) for c in row.cells if not is_blank(c.text)}
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

    def _enter(self, table: str) -> None:
        self.state = table
        self.seen.add(table)
        if table == "t2":
            self.t2_head, self.t2_columns, self.pending = [], None, []
        elif table == "t3":
            self.t3_head, self.t3_done = [], False

    def _unknown_row(self, table: str, labels: Sequence[Cell], values: Sequence[Cell], where: str) -> None:
        name = "".join(c.text for c in labels).strip() or "（无标签）"
        self.unknown_rows.setdefault(table, []).append(f"“{name}”")
        self.issue("error", f"{TABLE_NAMES[table]} 未识别的行“{name}”，数值 {shown(v.text for v in values)} "
                            f"无法确定属于哪一行，未采用（{where}）")

    # -- table 1
    def _t1(self, row: Row) -> None:
        m = self.m
        texts = [m.c(c.text) for c in row.cells if not is_blank(c.text)]
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
            if self.collecting_head and not any(not is_blank(v.text) for v in values):
                self.head_rows.append(row)
                return
            if any(not is_blank(v.text) for v in values):
                self._unknown_row("t1", labels, values, row.where)
            return
        self.collecting_head = False
        block, row_key, grid_row = hit
        if self.block is not None and block != self.block:
            self.head_rows = []
        self.block = block
        cols = m.t1_blocks[block]
        what = f"第{grid_row}行（{labels[-1].text.strip()}）"
        cell_id: Callable[[str], str] = lambda ck: m.t1_cell[(row_key, ck)]  # noqa: E731
        if row.mode == "grid":
            located = self._grid_columns(self.head_rows, list(cols))
            if located is None:  # no usable header: the data columns follow the label in order
                first = labels[-1].col + labels[-1].span
                located = []
                for c in row.cells:
                    if c.col >= first and len(located) < len(cols):
                        located.append((cols[len(located)][0], c.col))
            self._place_grid(row, located, cell_id, "t1", what, min_col=labels[-1].col + labels[-1].span)
            return
        frags = [m.c(c.text) for r in self.head_rows for c in r.cells
                 if not is_blank(c.text) and m.c(c.text) not in m.t1_head]
        present = [ck for ck, lab in cols if assemble(lab, frags)] if frags else [ck for ck, _ in cols]
        if not present:
            present = [ck for ck, _ in cols]
        self.place_seq([v.text for v in values], [cell_id(k) for k in present], "t1", what, row.where)

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
            self.extra("t3", "数据行之后", [v.text for v in values], row.where)
            return
        self.t3_done = True
        cells = self.m.t3_cells
        if row.mode == "grid":
            heads = [c for r in self.t3_head for c in r.cells if not is_blank(c.text)]
            lo = min((c.col for c in heads), default=0)
            hi = max((c.col + c.span - 1 for c in heads), default=lo + len(cells) - 1)
            inside = [c for c in row.cells if lo <= c.col <= hi]
            outside = [c.text for c in row.cells if not lo <= c.col <= hi]
            if any(not is_blank(t) for t in outside):
                texts = [c.text for c in row.cells if c.col >= lo]
                while texts and is_blank(texts[-1]):
                    texts.pop()
            else:
                texts = [c.text for c in inside]
        else:
            texts = [v.text for v in values]
        self.place_seq(texts, [c.id for c in cells], "t3", "数据行", row.where)

    # -- grid helpers
    def _grid_columns(self, head: Sequence[Row], cols: Sequence[tuple[str, str]]) -> list[tuple[str, int]] | None:
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

    def _place_grid(self, row: Row, located: Sequence[tuple[str, int]], cell_id: Callable[[str], str],
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
