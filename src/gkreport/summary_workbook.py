"""Write a :class:`~gkreport.consolidate.Consolidation` as the county summary workbook.

The workbook is a document a clerk prints and files, not only a data dump, so each
sheet carries its own print set-up: A4 landscape, the header row repeated on every
page, one page wide wherever that stays legible (the 200-column 明细 is spread over a
few pages wide with the agency column repeated), charts sized to one page each.

Bulk rows (报送情况, 问题清单, 明细, the long table) are streamed by :mod:`gkreport.xlsx_rows`,
with cell formats registered once and referred to by index; openpyxl writes the headers,
print set-up and the short sheets (分级汇总's 200 rows, 图表). Every name and count the
roster check produces is worded once, in :mod:`gkreport.roster`, and used here, in the
console and in JSON alike.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from .consolidate import (
    ISSUES_SHEET,
    LEVEL_ALL,
    LEVEL_OWN,
    LEVEL_TOWN,
    LEVEL_UNLISTED,
    LEVEL_UNSET,
    STATUS_SHEET,
    Consolidation,
    FileEntry,
    _clean,
    _listing,
)
from .forms import SEVERITY_LABEL, Form, load_form
from .forms_meta import form_meta
from .rollup import add_manifest, summary_header
from .roster import NORMALISED, roster_line
from .safety import set_value, xml_safe
from .xlsx_rows import BulkRows

UNCERTAIN_FILL_RGB = "DCE6F1"  # light grey-blue: "this number may still change"
HEAD_FILL_RGB = "D9D9D9"
BAD_FILL_RGB = "FFC7CE"  # light red: 未报送 / 未纳入
WARN_FILL_RGB = "FFEB9C"  # light yellow: 名称不符 / 有错误
LEVEL_COLUMNS = (LEVEL_OWN, LEVEL_TOWN, LEVEL_UNLISTED, LEVEL_UNSET)  # 分级汇总, before 全县
DETAIL_SHEET, CHART_SHEET, LEVEL_SHEET, LONG_SHEET = "明细", "图表", "分级汇总", "明细（长表）"
BAR_LIMIT = 40  # agencies in the bar chart: more are not legible on one page
_SECTION = re.compile(r"^([一二三四五六七八九十]+)、")

_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor=HEAD_FILL_RGB)
_WRAP = Alignment(wrap_text=True, vertical="top")
_HEAD_ALIGN = Alignment(wrap_text=True, vertical="center", horizontal="center")


def write_summary(result: Consolidation, out: Path, force: bool = False, long: bool = False) -> Path:
    """Write the summary workbook atomically; refuse to replace ``out`` unless ``force``."""
    from .fill import fill_workbook
    from .template import build_template
    from .xlsx_rows import save_with_rows

    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"输出文件 {out} 已存在；如需覆盖请加 --force")
    form = result.form
    if form is None:
        raise ValueError("没有可用的报表，无法生成汇总")
    included = result.included
    wb = build_template(form)
    fill_workbook(wb, form, result.sums, {
        # 填报单位 and 所属地区: the region the next level identifies this summary by (rollup.py).
        **summary_header(result), "hdr.year": result.year, "hdr.date": dt.date.today(),
    })
    _mark_uncertain(wb, result, form)
    if result.has_levels:
        _levels_sheet(wb, result, form)
    bulk: dict[str, BulkRows] = {}
    _status_sheet(wb, result, bulk)
    _issues_sheet(wb, result, bulk)
    _detail_sheet(wb, result, form, bulk)
    if long:
        _long_sheet(wb, result, form, bulk)
    bar = form_meta(form).bar_cell  # the form's charts.bar: one value per agency
    if bar is not None and included:
        _charts_sheet(wb, result, form, bar)
    add_manifest(wb, result, bulk)  # the agencies it contains, for the next level (rollup.py)
    # Re-check just before replacing: another run may have written it meanwhile.
    if out.exists() and not force:
        raise FileExistsError(f"输出文件 {out} 已存在；如需覆盖请加 --force")
    return save_with_rows(wb, out, bulk)


# ---------------------------------------------------------------------------- official tables


def uncertain_note(result: Consolidation, cell_id: str) -> str | None:
    """The comment on a summary cell that may still change: who is missing, whose name is not
    confirmed, who left it blank (the same lists and words as 报送情况 and the console)."""
    parts = []
    if result.missing:
        parts.append(f"未报送（{len(result.missing)}）：" + _listing([m.name for m, _ in result.missing]))
    if result.pending:
        parts.append(f"名称不符待确认（{len(result.pending)}，已计入）："
                     + _listing([f"{p.agency}（{p.note}）" for p in result.pending], limit=5))
    blank = result.blanks.get(cell_id, [])
    if blank:
        parts.append(f"此格空白或未能读取（{len(blank)}）：" + _listing(blank))
    return "汇总数可能不完整。\n" + "\n".join(parts) if parts else None


def _mark_uncertain(wb: Workbook, result: Consolidation, form: Form) -> None:
    from openpyxl.comments import Comment

    fill = PatternFill("solid", fgColor=UNCERTAIN_FILL_RGB)
    for cid, cell in form.cells.items():
        note = uncertain_note(result, cid)
        if note is None:
            continue
        c = wb[cell.sheet][cell.ref]
        c.fill = fill
        c.comment = Comment(xml_safe(note), "gkreport", width=320, height=160)


# ---------------------------------------------------------------------------- helpers


def _header(ws: Worksheet, row: int, titles: Sequence[str], height: float | None = None) -> None:
    for i, t in enumerate(titles, start=1):
        c = ws.cell(row=row, column=i)
        set_value(c, t)
        c.font = _BOLD
        c.fill = _HEAD_FILL
        c.alignment = _HEAD_ALIGN
    if height:
        ws.row_dimensions[row].height = height


def _put(ws: Worksheet, row: int, values: Sequence[Any]) -> None:
    for i, v in enumerate(values, start=1):
        if v is not None and v != "":
            set_value(ws.cell(row=row, column=i), v)


def _style(wb: Workbook, fill: PatternFill | None = None, alignment: Alignment | None = None) -> StyleArray:
    """A cell format registered with the workbook (its fill, alignment), built without a cell."""
    style = StyleArray()
    if fill is not None:
        style.fillId = wb._fills.add(fill)
    if alignment is not None:
        style.alignmentId = wb._alignments.add(alignment)
    return style


def _widths(ws: Worksheet, widths: Sequence[float]) -> None:
    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w


# Wide (two-unit) characters: CJK, Hangul, full-width forms and CJK punctuation — the
# East Asian Width W/F ranges that occur in reports, matched in C rather than per character.
_WIDE = re.compile("[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
                   "\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]")


def text_width(text: str) -> int:
    """Width in Excel's units (a Chinese character takes two)."""
    return len(text) + len(_WIDE.findall(text))


