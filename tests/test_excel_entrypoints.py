"""The ribbon's Python entry points (gkreport.addin.excel) on xlwings' remote engine.

A remote book (``xw.Book(json=payload)``) is built from a real template workbook
(build_template + fill_workbook); writes are queued as actions, so the tests assert on
``book.json()["actions"]`` — what Excel would be told to do.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import openpyxl
import pytest

os.environ["XLWINGS_LICENSE_KEY"] = "noncommercial"

import xlwings as xw
from openpyxl import Workbook

from conftest import REAL_REPORTS
from gkreport.addin import excel, excel_app, excel_newform
from gkreport.core.forms import form_for_year, load_form
from gkreport.markers.marking import FILL, NOTE_TAG, RESULTS_SHEET, STATE_SHEET
from gkreport.markers.xlwings_marker import XlwingsMarker, is_remote
from gkreport.output.fill import fill_workbook
from gkreport.output.template import build_template

ROOT = Path(__file__).resolve().parents[1]
ERROR_FILL = "#" + FILL["error"]


# ----------------------------------------------------------------------------- payloads


def _cell(v: Any) -> Any:
    """What Excel would send for a cell: formulas as (here unknown) results, dates as text."""
    if isinstance(v, str) and v.startswith("="):
        return None
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()
    return v


def payload_from_workbook(wb: Workbook, *, with_names: bool = True, selection: str = "A1",
                          active: int = 0, extra_sheets: dict[str, list[list[Any]]] | None = None,
                          notes: dict[str, list[str]] | None = None) -> dict[str, Any]:
    """The remote engine's book payload (schema of xlwings/pro/_xlremote.py)."""
    sheets = []
    for ws in wb.worksheets:
        values = [[_cell(c) for c in row] for row in ws.iter_rows(values_only=True)] or [[]]
        sheets.append({"name": ws.title, "values": values, "pictures": [], "tables": [], "charts": [],
                       "shapes": [], "visibility": "Visible",
                       "notes": [{"address": a} for a in (notes or {}).get(ws.title, [])]})
    for name, values in (extra_sheets or {}).items():
        sheets.append({"name": name, "values": values, "pictures": [], "tables": [], "charts": [],
                       "shapes": [], "notes": [], "visibility": "Hidden" if name == STATE_SHEET else "Visible"})
    index = {s["name"]: i for i, s in enumerate(sheets)}
    names = []
    if with_names:
        for name, dn in wb.defined_names.items():
            (sheet, ref), = dn.destinations
            names.append({"name": name, "sheet_index": index[sheet], "address": ref.replace("$", ""),
                          "book_scope": True, "scope_sheet_index": None, "scope_sheet_name": None,
                          "refers_to": "=" + dn.attr_text})
    return {
        "client": "Office.js",  # notes need an Office.js client on this engine
        "version": xw.__version__,
        "book": {"name": "年报.xlsx", "active_sheet_index": active, "selection": selection},
        "names": names,
        "sheets": sheets,
    }


def filled(report: str, change: dict[str, Any] | None = None) -> tuple[Workbook, Any]:
    version, header, values = REAL_REPORTS[report]()
    form = load_form(version)
    values = {**values, **(change or {})}
    return fill_workbook(build_template(form), form, values, header), form


def actions(book: Any, func: str | None = None) -> list[dict[str, Any]]:
    acts = book.json()["actions"]
    return [a for a in acts if func is None or a["func"] == func]


def sheet_index(book: Any, name: str) -> int:
    return [s.name for s in book.sheets].index(name)


@pytest.fixture(autouse=True)
def _log(excel_log: Path) -> Path:
    return excel_log


@pytest.fixture
def planted() -> tuple[Any, Any, str, str]:
    """平潭 2023 with 表二 新收申请数·自然人 off by 7: the engine can name the culprit."""
    wb, form = filled("pingtan-2023")
    cid = "t2.new.person"
    cell = form.cells[cid]
    wb[cell.sheet][cell.ref].value = (wb[cell.sheet][cell.ref].value or 0) + 7
    book = xw.Book(json=payload_from_workbook(wb))
    return book, form, cell.sheet, cell.ref


# ----------------------------------------------------------------------------- tests


def test_remote_book_is_detected(planted: tuple[Any, Any, str, str]) -> None:
    book = planted[0]
    assert is_remote(book)


