"""The template's header sheet: the header fields, the live status of the checks, the form
and year check and the guide (its texts and deadlines come from the form's ``guide``)."""

from __future__ import annotations

from collections.abc import Sequence

from openpyxl.formatting.rule import FormulaRule
from openpyxl.styles import Alignment, Font
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from gkreport.core import addresses as addr
from gkreport.core import livecalc
from gkreport.core.forms import Form, HeaderField
from gkreport.core.forms_meta import all_forms, form_meta, form_neighbours, years_text

from .sheet_print import fit_to_page
from .template_checks import LiveCheck, check_ranges
from .template_style import (
    BORDER,
    CENTER,
    FAIL_FILL,
    FAIL_FONT,
    FAIL_MARK,
    FONT,
    HEAD_FILL,
    INPUT_FILL,
    LEFT,
    PASS_MARK,
    UNLOCKED,
    WARN_FILL,
    WARN_FONT,
    WARN_MARK,
    label,
    protect,
)

_BOLD10 = Font(name=FONT, size=10, bold=True)
_NOTE_FONT = Font(name=FONT, size=9, color="595959")


def write_header_sheet(ws: Worksheet, form: Form, checks: Sequence[LiveCheck], lay: livecalc.CalcLayout) -> None:
    """Title, header fields, the live status lines and the guide, printed on one page width."""
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
    for letter, text in zip("ABC", ("项目", "填写内容", "说明"), strict=True):
        label(ws, f"{letter}3", text, HEAD_FILL, _BOLD10)
    last = max([3, *(_header_field(ws, h) for h in form.header)])
    row = _status_lines(ws, form, checks, lay, last + 2)
    for r in range(last + 2, row + 1):
        ws[f"C{r}"].font = _NOTE_FONT
        ws[f"C{r}"].alignment = LEFT
        ws[f"C{r}"].border = BORDER
    row += 2
    ws.merge_cells(f"A{row}:C{row + 3}")
    ws[f"A{row}"] = form_meta(form).guide_text
    ws[f"A{row}"].font = _NOTE_FONT
    ws[f"A{row}"].alignment = Alignment(horizontal="left", vertical="top", wrap_text=True)
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    fit_to_page(ws)
    protect(ws)


def _header_field(ws: Worksheet, h: HeaderField) -> int:
    """One header field: its label left of the cell, the input cell (validated), the prompt
    right of it; returns the field's row."""
    col, row = addr.split_ref(h.cell)
    label(ws, addr.make_ref(col - 1, row), h.label + ("（必填）" if h.required else ""), None,
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
    dv: DataValidation | None = None
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
    note.font = _NOTE_FONT
    note.alignment = LEFT
    note.border = BORDER
    ws.row_dimensions[row].height = 20
    return row


def _status_lines(ws: Worksheet, form: Form, checks: Sequence[LiveCheck], lay: livecalc.CalcLayout,
                  row: int) -> int:
    """The overall state of the live checks, the number formats, the form and year, and the
    filling progress, from ``row`` on; returns the last row written."""
    label(ws, f"A{row}", "表内校验", HEAD_FILL, _BOLD10, LEFT)
    ranges = [addr.absolute(rng, sheet) for sheet in dict.fromkeys(c.sheet for c in checks)
              for rng in check_ranges([c for c in checks if c.sheet == sheet])]
    fails = "+".join(f'SUMPRODUCT(--(LEFT({r},1)="{FAIL_MARK}"))' for r in ranges) or "0"
    warns = "+".join(f'SUMPRODUCT(--(LEFT({r},1)="{WARN_MARK}"))' for r in ranges) or "0"
    _status_cell(ws, row, (
        f'=IF({fails}>0,"{FAIL_MARK} 有 "&({fails})&" 项未通过，见各表的“校验”列/行",'
        f'IF({warns}>0,"{WARN_MARK} 合计均平衡，但有 "&({warns})&" 项含文字或无效内容，见各表的“校验”列/行",'
        f'"{PASS_MARK} 全部通过"))'
    ), f'LEFT(B{row},1)<>"{PASS_MARK}"', form_meta(form).checks_note)
    row += 1
    label(ws, f"A{row}", "数字格式", HEAD_FILL, _BOLD10, LEFT)
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
    label(ws, f"A{row}", "表式与年度", HEAD_FILL, _BOLD10, LEFT)
    _status_cell(ws, row, _year_formula(form), f'LEFT(B{row},1)="{FAIL_MARK}"',
                 "；".join(f"{f.name}用于{years_text(f)}" for f in all_forms()))
    row += 1
    label(ws, f"A{row}", "填写进度", HEAD_FILL, _BOLD10, LEFT)
    counted: list[str] = []
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
    return row


def _year_formula(form: Form) -> str:
    """✓ while the report year is one the form is for; else ✗ naming the form that year
    needs (the neighbouring form below or above this one's years, from the rules files)."""
    year_cell = form.header_field("hdr.year").cell
    ok = f"{year_cell}>={form.year_min}" + (f",{year_cell}<={form.year_max}" if form.year_max else "")
    before, after = form_neighbours(form)

    def wrong(other: Form | None) -> str:
        use = f"应使用{other.name}" if other is not None else "没有适用的表式"
        return f'"{FAIL_MARK} "&{year_cell}&"年度的报告{use}"'

    if before is not None and after is not None:
        fail = f"IF({year_cell}<{form.year_min},{wrong(before)},{wrong(after)})"
    else:
        fail = wrong(before or after)
    return (f'=IF({year_cell}="","（请先填写报告年度）",IF(AND({ok}),"{PASS_MARK} {form.name}适用于"&{year_cell}'
            f'&"年度",{fail}))')


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

