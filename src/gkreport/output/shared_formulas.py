"""Formulas written once for a group of cells (OOXML shared formulas), for the template's hidden sheet.

The live checks' helper sheet (:mod:`gkreport.core.livecalc`) holds the same long formula, with
only its references shifted, in every cell of a band: 1600 formulas of half a kilobyte.
Written as shared formulas (ECMA-376 §18.3.1.40: ``<f t="shared" ref="B5:H32" si="3">…</f>``
on the group's first cell, ``<f t="shared" si="3"/>`` on the others) each formula is
written once per group: Excel, WPS and LibreOffice read them (and write them so
themselves), and openpyxl expands them into each cell's own formula when it loads a
workbook. Every file a clerk saves carries this sheet, and every reader of every file
pays for its size.

A cell joins a group only when its formula is the group's formula moved to the cell as a
spreadsheet moves a copied formula (every relative row and column shifted alike, "$" parts,
string literals and sheet names unchanged), character for character; a formula with parts
whose moving is not modelled here (defined names, whole rows or columns, R1C1, ...) stays
unshared. So the sheet means exactly what it meant unshared: the tests read every group
back with openpyxl (whose translation is the one spreadsheets apply) and LibreOffice.
The group's first cell is the top-left corner of its range (LibreOffice requires it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from functools import lru_cache
from pathlib import Path

from openpyxl.utils.cell import column_index_from_string, coordinate_to_tuple
from openpyxl.worksheet.formula import ArrayFormula

from gkreport.core import addresses as addr


class SharedFormula(ArrayFormula):
    """A cell value openpyxl writes as ``<f t="shared" [ref=".."] si="n">[text]</f>``: its cell
    writer takes an :class:`ArrayFormula`'s ``dict(value)`` as the attributes and ``text``
    (without its "=") as the content, and leaves the content out when ``text`` is None."""

    t = "shared"

    def __init__(self, si: int, ref: str | None = None, text: str | None = None) -> None:
        super().__init__(ref, text)
        self.si = si

    def __iter__(self) -> Iterator[tuple[str, str]]:
        yield "t", "shared"
        if self.ref:
            yield "ref", self.ref
        yield "si", str(self.si)


# The parts of a formula a spreadsheet moves when it copies the formula: cell addresses
# (the relative row/column of each, "$" parts stay), outside string literals and quoted
# sheet names (which it never changes).
_PARTS = re.compile(r"""("(?:[^"]|"")*"|'(?:[^']|'')*'!)"""
                    r"|(?<![A-Za-z0-9_.$])(\$?)([A-Z]{1,3})(\$?)([0-9]{1,7})(?![A-Za-z0-9_.(!\[])")
_LITERAL = re.compile(r"""("(?:[^"]|"")*"|'(?:[^']|'')*'!)\x00""")
_NUMBER = re.compile(r"(?<![A-Za-z0-9_.])[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")
# What may remain once literals, addresses and numbers are taken out: operators, separators,
# array braces, function names (a name followed by "("), TRUE/FALSE. Anything else (a
# defined name, a whole-row or whole-column range, an unquoted sheet name, an R1C1
# reference, ...) is something this module does not move: that cell's formula stays its own.
_REST = re.compile(r"(?:[-+*/^&=<>(),;{}%\s]|\x00(?::\x00)?|[A-Z][A-Z0-9.]*\(|TRUE|FALSE)*")


_Shape = tuple[str, tuple[tuple[str | int, str | int], ...]]


def _moved_shape(formula: str, row: int, col: int) -> _Shape | None:
    """``formula`` as (its text with each literal followed and each address replaced by a
    mark, each address's column and row: as written where "$"-fixed, else as its distance
    from (``row``, ``col``)): two cells with equal shapes hold the same formula, moved as a
    copy moves it. None when the formula has parts whose moving this does not model."""
    parts = _PARTS.split(formula)  # one pass of the expression: 1600 formulas a template
    literals = parts[1::6]
    marks = [lit + "\x00" if lit else "\x00" for lit in literals]
    skeleton = "".join(x for pair in zip(parts[0::6], marks, strict=False) for x in pair) + parts[-1]
    if not _movable(skeleton):
        return None
    where = tuple((f"${letters}" if col_abs else column_index_from_string(letters) - col,
                   f"${digits}" if row_abs else int(digits) - row)
                  for literal, col_abs, letters, row_abs, digits
                  in zip(literals, parts[2::6], parts[3::6], parts[4::6], parts[5::6], strict=True) if not literal)
    return skeleton, where


@lru_cache(maxsize=256)
def _movable(skeleton: str) -> bool:
    """Whether all a formula's movable parts are addresses this module moves (once per
    skeleton: the cells of a band share theirs)."""
    return skeleton.startswith("=") and \
        _REST.fullmatch(_NUMBER.sub(" ", _LITERAL.sub(" ", skeleton[1:]))) is not None


def share(cells: Sequence[tuple[str, str]], first_si: int = 0) -> list[tuple[str, str | SharedFormula]]:
    """``cells`` ((address, "=formula")) as cell values: a cell no other cell shares with
    keeps its plain formula; groups become :class:`SharedFormula` values numbered from
    ``first_si``. Each group's first cell in row-major order (the order cells are written
    and read in) is the top-left corner of its range."""
    groups: list[tuple[str, str, list[str]]] = []  # (first cell, formula, cells)
    by_shape: dict[_Shape, list[tuple[int, int, list[str]]]] = {}
    for ref, formula in sorted(cells, key=lambda rc: coordinate_to_tuple(rc[0])):
        row, col = coordinate_to_tuple(ref)
        shape = _moved_shape(formula, row, col)
        candidates = by_shape.setdefault(shape, []) if shape is not None else []
        for row0, col0, members in candidates:
            if row >= row0 and col >= col0:
                members.append(ref)
                break
        else:
            groups.append((ref, formula, [ref]))
            candidates.append((row, col, groups[-1][2]))
    values: dict[str, str | SharedFormula] = {}
    si = first_si
    for first, formula, members in groups:
        if len(members) == 1:
            values[first] = formula
            continue
        rows_cols = [coordinate_to_tuple(r) for r in members]
        box = addr.make_range(min(c for _, c in rows_cols), min(r for r, _ in rows_cols),
                              max(c for _, c in rows_cols), max(r for r, _ in rows_cols))
        values[first] = SharedFormula(si, box, formula)
        for ref in members[1:]:
            values[ref] = SharedFormula(si)
        si += 1
    return [(ref, values[ref]) for ref, _ in cells]


@lru_cache(maxsize=4)
def share_once(cells: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str | SharedFormula], ...]:
    """:func:`share`, remembered: in this process (tests, the demo build many workbooks of one
    form) and in the user's cache under the hash of ``cells``, this module and openpyxl's
    version (grouping 1600 formulas costs ~0.2 s at every start of a command that writes a
    template or a summary). The values are never changed once made, so workbooks may hold
    the same ones."""
    from gkreport.core import user_cache

    key = user_cache.digest(_code(), repr(cells).encode())
    cached = user_cache.load(_CACHE_KIND, key)
    if isinstance(cached, tuple) and [ref for ref, _ in cached] == [ref for ref, _ in cells]:
        return cached
    shared = tuple(share(cells))
    user_cache.store(_CACHE_KIND, key, shared)
    return shared


_CACHE_KIND = "shared-formulas"


@lru_cache(maxsize=1)
def _code() -> bytes:
    """This module (its grouping) and openpyxl's version (the class it subclasses)."""
    import openpyxl

    from gkreport.core import user_cache

    return user_cache.code_signature(Path(__file__)) + openpyxl.__version__.encode()

