"""Table 2 of a published report: its header, its rows and rows printed for a whole group.

A mixin of :class:`gkreport.readers.pub_place.Placer` (which holds the state and the
placing primitives it calls: ``set``, ``place_seq``, ``issue``, ``mark_unread`` …).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .pub_model import assemble
from .pub_sources import Cell, Mode, Row, is_blank, parse_text, shown

if TYPE_CHECKING:
    from .pub_place import Placer



class Table2:
    """Reading table 2 (mixed into the placer)."""

    def _t2(self: Placer, row: Row) -> None:
        m = self.m
        labels, values = self._split(row)
        names = [c.text for c in labels]
        has_values = any(not is_blank(v.text) for v in values)
        key = m.match_t2_row(names) if names else None
        if key is None and self.pending and names:
            key = m.match_t2_row([*self.pending, *names])
        is_head = any(m.c(c.text) in m.t2_triggers for c in labels)
        if self.t2_columns is None and not has_values and (is_head or key is None):
            self.t2_head.append(row)
            return
        group = None
        if key is None and names and has_values:
            group = m.match_t2_group(names)
            if group is None:
                key = m.match_t2_row(names, loose=True, after=self.t2_after)
        if key is not None and not values:
            self.pending = names  # a label with no cells after it: maybe the first half of a broken label
            return
        if key is None and group is None:
            if not has_values:
                self.pending = names
                return
            self._unknown_row("t2", labels, values, row.where)
            self.pending = []
            return
        self.pending = []
        if self.t2_columns is None:
            self.t2_columns = self._t2_header(row.mode)
        if group is not None:
            self._t2_group(row, group, labels, values)
            return
        assert key is not None
        if m.by_numbering:
            self.issue("info", f"表二 行标签“{''.join(names).strip()}”与官方标签不符，按其编号和位置对应为"
                               f"“{m.t2_row_name(key)}”（{row.where}）")
            m.by_numbering = False
        self.t2_after = m.t2_grid[key]
        what = f"第{m.t2_grid[key]}行（{m.t2_row_name(key)}）"
        cell_id: Callable[[str], str] = lambda ck: m.t2_cell[(key, ck)]  # noqa: E731
        if row.mode == "grid":
            if any(c is None for _, c in self.t2_columns):
                first = labels[-1].col + labels[-1].span
                cells = [c for c in row.cells if c.col >= first]
                cols = [(k, cells[i].col if i < len(cells) else None) for i, (k, _) in enumerate(self.t2_columns)]
            else:
                cols = self.t2_columns
            self._place_grid(row, [(k, c) for k, c in cols if c is not None], cell_id, "t2", what,
                             min_col=labels[-1].col + labels[-1].span)
        else:
            self.place_seq([v.text for v in values], [cell_id(k) for k, _ in self.t2_columns], "t2", what, row.where)

    def _t2_group(self: Placer, row: Row, group: str, labels: Sequence[Cell], values: Sequence[Cell]) -> None:
        """A row printed for a whole group (（六）其他处理 as one row): its sub-rows are known
        only where the group's value is 0 (counts are never negative)."""
        m = self.m
        keys = m.t2_groups[group]
        assert self.t2_columns is not None
        col_keys = [k for k, _ in self.t2_columns]
        if row.mode == "grid" and all(c is not None for _, c in self.t2_columns):
            texts = []
            for _, col in self.t2_columns:
                hit = next((c for c in row.cells if c.col <= col < c.col + c.span), None)  # type: ignore[operator]
                texts.append(hit.text if hit else "")
        else:
            texts = [v.text for v in values]
        name = "".join(c.text for c in labels).strip()
        self.t2_after = max(m.t2_grid[k] for k in keys)
        if len(texts) != len(col_keys):
            ids = [m.t2_cell[(k, ck)] for k in keys for ck in col_keys]
            self.row_unread(ids, "t2", f"合并打印的“{name}”行", row.where,
                            f"有 {len(texts)} 个数值（{shown(texts)}），应有 {len(col_keys)} 个，无法确定各数值所属的列")
            return
        zeros, unread = [], []
        for ck, t in zip(col_keys, texts, strict=True):
            v = parse_text(t)
            ids = [m.t2_cell[(k, ck)] for k in keys]
            if v is None:  # a blank total: its parts were not printed either
                for cid in ids:
                    self.set(cid, None, row.where)
                continue
            if isinstance(v, int | float) and v == 0:
                zeros.append(m.t2_col_names[ck])
                for cid in ids:
                    self.set(cid, 0, row.where)
            else:
                unread += self.mark_unread(ids)
        subs = "、".join(f"“{m.form.cells[m.t2_cell[(k, col_keys[0])]].row_path[-1]}”" for k in keys)
        if zeros:
            self.issue("info", f"表二“{name}”只印了一行（本表式分为 {subs} {len(keys)} 行）；"
                               f"{'、'.join(zeros)}列为 0，各分项只能都是 0，已按此填入（{row.where}）",
                       [m.t2_cell[(k, ck)] for k in keys for ck in col_keys
                        if m.t2_col_names[ck] in zeros])
        if unread:
            self.issue("error", f"表二“{name}”只印了一行合计（数值 {shown(texts)}），本表式分为 {subs} "
                                f"{len(keys)} 行，无法确定各分项的数值，这些单元格按未能读取处理（{row.where}）", unread)

    def _t2_header(self: Placer, mode: Mode) -> list[tuple[str, int | None]]:
        """Columns of table 2 present in the header, in official order (with grid columns)."""
        m = self.m
        keys = [k for k, _ in m.t2_cols]
        if mode == "grid" and self.t2_head:
            located = self._grid_columns(self.t2_head, m.t2_cols)
            if located is not None:
                got = dict(located)
                present = [(k, got[k]) for k in keys if k in got]
                self.note_missing_t2([k for k, _ in present])
                return present
        frags = [m.c(c.text) for r in self.t2_head for c in r.cells if not is_blank(c.text)]
        if not frags:
            self.issue("warning", "表二没有找到表头（申请人情况各列），按官方列顺序读取")
            return [(k, None) for k in keys]
        present = [(k, None) for k, lab in m.t2_cols if assemble(lab, frags)]
        if len(present) < 2:
            self.issue("warning", "表二表头无法识别，按官方列顺序读取")
            return [(k, None) for k in keys]
        self.note_missing_t2([k for k, _ in present])
        return present

    def note_missing_t2(self: Placer, present: Sequence[str]) -> None:
        for k, _ in self.m.t2_cols:
            if k not in present:
                self.issue("warning", f"表二缺少“{self.m.t2_col_names[k]}”列，该列各单元格留空")
