"""The form's labels in the shape the importer needs, and tolerant matching of row labels.

Published row labels differ from the official text in ways that must not lose a row:
quotes (‘三安全一稳定’ or none), the parenthetical of （二）部分公开 left out, "，" for
"、", shortened （六） labels, PDF extraction mixing two labels ("三、本（一）予以公开").
Matching goes from strict to loose, and a loose match must agree with the row's own
numbering (一、 （一） 1.) and, when still ambiguous, be the next row in the table:

1. the canonical label (:func:`gkreport.labels.canonical`, word variants from the form's
   ``synonyms``) equals an official label;
2. the *core* text (no numbering, brackets, quotes or punctuation) is equal, contains the
   official core (mangled) or is a prefix / part of it (shortened);
3. numbering alone, for the next row in order, when the text is unusable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..forms import CellDef, Form
from ..labels import canonical
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


@dataclass
class Model:
    """The form's labels, canonicalised once, in the shape the placer needs."""

    form: Form
    canon: dict[str, str] = field(default_factory=dict)
    by_numbering: bool = False  # the last loose match went by the row's numbering alone

    def c(self, text: str) -> str:
        got = self.canon.get(text)
        if got is None:
            got = self.canon[text] = canonical(text, self.form.synonyms)
        return got

    def __post_init__(self) -> None:
        f = self.form
        # table 1: block title -> (ordered columns, rows)
        self.t1_blocks: dict[str, list[tuple[str, str]]] = {}  # block canon -> [(col key, col canon)]
        self.t1_rows: dict[str, tuple[str, str, int]] = {}  # row canon -> (block canon, row key, grid row)
        self.t1_cell: dict[tuple[str, str], str] = {}  # (row key, col key) -> cell id
        for cell in sorted(f.table_cells("t1"), key=lambda x: (x.grid_row, x.grid_col)):
            block = self.c(cell.row_path[0])
            cols = self.t1_blocks.setdefault(block, [])
            if (cell.col_key, self.c(cell.col_path[-1])) not in cols:
                cols.append((cell.col_key, self.c(cell.col_path[-1])))
            self.t1_rows[self.c(cell.row_path[-1])] = (block, cell.row_key, cell.grid_row)
            self.t1_cell[(cell.row_key, cell.col_key)] = cell.id
        # table 2: rows by path, columns in official order
        t2 = f.table_cells("t2")
        self.t2_cols: list[tuple[str, str]] = []
        self.t2_rows: list[tuple[str, tuple[str, ...], int]] = []  # (row key, canon path, grid row)
        self.t2_cell: dict[tuple[str, str], str] = {}
        for cell in sorted(t2, key=lambda x: (x.grid_row, x.grid_col)):
            if (cell.col_key, self.c(cell.col_path[-1])) not in self.t2_cols:
                self.t2_cols.append((cell.col_key, self.c(cell.col_path[-1])))
            if not any(k == cell.row_key for k, _, _ in self.t2_rows):
                self.t2_rows.append((cell.row_key, tuple(self.c(p) for p in cell.row_path), cell.grid_row))
            self.t2_cell[(cell.row_key, cell.col_key)] = cell.id
        self.t2_col_names = {k: next(c.col_path[-1] for c in t2 if c.col_key == k) for k, _ in self.t2_cols}
        self.t2_grid = {k: g for k, _, g in self.t2_rows}
        self._cores = {k: core(path[-1]) for k, path, _ in self.t2_rows}
        self._enums = {k: frozenset().union(*(enums(p) for p in path)) for k, path, _ in self.t2_rows}
        self._leaf_enum = {k: enums(path[-1]) for k, path, _ in self.t2_rows}
        # parents printed over several rows (（六）其他处理 in the 2021 form): canon -> row keys
        self.t2_groups: dict[str, list[str]] = {}
        for k, path, _ in self.t2_rows:
            if len(path) >= 3:
                self.t2_groups.setdefault(path[-2], []).append(k)
        # table 3: one row of cells in grid order
        self.t3_cells: list[CellDef] = sorted(f.table_cells("t3"), key=lambda x: x.grid_col)
        t1_labels = {self.c(lab.text) for lab in f.table("t1").labels}
        t3_labels = {self.c(lab.text) for lab in f.table("t3").labels}
        self.t3_triggers = {self.c(c.col_path[0]) for c in self.t3_cells}
        self.t2_triggers = {
            self.c(lab.text) for lab in f.table("t2").labels if lab.style in ("head", "note")
        } - t3_labels - t1_labels - {"总计", "其他"}
        self.t1_head = {self.c(lab.text) for lab in f.table("t1").labels if lab.style == "head"} - {
            self.c(k) for cols in self.t1_blocks.values() for _, k in cols
        }

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

    # -- table 2
    def t2_row_name(self, key: str) -> str:
        cell = self.form.cells[self.t2_cell[(key, self.t2_cols[0][0])]]
        return cell.row_short or cell.row_path[-1]

    def match_t2_row(self, labels: Sequence[str], *, loose: bool = False, after: int = 0) -> str | None:
        """Row key of table 2 for the label cells of a row, or None.

        ``loose`` allows the tolerant matches of the module docstring; ``after`` is the
        grid row of the last row matched (the next row in order wins a tie).
        """
        labs = [self.c(t) for t in labels if not is_blank(t)]
        if not labs:
            return None
        for k in range(1, len(labs) + 1):
            joined = "".join(labs[-k:])
            hits = [key for key, path, _ in self.t2_rows if path[-1] == joined]
            if not hits:
                hits = [key for key, path, _ in self.t2_rows if strip_enum(path[-1]) == strip_enum(joined)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                # the same leaf text under two parents: the other label cells decide
                parents = set(labs[:-k])
                best = [key for key, path, _ in self.t2_rows if key in hits and parents & set(path[:-1])]
                if len(best) == 1:
                    return best[0]
        return self._loose_t2(labs, after) if loose else None

    def match_t2_group(self, labels: Sequence[str]) -> str | None:
        """The parent label (e.g. （六）其他处理) when a row is printed for a whole group."""
        labs = [self.c(t) for t in labels if not is_blank(t)]
        if not labs:
            return None
        last = labs[-1]
        for parent in self.t2_groups:
            if last == parent or (core(last) == core(parent) and enums(last) <= enums(parent)):
                return parent
        return None

    def _loose_t2(self, labs: Sequence[str], after: int) -> str | None:
        joined = "".join(labs)
        jc, je, last = core(joined), enums(joined), core(labs[-1])
        scored: list[tuple[int, str]] = []
        for key, _, _ in self.t2_rows:
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
            deepest = [k for k, _, _ in self.t2_rows if self._leaf_enum[k] and self._leaf_enum[k] <= je]
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
        nxt = [k for k in keys if self.t2_grid[k] == after + 1]
        return nxt[0] if len(nxt) == 1 else None

    # -- table 1
    def match_t1_row(self, labels: Sequence[str]) -> tuple[str, str, int] | None:
        labs = [self.c(t) for t in labels if not is_blank(t)]
        for k in range(1, len(labs) + 1):
            joined = "".join(labs[-k:])
            if joined in self.t1_rows:
                return self.t1_rows[joined]
        return None