def test_read_live_report_by_names_and_by_layout() -> None:
    wb, form = filled("pingtan-2023")
    for with_names in (True, False):
        book = xw.Book(json=payload_from_workbook(wb, with_names=with_names))
        report, where = excel.read_live_report(book)
        assert report.form.version == form.version
        assert report.agency == "平潭综合实验区"
        cell = form.cells["t2.new.person"]
        assert where["t2.new.person"] == (cell.sheet, cell.ref)
        assert report.number("t2.new.person") == wb[cell.sheet][cell.ref].value


def test_check_marks_the_planted_error(planted: tuple[Any, Any, str, str]) -> None:
    book, _form, sheet, ref = planted
    excel.check_active(book)
    acts = actions(book)
    pos = sheet_index(book, sheet)
    col = ord(ref[0]) - ord("A")
    row = int(ref[1:]) - 1

    def at_cell(a: dict[str, Any]) -> bool:
        return a["sheet_position"] == pos and a["start_row"] == row and a["start_column"] == col

    fills = [a for a in acts if a["func"] == "setRangeColor" and at_cell(a)]
    assert fills and fills[0]["args"] == [ERROR_FILL]
    notes = [a for a in acts if a["func"] == "addNote" and at_cell(a)]
    assert len(notes) == 1 and notes[0]["args"][1].startswith(NOTE_TAG)
    assert "新收" in notes[0]["args"][1] or "申请" in notes[0]["args"][1]
    # A determined suspect gets the thick outline (borders work on the remote engine).
    assert any(a["func"] == "setBorderProperty" and at_cell(a) and a["args"][1:] == ["weight", "medium"]
               for a in acts)

    added = [a["args"][1] for a in actions(book, "addSheet")]
    assert added == [STATE_SHEET, RESULTS_SHEET]
    assert any(a["func"] == "setSheetVisibility" and a["args"] == ["Hidden"] for a in acts)
    results_pos = sheet_index(book, RESULTS_SHEET)
    table = next(a for a in actions(book, "setValues") if a["sheet_position"] == results_pos)["values"]
    assert table[0][:4] == ["序号", "严重程度", "工作表", "单元格"]
    assert any(r[2] == sheet and r[3] == ref and r[1] == "错误" for r in table[1:])
    links = [a for a in actions(book, "addHyperlink") if a["sheet_position"] == results_pos]
    assert f"#'{sheet}'!{ref}" in [a["args"][0] for a in links]
    assert any(a["func"] == "activateSheet" and a["args"] == [results_pos] for a in acts)
    alert = actions(book, "alert")[-1]["args"]
    assert alert[0].startswith("校验完成") and re.search(r"错误 [1-9]\d* 项", alert[0])
    assert "标出 1 个单元格" in alert[0]
    # State rows keep one snapshot per marked cell, written in one call.
    state_pos = sheet_index(book, STATE_SHEET)
    state = next(a for a in actions(book, "setValues") if a["sheet_position"] == state_pos)["values"]
    assert state[0] == ["sheet", "cell", "snapshot"] and [sheet, ref] in [r[:2] for r in state[1:]]
    snap = json.loads(next(r[2] for r in state[1:] if r[:2] == [sheet, ref]))
    assert snap["fill"] == "FFF9E5" and snap["fill_default"] is True  # the template's input fill


def test_text_is_written_inert() -> None:
    # Results and state values go through safety.excel_text.
    wb, _ = filled("pingtan-2023", {"t2.new.person": "-5"})
    book = xw.Book(json=payload_from_workbook(wb))
    excel.check_active(book)
    for a in actions(book, "setValues"):
        for row in a["values"]:
            for v in row:
                assert not (isinstance(v, str) and re.match(r"[=+\-@]", v)), v


def test_correct_workbook_gets_no_fills_and_a_no_problem_sheet() -> None:
    wb, _ = filled("pingtan-2023")
    book = xw.Book(json=payload_from_workbook(wb))
    excel.check_active(book)
    assert not actions(book, "setRangeColor") or all(
        a["sheet_position"] == sheet_index(book, RESULTS_SHEET) for a in actions(book, "setRangeColor"))
    assert not actions(book, "addNote")
    assert [a["args"][1] for a in actions(book, "addSheet")] == [RESULTS_SHEET]
    table = actions(book, "setValues")[0]["values"]
    assert any("未发现问题" in str(v) for v in table[1])
    assert "未发现问题" in actions(book, "alert")[-1]["args"][0]