def lines_needed(text: str, width: float) -> int:
    """Lines ``text`` wraps to in a column ``width`` wide (openpyxl cannot measure, and
    LibreOffice and WPS keep the stored row height, so rows are sized when written)."""
    per_line = max(width - 1.5, 1.0)
    if 2 * len(text) <= per_line and "\n" not in text:
        return 1  # short enough even if every character is wide (most cells: no width to count)
    return sum(max(1, math.ceil(text_width(part) / per_line)) for part in str(text).split("\n"))


def _print_list(ws: Worksheet, title_rows: str, *, pages_wide: int = 1, title_cols: str | None = None) -> None:
    """A4 landscape, ``title_rows`` (and ``title_cols``) on every page, ``pages_wide`` pages wide."""
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.orientation = "landscape"
    ws.print_title_rows = title_rows
    if title_cols:
        ws.print_title_cols = title_cols
    ws.page_setup.fitToWidth = pages_wide
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "&A　第 &P 页，共 &N 页"  # the sheet's name: pages of a printed stack


def _xf(wb: Workbook, fill: PatternFill | None = None, alignment: Alignment | None = None) -> int:
    """The cell-format (xf) index of a style, for rows xlsx_rows writes without openpyxl."""
    return wb._cell_styles.add(_style(wb, fill, alignment))


# ---------------------------------------------------------------------------- 分级汇总


