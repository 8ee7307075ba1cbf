"""Shared and data-table formulas on a sheet the fast reader does not read.

openpyxl (the full reader) parses every sheet, the template's very hidden ``_gkreport_calc``
too, which holds the live checks as shared formulas. A group openpyxl cannot load (a
dependent whose translated reference leaves the sheet, an anchor its tokenizer refuses, a
data-table formula without ``ref``) makes the full reader refuse the file; the fast reader
must then decline too, so both say the same. Every workbook is built here from a filled
template, with the calc sheet's part rewritten.
"""

from __future__ import annotations

import io
import re
import tempfile
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gkreport.commands.cli import main as cli_main
from gkreport.consolidation.consolidate import consolidate
from gkreport.core import addresses as addr
from gkreport.core.forms import load_form
from gkreport.output.fill import write_filled
from gkreport.readers import ReadError, read_any
from gkreport.readers.ooxml import sheet_parts
from gkreport.readers.workbook import fast_decline_reason
from test_fast_equiv import EXAMPLES, assert_equivalent

CALC = "_gkreport_calc"
REPRO = (b'<row r="400"><c r="B400"><f t="shared" ref="A400:B401" si="77">A1</f></c></row>'
         b'<row r="401"><c r="A401"><f t="shared" si="77"/></c></row>')
_BASE: dict[str, bytes] = {}


def _base() -> bytes:
    """A filled template (built once per session)."""
    if "2021" not in _BASE:
        form = load_form("2021")
        with tempfile.TemporaryDirectory() as tmp:
            path = write_filled(form, Path(tmp) / "base.xlsx", {cid: i % 7 for i, cid in enumerate(form.cells)},
                                {"hdr.agency": "某某县测试局"})
            _BASE["2021"] = path.read_bytes()
    return _BASE["2021"]


def with_calc_rows(dst: Path, rows: bytes) -> Path:
    """The filled template with ``rows`` appended to the calc sheet's sheetData."""
    with zipfile.ZipFile(io.BytesIO(_base())) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        part = sheet_parts(zin)[CALC]
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == part:
                assert data.count(b"</sheetData>") == 1
                data = data.replace(b"</sheetData>", rows + b"</sheetData>")
            zout.writestr(info.filename, data)
    return dst


def _openpyxl_loads(path: Path) -> bool:
    try:
        openpyxl.load_workbook(path).close()
    except Exception:
        return False
    return True


def _full_refuses_in_chinese(path: Path) -> str:
    with pytest.raises(ReadError) as err:
        read_any(path, mode="full")
    message = str(err.value)
    assert re.search(r"[\u4e00-\u9fff]", message) and "Traceback" not in message
    return message


def test_the_template_calc_sheet_is_shared_formulas_and_stays_on_the_fast_path(tmp_path: Path) -> None:
    path = with_calc_rows(tmp_path / "plain.xlsx", b"")
    with zipfile.ZipFile(path) as zf:
        assert b't="shared"' in zf.read(sheet_parts(zf)[CALC])
    assert fast_decline_reason(path) is None
    assert assert_equivalent(path) is None


