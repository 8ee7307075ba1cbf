"""Write the official template workbook for one form version (openpyxl).

The template reproduces the printed tables (labels verbatim, the official merges), adds
a header sheet, defines a workbook-level name for every data cell and header field
(the name *is* the cell id, so code finds cells by name, not by coordinates), unlocks
only the input cells, validates what is typed, and carries **live checks**: a formula
per rule identity that shows ✓, ✗ with what is wrong, or ⚠ where a cell holds text, plus
conditional formatting that turns a failing total red. The checks read every cell as the
engine does (see :mod:`gkreport.livecalc`), so they never contradict ``check``. All of this
works in Excel, WPS or LibreOffice with no add-in installed.

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

import datetime as dt
import math
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import Workbook
from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from . import addresses as addr
from . import livecalc, rule_types
from .forms import TYPE_LABEL, CellDef, Form, RuleInstance, TableDef

PASS_MARK = "✓"
FAIL_MARK = "✗"
WARN_MARK = "⚠"
TEXT_NOTE = f"{WARN_MARK} 含文字，请改为数字"
REJECTED_NOTE = f"{WARN_MARK} 含无效内容，请改正"
FIXED_TIME = dt.datetime(2024, 1, 1)

FONT = "宋体"
THIN = Side(style="thin", color="000000")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
INPUT_FILL = PatternFill("solid", fgColor="FFF9E5")
TOTAL_FILL = PatternFill("solid", fgColor="EAF1FB")
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


@dataclass(frozen=True)
class LiveCheck:
    """Where one rule identity's check formula sits in the template."""

    instance: RuleInstance
    sheet: str
    cell: str  # address on ``sheet``


@dataclass(frozen=True)
class CheckLine:
    """A header (for ``right``) or label (for ``below``) of a group of live checks."""

    sheet: str
    range: str
    text: str


def live_checks(form: Form) -> tuple[list[LiveCheck], list[CheckLine]]:
    """Place one check cell per identity of every rule marked ``live`` in the rules file.

    ``right``: a column just right of the table, on the row of the identity's total.
    ``below``: one row per rule under the table, under the column of its total. Rules
    needing last year's report have no live check (the template has no last year).
    """
    checks: list[LiveCheck] = []
    lines: list[CheckLine] = []
    next_right: dict[str, int] = {}
    next_below: dict[str, int] = {}
    used: set[tuple[str, str]] = set()
    for rule in form.rules:
        if not rule.live or not rule.instances or rule.needs:
            continue
        anchor_cell = form.cells[rule.instances[0].left[0].cell]
        table = form.table(anchor_cell.table)
        placed: list[str] = []
        if rule.live == "right":
            col = next_right.get(table.id, table.last_col + 1)
            next_right[table.id] = col + 1
            for inst in rule.instances:
                _, row = addr.split_ref(form.cells[inst.left[0].cell].ref)
                placed.append(addr.make_ref(col, row))
            lines.append(CheckLine(
                table.sheet,
                addr.make_range(col, table.first_row, col, table.first_row + table.header_rows - 1),
                f"校验：{rule.title}",
            ))
        else:
            row = next_below.get(table.id, table.last_row + 1)
            next_below[table.id] = row + 1
            cols = []
            for inst in rule.instances:
                col, _ = addr.split_ref(form.cells[inst.target or inst.left[0].cell].ref)
                cols.append(col)
                placed.append(addr.make_ref(col, row))
            first = min(cols)
            if first > table.first_col:
                lines.append(CheckLine(
                    table.sheet, addr.make_range(table.first_col, row, first - 1, row), f"校验：{rule.title}"
                ))
        for inst, cell in zip(rule.instances, placed, strict=True):
            if (table.sheet, cell) in used:
                raise ValueError(f"规则 {rule.id} 的校验单元格 {cell} 与其他校验重叠")
            used.add((table.sheet, cell))
            checks.append(LiveCheck(inst, table.sheet, cell))
    return checks, lines


# ------------------------------------------------------------------------------ formulas