def _state_from(book: Any) -> list[list[Any]]:
    pos = sheet_index(book, STATE_SHEET)
    return next(a for a in actions(book, "setValues") if a["sheet_position"] == pos)["values"]


def test_clear_marks_restores_the_snapshots(planted: tuple[Any, Any, str, str]) -> None:
    book, _form, sheet, _ref = planted
    excel.check_active(book)
    state = _state_from(book)
    # The next button press sees the workbook as Excel has it now: marks, notes, sheets.
    wb, _ = filled("pingtan-2023")
    marked = [r[1] for r in state[1:] if r[0] == sheet]
    again = xw.Book(json=payload_from_workbook(
        wb, extra_sheets={STATE_SHEET: state, RESULTS_SHEET: [["序号"]]}, notes={sheet: marked}))
    excel.clear_marks(again)
    acts = actions(again)
    pos = sheet_index(xw.Book(json=payload_from_workbook(wb)), sheet)
    restores = [a for a in acts if a["func"] == "setRangeColor" and a["sheet_position"] == pos]
    assert len(restores) == len(state) - 1
    assert all(a["args"] == ["#FFF9E5"] or a["args"] == ["#EAF1FB"] for a in restores)
    assert len([a for a in acts if a["func"] == "deleteNote"]) == len(marked)
    # Outline back to the template's thin black grid.
    assert any(a["func"] == "setBorderProperty" and a["args"][1:] == ["weight", "thin"] for a in acts)
    assert len(actions(again, "sheetDelete")) == 2
    assert "已清除" in actions(again, "alert")[-1]["args"][0]


def test_clear_without_marks_says_so() -> None:
    wb, _ = filled("pingtan-2023")
    book = xw.Book(json=payload_from_workbook(wb))
    excel.clear_marks(book)
    assert not actions(book, "sheetDelete")
    assert actions(book, "alert")[-1]["args"][0] == "没有需要清除的校验标记。"


def test_user_note_is_kept_when_it_cannot_be_read(planted: tuple[Any, Any, str, str]) -> None:
    _, _form, sheet, ref = planted
    wb, _ = filled("pingtan-2023", {"t2.new.person": 999})
    book = xw.Book(json=payload_from_workbook(wb, notes={sheet: [ref]}))
    excel.check_active(book)
    assert not [a for a in actions(book) if a["func"] in ("addNote", "setNoteText", "deleteNote")
                and a["args"][0].replace("$", "") == ref]


def test_next_problem_selects_the_next_marked_cell(planted: tuple[Any, Any, str, str]) -> None:
    book, _form, sheet, _ref = planted
    excel.check_active(book)
    state = _state_from(book)
    wb, _ = filled("pingtan-2023")
    results = [list(r) for r in next(a for a in actions(book, "setValues")
                                     if a["sheet_position"] == sheet_index(book, RESULTS_SHEET))["values"]]
    again = xw.Book(json=payload_from_workbook(
        wb, extra_sheets={STATE_SHEET: state, RESULTS_SHEET: results}, selection="A1"))
    excel.next_problem(again)
    pos = sheet_index(again, sheet)
    assert any(a["func"] == "activateSheet" and a["args"] == [pos] for a in actions(again))
    select = actions(again, "rangeSelect")[-1]
    targets = sorted((int(r[1][1:]), r[1]) for r in state[1:] if r[0] == sheet)
    first = targets[0][1]
    assert (select["sheet_position"], select["start_row"] + 1) == (pos, int(first[1:]))
    assert "第 1/" in actions(again, "alert")[-1]["args"][0]


def test_next_problem_without_marks_is_polite() -> None:
    wb, _ = filled("pingtan-2023")
    book = xw.Book(json=payload_from_workbook(wb))
    excel.next_problem(book)
    assert "请先点“校验”" in actions(book, "alert")[-1]["args"][0]