def test_dependent_left_of_its_anchor_out_of_range_is_declined_and_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The reproduction: anchor B400 "=A1", dependent A401 translates A1 to column 0."""
    folder = tmp_path / "in"
    folder.mkdir()
    bad = with_calc_rows(folder / "坏.xlsx", REPRO)
    with_calc_rows(folder / "好.xlsx", b"")
    assert not _openpyxl_loads(bad)
    assert "共享公式" in (fast_decline_reason(bad) or "")
    assert "TranslatorError" in _full_refuses_in_chinese(bad)
    with pytest.raises(ReadError):
        read_any(bad, mode="fast")

    result = consolidate([folder], jobs=1)
    entries = {e.file: e for e in result.entries}
    assert entries["好.xlsx"].included and not entries["坏.xlsx"].included
    assert entries["坏.xlsx"].summary.unreadable and not entries["坏.xlsx"].summary.internal

    capsys.readouterr()
    code = cli_main(["consolidate", str(folder), "-o", str(tmp_path / "s.xlsx"), "--jobs", "1"])
    out = capsys.readouterr()
    assert code == 2
    assert "坏.xlsx" in out.out + out.err and "Traceback" not in out.out + out.err


def test_the_same_group_inside_the_sheet_is_read_fast(tmp_path: Path) -> None:
    ok = with_calc_rows(tmp_path / "ok.xlsx", REPRO.replace(b'r="A401"', b'r="C401"'))
    assert _openpyxl_loads(ok)
    assert assert_equivalent(ok) is None


@pytest.mark.parametrize("anchor", ["&quot;abc", "A1)", "[1", "#BAD", "'abc"])
def test_anchor_the_tokenizer_refuses(tmp_path: Path, anchor: str) -> None:
    rows = (f'<row r="400"><c r="B400"><f t="shared" ref="B400:C400" si="97">{anchor}</f></c>'
            '<c r="C400"><f t="shared" si="97"/></c></row>').encode()
    path = with_calc_rows(tmp_path / "tok.xlsx", rows)
    assert not _openpyxl_loads(path)
    assert "openpyxl" in (fast_decline_reason(path) or "")
    _full_refuses_in_chinese(path)


def test_anchor_alone_that_the_tokenizer_refuses(tmp_path: Path) -> None:
    """openpyxl tokenizes an anchor even when no cell follows it."""
    path = with_calc_rows(tmp_path / "alone.xlsx", b'<row r="400"><c r="B400"><f t="shared" si="93">A1)</f></c></row>')
    assert not _openpyxl_loads(path)
    assert fast_decline_reason(path) is not None


@pytest.mark.parametrize(("attrs", "loads"), [
    ('t="dataTable" dt2D="1" r1="A1" r2="A2"', False),  # no ref: DataTableFormula() fails
    ('t="dataTable" ref="B400:C401" dt2D="1" dtr="0" r1="A1" r2="A2" del1="1" ca="1"', True),
    ('t="dataTable" ref="B400:C401" aca="1" bx="1" si="4"', True),  # attributes openpyxl does not name
])
def test_data_table_formula(tmp_path: Path, attrs: str, loads: bool) -> None:
    path = with_calc_rows(tmp_path / "dt.xlsx", f'<row r="400"><c r="B400"><f {attrs}/></c></row>'.encode())
    assert _openpyxl_loads(path) is loads
    if loads:
        assert assert_equivalent(path) is None
    else:
        assert "数据表公式" in (fast_decline_reason(path) or "")
        _full_refuses_in_chinese(path)


# ------------------------------------------------------------------- random shared groups

_COLS = st.sampled_from([1, 2, 3, 4, 26, 27, 16384, 18276, 18277, 18278])
_ROWS = st.sampled_from([1, 2, 3, 5, 399, 400, 401, 1048576])


@st.composite
def references(draw: st.DrawFn) -> str:
    """One reference of the anchor formula: a cell, a range, whole rows or columns, a name,
    with $ at random, optionally on another sheet."""
    def col() -> str:
        return ("$" if draw(st.booleans()) else "") + addr.get_column_letter(draw(_COLS))

    def row() -> str:
        return ("$" if draw(st.booleans()) else "") + str(draw(_ROWS))

    kind = draw(st.sampled_from(["cell", "cell", "range", "rows", "cols", "name"]))
    if kind == "cell":
        ref = col() + row()
    elif kind == "range":
        ref = col() + row() + ":" + col() + row()
    elif kind == "rows":
        ref = row() + ":" + row()
    elif kind == "cols":
        ref = col() + ":" + col()
    else:
        ref = "某名称"
    return ("'表一 主动公开'!" if draw(st.booleans()) else "") + ref


@st.composite
def groups(draw: st.DrawFn) -> bytes:
    """A shared group at a random anchor, its formula of random references, dependents at
    random offsets (negative ones too), some written before the anchor; rows in any order."""
    row0 = draw(st.integers(400, 405))
    col0 = draw(st.sampled_from([1, 2, 3, 5, 27]))  # far right, the sheet's area exceeds the work limits
    refs = draw(st.lists(references(), min_size=0, max_size=3))
    text = "SUM(" + ",".join(refs) + ")" if refs else draw(st.sampled_from(["1+1", '"a"&"b"']))
    cells = [(row0, col0, f'<f t="shared" ref="A1:B2" si="78">{text}</f>')]
    for _ in range(draw(st.integers(0, 4))):
        r = max(1, row0 + draw(st.integers(-3, 3)))
        c = max(1, col0 + draw(st.sampled_from([-30, -3, -1, 0, 1, 2, 30])))
        if (r, c) in {(x[0], x[1]) for x in cells}:
            continue
        f = '<f t="shared" si="78"/>' if draw(st.booleans()) else '<f t="shared" si="78"></f>'
        if draw(st.integers(0, 4)) == 0:
            cells.insert(0, (r, c, f))  # before the anchor: openpyxl gives it "=" and moves on
        else:
            cells.append((r, c, f))
    return "".join(f'<row r="{r}"><c r="{addr.get_column_letter(c)}{r}">{f.replace("&", "&amp;")}</c></row>'
                   for r, c, f in cells).encode()


@settings(max_examples=EXAMPLES * 2, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=groups())
def test_fast_declines_or_agrees_with_openpyxl_on_random_shared_groups(tmp_path: Path, rows: bytes) -> None:
    path = with_calc_rows(tmp_path / "g.xlsx", rows)
    loads = _openpyxl_loads(path)
    reason = fast_decline_reason(path)
    if not loads:
        assert reason is not None, rows
    else:
        assert reason is None, (reason, rows)  # exact: nothing openpyxl loads is declined for its formulas
        assert assert_equivalent(path) is None
