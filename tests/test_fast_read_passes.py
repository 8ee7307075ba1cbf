"""The fast reader's cheaper passes prove exactly what the passes they replace proved.

- the sheet limits: a bound from three fast passes, the exact count only when the bound may bite;
- the sheet scan: one pass finds the cells (and rows) and shows that none is in another shape;
- the formula check: the verdict kept by the part with its cached values emptied;
- ``sniff`` without verifying reads the workbook part through the member cache, same verdicts.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gkreport.readers import sheet_limits
from gkreport.readers.files import ReadError, sniff
from gkreport.readers.ooxml import Unproven, scan_sheet
from gkreport.readers.ooxml_formulas import check_formulas
from gkreport.readers.sheet_limits import SheetScan, check_sheet_limits

NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'


def _exact(sheets: list[tuple[str, bytes]]) -> str | None:
    """The limits as the exact scan alone decides them (the reference): the error, or None."""
    cells = 0
    try:
        for title, data in sheets:
            scan = SheetScan(title)
            scan.feed(data, final=True)
            cells += scan.cells
            if cells > sheet_limits.MAX_CELLS:
                raise ReadError(f"工作簿中的单元格过多（超过 {sheet_limits.MAX_CELLS} 个），超出年度报告表格的正常范围，已拒绝读取")
    except ReadError as e:
        return str(e)
    return None


def _checked(sheets: list[tuple[str, bytes]]) -> str | None:
    try:
        check_sheet_limits(sheets)
    except ReadError as e:
        return str(e)
    return None


_COLUMNS = st.sampled_from(["A", "D", "Z", "AB", "ZZ", "AAA", "XFD", "ZZZ"])


@st.composite
def _parts(draw: st.DrawFn) -> bytes:
    """A worksheet-like part: rows and cells with any row numbers and columns, values of any
    length (up to past the digit limit), noise attributes whose names end in "r"."""
    out = [b"<worksheet " + NS + b"><sheetData>"]
    for _ in range(draw(st.integers(0, 4))):
        row = draw(st.one_of(st.integers(0, 10_000_000), st.integers(990, 10_010), st.integers(0, 300)))
        out.append(b'<row r="%d">' % row)
        for _ in range(draw(st.integers(0, 3))):
            digits = b"7" * draw(st.sampled_from([0, 1, 5, 300, 301, 320]))
            tag = draw(st.sampled_from([b"c", b"x:c"]))
            out.append(b'<%s r="%s%d"><v>%s</v></%s>' % (tag, draw(_COLUMNS).encode(), max(row, 1), digits, tag))
        out.append(b"</row>")
    out.append(b"</sheetData>")
    if draw(st.booleans()):
        out.append(b'<pageSetup firstPageNumber="%d" footer="%d"/>' % (draw(st.integers(0, 10**8)),
                                                                        draw(st.integers(0, 99))))
    out.append(b"</worksheet>")
    return b"".join(out)


@settings(max_examples=300, deadline=None)
@given(st.lists(_parts(), min_size=1, max_size=3), st.sampled_from([None, 6, 40]), st.sampled_from([None, 5000]))
def test_limits_bound_refuses_exactly_what_the_exact_scan_refuses(parts: list[bytes], max_cells: int | None,
                                                                  max_area: int | None) -> None:
    sheets = [(f"表{i}", p) for i, p in enumerate(parts)]
    with pytest.MonkeyPatch.context() as mp:  # lower limits reach the bound's edges with small parts
        if max_cells is not None:
            mp.setattr(sheet_limits, "MAX_CELLS", max_cells)
        if max_area is not None:
            mp.setattr(sheet_limits, "MAX_AREA", max_area)
        assert _checked(sheets) == _exact(sheets)


@pytest.mark.parametrize(("part", "why"), [
    (b'<row r="5000000"><c r="B5000000"/></row>', "数据区域过大"),
    (b'<row r="1000"><c r="A1000"/></row><row r="9"><c r="ZZZ9"/></row>', "数据区域过大"),
    (b'<row r="6000"><c r="ZZ6000"/></row>', "数据区域过大"),  # 4 digits: 6,000 x 702
    (b'<row r="999"><c r="XFD999"/></row>', "数据区域过大"),  # 3 letters: 999 x 16,384
    (b'<c r="A1"><v>' + b"1" * 301 + b"</v></c>", "超过 300 位"),
])
def test_limits_past_the_bound_are_still_refused(part: bytes, why: str) -> None:
    sheets = [("表一", b"<worksheet " + NS + b"><sheetData>" + part + b"</sheetData></worksheet>")]
    with pytest.raises(ReadError, match=why):
        check_sheet_limits(sheets)
    assert _exact(sheets) is not None


def test_a_lower_area_limit_is_not_assumed_away(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sheet_limits, "MAX_AREA", 1000)  # below the bound's 999 x 702: the exact scan decides
    with pytest.raises(ReadError, match="数据区域过大"):
        check_sheet_limits([("表一", b'<worksheet><sheetData><row r="50"><c r="Z50"/></row></sheetData></worksheet>')])


def test_limits_within_the_bound_pass_and_cells_add_up_over_sheets() -> None:
    small = b'<worksheet><sheetData><row r="999"><c r="ZZ999"><v>' + b"9" * 300 + b"</v></c></row></sheetData></worksheet>"
    check_sheet_limits([("表一", small)])  # 999 x 702 and 300 digits: within every limit
    many = b"<worksheet><sheetData>" + b"<c/>" * 200_000 + b"</sheetData></worksheet>"
    check_sheet_limits([("表一", many)])
    with pytest.raises(ReadError, match="工作簿中的单元格过多"):
        check_sheet_limits([("表一", many), ("表二", bytes(many))])  # 400,000 cells in all


def _sheet(rows: bytes, tail: bytes = b"") -> bytes:
    return b'<worksheet ' + NS + b"><sheetData>" + rows + b"</sheetData>" + tail + b"</worksheet>"


def test_a_wanted_cell_in_another_shape_is_still_read() -> None:
    # The cells in the common shape but one, whose type comes before its address: the one pass
    # must notice it (else D5 would be missing, a silently blank cell).
    rows = b'<row r="5"><c r="C5"><v>1</v></c><c t="n" r="D5"><v>7</v></c><c r="E5" s="1"/></row>'
    scan = scan_sheet(_sheet(rows), frozenset({"C5", "D5", "E5"}))
    assert {r: scan.get(r).v for r in ("C5", "D5", "E5")} == {"C5": "1", "D5": "7", "E5": None}  # type: ignore[union-attr]
    odd_unwanted = b'<row r="5"><c\tr="C5"><v>1</v></c><c r="D5"><v>7</v></c></row>'
    scan = scan_sheet(_sheet(odd_unwanted), frozenset({"D5"}))
    assert scan.get("D5").v == "7"  # type: ignore[union-attr]


@pytest.mark.parametrize(("rows", "tail", "why"), [
    (b'<row r="5" odd><c r="D5"><v>1</v></c></row>', b"", "行的标记"),
    (b'<row r="5"><c r="D5"><v>1</v></c></row>', b'<mergeCells><mergeCell ref="D5:E5" odd="1"/></mergeCells>', "合并"),
    (b'<row r="5"><c r="D5"><v>1</v></c></row>',
     b'<mergeCells><mergeCell ref="A1:B1"/><mergeCell  ref="D5:E5"\t/><mergeCell/></mergeCells>', "合并"),
])
def test_rows_and_merges_in_another_shape_are_unproven(rows: bytes, tail: bytes, why: str) -> None:
    with pytest.raises(Unproven, match=why):
        scan_sheet(_sheet(rows, tail), frozenset({"D5"}))


def test_merges_anywhere_in_the_part_are_seen() -> None:
    head = b'<mergeCells><mergeCell ref="D5:E6"/></mergeCells>'  # before the cells: still a merge
    xml = b'<worksheet ' + NS + b">" + head + b'<sheetData><row r="6"><c r="E6"><v>1</v></c></row></sheetData></worksheet>'
    assert scan_sheet(xml, frozenset({"E6"})).covered == {"E6"}


def _calc(values: bytes, anchor: bytes = b"A1") -> bytes:
    """A calc-sheet-like part: a shared formula anchored at B1, used again in A2 (one column to
    the left: a relative column A moves off the sheet, openpyxl's load fails)."""
    return (b'<worksheet ' + NS + b'><sheetData><row r="1"><c r="B1"><f t="shared" ref="A1:B2" si="0">'
            + anchor + b"+1</f><v>" + values + b'</v></c></row><row r="2"><c r="A2"><f t="shared" si="0"/><v>'
            + values + b"</v></c></row></sheetData></worksheet>")


def test_formula_verdicts_follow_the_formulas_not_the_values() -> None:
    check_formulas(_calc(b"1", b"$A1"))  # an absolute column does not move: fine
    check_formulas(_calc(b"2", b"$A1"))  # other cached values, same formulas: fine again
    for values in (b"1", b"2", b"3"):  # a relative column moves off the sheet, whatever the values
        with pytest.raises(Unproven, match="超出"):
            check_formulas(_calc(values))


def _book(sheets: int, damage: bool = False) -> bytes:
    wb = (b'<workbook ' + NS + b' xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
          + b"".join(b'<sheet name="S%d" sheetId="%d" r:id="rId%d"/>' % (i, i, i) for i in range(1, sheets + 1))
          + b"</sheets></workbook>")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/workbook.xml", wb)
        zf.writestr("xl/_rels/workbook.xml.rels", b"<Relationships/>")
    data = buf.getvalue()
    if damage:  # flip one byte of the compressed workbook part: its CRC no longer matches
        i = data.index(b"xl/workbook.xml") + len(b"xl/workbook.xml") + 5
        data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1:]
    return data


