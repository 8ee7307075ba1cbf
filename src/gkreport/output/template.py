"""Write the official template workbook for one form version (openpyxl).

The template reproduces the printed tables (labels verbatim, the official merges), adds
a header sheet, defines a workbook-level name for every data cell and header field
(the name *is* the cell id, so code finds cells by name, not by coordinates), unlocks
only the input cells, validates what is typed, and carries **live checks**: a formula
per rule identity that shows ✓, ✗ with what is wrong, or ⚠ where a cell holds text, plus
conditional formatting that turns a failing total red. The checks read every cell as the
engine does (see :mod:`gkreport.core.livecalc`), so they never contradict ``check``. All of this
works in Excel, WPS or LibreOffice with no add-in installed.

Here: the table sheets, names and validation. Alongside: :mod:`.template_style` (marks, fills,
fonts), :mod:`.template_checks` (where each live check sits, its formula),
:mod:`.template_header` (the header sheet; its guide texts and deadlines are the form's
``guide``, :mod:`gkreport.core.forms_meta`), :mod:`.sheet_print` (printing list sheets).

Decisions (see README):
- Inputs start **blank**, not 0: blank and 0 mean different things in the data (blank =
  not filled, 0 = none), and the checker must never invent a 0 the agency did not type.
  Formulas treat blanks as 0, so the live checks still work on a partly filled form.
- Totals are **typed**, not formulas: the published report states what the agency
  typed, agencies paste figures from their own ledgers, and a formula total would hide
  exactly the inconsistency the form's 勾稽关系 exists to reveal. The live check next to
  each total shows the expected value as soon as the parts change.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from gkreport.core import addresses as addr
from gkreport.core import livecalc
from gkreport.core.forms import TYPE_LABEL, CellDef, Form, TableDef
from gkreport.output.shared_formulas import share_once

from .sheet_print import fit_to_page, fit_wrapped_rows, print_as_list
from .template_checks import CheckLine, LiveCheck, check_formula, live_checks
from .template_header import write_header_sheet
from .template_style import (
    BLOCK_FILL,
    BORDER,
    CENTER,
    CHECK_FILL,
    FAIL_FILL,
    FAIL_FONT,
    FAIL_MARK,
    FIXED_TIME,
    FONT,
    HEAD_FILL,
    INFO_ROW,
    INPUT_FILL,
    LEFT,
    PASS_MARK,
    REJECTED_NOTE,
    TEXT_FONT,
    TEXT_NOTE,
    TITLE_ROW,
    TOTAL_FILL,
    UNLOCKED,
    WARN_FILL,
    WARN_FONT,
    WARN_MARK,
    StyleMemo,
    formula_rule,
    label,
    protect,
)

# Public names kept importable from here (the template was one module): the markers, the
# summary workbook and the tests import them from gkreport.output.template.
__all__ = [
    "FAIL_MARK", "INPUT_FILL", "PASS_MARK", "REJECTED_NOTE", "TEXT_NOTE", "TOTAL_FILL", "WARN_MARK",
    "CheckLine", "LiveCheck", "build_template", "check_formula", "fit_wrapped_rows", "live_checks",
    "print_as_list", "save_workbook_atomic", "template_filename", "write_template",
]

# ------------------------------------------------------------------------------ writing


def build_template(form: Form) -> Workbook:
    """Return the template workbook for ``form`` (not yet saved)."""
    wb = Workbook()
    wb.properties.creator = "gkreport"
    wb.properties.title = f"{form.title}（{form.name}）"
    wb.properties.created = FIXED_TIME
    wb.properties.modified = FIXED_TIME
    wb.properties.lastModifiedBy = "gkreport"
    checks, lines = live_checks(form)

    header_ws = wb.worksheets[0]  # a new Workbook has exactly one worksheet
    header_ws.title = form.header_sheet
    table_ws = {t.sheet: wb.create_sheet(t.sheet) for t in form.tables}

    for table in form.tables:
        _write_table(table_ws[table.sheet], table, form)
    for line in lines:
        ws = table_ws[line.sheet]
        label(ws, line.range, line.text, HEAD_FILL, Font(name=FONT, size=9, bold=True))
    lay = livecalc.layout(form)
    for chk in checks:
        ws = table_ws[chk.sheet]
        c = ws[chk.cell]
        c.value = check_formula(chk, form, lay)
        c.font = Font(name=FONT, size=9)
        c.alignment = CENTER
        c.border = BORDER
        c.fill = CHECK_FILL
        failing = f'LEFT({addr.absolute(chk.cell)},1)="{FAIL_MARK}"'
        ws.conditional_formatting.add(chk.cell, formula_rule(failing, fill=FAIL_FILL, font=FAIL_FONT))
        ws.conditional_formatting.add(chk.cell, formula_rule(
            f'LEFT({addr.absolute(chk.cell)},1)="{WARN_MARK}"', fill=WARN_FILL, font=WARN_FONT))
        if chk.instance.target:
            target = form.cells[chk.instance.target]
            ws.conditional_formatting.add(target.range, formula_rule(failing, fill=FAIL_FILL, font=FAIL_FONT))
    for table in form.tables:
        _flag_text_cells(table_ws[table.sheet], table, lay)
    _write_calc_sheet(wb.create_sheet(livecalc.CALC_SHEET), form, lay)
    for table in form.tables:
        ws = table_ws[table.sheet]
        extra = [addr.split_ref(c.cell)[0] for c in checks if c.sheet == table.sheet]
        last_col = max([table.last_col, *extra])
        _finish_table_sheet(ws, table, form, last_col, checks)
    write_header_sheet(header_ws, form, checks, lay)
    _define_names(wb, form)
    return wb


def _flag_text_cells(ws: Worksheet, table: TableDef, lay: livecalc.CalcLayout) -> None:
    """A data cell holding text or a rejected value shows it in orange bold while it does,
    so the clerk sees which cell a ⚠ of the live checks is about. The font only: a fill
    would hide the red or yellow fill ``check --mark`` gives the same cell."""
    grid = addr.make_range(table.first_col, table.first_row, table.last_col, table.last_row)
    top = addr.split_ref(lay.band_range(table, "state").split(":")[0])
    state = addr.quote_sheet(livecalc.CALC_SHEET) + "!" + addr.make_ref(*top)
    ws.conditional_formatting.add(grid, formula_rule(f"{state}>0", font=TEXT_FONT))


def _write_calc_sheet(ws: Worksheet, form: Form, lay: livecalc.CalcLayout) -> None:
    """The very hidden sheet of :mod:`gkreport.core.livecalc`: how the engine reads each cell."""
    ws["A1"] = "gkreport：各数据单元格按校验程序的读法换算的结果，供“校验”公式使用。请勿修改。"
    for ref, value in share_once(tuple(livecalc.calc_cells(form, lay))):
        ws[ref] = value
    ws.sheet_state = "veryHidden"
    protect(ws)


def _write_table(ws: Worksheet, table: TableDef, form: Form) -> None:
    styles = {
        "block": (BLOCK_FILL, Font(name=FONT, size=10, bold=True), LEFT),
        "head": (HEAD_FILL, Font(name=FONT, size=10, bold=True), CENTER),
        "row": (None, Font(name=FONT, size=10), LEFT),
        "note": (None, Font(name=FONT, size=9), CENTER),
    }
    for lab in table.labels:
        fill, font, align = styles[lab.style]
        label(ws, lab.range, lab.text, fill, font, align)
    groups: dict[str, list[CellDef]] = {}
    memo = StyleMemo()
    for cell in form.table_cells(table.id):
        if ":" in cell.range:
            ws.merge_cells(cell.range)
        total = cell.kind == "total"
        for col, row in addr.cells_in(cell.range):
            c = ws.cell(row=row, column=col)
            memo.apply(c, ("input", total), border=BORDER, fill=TOTAL_FILL if total else INPUT_FILL,
                       protection=UNLOCKED)
        memo.apply(ws[cell.ref], ("anchor", total), alignment=_RIGHT,
                   font=_TOTAL_FONT if total else _INPUT_FONT, number_format="General")
        groups.setdefault(cell.type, []).append(cell)
    for ctype, cells in groups.items():
        ws.add_data_validation(_validation(ctype, cells))


_RIGHT = Alignment(horizontal="right", vertical="center")
_INPUT_FONT, _TOTAL_FONT = Font(name=FONT, size=10, bold=False), Font(name=FONT, size=10, bold=True)


def _validation(ctype: str, cells: Iterable[CellDef]) -> DataValidation:
    if ctype == "count":
        dv = DataValidation(type="whole", operator="greaterThanOrEqual", formula1="0")
        prompt = "请填写非负整数（件数）。没有请填 0，不要填“-”“/”或文字。"
    elif ctype == "signed":
        dv = DataValidation(type="whole", operator="between", formula1="-999999999", formula2="999999999")
        prompt = "请填写整数，减少时填负数（例如 -3）。没有变化请填 0。"
    else:
        dv = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0")
        prompt = "请填写非负数字（可带小数），不要带“元”“万元”等单位。"
    dv.errorStyle = "warning"  # warn, never block: the checker reports what slips through
    dv.showErrorMessage = True
    dv.showInputMessage = True
    dv.allow_blank = True
    dv.promptTitle = "填写说明"
    dv.prompt = prompt
    dv.errorTitle = "填写内容可能有误"
    dv.error = f"此处应填写{TYPE_LABEL[ctype]}。{prompt}"
    for cell in cells:
        dv.add(cell.range)
    return dv


def _row_heights(ws: Worksheet, table: TableDef, widths: dict[int, float]) -> None:
    """Wrapped labels need explicit row heights: openpyxl cannot autofit."""
    need: dict[int, float] = {}
    for lab in table.labels:
        c1, r1, c2, r2 = addr.range_bounds(lab.range)
        if r1 != r2:
            continue
        width = sum(widths.get(c, 9.0) for c in range(c1, c2 + 1))
        per_line = max(1, int(width / 2.1))  # a CJK glyph is about two character widths
        lines = math.ceil(len(lab.text) / per_line)
        need[r1] = max(need.get(r1, 18.0), 14.0 * lines + 6)
    for row, height in need.items():
        ws.row_dimensions[row].height = height


def _finish_table_sheet(ws: Worksheet, table: TableDef, form: Form, last_col: int,
                        checks: Sequence[LiveCheck]) -> None:
    widths: dict[int, float] = {}
    for i, w in enumerate(table.col_widths):
        widths[table.first_col + i] = w
    for col in range(table.last_col + 1, last_col + 1):
        widths[col] = 16.0
    for col, w in widths.items():
        ws.column_dimensions[addr.make_ref(col, 1)[:-1]].width = w
    _row_heights(ws, table, widths)
    for row in {addr.split_ref(c.cell)[1] for c in checks if c.sheet == table.sheet} - set(
            range(table.first_row, table.last_row + 1)):
        ws.row_dimensions[row].height = 26  # "⚠ 含文字，请改为数字" takes two lines in a narrow column
    title_rng = addr.make_range(table.first_col, TITLE_ROW, last_col, TITLE_ROW)
    ws.merge_cells(title_rng)
    t = ws.cell(row=TITLE_ROW, column=table.first_col, value=table.title)
    t.font = Font(name="黑体", size=14, bold=True)
    t.alignment = Alignment(horizontal="left", vertical="center")
    ws.row_dimensions[TITLE_ROW].height = 24
    info_rng = addr.make_range(table.first_col, INFO_ROW, last_col, INFO_ROW)
    ws.merge_cells(info_rng)
    hs = addr.quote_sheet(form.header_sheet)
    agency = form.header_field("hdr.agency").cell
    year = form.header_field("hdr.year").cell
    info = ws.cell(row=INFO_ROW, column=table.first_col)
    info.value = (
        f'="填报单位："&{hs}!{addr.absolute(agency)}&"    报告年度："&{hs}!{addr.absolute(year)}'
        f'&"    表式：{form.name}"'
    )
    info.font = Font(name=FONT, size=10)
    info.alignment = Alignment(horizontal="left", vertical="center")
    n_checks = sum(1 for c in checks if c.sheet == table.sheet)
    note_row = max(table.last_row, *(addr.split_ref(c.cell)[1] for c in checks if c.sheet == table.sheet),
                   0) + 2 if n_checks else table.last_row + 2
    note = ws.cell(row=note_row, column=table.first_col)
    note.value = (
        "说明：浅黄色单元格为填写区（浅蓝色为总计，须手工填写）；没有的项目请填 0，不要填“-”“/”或文字。"
        f"“校验”由公式自动计算：{PASS_MARK} 表示通过，{FAIL_MARK} 表示不平衡并给出应填的数，"
        f"{WARN_MARK} 表示含文字（以橙色显示），请改为数字。"
    )
    note.font = Font(name=FONT, size=9, color="595959")
    note.alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
    ws.merge_cells(addr.make_range(table.first_col, note_row, last_col, note_row))
    ws.row_dimensions[note_row].height = 30
    # Freeze the header rows (and the label columns where the table has them).
    label_cols = min(addr.split_ref(form.cells[c].ref)[0] for c in table.cell_ids) - 1
    ws.freeze_panes = addr.make_ref(label_cols + 1, table.first_row + table.header_rows)
    ws.sheet_view.zoomScale = 100
    # Print: A4, fit to one page wide, header rows repeated.
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape" if table.n_cols > 4 else "portrait"
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 1  # each official table is printed on one page
    fit_to_page(ws)
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.print_title_rows = f"{table.first_row}:{table.first_row + table.header_rows - 1}"
    ws.print_area = addr.make_range(table.first_col, TITLE_ROW, last_col, note_row)
    if ws.oddFooter is not None:
        ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    protect(ws)


def _define_names(wb: Workbook, form: Form) -> None:
    for cell in form.cells.values():
        wb.defined_names[cell.id] = DefinedName(cell.id, attr_text=addr.absolute(cell.ref, cell.sheet))
    for h in form.header:
        wb.defined_names[h.id] = DefinedName(h.id, attr_text=addr.absolute(h.cell, h.sheet))


def save_workbook_atomic(wb: Workbook, path: Path) -> Path:
    """Save via a temporary file in the same folder and rename (:func:`outputs.atomic_write`),
    so a crash or a full disk never leaves a half-written workbook where a good one was expected."""
    from .outputs import atomic_write

    return atomic_write(Path(path), wb.save)


def write_template(form: Form, path: Path) -> Path:
    """Build and atomically save the template for ``form`` at ``path``."""
    return save_workbook_atomic(build_template(form), path)


def template_filename(version: str) -> str:
    return f"gkreport-template-{version}.xlsx"
