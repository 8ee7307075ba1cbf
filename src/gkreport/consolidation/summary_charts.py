"""The summary workbook's 图表 sheet: applications by agency (bar) and by outcome (pie).

Split from :mod:`gkreport.consolidation.summary_workbook` (which re-exports :func:`result_shares`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from gkreport.core.forms import Form
from gkreport.core.forms_meta import form_meta

from .consolidate import _clean
from .consolidate_model import Consolidation
from .summary_style import (
    _BOLD,
    _HEAD_ALIGN,
    _HEAD_FILL,
    _SECTION,
    BAR_LIMIT,
    CHART_SHEET,
    _header,
    _print_list,
    _put,
    _widths,
)

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


def charts_sheet(wb: Workbook, result: Consolidation, form: Form, bar: str) -> None:
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
    chart.height, chart.width = 15.5, 24.0  # type: ignore[assignment]  # openpyxl takes cm as floats
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
    if pie.legend is not None:
        pie.legend.position = "r"
    pie.height, pie.width = 15.5, 24.0  # type: ignore[assignment]
    ws.add_chart(pie, f"A{_CHART_ROWS + 1}")