@pytest.mark.parametrize(("sheets", "damage", "why"), [(101, False, "工作表过多"), (3, True, "损坏")])
def test_sniff_refuses_alike_with_and_without_verifying(tmp_path: Path, sheets: int, damage: bool, why: str) -> None:
    path = tmp_path / "b.xlsx"
    path.write_bytes(_book(sheets, damage))
    messages = []
    for verify in (True, False):
        with pytest.raises(ReadError, match=why) as e:
            sniff(path, verify=verify, keep_open=not verify)
        messages.append(str(e.value))
    assert messages[0] == messages[1]


def test_the_largest_style_counts_cells_rows_and_columns() -> None:
    cols = b'<cols><col min="1" max="2" style="41"/><col min="3" max="3"/></cols>'
    xml = (b'<worksheet ' + NS + b">" + cols + b'<sheetData><row r="5" s="9" customFormat="1"><c r="D5" s="3">'
           b"<v>1</v></c></row></sheetData></worksheet>")
    assert scan_sheet(xml, frozenset({"D5"})).max_style == 41
    assert scan_sheet(xml.replace(b'style="41"', b'style="2"'), frozenset({"D5"})).max_style == 9
    with pytest.raises(Unproven, match="样式编号无效"):
        scan_sheet(xml.replace(b'style="41"', b'style="4x"'), frozenset({"D5"}))


def test_well_formedness_verdicts_are_kept_per_part() -> None:
    from gkreport.readers.ooxml import _well_formed

    good, bad = b'<a xmlns="urn:x"><b/></a>', b'<a xmlns="urn:x"><b></a>'
    for _ in range(2):  # the second time from memory: the same verdicts
        _well_formed(good)
        with pytest.raises(Unproven, match="XML 格式错误"):
            _well_formed(bad)
    with pytest.raises(Unproven, match="XML 格式错误"):
        _well_formed(bytes(bytearray(bad)))  # equal bytes in another object
    with pytest.raises(Unproven, match=r"前缀|prefix"):
        _well_formed(b"<x:a/>")  # an undeclared prefix: namespaces are checked