def level_columns(result: Consolidation) -> list[str]:
    """The 分级汇总 columns that add up to 全县, then 全县."""
    return [lv for lv in LEVEL_COLUMNS if lv in result.level_sums] + [LEVEL_ALL]


def _levels_sheet(wb: Workbook, result: Consolidation, form: Form) -> None:
    ws = wb.create_sheet(LEVEL_SHEET)
    cols = level_columns(result)
    _header(ws, 1, ["单元格编号", "表", "行", "列", *cols], height=32)
    for r, (cid, cell) in enumerate(form.cells.items(), start=2):
        _put(ws, r, [cid, _table_short(form, cid), cell.row_label, cell.col_label,
                     *(result.level_sums[lv][cid] for lv in cols)])
    ws.freeze_panes = "E2"
    ws.auto_filter.ref = f"A1:{get_column_letter(4 + len(cols))}{len(form.cells) + 1}"
    _widths(ws, [20, 6, 52, 36, *([11] * len(cols))])
    _print_list(ws, "1:1")


def _table_short(form: Form, cid: str) -> str:
    """表一 / 表二 / 表三: the first word of the table's sheet name."""
    return form.table(form.cells[cid].table).sheet.split()[0]


# ---------------------------------------------------------------------------- 报送情况

STATUS_MISSING, STATUS_LEFT_OUT = "未报送", "未纳入"
STATUS_NEAR, STATUS_UNLISTED = "已纳入·名称不符", "已纳入·名单外"
STATUS_ERRORS, STATUS_RENAMED, STATUS_OK = "已纳入·有错误", "已纳入·名称略有不同", "已纳入"
_STATUS_ORDER = (STATUS_MISSING, STATUS_LEFT_OUT, STATUS_NEAR, STATUS_UNLISTED, STATUS_ERRORS, STATUS_RENAMED,
                 STATUS_OK)


def file_status(e: FileEntry, roster: bool) -> str:
    """The one-word status of a file in 报送情况 (its 说明 gives every reason)."""
    if not e.included:
        return STATUS_LEFT_OUT
    if roster and e.roster_name is None:
        return STATUS_NEAR if e.match is not None else STATUS_UNLISTED
    if e.summary.counts.get("error", 0):
        return STATUS_ERRORS
    if e.match is not None and e.match.kind == NORMALISED:
        return STATUS_RENAMED
    return STATUS_OK


STATUS_COLUMNS = (("名单中的单位", 24.0), ("层级", 10.0), ("文件", 30.0), ("报表所填单位名称", 24.0), ("年度", 6.0),
                  ("表式", 12.0), ("状态", 20.0), ("错误数", 6.0), ("警告数", 6.0), ("说明", 56.0),
                  ("数据指纹", 10.0))
_CENTRED = {"层级", "年度", "表式", "错误数", "警告数", "数据指纹"}
_ROSTER_ONLY = 2  # the first two columns are shown only with a roster


def status_rows(result: Consolidation) -> list[tuple[str, list[Any]]]:
    """(status, row of :data:`STATUS_COLUMNS`) for 报送情况: the roster agencies that sent
    nothing, then every file; problems first (the order of :data:`_STATUS_ORDER`)."""
    roster = result.roster is not None
    rows: list[tuple[str, list[Any]]] = []
    missing_names = {m.name for m, _ in result.missing}
    for m, note in result.missing:
        if not note:  # no file at all; one that was left out is shown on its file's row
            rows.append((STATUS_MISSING, [m.name, m.level or "", "", "", None, "", STATUS_MISSING, None, None,
                                          "名单中有此单位，未收到其报表", ""]))
    for e in result.entries:
        s = e.summary
        status = file_status(e, roster)
        reason = e.reason
        if e.roster_name in missing_names and not e.included:
            reason = f"计为未报送：{reason}"
        rows.append((status, [
            e.roster_name or "", (e.level or "") if e.roster_name else "", e.file, s.agency or "", s.year,
            load_form(s.form).name if s.form else "", status,
            s.counts.get("error", 0) if s.ok else None, s.counts.get("warning", 0) if s.ok else None, reason,
            s.fingerprint]))
    if not roster:
        rows = [(st, row[_ROSTER_ONLY:]) for st, row in rows]
    order = {s: i for i, s in enumerate(_STATUS_ORDER)}
    return sorted(rows, key=lambda sr: order[sr[0]])  # stable: roster order, then file order


