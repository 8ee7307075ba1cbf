"""The open workbook, read as it is on screen, as a Report (the 校验 button's input).

Split from :mod:`gkreport.addin.excel` (which re-exports :func:`read_live_report`). Values are
read from Excel, one read per sheet; cells are found by the template's defined names, else
by the official layout. Finding cells and turning a raw value into a
:class:`~gkreport.core.values.Value` are the file reader's own functions
(:mod:`gkreport.readers.workbook_layout`), so a file and the same workbook open in Excel
are read alike; only fetching the grid and the names goes through xlwings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from gkreport.addin.excel_app import ExcelUserError

if TYPE_CHECKING:  # pragma: no cover
    import xlwings as xw

    from gkreport.core.report import Report

MAX_ROWS = 400  # same bound as the file reader: an inflated used range is not read
RESULTS_SHEET = "校验结果"  # = gkreport.markers.marking.RESULTS_SHEET (checked by a test)
STATE_SHEET = "_gkreport_marks"  # = gkreport.markers.marking.STATE_SHEET
_CALC_SHEET = "_gkreport_calc"  # = gkreport.core.livecalc.CALC_SHEET (the live checks' helper)
_SKIP_SHEETS = (RESULTS_SHEET, STATE_SHEET, _CALC_SHEET)

Location = tuple[str, str]  # (sheet, A1 ref)


def _sheet_grid(sheet: Any) -> list[list[Any]]:
    """All values of a sheet from A1 to its last used cell, in one read."""
    used = sheet.used_range
    last = used.last_cell
    rows, cols = min(last.row, MAX_ROWS), last.column
    values = sheet.range((1, 1), (rows, cols)).options(ndim=2).value
    return values or []


def _book_names(book: xw.Book) -> dict[str, Location]:
    """Workbook-level names pointing at one cell: cell id -> (sheet, ref).

    Excel gives ``refers_to`` as a formula (``='表一 主动公开'!$B$6``); past the ``=`` it is
    the text the file reader parses (:func:`~gkreport.readers.workbook_layout.name_target`).
    """
    from gkreport.readers.workbook_layout import name_target

    out: dict[str, Location] = {}
    try:
        names = list(book.names)
    except Exception:  # Excel boundary: an engine without names (COM's own error types)
        return out
    for n in names:
        try:
            name, refers = str(n.name), n.refers_to
        except Exception:  # Excel boundary: a name Excel cannot describe (COM's own error types)
            continue
        if "!" in name or not isinstance(refers, str):
            continue  # sheet-scoped names are not ours
        loc = name_target(refers.strip().removeprefix("="))
        if loc is not None:
            out[name] = loc
    return out


def _at(grid: Mapping[str, list[list[Any]]], loc: Location) -> Any:
    """The raw value at (sheet, ref): the file reader's grid lookup, by address."""
    from gkreport.core import addresses as addr
    from gkreport.readers.workbook_layout import _at as at

    sheet, ref = loc
    col, row = addr.split_ref(ref)
    return at(grid, sheet, row - 1, col - 1)


def read_live_report(book: xw.Book) -> tuple[Report, dict[str, Location]]:
    """The open workbook as a Report, plus where each cell id actually is."""
    from gkreport.core.report import Report
    from gkreport.readers.workbook_layout import _detect_by_layout, _value, detect_form_by_names

    grid: dict[str, list[list[Any]]] = {}
    for sheet in book.sheets:
        if sheet.name in _SKIP_SHEETS:
            continue
        grid[sheet.name] = _sheet_grid(sheet)
    names = _book_names(book)
    form = detect_form_by_names(names)
    if form is not None:
        positions = {cid: (c.sheet, c.ref) for cid, c in form.cells.items()}
        positions |= {h.id: (h.sheet, h.cell) for h in form.header}
        where = {k: names.get(k, v) for k, v in positions.items()}
    else:
        form = _detect_by_layout(grid, None)
        if form is None:
            raise ExcelUserError(
                "当前工作簿不是年报填报表：既没有模板中的单元格名称，也没有找到按官方表式排列的表格。\n"
                "请打开用“新建填报表”生成的工作簿后再校验。"
            )
        where = {cid: (c.sheet, c.ref) for cid, c in form.cells.items()}
        where |= {h.id: (h.sheet, h.cell) for h in form.header}
    missing = sorted({s for s, _ in where.values() if s not in grid})
    if missing:
        raise ExcelUserError("工作簿缺少工作表：" + "、".join(missing) + "（可能被删除或改名）。")
    values = {cid: _value(_at(grid, where[cid]), c.type, c.unit) for cid, c in form.cells.items()}
    header = {h.id: _at(grid, where[h.id]) for h in form.header}
    source = str(getattr(book, "name", ""))
    return Report(form=form, values=values, header=header, source=source), where
