"""Write a :class:`~gkreport.consolidation.consolidate.Consolidation` as the county summary workbook.

The workbook is a document a clerk prints and files, not only a data dump, so each
sheet carries its own print set-up: A4 landscape, the header row repeated on every
page, one page wide wherever that stays legible (the 200-column 明细 is spread over a
few pages wide with the agency column repeated), charts sized to one page each.

Bulk rows (报送情况, 问题清单, 明细, the long table) are streamed by :mod:`gkreport.output.xlsx_rows`,
with cell formats registered once and referred to by index; openpyxl writes the headers,
print set-up and the short sheets (分级汇总's 200 rows, 图表). Every name and count the
roster check produces is worded once, in :mod:`gkreport.consolidation.roster`, and used here, in the
console and in JSON alike.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook

from gkreport.core.forms import SEVERITY_LABEL, Form, load_form
from gkreport.core.forms_meta import form_meta
from gkreport.output.safety import set_value, xml_safe
from gkreport.output.xlsx_rows import BulkRows

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
    _listing,
)
from .consolidate_model import CellValues
from .rollup import add_manifest, summary_header
from .roster import NORMALISED, roster_line
from .summary_progress import with_progress
from .summary_style import _BOLD as _BOLD
from .summary_style import _HEAD_ALIGN as _HEAD_ALIGN
from .summary_style import _HEAD_FILL as _HEAD_FILL
from .summary_style import _SECTION as _SECTION
from .summary_style import _WRAP as _WRAP
from .summary_style import BAD_FILL_RGB as BAD_FILL_RGB
from .summary_style import BAR_LIMIT as BAR_LIMIT
from .summary_style import CHART_SHEET as CHART_SHEET
from .summary_style import DETAIL_SHEET as DETAIL_SHEET
from .summary_style import HEAD_FILL_RGB as HEAD_FILL_RGB
from .summary_style import LEVEL_SHEET as LEVEL_SHEET
from .summary_style import LONG_SHEET as LONG_SHEET
from .summary_style import UNCERTAIN_FILL_RGB as UNCERTAIN_FILL_RGB
from .summary_style import WARN_FILL_RGB as WARN_FILL_RGB
from .summary_style import _header as _header
from .summary_style import _print_list as _print_list
from .summary_style import _put as _put
from .summary_style import _style as _style
from .summary_style import _widths as _widths
from .summary_style import _xf as _xf
from .summary_style import lines_needed as lines_needed
from .summary_style import text_width as text_width

LEVEL_COLUMNS = (LEVEL_OWN, LEVEL_TOWN, LEVEL_UNLISTED, LEVEL_UNSET)  # 分级汇总, before 全县


def write_summary(result: Consolidation, out: Path, force: bool = False, long: bool = False,
                  progress: bool = False) -> Path:
    """Write the summary workbook atomically; refuse to replace ``out`` unless ``force``.

    ``progress`` shows a bar on stderr while the rows are written (a province's summary
    has 40,000 rows per list and takes a while after the reading is done)."""
    from gkreport.output.fill import fill_workbook
    from gkreport.output.template import build_template
    from gkreport.output.xlsx_rows import save_with_rows

    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"输出文件 {out} 已存在；如需覆盖请加 --force")
    form = result.form
    if form is None:
        raise ValueError("没有可用的报表，无法生成汇总")
    included = result.included
    wb, result.blank_workbook = result.blank_workbook, None  # filled below: never used twice
    if wb is None:
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
        from .summary_charts import charts_sheet

        charts_sheet(wb, result, form, bar)
    add_manifest(wb, result, bulk)  # the agencies it contains, for the next level (rollup.py)
    finish = with_progress(bulk) if progress else None
    # Re-check just before replacing: another run may have written it meanwhile.
    if out.exists() and not force:
        raise FileExistsError(f"输出文件 {out} 已存在；如需覆盖请加 --force")
    written = save_with_rows(wb, out, bulk)
    if finish is not None:
        finish()
    return written


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

    position = {cid: i for i, cid in enumerate(ids)}

    def wide_rows() -> Iterable[list[Any]]:
        for e in result.included:
            vals = e.summary.values
            packed = vals.doubles(ids) if isinstance(vals, CellValues) else None
            row: list[Any] = [vals.get(cid, 0) for cid in ids] if packed is None else _numbers(packed)
            for cid in e.summary.blanks:
                if cid in position:
                    row[position[cid]] = None
            yield [e.name, e.level or "", *row, e.file]

    bulk[ws.title] = BulkRows(2, wide_rows(), len(result.included), 3 + n)
    ws.freeze_panes = "C2"  # a string: ws.cell() would create a cell there
    ws.auto_filter.ref = f"A1:{get_column_letter(3 + n)}{len(result.included) + 1}"
    _widths(ws, [24, 9, *([DETAIL_WIDTH] * n), 30])
    # Excel prints about 150 width units across an A4 landscape page at 100%; at ~75% a page
    # holds ~200, so 200 columns of 10 take about ten pages wide — legible, and no more.
    total = 24 + 9 + DETAIL_WIDTH * n + 30
    _print_list(ws, "1:1", pages_wide=max(1, math.ceil(total / 200)), title_cols="A:A")


def _numbers(packed: Sequence[float]) -> list[Any]:
    """The packed doubles as :meth:`CellValues.in_order` gives them (an integral one as an int),
    in C when all are integral (most reports: counts), 0.1 ms a row faster."""
    if all(map(float.is_integer, packed)):
        return list(map(int, packed))
    return [int(x) if x.is_integer() else x for x in packed]


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


def result_shares(form: Form, sums: Mapping[str, float | int]) -> list[tuple[str, float | int]]:
    """The county's applications by outcome (see :func:`gkreport.consolidation.summary_charts.result_shares`)."""
    from .summary_charts import result_shares as shares

    return shares(form, sums)
