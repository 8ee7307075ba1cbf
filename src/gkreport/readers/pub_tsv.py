"""Place a transcription (``.tsv``: ``[table1]``, ``[table2]`` … sections) into a form's cells.

The n-th section holds the form's n-th table, one line per value or row, in the layout
of the table's shape (the form's ``shapes``):

- ``blocks``: ``block | row | column | value`` per value;
- ``rows``: a header line ``label | column …``, then ``row path (a/b) | value …`` per row;
- ``single_row``: ``column path (a/b) | column | value`` per value.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import pub_rows
from .pub_model import BlocksTable, Model, RowsTable, SingleRowTable
from .pub_place import Placer
from .pub_sources import shown


def place_tsv(m: Model, sections: dict[str, list[list[str]]], p: Placer) -> None:
    """Every line of every section placed into its cell or named in an issue."""
    for n, table in enumerate(m.form.tables, start=1):
        lines = sections.get(f"table{n}", [])
        if not lines:
            continue
        tm = m.tables[table.id]
        if isinstance(tm, BlocksTable):
            _blocks(m, tm, lines, p)
        elif isinstance(tm, RowsTable):
            _rows(m, tm, lines, p)
        else:
            _single_row(m, tm, lines, p)
        p.seen.add(table.id)


def _blocks(m: Model, tm: BlocksTable, lines: Sequence[list[str]], p: Placer) -> None:
    name = m.name(tm.id)
    for parts in lines:
        if len(parts) < 4:
            p.issue("error", f"{name} 行格式不对：“{' | '.join(parts)}”")
            continue
        block, row, col, val = parts[0], parts[1], parts[2], "\t".join(parts[3:])
        hit = tm.match_row([row])
        cols = dict((lab, k) for k, lab in tm.blocks.get(m.c(block), []))
        if hit is None or hit[0] != m.c(block) or m.c(col) not in cols:
            p.issue("error", f"{name} 无法对应“{block} / {row} / {col}”，数值“{val.strip()}”未采用")
            continue
        p.set(tm.cell[(hit[1], cols[m.c(col)])], val, f"[{_section(m, tm.id)}] {row}")


def _rows(m: Model, tm: RowsTable, lines: Sequence[list[str]], p: Placer) -> None:
    name, where = m.name(tm.id), f"[{_section(m, tm.id)}]"
    head = [m.c(h) for h in lines[0][1:]]
    by_label = {lab: k for k, lab in tm.cols}
    keys: list[str | None] = [by_label.get(h) for h in head]
    pub_rows.note_missing(p, tm.id, [k for k in keys if k])
    after = min(tm.grid.values()) - 1
    for parts in lines[1:]:
        key = tm.match_row(parts[0].split("/"), loose=True, after=after)
        if key is None:
            p.unknown_rows.setdefault(tm.id, []).append(f"“{parts[0]}”")
            p.issue("error", f"{name} 未识别的行“{parts[0]}”，数值 {shown(parts[1:])} 未采用")
            continue
        after = tm.grid[key]
        what = f"第{after}行（{tm.row_name(key)}）"
        vals = parts[1:]
        if len(vals) != len(keys):  # the columns of this row are not known: no guessing
            p.place_seq(vals, [tm.cell[(key, k)] for k in keys if k], tm.id, what, where)
            continue
        for t, k in zip(vals, keys, strict=True):
            if k is None:
                p.extra(tm.id, what, [t], where)
            else:
                p.set(tm.cell[(key, k)], t, where)


def _single_row(m: Model, tm: SingleRowTable, lines: Sequence[list[str]], p: Placer) -> None:
    name = m.name(tm.id)
    for parts in lines:
        if len(parts) < 3:
            p.issue("error", f"{name} 行格式不对：“{' | '.join(parts)}”")
            continue
        path = "".join(m.c(x) for x in parts[0].split("/")) + m.c(parts[1])
        hit = next((c for c in tm.cells if "".join(m.c(x) for x in c.col_path) == path), None)
        if hit is None:
            p.issue("error", f"{name} 无法对应“{parts[0]} / {parts[1]}”，数值“{parts[2].strip()}”未采用")
            continue
        p.set(hit.id, "\t".join(parts[2:]), f"[{_section(m, tm.id)}]")


def _section(m: Model, table_id: str) -> str:
    """``table2`` for the form's second table: the section that transcribes it."""
    return f"table{[t.id for t in m.form.tables].index(table_id) + 1}"
