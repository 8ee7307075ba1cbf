"""The template's look, shared by its sheets: check marks, fills, fonts, borders, and the
two primitives every sheet uses (a bordered label, sheet protection)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from openpyxl.formatting.rule import Rule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.styles.cell_style import StyleArray
from openpyxl.styles.differential import DifferentialStyle
from openpyxl.worksheet.worksheet import Worksheet

from gkreport.core import addresses as addr

from .palette import INPUT_RGB, TOTAL_RGB

PASS_MARK = "✓"
FAIL_MARK = "✗"
WARN_MARK = "⚠"
TEXT_NOTE = f"{WARN_MARK} 含文字，请改为数字"
REJECTED_NOTE = f"{WARN_MARK} 含无效内容，请改正"
FIXED_TIME = dt.datetime(2024, 1, 1)

FONT = "宋体"
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
INPUT_FILL = PatternFill("solid", fgColor=INPUT_RGB)
TOTAL_FILL = PatternFill("solid", fgColor=TOTAL_RGB)
HEAD_FILL = PatternFill("solid", fgColor="F2F2F2")
BLOCK_FILL = PatternFill("solid", fgColor="C6D9F1")  # the light blue of the official page
CHECK_FILL = PatternFill("solid", fgColor="F7F7F7")
FAIL_FILL = PatternFill("solid", fgColor="FFC7CE")
FAIL_FONT = Font(name=FONT, color="9C0006", bold=True)
WARN_FILL = PatternFill("solid", fgColor="FFEB9C")
WARN_FONT = Font(name=FONT, color="9C5700", bold=True)
TEXT_FONT = Font(color="C65911", bold=True)  # a data cell holding text
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
UNLOCKED = Protection(locked=False)

TITLE_ROW = 1
INFO_ROW = 2


def label(ws: Worksheet, rng: str, text: str, fill: PatternFill | None, font: Font,
          align: Alignment = CENTER) -> None:
    """A printed label: merged over ``rng``, every cell of the merge bordered (and filled), so
    the official grid lines show whatever program opens the file."""
    first = rng.split(":")[0]
    if ":" in rng:
        ws.merge_cells(rng)
    memo = StyleMemo()
    for col, row in addr.cells_in(rng):
        memo.apply(ws.cell(row=row, column=col), "label", border=BORDER, fill=fill)
    cell = ws[first]
    cell.value = text
    cell.font = font
    cell.alignment = align


class StyleMemo:
    """The cell formats cells were given, by what was applied to which format.

    Assigning a style object to a cell makes openpyxl hash it (every field, recursively) to
    find its index: ~15 µs, paid 1,500 times by the template's grid of bordered, filled
    input cells, which share a handful of formats. The same values applied to the same
    format give the same format, so the next such cell copies the first's. Short-lived (one
    table, one label): the indices are one workbook's, and a key names fixed values only.
    """

    def __init__(self) -> None:
        self._known: dict[tuple[Any, ...], StyleArray] = {}

    def apply(self, cell: Any, key: Any, **styles: Any) -> None:
        """``setattr(cell, name, value)`` for each of ``styles`` not None; ``key`` names those
        values (the caller's promise: one key, one set of values)."""
        before = cell._style  # None until a cell is first styled
        memo_key = (key, None if before is None else tuple(before))
        known = self._known.get(memo_key)
        if known is not None:
            cell._style = StyleArray(known)
            return
        for name, value in styles.items():
            if value is not None:
                setattr(cell, name, value)
        if cell._style is not None:  # (None: nothing was applied to an unstyled cell)
            self._known[memo_key] = StyleArray(cell._style)


def formula_rule(formula: str, *, fill: PatternFill | None = None, font: Font | None = None) -> Rule:
    """``FormulaRule(formula=[formula], fill=fill, font=font)`` with its format (dxf) shared by
    every rule of the same fill and font: saving looks each rule's format up in the workbook's
    list, field by field (~25 ms for the template's 130 rules); a shared one is found at once,
    by identity. The same file."""
    key = (id(fill), id(font))
    known = _DXF.get(key)
    if known is None or known[0] is not fill or known[1] is not font:
        known = _DXF[key] = (fill, font, DifferentialStyle(font=font, fill=fill))
    return Rule(type="expression", formula=[formula], dxf=known[2])


_DXF: dict[tuple[int, int], tuple[Any, Any, DifferentialStyle]] = {}


def protect(ws: Worksheet) -> None:
    """Lock labels and formulas; no password, so a clerk can unprotect when needed."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = False  # allow widening columns
    p.formatRows = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False

