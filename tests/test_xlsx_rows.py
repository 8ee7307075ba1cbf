"""Bulk rows spliced into a saved workbook: read back by openpyxl, calamine and LibreOffice."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import python_calamine as pc
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from openpyxl.styles import Font

from conftest import lo_convert
from gkreport.output.safety import EXCEL_MAX
from gkreport.output.xlsx_rows import BulkRows, save_with_rows

ROWS = [
    ["甲单位", 1, 2.5, None, "=SUM(A1:A2)"],
    ["乙<单位>&\"", 0, -3, "", "+cmd|' /C calc'!A0"],
    ["控制\x01字符\x0b", float("inf"), 1e308, 12345678901234, "@x"],
    ["", None, None, None, "   前后空格  "],
]


def _book() -> openpyxl.Workbook:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "明细"
    for i, t in enumerate(["单位", "甲", "乙", "丙", "丁"], start=1):
        ws.cell(row=1, column=i, value=t).font = Font(bold=True)
    ws.freeze_panes = "B2"
    ws.auto_filter.ref = f"A1:E{len(ROWS) + 1}"
    other = wb.create_sheet("其他")
    other["A1"] = "不动"
    return wb


def test_rows_read_back_exactly_and_strings_stay_text(tmp_path: Path) -> None:
    out = tmp_path / "out.xlsx"
    save_with_rows(_book(), out, {"明细": BulkRows(2, iter(ROWS), len(ROWS), 5)})
    assert [p.name for p in tmp_path.iterdir()] == ["out.xlsx"]  # no temporary files left

    wb = openpyxl.load_workbook(out)
    ws = wb["明细"]
    assert ws["A1"].value == "单位" and ws["A1"].font.b  # openpyxl's header kept, with its style
    assert ws.freeze_panes == "B2" and ws.auto_filter.ref == "A1:E5"
    assert wb["其他"]["A1"].value == "不动"
    got = [list(r) for r in ws.iter_rows(min_row=2, max_col=5, values_only=True)]
    assert got[0] == ["甲单位", 1, 2.5, None, "=SUM(A1:A2)"]
    assert ws["E2"].data_type == "s" and ws["E3"].data_type == "s"  # never formulas
    assert got[1] == ['乙<单位>&"', 0, -3, None, "+cmd|' /C calc'!A0"]
    assert got[2] == ["控制字符", "inf", "1e+308", 12345678901234, "@x"]  # kept as text, nothing lost
    assert got[3] == [None, None, None, None, "   前后空格  "]
    assert ws.max_row == 5

    cal = pc.CalamineWorkbook.from_path(str(out)).get_sheet_by_name("明细").to_python()
    assert cal[1][:3] == ["甲单位", 1.0, 2.5] and cal[2][4] == "+cmd|' /C calc'!A0"


def test_libreoffice_reads_the_spliced_rows(tmp_path: Path) -> None:
    src = tmp_path / "in.xlsx"
    save_with_rows(_book(), src, {"明细": BulkRows(2, ROWS, len(ROWS), 5)})
    back = lo_convert(src, "xlsx", tmp_path / "lo")
    ws = openpyxl.load_workbook(back)["明细"]
    assert ws["A2"].value == "甲单位" and ws["C2"].value == 2.5 and ws["D5"].value is None
    assert ws["E2"].value == "=SUM(A1:A2)" and ws["E2"].data_type == "s"
    assert ws["B3"].value == 0 and ws["A3"].value == '乙<单位>&"'


def test_refuses_to_append_over_existing_rows(tmp_path: Path) -> None:
    wb = _book()
    wb["明细"]["C3"] = "已有"
    out = tmp_path / "x.xlsx"
    with pytest.raises(ValueError, match="already has rows"):
        save_with_rows(wb, out, {"明细": BulkRows(2, ROWS, len(ROWS), 5)})
    assert list(tmp_path.iterdir()) == []


def test_empty_sheet_and_many_columns(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "空"
    rows = [[i * 1000 + j for j in range(300)] for i in range(3)]
    out = save_with_rows(wb, tmp_path / "e.xlsx", {"空": BulkRows(1, rows, 3, 300)})
    ws = openpyxl.load_workbook(out)["空"]
    assert ws.max_column == 300 and ws.cell(row=3, column=300).value == 2299
    assert ws.calculate_dimension() == "A1:KN3"


def test_row_count_is_checked_and_nothing_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="expected 9 rows"):
        save_with_rows(_book(), tmp_path / "x.xlsx", {"明细": BulkRows(2, ROWS, 9, 5)})
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.one_of(st.none(), st.text(max_size=30), st.integers(-10**20, 10**20),
                                   st.floats(allow_nan=True, allow_infinity=True)), min_size=1, max_size=6),
                min_size=1, max_size=8))
@example(rows=[["行一\r\n行二\r", "\x1f", "\ufffe不\ud800可", " 前后空格 "], [1e308, -0.0, 2**70]])
def test_any_values_round_trip_or_become_text(tmp_path: Path, rows: list[list[object]]) -> None:
    """Whatever a report holds, the file opens and each value reads back as itself (a string
    without the characters XML cannot hold, or text for a number Excel cannot store)."""
    out = tmp_path / "fuzz.xlsx"
    save_with_rows(openpyxl.Workbook(), out, {"Sheet": BulkRows(1, rows, len(rows), 6)})
    ws = openpyxl.load_workbook(out)["Sheet"]
    for r, row in enumerate(rows, start=1):
        for c, v in enumerate(row, start=1):
            got = ws.cell(row=r, column=c).value
            if isinstance(v, str):
                kept = "".join(ch for ch in v if ch in "\t\n\r" or ("\x20" <= ch <= "\ud7ff")
                               or ("\ue000" <= ch <= "\ufffd") or ch >= "\U00010000")
                assert got == (kept or None), (v, got)
            elif v is None:
                assert got is None
            elif isinstance(v, float) and (v != v or abs(v) > EXCEL_MAX):
                assert got == repr(v)
            else:
                assert got == pytest.approx(v, rel=1e-15) or got == str(v), (v, got)
