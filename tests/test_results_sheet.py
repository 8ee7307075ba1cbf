"""The 校验结果 sheet a clerk reads: Chinese rule titles, a short 序号, readable widths,
and the fingerprint kept (hidden) in the last column."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from conftest import REAL_REPORTS, make_filled
from gkreport.core.engine import check
from gkreport.core.forms import load_form
from gkreport.core.report import report_from_raw
from gkreport.markers.checking import check_file
from gkreport.markers.marking import RESULT_HEADERS, RESULTS_SHEET, rule_title


def test_results_sheet_shows_titles_and_keeps_fingerprints(tmp_path: Path) -> None:
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    values = {**values, "t2.unable_none.person": 13, "t2.new.legal": "2件"}
    src = make_filled(tmp_path, "bad.xlsx", "2021", values, header)
    out = check_file(src, mark_dir=tmp_path / "m")
    assert out.marked is not None
    ws = openpyxl.load_workbook(out.marked)[RESULTS_SHEET]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == RESULT_HEADERS
    findings = check(report_from_raw(load_form("2021"), values, header))
    assert [r[0] for r in rows[1:]] == list(range(1, len(findings) + 1))
    titles = {r[4] for r in rows[1:]}
    assert "总计＝各类申请人之和" in titles and "数值书写格式" in titles
    assert not any(str(t).startswith("T2-") for t in titles), titles
    assert {r[7] for r in rows[1:]} == {f.id for f in findings}  # fingerprints, for scripts
    assert ws.column_dimensions["H"].hidden
    assert ws.column_dimensions["E"].width >= 28 and ws.column_dimensions["F"].width >= 60
    assert str(ws.print_area).endswith(f"$A$1:$G${len(rows)}")  # the fingerprint is not printed


def test_rule_title_falls_back_to_the_id() -> None:
    assert rule_title("T2-result-total") == "（七）总计＝各项办理结果之和"
    assert rule_title("carry-over") == "上年结转＝上年报告的结转下年度"
    assert rule_title("internal") == "internal"