def check_formula(check: LiveCheck, form: Form, lay: livecalc.CalcLayout) -> str:
    """The live check: ✗ exactly where the engine reports the identity (the cells read as
    the engine reads them, see :mod:`gkreport.livecalc`), with the expected value or the
    imbalance; else ⚠ where a cell holds text ("5件", "/", "１２") or something the engine
    rejects; else ✓."""
    inst = check.instance
    live = rule_types.get(inst.rule.type).live
    if live is None:
        raise ValueError(f"规则 {inst.rule.id} 的类型 {inst.rule.type} 没有现场校验公式")
    fails, fail = live(inst, form, lay, FAIL_MARK)
    terms = inst.left + inst.right
    rejected = livecalc.band_count(terms, form, lay, livecalc.REJECTED)
    text = livecalc.band_count(terms, form, lay, livecalc.TEXT_READ)
    return (f'=IFERROR(IF({fails},{fail},IF({rejected}>0,"{REJECTED_NOTE}",'
            f'IF({text}>0,"{TEXT_NOTE}","{PASS_MARK}"))),"{FAIL_MARK} 无法计算")')


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

    header_ws = wb.active
    header_ws.title = form.header_sheet
    table_ws = {t.sheet: wb.create_sheet(t.sheet) for t in form.tables}

    for table in form.tables:
        _write_table(table_ws[table.sheet], table, form)
    for line in lines:
        ws = table_ws[line.sheet]
        _label(ws, line.range, line.text, HEAD_FILL, Font(name=FONT, size=9, bold=True))
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
        ws.conditional_formatting.add(chk.cell, FormulaRule(formula=[failing], fill=FAIL_FILL, font=FAIL_FONT))
        ws.conditional_formatting.add(chk.cell, FormulaRule(
            formula=[f'LEFT({addr.absolute(chk.cell)},1)="{WARN_MARK}"'], fill=WARN_FILL, font=WARN_FONT))
        if chk.instance.target:
            target = form.cells[chk.instance.target]
            ws.conditional_formatting.add(target.range, FormulaRule(formula=[failing], fill=FAIL_FILL,
                                                                    font=FAIL_FONT))
    for table in form.tables:
        _flag_text_cells(table_ws[table.sheet], table, lay)
    _write_calc_sheet(wb.create_sheet(livecalc.CALC_SHEET), form, lay)
    for table in form.tables:
        ws = table_ws[table.sheet]
        extra = [addr.split_ref(c.cell)[0] for c in checks if c.sheet == table.sheet]
        last_col = max([table.last_col, *extra])
        _finish_table_sheet(ws, table, form, last_col, checks)
    _write_header_sheet(header_ws, form, checks, lay)
    _define_names(wb, form)
    return wb


def _flag_text_cells(ws: Worksheet, table: TableDef, lay: livecalc.CalcLayout) -> None:
    """A data cell holding text or a rejected value shows it in orange bold while it does,
    so the clerk sees which cell a ⚠ of the live checks is about. The font only: a fill
    would hide the red or yellow fill ``check --mark`` gives the same cell."""
    grid = addr.make_range(table.first_col, table.first_row, table.last_col, table.last_row)
    top = addr.split_ref(lay.band_range(table, "state").split(":")[0])
    state = addr.quote_sheet(livecalc.CALC_SHEET) + "!" + addr.make_ref(*top)
    ws.conditional_formatting.add(grid, FormulaRule(formula=[f"{state}>0"], font=TEXT_FONT))


def _write_calc_sheet(ws: Worksheet, form: Form, lay: livecalc.CalcLayout) -> None:
    """The very hidden sheet of :mod:`gkreport.livecalc`: how the engine reads each cell."""
    ws["A1"] = "gkreport：各数据单元格按校验程序的读法换算的结果，供“校验”公式使用。请勿修改。"
    for ref, formula in livecalc.calc_cells(form, lay):
        ws[ref] = formula
    ws.sheet_state = "veryHidden"
    _protect(ws)


def _label(ws: Worksheet, rng: str, text: str, fill: PatternFill | None, font: Font,
           align: Alignment = CENTER) -> None:
    first = rng.split(":")[0]
    if ":" in rng:
        ws.merge_cells(rng)
    for col, row in addr.cells_in(rng):
        cell = ws.cell(row=row, column=col)
        cell.border = BORDER
        if fill is not None:
            cell.fill = fill
    cell = ws[first]
    cell.value = text
    cell.font = font
    cell.alignment = align


