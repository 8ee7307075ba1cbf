"""Print set-up and row heights for list sheets (results, 报送情况, 问题清单): shared by the
markers and the summary workbook."""

from __future__ import annotations

import math
import unicodedata

from openpyxl.worksheet.properties import PageSetupProperties
from openpyxl.worksheet.worksheet import Worksheet


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
        fit_to_page(ws)


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



def fit_to_page(ws: Worksheet, fit: bool = True) -> None:
    """Turn the page set-up's fit-to-page on (or off), creating its properties if absent."""
    if ws.sheet_properties.pageSetUpPr is None:
        ws.sheet_properties.pageSetUpPr = PageSetupProperties()
    ws.sheet_properties.pageSetUpPr.fitToPage = fit
