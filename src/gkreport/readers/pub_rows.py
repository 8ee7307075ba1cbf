"""Placing the rows of a ``rows`` table (表二 of today's forms): its header, its labelled
rows and rows printed for a whole group.

Functions of the :class:`gkreport.readers.pub_place.Placer` they are given (which holds the
state and the placing primitives they call: ``set``, ``place_seq``, ``issue``, ``mark_unread`` …).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from .pub_model import RowsTable, assemble
from .pub_sources import Cell, Mode, Row, is_blank, parse_text, shown

if TYPE_CHECKING:
    from .pub_place import Placer


def rows_row(p: Placer, tid: str, row: Row) -> None:
    m, tm, st = p.m, _rows(p, tid), p.st[tid]
    labels, values = p.split_row(row)
    names = [c.text for c in labels]
    has_values = any(not is_blank(v.text) for v in values)
    key = tm.match_row(names) if names else None
    if key is None and st.pending and names:
        key = tm.match_row([*st.pending, *names])
    is_head = any(m.c(c.text) in tm.triggers for c in labels)
    if st.columns is None and not has_values and (is_head or key is None):
        st.head.append(row)
        return
    group = None
    if key is None and names and has_values:
        group = tm.match_group(names)
        if group is None:
            key = tm.match_row(names, loose=True, after=st.after)
    if key is not None and not values:
        st.pending = names  # a label with no cells after it: maybe the first half of a broken label
        return
    if key is None and group is None:
        if not has_values:
            st.pending = names
            return
        p.unknown_row(tid, labels, values, row.where)
        st.pending = []
        return
    st.pending = []
    if st.columns is None:
        st.columns = _rows_header(p, tid, row.mode)
    if group is not None:
        _rows_group(p, tid, row, group, labels, values)
        return
    assert key is not None
    if tm.by_numbering:
        p.issue("info", f"{m.name(tid)} 行标签“{''.join(names).strip()}”与官方标签不符，按其编号和位置对应为"
                           f"“{tm.row_name(key)}”（{row.where}）")
        tm.by_numbering = False
    st.after = tm.grid[key]
    what = f"第{tm.grid[key]}行（{tm.row_name(key)}）"
    cell_id: Callable[[str], str] = lambda ck: tm.cell[(key, ck)]  # noqa: E731
    if row.mode == "grid":
        if any(c is None for _, c in st.columns):
            first = labels[-1].col + labels[-1].span
            cells = [c for c in row.cells if c.col >= first]
            cols = [(k, cells[i].col if i < len(cells) else None) for i, (k, _) in enumerate(st.columns)]
        else:
            cols = st.columns
        p.place_grid(row, [(k, c) for k, c in cols if c is not None], cell_id, tid, what,
                         min_col=labels[-1].col + labels[-1].span)
    else:
        p.place_seq([v.text for v in values], [cell_id(k) for k, _ in st.columns], tid, what, row.where)

def _rows(p: Placer, tid: str) -> RowsTable:
    tm = p.m.tables[tid]
    assert isinstance(tm, RowsTable)
    return tm

def _rows_group(p: Placer, tid: str, row: Row, group: str, labels: Sequence[Cell],
                values: Sequence[Cell]) -> None:
    """A row printed for a whole group (（六）其他处理 as one row): its sub-rows are known
    only where the group's value is 0 (counts are never negative)."""
    m, tm, st = p.m, _rows(p, tid), p.st[tid]
    keys = tm.groups[group]
    assert st.columns is not None
    col_keys = [k for k, _ in st.columns]
    if row.mode == "grid" and all(c is not None for _, c in st.columns):
        texts = []
        for _, col in st.columns:
            hit = next((c for c in row.cells if c.col <= col < c.col + c.span), None)  # type: ignore[operator]
            texts.append(hit.text if hit else "")
    else:
        texts = [v.text for v in values]
    name = "".join(c.text for c in labels).strip()
    st.after = max(tm.grid[k] for k in keys)
    if len(texts) != len(col_keys):
        ids = [tm.cell[(k, ck)] for k in keys for ck in col_keys]
        p.row_unread(ids, tid, f"合并打印的“{name}”行", row.where,
                        f"有 {len(texts)} 个数值（{shown(texts)}），应有 {len(col_keys)} 个，无法确定各数值所属的列")
        return
    zeros, unread = [], []
    for ck, t in zip(col_keys, texts, strict=True):
        v = parse_text(t)
        ids = [tm.cell[(k, ck)] for k in keys]
        if v is None:  # a blank total: its parts were not printed either
            for cid in ids:
                p.set(cid, None, row.where)
            continue
        if isinstance(v, int | float) and v == 0:
            zeros.append(tm.col_names[ck])
            for cid in ids:
                p.set(cid, 0, row.where)
        else:
            unread += p.mark_unread(ids)
    subs = "、".join(f"“{m.form.cells[tm.cell[(k, col_keys[0])]].row_path[-1]}”" for k in keys)
    if zeros:
        p.issue("info", f"{m.name(tid)}“{name}”只印了一行（本表式分为 {subs} {len(keys)} 行）；"
                           f"{'、'.join(zeros)}列为 0，各分项只能都是 0，已按此填入（{row.where}）",
                   [tm.cell[(k, ck)] for k in keys for ck in col_keys
                    if tm.col_names[ck] in zeros])
    if unread:
        p.issue("error", f"{m.name(tid)}“{name}”只印了一行合计（数值 {shown(texts)}），本表式分为 {subs} "
                            f"{len(keys)} 行，无法确定各分项的数值，这些单元格按未能读取处理（{row.where}）", unread)

def _rows_header(p: Placer, tid: str, mode: Mode) -> list[tuple[str, int | None]]:
    """Columns of the table present in the header, in official order (with grid columns)."""
    m, tm, st = p.m, _rows(p, tid), p.st[tid]
    keys = [k for k, _ in tm.cols]
    if mode == "grid" and st.head:
        located = p.grid_columns(st.head, tm.cols)
        if located is not None:
            got = dict(located)
            found: list[tuple[str, int | None]] = [(k, got[k]) for k in keys if k in got]
            note_missing(p, tid, [k for k, _ in found])
            return found
    frags = [m.c(c.text) for r in st.head for c in r.cells if not is_blank(c.text)]
    if not frags:
        p.issue("warning", f"{m.name(tid)}没有找到表头（{_head_words(tm)}），按官方列顺序读取")
        return [(k, None) for k in keys]
    present: list[tuple[str, int | None]] = [(k, None) for k, lab in tm.cols if assemble(lab, frags)]
    if len(present) < 2:
        p.issue("warning", f"{m.name(tid)}表头无法识别，按官方列顺序读取")
        return [(k, None) for k in keys]
    note_missing(p, tid, [k for k, _ in present])
    return present


def _head_words(tm: RowsTable) -> str:
    """What the missing header would have said: its column names (自然人、商业企业 …)."""
    return "、".join(tm.col_names[k] for k, _ in tm.cols) + "各列"


def note_missing(p: Placer, tid: str, present: Sequence[str]) -> None:
    tm = _rows(p, tid)
    for k, _ in tm.cols:
        if k not in present:
            p.issue("warning", f"{p.m.name(tid)}缺少“{tm.col_names[k]}”列，该列各单元格留空")
