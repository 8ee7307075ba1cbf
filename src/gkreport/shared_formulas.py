"""Formulas written once for a group of cells (OOXML shared formulas), for the template's hidden sheet.

The live checks' helper sheet (:mod:`gkreport.livecalc`) holds the same long formula, with
only its references shifted, in every cell of a band: 1600 formulas of half a kilobyte.
Written as shared formulas (ECMA-376 §18.3.1.40: ``<f t="shared" ref="B5:H32" si="3">…</f>``
on the group's first cell, ``<f t="shared" si="3"/>`` on the others) each formula is
written once per group: Excel, WPS and LibreOffice read them (and write them so
themselves), and openpyxl expands them into each cell's own formula when it loads a
workbook. Every file a clerk saves carries this sheet, and every reader of every file
pays for its size.

A cell joins a group only when the group's formula, moved to the cell as a spreadsheet
moves a copied formula (openpyxl's :class:`~openpyxl.formula.translate.Translator`, the
very translation openpyxl applies when it reads the group back), is the cell's own
formula character for character; so the sheet means exactly what it meant unshared.
The group's first cell is the top-left corner of its range (LibreOffice requires it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from openpyxl.formula.translate import Translator
from openpyxl.utils.cell import coordinate_to_tuple
from openpyxl.worksheet.formula import ArrayFormula

from . import addresses as addr


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


_ADDRESS = re.compile(r"\$?[A-Z]{1,3}\$?[0-9]+")


@dataclass
class _Group:
    ref: str  # the first cell (top-left corner)
    formula: str
    translator: Translator
    cells: list[str] = field(default_factory=list)

    def takes(self, ref: str, formula: str) -> bool:
        (row0, col0), (row, col) = coordinate_to_tuple(self.ref), coordinate_to_tuple(ref)
        return row >= row0 and col >= col0 and self.translator.translate_formula(ref) == formula


def share(cells: Sequence[tuple[str, str]], first_si: int = 0) -> list[tuple[str, str | SharedFormula]]:
    """``cells`` ((address, "=formula"), in row-major order) as cell values: a cell no other
    cell shares with keeps its plain formula; groups become :class:`SharedFormula` values
    numbered from ``first_si``."""
    groups: list[_Group] = []
    by_shape: dict[str, list[_Group]] = {}  # a cheap first sieve: the formula without its addresses
    # row-major: the order cells are written in, so each group's first cell is written first
    for ref, formula in sorted(cells, key=lambda rc: coordinate_to_tuple(rc[0])):
        candidates = by_shape.setdefault(_ADDRESS.sub("", formula), [])
        for g in candidates:
            if g.takes(ref, formula):
                g.cells.append(ref)
                break
        else:
            groups.append(_Group(ref, formula, Translator(formula, ref), [ref]))
            candidates.append(groups[-1])
    values: dict[str, str | SharedFormula] = {}
    si = first_si
    for g in groups:
        if len(g.cells) == 1:
            values[g.ref] = g.formula
            continue
        rows_cols = [coordinate_to_tuple(r) for r in g.cells]
        box = addr.make_range(min(c for _, c in rows_cols), min(r for r, _ in rows_cols),
                              max(c for _, c in rows_cols), max(r for r, _ in rows_cols))
        values[g.ref] = SharedFormula(si, box, g.formula)
        for ref in g.cells[1:]:
            values[ref] = SharedFormula(si)
        si += 1
    return [(ref, values[ref]) for ref, _ in cells]