def _write_table(ws: Worksheet, table: TableDef, form: Form) -> None:
    styles = {
        "block": (BLOCK_FILL, Font(name=FONT, size=10, bold=True), LEFT),
        "head": (HEAD_FILL, Font(name=FONT, size=10, bold=True), CENTER),
        "row": (None, Font(name=FONT, size=10), LEFT),
        "note": (None, Font(name=FONT, size=9), CENTER),
    }
    for lab in table.labels:
        fill, font, align = styles[lab.style]
        _label(ws, lab.range, lab.text, fill, font, align)
    groups: dict[str, list[CellDef]] = {}
    for cell in form.table_cells(table.id):
        if ":" in cell.range:
            ws.merge_cells(cell.range)
        for col, row in addr.cells_in(cell.range):
            c = ws.cell(row=row, column=col)
            c.border = BORDER
            c.fill = TOTAL_FILL if cell.kind == "total" else INPUT_FILL
            c.protection = UNLOCKED
        anchor = ws[cell.ref]
        anchor.alignment = Alignment(horizontal="right", vertical="center")
        anchor.font = Font(name=FONT, size=10, bold=cell.kind == "total")
        anchor.number_format = "General"
        groups.setdefault(cell.type, []).append(cell)
    for ctype, cells in groups.items():
        ws.add_data_validation(_validation(ctype, cells))


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
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_options.horizontalCentered = True
    ws.page_margins.left = ws.page_margins.right = 0.5
    ws.print_title_rows = f"{table.first_row}:{table.first_row + table.header_rows - 1}"
    ws.print_area = addr.make_range(table.first_col, TITLE_ROW, last_col, note_row)
    ws.oddFooter.center.text = "第 &P 页，共 &N 页"
    _protect(ws)


def _protect(ws: Worksheet) -> None:
    """Lock labels and formulas; no password, so a clerk can unprotect when needed."""
    p = ws.protection
    p.sheet = True
    p.formatColumns = False  # allow widening columns
    p.formatRows = False
    p.selectLockedCells = False
    p.selectUnlockedCells = False