def status_title(result: Consolidation) -> str:
    """The line above 报送情况's table: the counts, in the console's words."""
    left_out = len(result.entries) - len(result.included)
    line = f"共 {len(result.entries)} 个文件：纳入汇总 {len(result.included)} 个，未纳入 {left_out} 个"
    return line + (f"。{roster_line(result)}" if result.roster is not None else "")


def _status_sheet(wb: Workbook, result: Consolidation, bulk: dict[str, BulkRows]) -> None:
    ws = wb.create_sheet(STATUS_SHEET)
    roster = result.roster is not None
    columns = STATUS_COLUMNS if roster else STATUS_COLUMNS[_ROSTER_ONLY:]
    titles, widths = [t for t, _ in columns], [w for _, w in columns]
    ncol = len(titles)
    title = ws.cell(row=1, column=1)
    set_value(title, status_title(result))
    title.font = Font(bold=True, size=12)
    title.alignment = Alignment(vertical="center")
    ws.row_dimensions[1].height = 22
    _header(ws, 2, titles, height=30)
    centred = Alignment(wrap_text=True, vertical="top", horizontal="center")

    def row_styles(fill: PatternFill | None) -> list[int | None]:
        return [_xf(wb, fill, centred if t in _CENTRED else _WRAP) for t in titles]

    bad = row_styles(PatternFill("solid", fgColor=BAD_FILL_RGB))
    warn = row_styles(PatternFill("solid", fgColor=WARN_FILL_RGB))
    by_status = {STATUS_MISSING: bad, STATUS_LEFT_OUT: bad, STATUS_NEAR: warn, STATUS_UNLISTED: warn,
                 STATUS_ERRORS: warn}
    plain = row_styles(None)
    at = titles.index("状态")

    def height(row: Sequence[Any]) -> float | None:
        lines = max(lines_needed(v, w) if isinstance(v, str) and v else 1 for v, w in zip(row, widths, strict=True))
        return 15.0 * lines if lines > 1 else None

    rows = [row for _, row in status_rows(result)]
    bulk[ws.title] = BulkRows(3, rows, len(rows), ncol, styles=lambda row: by_status.get(row[at], plain),
                              height=height)
    ws.freeze_panes = "A3"
    ws.auto_filter.ref = f"A2:{get_column_letter(ncol)}{len(rows) + 2}"
    _widths(ws, widths)
    _print_list(ws, "1:2")


# ---------------------------------------------------------------------------- 问题清单


def _issues_sheet(wb: Workbook, result: Consolidation, bulk: dict[str, BulkRows]) -> None:
    ws = wb.create_sheet(ISSUES_SHEET)
    widths = [26, 28, 14, 8, 18, 8, 78]
    _header(ws, 1, ["单位", "文件", "工作表", "单元格", "规则", "严重程度", "说明"], height=20)
    issues: list[list[Any]] = [
        ["汇总", "", f.sheet or "", (f.suspects or f.cells or ("",))[0], f.rule,
         SEVERITY_LABEL.get(f.severity, f.severity), f.message] for f in result.summary_findings]
    for e in result.entries:
        s = e.summary
        if not s.ok:
            issues.append([e.name if s.agency else "", e.file, "", "", "读取失败", SEVERITY_LABEL["error"], s.error])
            continue
        issues.extend([e.name, e.file, fd["sheet"], fd["cell"], fd["rule"],
                       SEVERITY_LABEL.get(fd["severity"], fd["severity"]), fd["message"]] for fd in s.findings)

    def height(row: Sequence[Any]) -> float | None:
        lines = max(lines_needed(str(row[i]), widths[i]) for i in (0, 1, 6) if row[i])
        return 15.0 * lines if lines > 1 else None

    wrap = _xf(wb, alignment=_WRAP)
    bulk[ws.title] = BulkRows(2, issues, len(issues), 7, styles=[wrap] * 7, height=height)
    ws.auto_filter.ref = f"A1:G{len(issues) + 1}"
    ws.freeze_panes = "A2"
    _widths(ws, widths)
    _print_list(ws, "1:1")


