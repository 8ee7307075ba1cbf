"""Placing the rows of ``blocks`` and ``single_row`` tables (表一 and 表三 of today's forms).

Functions of the :class:`gkreport.readers.pub_place.Placer` they are given (which holds the
state and the placing primitives they call: ``set``, ``place_seq``, ``issue`` …). ``blocks``: a stack of
blocks, each a merged title row, a column-header row and item rows; the columns of an
item row are its block's. ``single_row``: header rows over one unlabelled data row.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from .pub_model import BlocksTable, SingleRowTable, assemble
from .pub_sources import Row, is_blank

if TYPE_CHECKING:
    from .pub_place import Placer


def blocks_row(p: Placer, tid: str, row: Row) -> None:
    m, tm, st = p.m, p.m.tables[tid], p.st[tid]
    assert isinstance(tm, BlocksTable)
    texts = [m.c(c.text) for c in row.cells if not is_blank(c.text)]
    blocks = [t for t in texts if t in tm.blocks]
    if blocks:
        st.block, st.head, st.collecting_head = blocks[0], [], False
        return
    labels, values = p.split_row(row)
    if texts and texts[0] in tm.head:
        st.head, st.collecting_head = [row], True
        return
    hit = tm.match_row([c.text for c in labels]) if labels else None
    if hit is None:
        if st.collecting_head and not any(not is_blank(v.text) for v in values):
            st.head.append(row)
            return
        if any(not is_blank(v.text) for v in values):
            p.unknown_row(tid, labels, values, row.where)
        return
    st.collecting_head = False
    block, row_key, grid_row = hit
    if st.block is not None and block != st.block:
        st.head = []
    st.block = block
    cols = tm.blocks[block]
    what = f"第{grid_row}行（{labels[-1].text.strip()}）"
    cell_id: Callable[[str], str] = lambda ck: tm.cell[(row_key, ck)]  # noqa: E731
    if row.mode == "grid":
        located = p.grid_columns(st.head, list(cols))
        if located is None:  # no usable header: the data columns follow the label in order
            first = labels[-1].col + labels[-1].span
            located = []
            for c in row.cells:
                if c.col >= first and len(located) < len(cols):
                    located.append((cols[len(located)][0], c.col))
        p.place_grid(row, located, cell_id, tid, what, min_col=labels[-1].col + labels[-1].span)
        return
    frags = [m.c(c.text) for r in st.head for c in r.cells
             if not is_blank(c.text) and m.c(c.text) not in tm.head]
    present = [ck for ck, lab in cols if assemble(lab, frags)] if frags else [ck for ck, _ in cols]
    if not present:
        present = [ck for ck, _ in cols]
    p.place_seq([v.text for v in values], [cell_id(k) for k in present], tid, what, row.where)

def single_row(p: Placer, tid: str, row: Row) -> None:
    tm, st = p.m.tables[tid], p.st[tid]
    assert isinstance(tm, SingleRowTable)
    labels, values = p.split_row(row)
    if labels:
        if st.done:
            p.state = None
            return
        st.head.append(row)
        return
    if st.done:
        p.extra(tid, "数据行之后", [v.text for v in values], row.where)
        return
    st.done = True
    cells = tm.cells
    if row.mode == "grid":
        heads = [c for r in st.head for c in r.cells if not is_blank(c.text)]
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
    p.place_seq(texts, [c.id for c in cells], tid, "数据行", row.where)
