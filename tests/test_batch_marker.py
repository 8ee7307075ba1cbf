"""Marking through desktop Excel in a few cross-process calls (BatchMarker).

Desktop Excel is not available here, so the test drives the marker against a
*counting fake* of the objects it talks to: every call that would cross from Python
into Excel (a COM invoke on Windows, an Apple event on the Mac) is counted, with the
number of COM calls xlwings makes for it. The add-in's helper macros are modelled in
Python with the semantics of their VBA (``addin/gkreport_ribbon.bas``): what they
read and write per cell happens inside Excel and costs one ``Application.Run``.

Before batching, marking cost ~45-60 calls per cell (four borders x five properties,
fill, note, listing sheets twice); 150 cells now cost at most 30.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gkreport.core.findings import Finding
from gkreport.markers.marking import FILL, NOTE_TAG, RESULTS_SHEET, STATE_SHEET, apply_marks, clear_marks, plan_marks
from gkreport.markers.xlwings_marker import (
    FS,
    RS,
    XL_NONE,
    BatchMarker,
    Look,
    ProtectedSheetError,
)

# COM calls xlwings makes for one operation (xlwings/_xlwindows.py, 0.37):
COST = {
    "macro": 1,  # Application.Run
    "app_property": 1,  # Application.ScreenUpdating / Calculation get or set
    "sheet_table_write": 6,  # Sheets(name), Range("A1"), Cells x2 + Range (resize), Value =
    "sheet_used_read": 4,  # Sheets(name), UsedRange, Address, Value
}
TEMPLATE_FILL = 0xE5F9FF  # BGR of FFF9E5, the template's input fill
THIN = (1, 2, 0)


@dataclass
class Cell:
    fill: int = TEMPLATE_FILL
    edges: list[tuple[int, int, int]] = field(default_factory=lambda: [THIN] * 4)
    note: str | None = None


@dataclass
class Sheet:
    name: str
    cells: dict[str, Cell] = field(default_factory=dict)
    protection: str = ""  # "" none, "PASSWORD", else the options string GK_Unprotect returns
    visibility: int = -1
    table: list[list[Any]] | None = None
    links: list[str] = field(default_factory=list)


class FakeExcel:
    """A workbook in an Excel that counts every cross-process call made to it."""

    def __init__(self, sheets: list[str]) -> None:
        self.sheets_by_name = {n: Sheet(n) for n in sheets}
        self.calls = 0
        self.log: list[str] = []
        self._screen, self._calc = True, "automatic"

    # --- the counting ------------------------------------------------------------
    def charge(self, what: str) -> None:
        self.calls += COST[what]
        self.log.append(what)

    # --- app properties --------------------------------------------------------------
    @property
    def screen_updating(self) -> bool:
        self.charge("app_property")
        return self._screen

    @screen_updating.setter
    def screen_updating(self, value: bool) -> None:
        self.charge("app_property")
        self._screen = value

    @property
    def calculation(self) -> str:
        self.charge("app_property")
        return self._calc

    @calculation.setter
    def calculation(self, value: str) -> None:
        self.charge("app_property")
        self._calc = value

    def macro(self, name: str) -> Any:
        assert name.startswith("'gkreport.xlam'!GKReportRibbon.GK_"), name
        impl = getattr(self, name.rsplit(".", 1)[1])

        def run(*args: Any) -> Any:
            self.charge("macro")
            self.log.append(name)
            for a in args:
                assert isinstance(a, str | int), a  # strings/numbers only (Mac-safe)
            return impl(*args)

        return run

    # --- the VBA helpers, as Excel would run them ---------------------------------
    def GK_Ping(self) -> str:
        return "0.1.0"

    def _cell(self, sheet: str, ref: str) -> Cell:
        return self.sheets_by_name[sheet].cells.setdefault(ref, Cell())

    def GK_ReadLooks(self, book: str, sheet: str, refs: str) -> str:
        out = []
        for ref in refs.split(RS):
            c = self._cell(sheet, ref)
            f = [str(c.fill)] + [str(x) for e in c.edges for x in e]
            f += ["1", c.note] if c.note is not None else ["0", ""]
            out.append(FS.join(f))
        return RS.join(out)

    def GK_WriteLooks(self, book: str, sheet: str, data: str) -> int:
        ws = self.sheets_by_name[sheet]
        assert not ws.protection, f"write to protected sheet {sheet}"
        for rec in data.split(RS):
            f = rec.split(FS)
            c, mask = self._cell(sheet, f[0]), int(f[1])
            if mask & 1:
                c.fill = int(f[2])
            if mask & 2:
                c.edges = [(int(f[3 + 3 * e]), int(f[4 + 3 * e]), int(f[5 + 3 * e])) for e in range(4)]
            if mask & 4:
                c.note = f[16] if f[15] == "1" else None
        return 0

    def GK_Unprotect(self, book: str) -> str:
        out = []
        for ws in self.sheets_by_name.values():
            opts = ws.protection
            if opts and opts != "PASSWORD":
                ws.protection = ""
            out.append(ws.name + FS + opts)
        return RS.join(out)

    def GK_Protect(self, book: str, data: str) -> int:
        for rec in data.split(RS):
            name, opts = rec.split(FS, 1)
            self.sheets_by_name[name].protection = opts
        return 1

    def GK_NewSheet(self, book: str, name: str, visibility: int) -> int:
        assert name not in self.sheets_by_name
        self.sheets_by_name[name] = Sheet(name, visibility=visibility)
        return len(self.sheets_by_name)

    def GK_DeleteSheet(self, book: str, name: str) -> int:
        del self.sheets_by_name[name]
        return 1

    def GK_FinishResults(self, book: str, sheet: str, links: str, widths: str) -> int:
        self.sheets_by_name[sheet].links = links.split(RS) if links else []
        assert len(widths.split(FS)) == 8
        return len(self.sheets_by_name[sheet].links)


class FakeRange:
    def __init__(self, excel: FakeExcel, sheet: Sheet) -> None:
        self.excel, self.sheet = excel, sheet

    @property
    def value(self) -> Any:
        self.excel.charge("sheet_used_read")
        return self.sheet.table

    @value.setter
    def value(self, table: list[list[Any]]) -> None:
        self.excel.charge("sheet_table_write")
        self.sheet.table = table

    def options(self, **_: Any) -> FakeRange:
        return self


class FakeSheetObj:
    def __init__(self, excel: FakeExcel, sheet: Sheet) -> None:
        self.excel, self.sheet, self.name = excel, sheet, sheet.name

    def range(self, _ref: str) -> FakeRange:
        return FakeRange(self.excel, self.sheet)

    @property
    def used_range(self) -> FakeRange:
        return FakeRange(self.excel, self.sheet)


class FakeSheets:
    def __init__(self, excel: FakeExcel) -> None:
        self.excel = excel

    def __getitem__(self, name: str) -> FakeSheetObj:
        return FakeSheetObj(self.excel, self.excel.sheets_by_name[name])

    def __iter__(self) -> Any:
        self.excel.calls += 1 + 2 * len(self.excel.sheets_by_name)  # Count, then Item(i).Name
        return iter([FakeSheetObj(self.excel, s) for s in list(self.excel.sheets_by_name.values())])


class FakeBook:
    def __init__(self, excel: FakeExcel) -> None:
        self.app = excel
        self.name = "年报.xlsx"
        self.sheets = FakeSheets(excel)


class FakeEngineApp(FakeExcel):
    """``book.app.engine.name`` is read by is_remote(); free (no Excel call)."""

    class engine:
        name = "excel"


SHEETS = ["封面", "表一", "表二", "表三"]


def _findings(n: int) -> list[Finding]:
    """n error cells spread over 表二 and 表三, every 10th a determined suspect."""
    out = []
    for i in range(n):
        sheet = "表二" if i % 2 else "表三"
        ref = f"{'BCDEFGHIJK'[i % 10]}{5 + i // 10}"
        if i % 10 == 0:
            out.append(Finding("sum", "error", f"第{i}项合计不平", sheet=sheet, cells=(ref,), suspects=(ref,),
                               suggested=i))
        else:
            out.append(Finding("sum", "warning" if i % 3 else "error", f"第{i}项=有误", sheet=sheet, cells=(ref,)))
    return out


def _check(excel: FakeExcel, findings: list[Finding]) -> BatchMarker:
    book = FakeBook(excel)
    marker = BatchMarker.available(book)  # type: ignore[arg-type]
    assert marker is not None
    plan = plan_marks(findings)
    with marker.session({m.sheet for m in plan}):
        marker.prefetch((m.sheet, m.ref) for m in plan)
        apply_marks(marker, findings)
    return marker


def test_marking_150_cells_costs_at_most_30_calls() -> None:
    excel = FakeEngineApp(SHEETS)
    findings = _findings(150)
    _check(excel, findings)
    assert len(plan_marks(findings)) == 150
    assert excel.calls <= 30, (excel.calls, excel.log)
    # ... and the marks are really there, with Excel left as it was found.
    marked = [c for s in ("表二", "表三") for c in excel.sheets_by_name[s].cells.values()]
    assert len(marked) == 150 and all(c.note and c.note.startswith(NOTE_TAG) for c in marked)
    bgr = {int(FILL[k][4:] + FILL[k][2:4] + FILL[k][:2], 16) for k in ("error", "warning")}
    assert {c.fill for c in marked} == bgr
    thick = [c for c in marked if c.edges[0][1] == -4138]
    assert len(thick) == 15
    assert excel.sheets_by_name[STATE_SHEET].visibility == 2  # very hidden
    assert len(excel.sheets_by_name[RESULTS_SHEET].links) == 150
    assert excel._screen is True and excel._calc == "automatic"


def test_cost_does_not_grow_with_the_number_of_cells() -> None:
    small, large = FakeEngineApp(SHEETS), FakeEngineApp(SHEETS)
    _check(small, _findings(10))
    _check(large, _findings(400))
    assert large.calls == small.calls


def test_clear_restores_fill_borders_and_the_users_note() -> None:
    excel = FakeEngineApp(SHEETS)
    own = excel._cell("表二", "C5")
    own.fill, own.edges, own.note = -1, [(-4119, 4, 0x0000FF), THIN, (XL_NONE, 2, 0), THIN], "我的批注"
    before = {(s, r): (c.fill, list(c.edges), c.note) for s in SHEETS
              for r, c in excel.sheets_by_name[s].cells.items()}
    _check(excel, _findings(30))
    assert excel._cell("表二", "C5").note.startswith("我的批注\n\n" + NOTE_TAG)  # appended, not replaced
    again = BatchMarker.available(FakeBook(excel))  # type: ignore[arg-type]
    assert again is not None
    with again.session():
        assert clear_marks(again) == 30
    after = {(s, r): (c.fill, list(c.edges), c.note) for s in SHEETS
             for r, c in excel.sheets_by_name[s].cells.items() if (s, r) in before}
    assert after == before
    assert STATE_SHEET not in excel.sheets_by_name and RESULTS_SHEET not in excel.sheets_by_name
    marked = {(s, r) for s in ("表二", "表三") for r in excel.sheets_by_name[s].cells}
    for s, r in marked - set(before):
        c = excel.sheets_by_name[s].cells[r]
        assert (c.fill, c.edges, c.note) == (TEMPLATE_FILL, [THIN] * 4, None)


def test_protection_is_lifted_and_put_back_with_the_sheets_own_options() -> None:
    excel = FakeEngineApp(SHEETS)
    excel.sheets_by_name["表二"].protection = FS.join(["1", "1", "0", "0", "1"] + ["0"] * 11)
    excel.sheets_by_name["表一"].protection = FS.join(["0", "1", "1", "0", "0"] + ["1"] * 11)
    before = {n: s.protection for n, s in excel.sheets_by_name.items()}
    _check(excel, _findings(20))  # the fake's GK_WriteLooks refuses protected sheets
    assert {n: excel.sheets_by_name[n].protection for n in before} == before


def test_a_password_protected_sheet_gets_a_chinese_message_and_nothing_changes() -> None:
    excel = FakeEngineApp(SHEETS)
    excel.sheets_by_name["表三"].protection = "PASSWORD"
    excel.sheets_by_name["表二"].protection = FS.join(["1"] * 16)
    with pytest.raises(ProtectedSheetError) as err:
        _check(excel, _findings(20))
    assert "“表三”设置了密码保护" in str(err.value) and "撤消工作表保护" in str(err.value)
    assert excel.sheets_by_name["表二"].protection == FS.join(["1"] * 16)  # put back
    assert excel.sheets_by_name["表三"].protection == "PASSWORD"
    assert STATE_SHEET not in excel.sheets_by_name
    assert not any(c.note for s in SHEETS for c in excel.sheets_by_name[s].cells.values())
    assert excel._screen is True


def test_without_the_add_in_macros_the_per_cell_marker_is_used() -> None:
    class NoMacros(FakeEngineApp):
        def macro(self, name: str) -> Any:
            def run(*args: Any) -> Any:
                raise RuntimeError("Cannot run the macro (add-in not loaded)")

            return run

    assert BatchMarker.available(FakeBook(NoMacros(SHEETS))) is None  # type: ignore[arg-type]


looks = st.builds(
    Look,
    fill=st.one_of(st.just(-1), st.integers(0, 0xFFFFFF)),
    edges=st.lists(st.sampled_from([(1, 2, 0), (XL_NONE, 2, 0), (-4115, -4138, 0x123456), (-4119, 4, 0xFF)]),
                   min_size=4, max_size=4),
    note=st.one_of(st.none(), st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=FS + RS),
                                      min_size=1, max_size=40)),
)


@settings(max_examples=200, deadline=None)
@given(looks)
def test_snapshot_round_trips_every_look(look: Look) -> None:
    back, mask = Look.from_snapshot(look.snapshot())
    assert mask == 7
    assert (back.fill, back.edges, back.note) == (look.fill, look.edges, look.note)
    # and through the macros' text format
    parsed = Look.parse(FS.join(look.record("A1", 7).split(FS)[2:]))
    assert (parsed.fill, parsed.edges, parsed.note) == (look.fill, look.edges, look.note)


class _Protection:
    def __init__(self, **allow: bool) -> None:
        for name in ("AllowFormattingCells", "AllowFormattingColumns", "AllowFormattingRows",
                     "AllowInsertingColumns", "AllowInsertingRows", "AllowInsertingHyperlinks",
                     "AllowDeletingColumns", "AllowDeletingRows", "AllowSorting", "AllowFiltering",
                     "AllowUsingPivotTables"):
            setattr(self, name, allow.get(name, False))


class _ComSheet:
    """The COM Worksheet properties the per-cell path's protection code uses."""

    def __init__(self, name: str, password: str | None = None, **allow: bool) -> None:
        self.name, self.password = name, password
        self.ProtectContents = password is not None
        self.ProtectDrawingObjects, self.ProtectScenarios, self.ProtectionMode = True, False, False
        self.Protection = _Protection(**allow)
        self.protected_with: dict[str, bool] | None = None

    @property
    def api(self) -> _ComSheet:
        return self

    def Unprotect(self, password: str = "") -> None:
        if password != self.password:
            raise RuntimeError("The password you supplied is not correct.")
        self.ProtectContents = False

    def Protect(self, **options: bool) -> None:
        self.ProtectContents = True
        self.protected_with = options


def test_per_cell_path_keeps_each_sheets_options_and_names_password_sheets() -> None:
    from gkreport.markers.xlwings_marker import XlwingsMarker

    sheets = [_ComSheet("表一", "", AllowFormattingCells=True, AllowSorting=True), _ComSheet("表二", "secret"),
              _ComSheet("封面")]
    sheets[2].ProtectContents = False

    class Book:
        def __init__(self) -> None:
            self.sheets = sheets

    marker = XlwingsMarker.__new__(XlwingsMarker)
    marker.book, marker.com, marker.remote = Book(), True, False
    with marker.unprotected(touching={"表一"}):
        assert not sheets[0].ProtectContents and sheets[1].ProtectContents
    opts = sheets[0].protected_with
    assert opts is not None and opts["AllowFormattingCells"] and opts["AllowSorting"]
    assert not opts["AllowDeletingRows"] and opts["DrawingObjects"] and not opts["UserInterfaceOnly"]
    assert sheets[1].protected_with is None and sheets[2].protected_with is None
    with pytest.raises(ProtectedSheetError, match="“表二”设置了密码保护"), marker.unprotected(touching={"表二"}):
        pass
    assert sheets[0].ProtectContents  # put back even when refusing