def test_exception_becomes_an_alert_and_a_log_entry(
    planted: tuple[Any, Any, str, str], monkeypatch: pytest.MonkeyPatch, _log: Path
) -> None:
    book = planted[0]

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("内部错误示例")

    monkeypatch.setattr(excel, "engine_check", boom)
    excel.check_active(book)  # must not raise
    alert = actions(book, "alert")[-1]["args"]
    assert "操作未能完成" in alert[0] and str(_log) in alert[0] and "Traceback" not in alert[0]
    assert alert[3] == "critical"
    assert "RuntimeError: 内部错误示例" in _log.read_text(encoding="utf-8")


def test_not_a_report_workbook_is_refused_in_chinese() -> None:
    wb = Workbook()
    wb.active["A1"] = "别的表格"
    book = xw.Book(json=payload_from_workbook(wb))
    excel.check_active(book)
    assert "不是年报填报表" in actions(book, "alert")[-1]["args"][0]


def test_no_open_workbook_is_refused_politely(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    # On Linux xw.books.active raises (no desktop Excel): same message as "nothing open".
    monkeypatch.setattr(excel_app, "_any_app", lambda: None)
    excel.check_active()
    assert "没有打开的工作簿" in capsys.readouterr().err


def test_new_form_on_remote_returns_the_template_path(planted: tuple[Any, Any, str, str]) -> None:
    book = planted[0]
    path = excel.new_form(book, year=2020)
    assert isinstance(path, Path) and path.is_file() and path.suffix == ".xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb["基本信息"]["B7"].value == "2019"  # the form whose years cover 2020
    assert excel.new_form(book, year=2024).name.endswith("2021.xlsx")
    # No year given: last year's form (the remote engine has no input box to ask with).
    expected = form_for_year(excel_newform.default_report_year()).version
    assert excel.new_form(book).name.endswith(f"{expected}.xlsx")


def test_new_form_for_a_year_no_form_covers_says_so(planted: tuple[Any, Any, str, str]) -> None:
    book = planted[0]
    assert excel.new_form(book, year=2015) is None
    said = actions(book, "alert")[-1]["args"][0]
    assert "没有适用于 2015 年度的表式" in said and "2019版表式用于2019、2020年度" in said


def test_new_form_asks_the_year_with_last_year_filled_in(monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[Any, ...]] = []

    class Api:
        def InputBox(self, *args: Any, **kwargs: Any) -> Any:
            asked.append(args)
            return answers.pop(0)

    class App:
        api = Api()

    answers: list[Any] = [2020.0, False, "二〇二〇"]
    assert excel_newform.ask_year(App()) == 2020
    assert asked[0][2] == excel_newform.default_report_year()
    assert excel_newform.ask_year(App()) is None  # 取消
    with pytest.raises(excel.ExcelUserError, match="四位数字"):
        excel_newform.ask_year(App())
    assert excel_newform.default_report_year(dt.date(2026, 1, 15)) == 2025


def test_old_addins_per_version_entry_points_still_work(planted: tuple[Any, Any, str, str]) -> None:
    # An installed add-in built before the one 新建填报表 button starts new_form_2019 / new_form_2021.
    book = planted[0]
    assert excel.new_form_2019(book).name.endswith("2019.xlsx")
    assert excel.new_form_2021(book).name.endswith("2021.xlsx")
    assert excel.new_form_1999(book) is None
    assert "没有 1999 版表式" in actions(book, "alert")[-1]["args"][0]
    with pytest.raises(AttributeError):
        excel.no_such_entry_point  # noqa: B018


def test_show_help_names_versions_and_log(planted: tuple[Any, Any, str, str], _log: Path) -> None:
    book = planted[0]
    excel.show_help(book)
    text = actions(book, "alert")[-1]["args"][0]
    assert xw.__version__ in text and str(_log) in text and "gkreport 版本" in text


def test_consolidate_folder_writes_a_summary(planted: tuple[Any, Any, str, str], tmp_path: Path) -> None:
    pytest.importorskip("gkreport.consolidation.consolidate")
    book = planted[0]
    folder = tmp_path / "各单位"
    folder.mkdir()
    for name in ("pingtan-2023", "pingtan-2023"):
        wb, _ = filled(name)
        wb.save(folder / f"{name}-{len(list(folder.iterdir()))}.xlsx")
    out = excel.consolidate_folder(book, folder=folder)
    alert = actions(book, "alert")[-1]["args"][0]
    assert out is not None and out.is_file() and out.parent == tmp_path, alert
    assert "汇总完成" in alert and "名单" in alert  # says how to get the roster check

    # A roster kept in the folder is found, used, and not taken for a report.
    (folder / "应报送单位名单.csv").write_text("单位名称\n平潭综合实验区\n某某县统计局\n", encoding="utf-8")
    out = excel.consolidate_folder(book, folder=folder)
    alert = actions(book, "alert")[-1]["args"][0]
    assert "已按名单“应报送单位名单.csv”核对：未报送 1 个单位" in alert, alert
    status = [v for row in openpyxl.load_workbook(out)["报送情况"].iter_rows(values_only=True) for v in row]
    assert "某某县统计局" in status and "应报送单位名单.csv" in status
    assert any(isinstance(v, str) and v.startswith("应报送单位名单，不是报表") for v in status)
    from gkreport.consolidation.consolidate import find_roster

    (folder / "旧名单.xlsx").write_bytes(b"")
    assert find_roster(folder) is None  # two candidates: no guessing


def test_consolidate_missing_folder_is_a_message(planted: tuple[Any, Any, str, str], tmp_path: Path) -> None:
    book = planted[0]
    excel.consolidate_folder(book, folder=tmp_path / "没有")
    assert "找不到文件夹" in actions(book, "alert")[-1]["args"][0] or "汇总功能" in actions(book, "alert")[-1]["args"][0]


def test_version_check_reports_a_mismatch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gkreport.xlam import build_xlam

    xlam = build_xlam(tmp_path / "gkreport.xlam")
    assert excel.addin_xlwings_version(xlam) == xw.__version__
    assert excel.addin_xlwings_version(tmp_path / "missing.xlam") is None
    seen: list[str] = []

    class App:
        def alert(self, text: str, **kwargs: Any) -> None:
            seen.append(text)

    monkeypatch.setattr(excel_app, "_installed_addin", lambda app: xlam)
    monkeypatch.setattr(excel.xw, "__version__", "0.0.1")
    monkeypatch.setattr(excel_app, "_any_app", lambda: App())
    excel_app._check_versions_once(None)
    assert seen and "版本不一致" in seen[0] and "gkreport addin install" in seen[0]
    seen.clear()
    excel_app._check_versions_once(None)  # only once per process
    assert not seen


def test_every_ribbon_function_exists() -> None:
    from gkreport.addin.xlcall import BUTTONS

    bas = (ROOT / "addin" / "gkreport_ribbon.bas").read_text("ascii")
    called = re.findall(r'GKRun "(\w+)", (?:True|False)', bas)
    assert len(called) == 6 and set(called) == set(BUTTONS)
    for fn in called:
        assert callable(getattr(excel, fn)), fn


def test_marker_satisfies_the_protocol(planted: tuple[Any, Any, str, str]) -> None:
    from gkreport.markers.marking import MarkTarget

    marker: MarkTarget = XlwingsMarker(planted[0])
    assert marker.has_sheet(planted[2]) and not marker.has_sheet(RESULTS_SHEET)


def test_check_on_the_ribbon_marks_without_loading_openpyxl(tmp_path: Path) -> None:
    """校验 reads and marks the open workbook through xlwings: a fresh process (as a click
    starts) never imports openpyxl or numpy for it, yet marks the planted error."""
    import subprocess
    import sys

    wb, _form = filled("pingtan-2023", {"t2.new.person": 7 + (REAL_REPORTS["pingtan-2023"]()[2]["t2.new.person"] or 0)})
    payload = tmp_path / "book.json"
    payload.write_text(json.dumps(payload_from_workbook(wb), default=str), encoding="utf-8")
    code = ("import json, sys, gkreport.addin.xlcall as m; xw = m.import_xlwings(); "
            "from gkreport.addin import excel; "
            f"book = xw.Book(json=json.loads(open({str(payload)!r}, encoding='utf-8').read())); "
            "excel.check_active(book); "
            "print(len(book.json()['actions']) > 0, 'openpyxl' in sys.modules, 'numpy' in sys.modules)")
    env = {**os.environ, "HOME": str(tmp_path), "XLWINGS_LICENSE_KEY": "noncommercial"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    marked, with_openpyxl, with_numpy = out.stdout.split()
    assert marked == "True" and with_openpyxl == "False"
    assert with_numpy == "True"  # (the planted error is located: the solver's numpy, not openpyxl's)
