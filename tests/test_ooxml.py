"""Facts read straight from .xlsx parts: which part is which sheet, what the cells read hold."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from gkreport.readers.ooxml import Unproven, inspect_package, scan_sheet, sheet_parts

NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def sheet(cells: bytes, ns: bytes = NS, prefix: bytes = b"", tail: bytes = b"") -> bytes:
    p = prefix
    return (b'<?xml version="1.0"?><%sworksheet %s><%ssheetData><%srow r="1">%s</%srow></%ssheetData>%s</%sworksheet>'
            % (p, ns, p, p, cells, p, p, tail, p))


WANTED = frozenset({"D5", "D6", "E7", "F8", "H9", "AB10", "AC10"})


@pytest.mark.parametrize(("cells", "formulas"), [
    (b'<c r="D5" s="3"><f>SUM(A1:A2)</f><v>3</v></c>', {"D5"}),
    (b"<c r='D5' t='str'><f>1+1</f><v>99</v></c>", {"D5"}),  # single-quoted attributes
    (b'<c r="D6"/><c r="D5"><v>1</v></c>', set()),
    (b'<c r="E7" t="n">\n <f t="shared" si="0"/></c>', {"E7"}),  # shared, self-closing
    (b'<c r="F8"><v>1</v></c>', set()),
    (b'<c r="H9" t="str" s="1"><v>a</v><f>"a"</f></c>', {"H9"}),  # <f> after <v>
    (b'<c r="AB10">\n<f\n>1</f></c><c r="AC10"><f/></c>', {"AB10", "AC10"}),
])
def test_formula_cells_any_quoting(cells: bytes, formulas: set[str]) -> None:
    scan = scan_sheet(sheet(cells), WANTED)
    assert {r for r, c in scan.cells.items() if c.formula} == formulas


def test_prefixed_spreadsheetml() -> None:
    ns = b'xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    scan = scan_sheet(sheet(b'<x:c r="E7" t="n"><x:f>1</x:f><x:v>1</x:v></x:c>', ns, b"x:"), WANTED)
    assert scan.cells["E7"].formula and scan.prefix == b"x:"


@pytest.mark.parametrize(("cells", "ns", "why"), [
    (b'<c><v>1</v></c>', NS, "地址"),  # a cell without an address
    (b'<c r="d5"><v>1</v></c>', NS, "地址"),  # not canonical: openpyxl would still find D5
    (b'<c r="D5"><v>1</v></c><c r="D5"><v>2</v></c>', NS, "重复"),
    (b'<c r="D5"><v>1</v></c>', b'xmlns="http://purl.oclc.org/ooxml/spreadsheetml/main"', "命名空间"),
    (b'<c r="D5"><!-- <f>1</f> --><v>1</v></c>', NS, "注释"),
    (b'<c r="D5" s="x"><v>1</v></c>', NS, "样式"),
])
def test_what_cannot_be_proven_is_unproven(cells: bytes, ns: bytes, why: str) -> None:
    with pytest.raises(Unproven, match=why):
        scan_sheet(sheet(cells, ns), WANTED)


def test_merged_cells_cover_all_but_the_top_left() -> None:
    tail = b'<mergeCells count="1"><mergeCell ref="D5:E7"/></mergeCells>'
    scan = scan_sheet(sheet(b'<c r="D5"><v>1</v></c><c r="E7"><v>2</v></c>', tail=tail), WANTED)
    assert scan.covered == {"D6", "E7"}


def test_sheet_parts_and_package_of_an_openpyxl_book(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "表一 & <说明>"
    ws = wb.create_sheet("表二 依申请公开")
    ws["D7"], ws["J7"], ws["K7"] = 3, "=SUM(D7:I7)", "文字"
    wb.move_sheet(ws, offset=-1)  # part order no longer follows sheet order
    wb.save(tmp_path / "b.xlsx")
    with zipfile.ZipFile(tmp_path / "b.xlsx") as zf:
        parts = sheet_parts(zf)
        assert set(parts) == {"表一 & <说明>", "表二 依申请公开"}
        pkg = inspect_package(zf)
        assert [s.name for s in pkg.sheets] == ["表二 依申请公开", "表一 & <说明>"]
        scan = scan_sheet(pkg.parts[parts["表二 依申请公开"]], frozenset({"D7", "J7", "K7"}))
        assert {r for r, c in scan.cells.items() if c.formula} == {"J7"}
        assert scan.get("D7").v == "3" and scan.get("K7").t != "n"


def test_unknown_parts_and_bad_xml_are_unproven(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active["A1"] = 1
    wb.save(tmp_path / "a.xlsx")
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zin, zipfile.ZipFile(tmp_path / "b.xlsx", "w") as zout:
        for info in zin.infolist():
            zout.writestr(info, zin.read(info))
        zout.writestr("xl/pivotTables/pivotTable1.xml", b"<x/>")
    with zipfile.ZipFile(tmp_path / "b.xlsx") as zf, pytest.raises(Unproven, match="pivotTable"):
        inspect_package(zf)
    with zipfile.ZipFile(tmp_path / "a.xlsx") as zin, zipfile.ZipFile(tmp_path / "c.xlsx", "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            zout.writestr(info, data + b"<junk>" if info.filename == "docProps/core.xml" else data)
    with zipfile.ZipFile(tmp_path / "c.xlsx") as zf, pytest.raises(Unproven, match="XML"):
        inspect_package(zf)


@pytest.mark.parametrize("encoding", ["GBK", "UTF-16"])
def test_sheets_not_in_utf8_are_unproven(encoding: str) -> None:
    """The scan reads UTF-8 bytes; a sheet in another encoding (expat reads it fine) would
    otherwise look empty."""
    xml = sheet(b'<c r="D5"><v>1</v></c>').replace(b'<?xml version="1.0"?>', b"").decode()
    data = f'<?xml version="1.0" encoding="{encoding}"?>{xml}'.encode(encoding.lower().replace("-", "_"))
    with pytest.raises(Unproven, match="编码"):
        scan_sheet(data, WANTED)
