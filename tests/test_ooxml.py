"""Facts read straight from .xlsx parts: which part is which sheet, which cells hold formulas."""

from __future__ import annotations

import zipfile
from pathlib import Path

import openpyxl
import pytest

from gkreport.ooxml import formula_refs, sheet_parts


@pytest.mark.parametrize(("xml", "refs"), [
    (b'<c r="D5" s="3"><f>SUM(A1:A2)</f><v>3</v></c>', {"D5"}),
    (b'<c r="D6"/><f>stray</f>', set()),  # an empty cell before: not its formula
    (b'<x:c r="E7" t="n">\n <x:f t="shared" si="0"/></x:c>', {"E7"}),  # prefixed, shared
    (b'<c r="F8"><v>1</v></c><conditionalFormatting><formula>1</formula></conditionalFormatting>', set()),
    (b'<c r="G9" s="1"></c><c r="H9" t="str"><f>"a"</f><v>a</v></c>', {"H9"}),
    (b'<c r="AB10">\n<f\n>1</f></c><c r="AC10"><f/></c>', {"AB10", "AC10"}),
    (b"<f>1</f>", set()),
])
def test_formula_refs(xml: bytes, refs: set[str]) -> None:
    assert formula_refs(xml) == refs


def test_sheet_parts_and_formulas_of_an_openpyxl_book(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "表一 & <说明>"
    ws = wb.create_sheet("表二 依申请公开")
    ws["D7"], ws["J7"], ws["K7"] = 3, "=SUM(D7:I7)", "文字"
    wb.move_sheet(ws, offset=-1)  # part order no longer follows sheet order
    wb.save(tmp_path / "b.xlsx")
    with zipfile.ZipFile(tmp_path / "b.xlsx") as zf:
        parts = sheet_parts(zf)
        assert set(parts) == {"表一 & <说明>", "表二 依申请公开"}
        assert formula_refs(zf.read(parts["表二 依申请公开"])) == {"J7"}
        assert formula_refs(zf.read(parts["表一 & <说明>"])) == set()