# ---------------------------------------------------------------------------- 明细

DETAIL_WIDTH = 10.0  # one data column of 明细: six digits and a wrapped label


def detail_label(form: Form, cid: str) -> str:
    """One header for a data cell: the official label path joined, e.g. 表二·三（一）予以公开·自然人."""
    cell = form.cells[cid]
    label = cell.label
    section = _SECTION.match(cell.row_path[0]) if len(cell.row_path) > 1 else None
    if section and not label.startswith(section[0]):
        label = section[1] + label
    return f"{_table_short(form, cid)}·{label}"


def _detail_sheet(wb: Workbook, result: Consolidation, form: Form, bulk: dict[str, BulkRows]) -> None:
    """One row per agency, one column per data cell under ONE header row (a pivot table's source);
    printed a few pages wide with the agency repeated on each."""
    ids = list(form.cells)
    ws = wb.create_sheet(DETAIL_SHEET)
    labels = [detail_label(form, c) for c in ids]
    lines = max(lines_needed(t, DETAIL_WIDTH) for t in labels)
    _header(ws, 1, ["单位", "层级", *labels, "文件"], height=min(409.0, 14.0 * lines + 4))
    n = len(ids)

    def wide_rows() -> Iterable[list[Any]]:
        for e in result.included:
            vals, blank = e.summary.values, set(e.summary.blanks)
            yield [e.name, e.level or "", *(None if cid in blank else vals.get(cid, 0) for cid in ids), e.file]

    bulk[ws.title] = BulkRows(2, wide_rows(), len(result.included), 3 + n)
    ws.freeze_panes = "C2"  # a string: ws.cell() would create a cell there
    ws.auto_filter.ref = f"A1:{get_column_letter(3 + n)}{len(result.included) + 1}"
    _widths(ws, [24, 9, *([DETAIL_WIDTH] * n), 30])
    # Excel prints about 150 width units across an A4 landscape page at 100%; at ~75% a page
    # holds ~200, so 200 columns of 10 take about ten pages wide — legible, and no more.
    total = 24 + 9 + DETAIL_WIDTH * n + 30
    _print_list(ws, "1:1", pages_wide=max(1, math.ceil(total / 200)), title_cols="A:A")


def _long_sheet(wb: Workbook, result: Consolidation, form: Form, bulk: dict[str, BulkRows]) -> None:
    ids = list(form.cells)
    ws = wb.create_sheet(LONG_SHEET)
    _header(ws, 1, ["单位", "文件", "层级", "单元格编号", "表", "行", "列", "数值", "是否空白"], height=20)
    where = {cid: (form.table(c.table).title, c.row_label, c.col_label) for cid, c in form.cells.items()}

    def long_rows() -> Iterable[list[Any]]:
        for e in result.included:
            vals, blank = e.summary.values, set(e.summary.blanks)
            for cid in ids:
                yield [e.name, e.file, e.level or "", cid, *where[cid],
                       *((None, "是") if cid in blank else (vals.get(cid, 0), None))]

    bulk[ws.title] = BulkRows(2, long_rows(), len(result.included) * len(ids), 9)
    ws.auto_filter.ref = f"A1:I{len(result.included) * len(ids) + 1}"
    ws.freeze_panes = "A2"
    _widths(ws, [24, 26, 9, 22, 24, 36, 24, 10, 8])
    _print_list(ws, "1:1")


# ---------------------------------------------------------------------------- 图表

_TRAILING_NOTE = re.compile(r"（[^（）]*）$")
_CHART_ROWS = 32  # rows a one-page chart covers (default row height 15 pt)


def result_shares(form: Form, sums: Mapping[str, float | int]) -> list[tuple[str, float | int]]:
    """The county's applications by outcome (（一）予以公开, （二）部分公开, ...), from the rule
    that adds the result rows up, grouped by their heading: what the pie chart shows."""
    pie = form_meta(form).pie  # the form's charts.pie: e.g. (七)总计 = the sum of every result row
    if pie is None:
        return []
    inst = next((i for i in form.rule(pie.rule).instances if i.key == pie.instance), None)
    if inst is None:
        return []
    groups: dict[str, float | int] = {}
    for t in inst.right:
        path = form.cells[t.cell].row_path
        label = _TRAILING_NOTE.sub("", path[1] if len(path) > 1 else path[-1])
        groups[label] = groups.get(label, 0) + t.coef * sums.get(t.cell, 0)
    return list(groups.items())


