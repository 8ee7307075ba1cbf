"""Cell styles, widths and print set-up shared by the summary workbook's sheets.

Split from :mod:`gkreport.consolidation.summary_workbook` (which re-exports the public names) so the
chart sheet (:mod:`gkreport.consolidation.summary_charts`) uses the same helpers.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.styles.cell_style import StyleArray
from openpyxl.utils import get_column_letter
from openpyxl.workbook.workbook import Workbook
from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet

from gkreport.output.safety import set_value
from gkreport.output.template_style import StyleMemo

UNCERTAIN_FILL_RGB = "DCE6F1"  # light grey-blue: "this number may still change"
HEAD_FILL_RGB = "D9D9D9"
BAD_FILL_RGB = "FFC7CE"  # light red: 未报送 / 未纳入
WARN_FILL_RGB = "FFEB9C"  # light yellow: 名称不符 / 有错误
DETAIL_SHEET, CHART_SHEET, LEVEL_SHEET, LONG_SHEET = "明细", "图表", "分级汇总", "明细（长表）"
BAR_LIMIT = 40  # agencies in the bar chart: more are not legible on one page
_SECTION = re.compile(r"^([一二三四五六七八九十]+)、")

_BOLD = Font(bold=True)
_HEAD_FILL = PatternFill("solid", fgColor=HEAD_FILL_RGB)
_WRAP = Alignment(wrap_text=True, vertical="top")
_HEAD_ALIGN = Alignment(wrap_text=True, vertical="center", horizontal="center")


def _header(ws: Worksheet, row: int, titles: Sequence[str], height: float | None = None) -> None:
    memo = StyleMemo()  # 明细's 200 header cells share one format: worked out once
    for i, t in enumerate(titles, start=1):
        c = ws.cell(row=row, column=i)
        set_value(c, t)
        memo.apply(c, "header", font=_BOLD, fill=_HEAD_FILL, alignment=_HEAD_ALIGN)
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
        style.fillId = _private(wb)._fills.add(fill)
    if alignment is not None:
        style.alignmentId = _private(wb)._alignments.add(alignment)
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
    pr = ws.sheet_properties.pageSetUpPr
    if pr is None:
        pr = ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    pr.fitToPage = True
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.6
    ws.print_options.horizontalCentered = True
    footer: Any = ws.oddFooter
    footer.center.text = "&A　第 &P 页，共 &N 页"  # the sheet's name: pages of a printed stack


def _xf(wb: Workbook, fill: PatternFill | None = None, alignment: Alignment | None = None) -> int:
    """The cell-format (xf) index of a style, for rows xlsx_rows writes without openpyxl."""
    return int(_private(wb)._cell_styles.add(_style(wb, fill, alignment)))


def _private(wb: Workbook) -> Any:
    """The workbook's style tables (openpyxl keeps them private and untyped)."""
    return wb
