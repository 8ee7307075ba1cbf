"""The form's labels in the shape the importer needs, and tolerant matching of row labels.

Published row labels differ from the official text in ways that must not lose a row:
quotes (‘三安全一稳定’ or none), the parenthetical of （二）部分公开 left out, "，" for
"、", shortened （六） labels, PDF extraction mixing two labels ("三、本（一）予以公开").
Matching goes from strict to loose, and a loose match must agree with the row's own
numbering (一、 （一） 1.) and, when still ambiguous, be the next row in the table:

1. the canonical label (:func:`gkreport.core.labels.canonical`, word variants from the form's
   ``synonyms``) equals an official label;
2. the *core* text (no numbering, brackets, quotes or punctuation) is equal, contains the
   official core (mangled) or is a prefix / part of it (shortened);
3. numbering alone, for the next row in order, when the text is unusable.

Each table is read by the model of its *shape*, declared in the form's ``shapes`` (see
:mod:`gkreport.core.forms_meta`): ``blocks`` (a stack of titled blocks, each with a column header:
表一), ``rows`` (one header, labelled rows, some printed under a merged parent: 表二),
``single_row`` (a header and one unlabelled data row: 表三). Nothing here names a table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeAlias

from gkreport.core.forms import CellDef, Form, TableDef
from gkreport.core.forms_meta import Shape, form_meta
from gkreport.core.labels import canonical

from .pub_sources import is_blank

_CN = "一二三四五六七八九十"
_ENUM_TOKEN = re.compile(rf"（([{_CN}]+)）|([{_CN}]+)、|(?<![\d.])(\d{{1,2}})[.、](?!\d)")
_PAREN = re.compile(r"（[^（）]*）")
_QUOTES = re.compile(r"[“”‘’\"'「」『』]")
_PUNCT = re.compile(r"[，、,：:；;。.·\-—_/\s]")


def strip_enum(s: str) -> str:
    """Drop a leading enumerator (一、 （三） 1.) so that "予以公开" matches "（一）予以公开"."""
    return re.sub(rf"^(（[{_CN}]+）|[{_CN}]+、|\d+[.、])", "", s)


_BRACKETS = str.maketrans({"【": "（", "】": "）", "〔": "（", "〕": "）", "[": "（", "]": "）", "﹝": "（", "﹞": "）"})


def core(canon: str) -> str:
    """The words of a canonical label: no numbering, parentheticals, quotes or punctuation."""
    s = _ENUM_TOKEN.sub("", canon.translate(_BRACKETS))
    s = _PAREN.sub("", s)
    s = _QUOTES.sub("", s)
    return _PUNCT.sub("", s)


def enums(canon: str) -> frozenset[tuple[str, str]]:
    """The numbering tokens in a label: ("p", "一") for （一）, ("c", "三") for 三、, ("d", "2") for 2."""
    out = set()
    for m in _ENUM_TOKEN.finditer(canon.translate(_BRACKETS)):
        p, c, d = m.groups()
        out.add(("p", p) if p else ("c", c) if c else ("d", d))
    return frozenset(out)


def assemble(label: str, fragments: Sequence[str]) -> bool:
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



Canon = Callable[[str], str]
# Labels of two characters (总计, 其他) are printed in several tables: they announce none.
_MIN_TRIGGER = 3


class BlocksTable:
    """A stack of blocks (表一): a merged title row, a column-header row, item rows."""

    shape: Shape = "blocks"

    def __init__(self, form: Form, table: TableDef, c: Canon) -> None:
        self.id, self.form, self.c = table.id, form, c
        self.blocks: dict[str, list[tuple[str, str]]] = {}  # block canon -> [(col key, col canon)]
        self.rows: dict[str, tuple[str, str, int]] = {}  # row canon -> (block canon, row key, grid row)
        self.cell: dict[tuple[str, str], str] = {}  # (row key, col key) -> cell id
        for cell in sorted(form.table_cells(table.id), key=lambda x: (x.grid_row, x.grid_col)):
            block = c(cell.row_path[0])
            cols = self.blocks.setdefault(block, [])
            if (cell.col_key, c(cell.col_path[-1])) not in cols:
                cols.append((cell.col_key, c(cell.col_path[-1])))
            self.rows[c(cell.row_path[-1])] = (block, cell.row_key, cell.grid_row)
            self.cell[(cell.row_key, cell.col_key)] = cell.id
        self.head = {c(lab.text) for lab in table.labels if lab.style == "head"} - {
            c(k) for cols in self.blocks.values() for _, k in cols
        }
        self.triggers = set(self.blocks) | self.head

    def set_triggers(self, others: set[str]) -> None:
        """A block title or the header word (信息内容) starts this table, whatever else prints it."""

    def match_row(self, labels: Sequence[str]) -> tuple[str, str, int] | None:
        """(block, row key, grid row) of the item row these label cells name, or None."""
        labs = [self.c(t) for t in labels if not is_blank(t)]
        for k in range(1, len(labs) + 1):
            joined = "".join(labs[-k:])
            if joined in self.rows:
                return self.rows[joined]
        return None


class SingleRowTable:
    """A header over one unlabelled data row (表三)."""

    shape: Shape = "single_row"

    def __init__(self, form: Form, table: TableDef, c: Canon) -> None:
        self.id, self.form = table.id, form
        self.cells: list[CellDef] = sorted(form.table_cells(table.id), key=lambda x: x.grid_col)
        self.triggers = {c(cell.col_path[0]) for cell in self.cells}

    def set_triggers(self, others: set[str]) -> None:
        """The top column groups (行政复议, 行政诉讼) start this table."""


class RowsTable:
    """One header over labelled rows (表二); numbered sub-rows may sit under a merged parent."""

    shape: Shape = "rows"

    def __init__(self, form: Form, table: TableDef, c: Canon) -> None:
        self.id, self.form, self.c = table.id, form, c
        self.by_numbering = False  # the last loose match went by the row's numbering alone
        cells = form.table_cells(table.id)
        self.cols: list[tuple[str, str]] = []  # (col key, col canon) in official order
        self.rows: list[tuple[str, tuple[str, ...], int]] = []  # (row key, canon path, grid row)
        self.cell: dict[tuple[str, str], str] = {}
        for cell in sorted(cells, key=lambda x: (x.grid_row, x.grid_col)):
            if (cell.col_key, c(cell.col_path[-1])) not in self.cols:
                self.cols.append((cell.col_key, c(cell.col_path[-1])))
            if not any(k == cell.row_key for k, _, _ in self.rows):
                self.rows.append((cell.row_key, tuple(c(p) for p in cell.row_path), cell.grid_row))
            self.cell[(cell.row_key, cell.col_key)] = cell.id
        self.col_names = {k: next(x.col_path[-1] for x in cells if x.col_key == k) for k, _ in self.cols}
        self.grid = {k: g for k, _, g in self.rows}
        self._cores = {k: core(path[-1]) for k, path, _ in self.rows}
        self._enums = {k: frozenset().union(*(enums(p) for p in path)) for k, path, _ in self.rows}
        self._leaf_enum = {k: enums(path[-1]) for k, path, _ in self.rows}
        # parents printed over several rows (（六）其他处理 in the 2021 form): canon -> row keys
        self.groups: dict[str, list[str]] = {}
        for k, path, _ in self.rows:
            if len(path) >= 3:
                self.groups.setdefault(path[-2], []).append(k)
        self._head = {c(lab.text) for lab in table.labels if lab.style in ("head", "note")}
        self.triggers = set(self._head)

    def set_triggers(self, others: set[str]) -> None:
        """Header words no other table prints start this table (not 总计 or 其他)."""
        self.triggers = {t for t in self._head - others if len(t) >= _MIN_TRIGGER}

    def row_name(self, key: str) -> str:
        cell = self.form.cells[self.cell[(key, self.cols[0][0])]]
        return cell.row_short or cell.row_path[-1]

    def match_row(self, labels: Sequence[str], *, loose: bool = False, after: int = 0) -> str | None:
        """Row key of this table for the label cells of a row, or None.

        ``loose`` allows the tolerant matches of the module docstring; ``after`` is the
        grid row of the last row matched (the next row in order wins a tie).
        """
        labs = [self.c(t) for t in labels if not is_blank(t)]
        if not labs:
            return None
        for k in range(1, len(labs) + 1):
            joined = "".join(labs[-k:])
            hits = [key for key, path, _ in self.rows if path[-1] == joined]
            if not hits:
                hits = [key for key, path, _ in self.rows if strip_enum(path[-1]) == strip_enum(joined)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                # the same leaf text under two parents: the other label cells decide
                parents = set(labs[:-k])
                best = [key for key, path, _ in self.rows if key in hits and parents & set(path[:-1])]
                if len(best) == 1:
                    return best[0]
        return self._loose(labs, after) if loose else None

    def match_group(self, labels: Sequence[str]) -> str | None:
        """The parent label (e.g. （六）其他处理) when a row is printed for a whole group."""
        labs = [self.c(t) for t in labels if not is_blank(t)]
        if not labs:
            return None
        last = labs[-1]
        for parent in self.groups:
            if last == parent or (core(last) == core(parent) and enums(last) <= enums(parent)):
                return parent
        return None

    def _loose(self, labs: Sequence[str], after: int) -> str | None:
        joined = "".join(labs)
        jc, je, last = core(joined), enums(joined), core(labs[-1])
        scored: list[tuple[int, str]] = []
        for key, _, _ in self.rows:
            if je and not je <= self._enums[key]:
                continue  # the label's own numbering must be the row's
            lc = self._cores[key]
            if not lc:
                continue
            if lc in (last, jc):
                scored.append((3, key))
            elif lc in jc:
                scored.append((2, key))  # mangled: the official words inside other text
            elif len(last) >= 2 and last in lc:
                scored.append((1, key))  # shortened
        if not scored and je:
            # numbering only: the row's own number, for the rows that carry it
            deepest = [k for k, _, _ in self.rows if self._leaf_enum[k] and self._leaf_enum[k] <= je]
            got = self._next_in_order(deepest, after)
            self.by_numbering = got is not None
            return got
        if not scored:
            return None
        best = max(s for s, _ in scored)
        top = [k for s, k in scored if s == best]
        return top[0] if len(top) == 1 else self._next_in_order(top, after)

    def _next_in_order(self, keys: Sequence[str], after: int) -> str | None:
        """Of several candidates, the one that directly follows the last matched row, if any."""
        nxt = [k for k in keys if self.grid[k] == after + 1]
        return nxt[0] if len(nxt) == 1 else None


TableModel: TypeAlias = BlocksTable | RowsTable | SingleRowTable
_SHAPES: dict[str, type[BlocksTable] | type[RowsTable] | type[SingleRowTable]] = {
    "blocks": BlocksTable, "rows": RowsTable, "single_row": SingleRowTable,
}


@dataclass
class Model:
    """The form's labels, canonicalised once, per table in the shape its placer needs."""

    form: Form
    canon: dict[str, str] = field(default_factory=dict)

    def c(self, text: str) -> str:
        got = self.canon.get(text)
        if got is None:
            got = self.canon[text] = canonical(text, self.form.synonyms)
        return got

    def __post_init__(self) -> None:
        meta = form_meta(self.form)
        self.names = {s.id: s.name for s in meta.shapes}
        self.tables: dict[str, TableModel] = {
            t.id: _SHAPES[meta.shape(t.id).shape](self.form, t, self.c) for t in self.form.tables
        }
        labels = {t.id: {self.c(lab.text) for lab in t.labels} for t in self.form.tables}
        for tid, tm in self.tables.items():
            tm.set_triggers(set().union(*(v for k, v in labels.items() if k != tid)))

    def name(self, table_id: str) -> str:
        """表一, 表二 … (the form's ``shapes``)."""
        return self.names.get(table_id, table_id)

    # -- rule constraints, for deducing what a short row must hold
    def constraints(self, ids: Sequence[str]) -> list[list[tuple[str, float]]]:
        """The form's identities among ``ids`` only (e.g. a row total), as ``sum(coef*cell) = 0``."""
        inside = set(ids)
        out = []
        for rule in self.form.rules:
            if rule.type != "equal" or rule.needs == "previous":
                continue
            for inst in rule.instances:
                if any(t.prev for t in inst.terms) or inst.const or not set(inst.cells()) <= inside:
                    continue
                terms: dict[str, float] = {}
                for t in inst.left:
                    terms[t.cell] = terms.get(t.cell, 0) + t.coef
                for t in inst.right:
                    terms[t.cell] = terms.get(t.cell, 0) - t.coef
                out.append([(c, k) for c, k in terms.items() if k])
        return out