def _charts_sheet(wb: Workbook, result: Consolidation, form: Form, bar: str) -> None:
    """Each chart on a page of its own (landscape A4), then the tables they are drawn from."""
    from openpyxl.chart import BarChart, Reference

    ws = wb.create_sheet(CHART_SHEET)
    included = result.included
    ranked = sorted(included, key=lambda e: -float(e.summary.values.get(bar, 0) or 0))
    top = ranked[:BAR_LIMIT]
    shares = [(k, v) for k, v in result_shares(form, result.sums)]
    has_pie = bool(shares) and any(v for _, v in shares)
    data_row = _CHART_ROWS * (2 if has_pie else 1) + 3  # the tables start below the chart pages
    what = _SECTION.sub("", form.cells[bar].row_short)  # 一、本年新收 -> 本年新收
    _header(ws, data_row, ["单位", f"{what}（件）"], height=20)
    for r, e in enumerate(ranked, start=data_row + 1):
        _put(ws, r, [e.name, e.summary.values.get(bar, 0)])
    chart = BarChart()
    chart.type = "bar"
    more = f"，前 {BAR_LIMIT} 个" if len(included) > BAR_LIMIT else ""
    chart.title = f"各单位{what}政府信息公开申请（件{more}）"
    chart.x_axis.scaling.orientation = "maxMin"  # the largest at the top, as the table reads
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    chart.y_axis.majorGridlines = None
    chart.legend = None
    chart.height, chart.width = 15.5, 24.0
    chart.add_data(Reference(ws, min_col=2, min_row=data_row, max_row=data_row + len(top)), titles_from_data=True)
    chart.set_categories(Reference(ws, min_col=1, min_row=data_row + 1, max_row=data_row + len(top)))
    ws.add_chart(chart, "A1")
    ws.row_breaks.append(Break(id=_CHART_ROWS))
    if has_pie:
        _results_pie(ws, shares, data_row)
        ws.row_breaks.append(Break(id=_CHART_ROWS * 2))
    _widths(ws, [34, 16, 4, 30, 12])
    _print_list(ws, f"{data_row}:{data_row}")
    # At 100 %: the charts' size is absolute (24 x 15.5 cm, inside an A4 landscape page), while a
    # fit-to-width scale would depend on how wide each program draws a column (LibreOffice's
    # substitute fonts make columns ~30 % wider than Excel's and shrank the charts with them).
    ws.sheet_properties.pageSetUpPr.fitToPage = False
    ws.page_setup.scale = 100


def _results_pie(ws: Worksheet, shares: Sequence[tuple[str, float | int]], data_row: int) -> None:
    """A pie of :func:`result_shares` on the second page, its little table beside the bar data."""
    from openpyxl.chart import PieChart, Reference
    from openpyxl.chart.label import DataLabelList

    col = 4  # column D
    for i, title in enumerate(("办理结果", "件数")):
        c = ws.cell(row=data_row, column=col + i, value=title)
        c.font, c.fill, c.alignment = _BOLD, _HEAD_FILL, _HEAD_ALIGN
    for r, (label, v) in enumerate(shares, start=data_row + 1):
        ws.cell(row=r, column=col, value=label)
        ws.cell(row=r, column=col + 1, value=_clean(v))
    pie = PieChart()
    pie.title = "全县政府信息公开申请办理结果"
    pie.add_data(Reference(ws, min_col=col + 1, min_row=data_row, max_row=data_row + len(shares)),
                 titles_from_data=True)
    pie.set_categories(Reference(ws, min_col=col, min_row=data_row + 1, max_row=data_row + len(shares)))
    pie.dataLabels = DataLabelList(showPercent=True, showVal=False, showCatName=False, showSerName=False,
                                   showLegendKey=False)  # the legend names the slices; the labels give shares
    pie.legend.position = "r"
    pie.height, pie.width = 15.5, 24.0
    ws.add_chart(pie, f"A{_CHART_ROWS + 1}")