def _write_header_sheet(ws: Worksheet, form: Form, checks: Sequence[LiveCheck], lay: livecalc.CalcLayout) -> None:
    ws.column_dimensions["A"].width = 16
    ws.column_dimensions["B"].width = 48
    ws.column_dimensions["C"].width = 56
    ws.merge_cells("A1:C1")
    ws["A1"] = f"{form.title} 统计表（{form.name}）"
    ws["A1"].font = Font(name="黑体", size=16, bold=True)
    ws["A1"].alignment = CENTER
    ws.row_dimensions[1].height = 30
    years = f"{form.year_min}年度" + (f"至{form.year_max}年度" if form.year_max else "及以后")
    ws.merge_cells("A2:C2")
    ws["A2"] = f"依据{form.defined_by}，用于{years}的报告。浅黄色单元格为填写区，其余内容已锁定（保护无密码）。"
    ws["A2"].font = Font(name=FONT, size=10)
    ws["A2"].alignment = LEFT
    for col, text in zip("ABC", ("项目", "填写内容", "说明"), strict=True):
        _label(ws, f"{col}3", text, HEAD_FILL, Font(name=FONT, size=10, bold=True))
    last = 3
    for h in form.header:
        col, row = addr.split_ref(h.cell)
        last = max(last, row)
        _label(ws, addr.make_ref(col - 1, row), h.label + ("（必填）" if h.required else ""), None,
               Font(name=FONT, size=10, bold=h.required), LEFT)
        c = ws[h.cell]
        c.border = BORDER
        c.font = Font(name=FONT, size=11)
        c.alignment = LEFT
        if h.fixed is not None:
            c.value = h.fixed
            c.fill = HEAD_FILL
        else:
            c.fill = INPUT_FILL
            c.protection = UNLOCKED
        if h.type == "year":
            c.number_format = "0"
            dv = DataValidation(type="whole", operator="between", formula1="2008", formula2="2100",
                                errorStyle="stop", allow_blank=True)
            dv.error = "报告年度应为四位数字的年份，例如 2024。"
        elif h.type == "date":
            c.number_format = "yyyy-mm-dd"
            dv = DataValidation(type="date", operator="greaterThan", formula1="39448",
                                errorStyle="warning", allow_blank=True)
            dv.error = "请填写日期，例如 2025-01-20。"
        else:
            dv = None
        if dv is not None:
            dv.errorTitle = "填写内容有误"
            dv.showErrorMessage = True
            if h.prompt:
                dv.promptTitle = h.label
                dv.prompt = h.prompt
                dv.showInputMessage = True
            dv.add(h.cell)
            ws.add_data_validation(dv)
        note = ws.cell(row=row, column=col + 1, value=h.prompt or "")
        note.font = Font(name=FONT, size=9, color="595959")
        note.alignment = LEFT
        note.border = BORDER
        ws.row_dimensions[row].height = 20
    # Overall state of the live checks, and the form-version check.
    row = last + 2
    _label(ws, f"A{row}", "表内校验", HEAD_FILL, Font(name=FONT, size=10, bold=True), LEFT)
    ranges = [addr.absolute(rng, sheet) for sheet in dict.fromkeys(c.sheet for c in checks)
              for rng in _check_ranges([c for c in checks if c.sheet == sheet])]
    fails = "+".join(f'SUMPRODUCT(--(LEFT({r},1)="{FAIL_MARK}"))' for r in ranges) or "0"
    warns = "+".join(f'SUMPRODUCT(--(LEFT({r},1)="{WARN_MARK}"))' for r in ranges) or "0"
    _status_cell(ws, row, (
        f'=IF({fails}>0,"{FAIL_MARK} 有 "&({fails})&" 项未通过，见各表的“校验”列/行",'
        f'IF({warns}>0,"{WARN_MARK} 合计均平衡，但有 "&({warns})&" 项含文字或无效内容，见各表的“校验”列/行",'
        f'"{PASS_MARK} 全部通过"))'
    ), f'LEFT(B{row},1)<>"{PASS_MARK}"', "表二、表三的合计与勾稽关系（以及2019版表一的项目数）是否平衡")
    row += 1
    _label(ws, f"A{row}", "数字格式", HEAD_FILL, Font(name=FONT, size=10, bold=True), LEFT)
    state = [addr.absolute(lay.band_range(t, "state"), livecalc.CALC_SHEET) for t in form.tables]
    text = "+".join(f"COUNTIF({r},{livecalc.TEXT_READ})" for r in state)
    rejected = "+".join(f"COUNTIF({r},{livecalc.REJECTED})" for r in state)
    _status_cell(ws, row, (
        f'=IF(({text})+({rejected})=0,"{PASS_MARK} 均为数字或空白",'
        f'"{WARN_MARK} "&IF(({text})>0,({text})&" 个单元格含文字（如“5件”“/”“１２”），请改为数字"'
        f'&IF(({rejected})>0,"；",""),"")&IF(({rejected})>0,({rejected})&" 个单元格不是有效的数字",""))'
    ), f'LEFT(B{row},1)<>"{PASS_MARK}"', "文字按校验程序的读法计入合计（“5件”按 5，“/”按 0），但应改为数字；"
       "含文字的单元格以橙色粗体显示")
    row += 1
    year_cell = form.header_field("hdr.year").cell
    _label(ws, f"A{row}", "表式与年度", HEAD_FILL, Font(name=FONT, size=10, bold=True), LEFT)
    ok = f"{year_cell}>={form.year_min}" + (f",{year_cell}<={form.year_max}" if form.year_max else "")
    other = "2019版" if form.year_max is None else "2021版"
    _status_cell(ws, row, (
        f'=IF({year_cell}="","（请先填写报告年度）",IF(AND({ok}),"{PASS_MARK} {form.name}适用于"&{year_cell}'
        f'&"年度","{FAIL_MARK} "&{year_cell}&"年度的报告应使用{other}表式"))'
    ), f'LEFT(B{row},1)="{FAIL_MARK}"', "2019版表式用于2019、2020年度；2021版表式用于2021年度及以后")
    row += 1
    _label(ws, f"A{row}", "填写进度", HEAD_FILL, Font(name=FONT, size=10, bold=True), LEFT)
    counted = []
    for table in form.tables:
        counted.extend(addr.absolute(form.cells[cid].ref, table.sheet) for cid in table.cell_ids)
    n = len(counted)
    chunks = [",".join(counted[i:i + 200]) for i in range(0, n, 200)]
    filled = "+".join(f"COUNTA({chunk})" for chunk in chunks)
    c = ws[f"B{row}"]
    c.value = f'="已填写 "&({filled})&" / {n} 个数据单元格"'
    c.border = BORDER
    c.alignment = LEFT
    ws[f"C{row}"] = "空白单元格在校验时按 0 计算，但不会被改成 0"
    for r in range(last + 2, row + 1):
        ws[f"C{r}"].font = Font(name=FONT, size=9, color="595959")
        ws[f"C{r}"].alignment = LEFT
        ws[f"C{r}"].border = BORDER
    row += 2
    ws.merge_cells(f"A{row}:C{row + 3}")
    ws[f"A{row}"] = (
        "填报说明：1. 表一、表二、表三分别在后面三个工作表中，按官方表式排版；"
        "2. 没有发生的事项请填 0，不要填“-”“/”“无”或带单位的文字；"
        "3. 各表的“校验”列/行会自动提示合计与勾稽关系是否平衡；"
        "4. 部门应于1月31日前、县级政府应于3月31日前公开年度报告（《政府信息公开条例》第四十九条）。"
    )
    ws[f"A{row}"].font = Font(name=FONT, size=9, color="595959")
    ws[f"A{row}"].alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    _protect(ws)


def _status_cell(ws: Worksheet, row: int, formula: str, failing: str, note: str) -> None:
    """A status line of the header sheet: live formula in B (red while ``failing``, yellow
    while it starts with ⚠), note in C; two lines high, as the messages are long."""
    c = ws[f"B{row}"]
    c.value = formula
    c.border = BORDER
    c.alignment = LEFT
    ws.conditional_formatting.add(f"B{row}", FormulaRule(formula=[f'LEFT(B{row},1)="{WARN_MARK}"'], fill=WARN_FILL,
                                                         font=WARN_FONT, stopIfTrue=True))
    ws.conditional_formatting.add(f"B{row}", FormulaRule(formula=[failing], fill=FAIL_FILL, font=FAIL_FONT))
    ws[f"C{row}"] = note
    ws.row_dimensions[row].height = 30


def print_as_list(ws: Worksheet, title_rows: str = "1:1", *, fit_width: bool = True, title_cols: str | None = None) -> None:
    """Print set-up for a list sheet (results, 报送情况, 问题清单): A4 landscape, the header
    rows repeated on every page, and all columns on one page width unless it is too wide."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols
    if fit_width:
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 0
        ws.sheet_properties.pageSetUpPr.fitToPage = True


def fit_wrapped_rows(ws: Worksheet, column: str, first_row: int = 2, line_height: float = 15.0, *,
                     keep_taller: bool = False) -> None:
    """Row heights for wrapped text in ``column`` (openpyxl cannot measure text, and
    LibreOffice and WPS do not re-fit rows on opening, so long messages would overlap).
    Width units as Excel counts them: a Chinese character takes two. ``keep_taller``:
    a second wrapped column only ever raises a row set for the first."""
    width = ws.column_dimensions[column].width or 8.43
    for row in range(first_row, ws.max_row + 1):
        text = ws[f"{column}{row}"].value
        if not isinstance(text, str) or not text:
            continue
        lines = sum(max(1, math.ceil(_width_units(part) / max(width - 1, 1))) for part in text.split("\n"))
        height = line_height * lines
        if lines > 1 and not (keep_taller and (ws.row_dimensions[row].height or 0) >= height):
            ws.row_dimensions[row].height = height


def _width_units(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _check_ranges(checks: Sequence[LiveCheck]) -> list[str]:
    """Bounding ranges of each rule's check cells (they hold nothing else)."""
    by_rule: dict[str, list[tuple[int, int]]] = {}
    for c in checks:
        by_rule.setdefault(c.instance.rule.id, []).append(addr.split_ref(c.cell))
    out = []
    for cells in by_rule.values():
        cols = [c for c, _ in cells]
        rows = [r for _, r in cells]
        out.append(addr.make_range(min(cols), min(rows), max(cols), max(rows)))
    return out


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
