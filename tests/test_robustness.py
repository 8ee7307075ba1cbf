"""Bad inputs: each gets a clear Chinese message, nothing is lost, nothing becomes a formula."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REAL_REPORTS, make_filled
from gkreport.core.engine import check
from gkreport.core.forms import load_form
from gkreport.core.report import report_from_raw
from gkreport.markers.checking import check_file
from gkreport.markers.marking import apply_marks
from gkreport.markers.openpyxl_marker import OpenpyxlMarker
from gkreport.readers import ReadError, read_any
from gkreport.readers.workbook_full import UNSAFE_XML
from gkreport.xlam.cfb import Storage, Stream, write_cfb


def _pingtan(tmp_path: Path, name: str = "p.xlsx", **changes: object) -> Path:
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    return make_filled(tmp_path, name, "2021", {**values, **changes}, header)


def _expect(path: Path, text: str) -> None:
    with pytest.raises(ReadError, match=text):
        read_any(path)
    result = check_file(path)
    assert (result.error and text in result.error) or __import__("re").search(text, result.error or "")


def test_encrypted_workbook(tmp_path: Path) -> None:
    p = tmp_path / "secret.xlsx"
    p.write_bytes(write_cfb(Storage("Root Entry", [Stream("EncryptionInfo", b"\x04\x00" * 40),
                                                   Stream("EncryptedPackage", b"\x00" * 5000)])))
    _expect(p, "加密")


def test_legacy_xls_is_refused_clearly(tmp_path: Path) -> None:
    p = tmp_path / "old.xls"
    p.write_bytes(write_cfb(Storage("Root Entry", [Stream("Workbook", b"\x09\x08" * 600)])))
    _expect(p, r"\.xls")


def test_zip_bomb_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(p, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        z.writestr("xl/worksheets/sheet1.xml", b"\x00" * (60 * 1024 * 1024))
    _expect(p, "压缩炸弹")


LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>\n"
)


@pytest.mark.parametrize("part", ["xl/worksheets/sheet3.xml", "xl/styles.xml", "xl/workbook.xml"])
def test_xml_entity_expansion_is_refused(tmp_path: Path, part: str) -> None:
    """A "billion laughs" DOCTYPE in any part: refused or ignored quickly, never expanded."""
    import time

    good = _pingtan(tmp_path)
    with zipfile.ZipFile(good) as z:
        parts = {i.filename: z.read(i.filename) for i in z.infolist()}
    xml = parts[part]
    body = xml.split(b"?>", 1)[1] if xml.startswith(b"<?xml") else xml
    tag_end = body.index(b">")
    parts[part] = LAUGHS.encode() + body[:tag_end + 1] + b"&lol9;" + body[tag_end + 1:]
    bad = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(bad, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    for mode in ("full", "fast"):
        t = time.perf_counter()
        try:
            report = read_any(bad, mode=mode)
        except ReadError as e:
            assert str(e) == UNSAFE_XML, (mode, str(e))
        else:  # calamine (fast) skips the DTD and never expands: the values are still the clerk's
            assert report.number("t2.new.total") == 81, mode
        assert time.perf_counter() - t < 10, mode


def test_truncated_and_not_a_workbook(tmp_path: Path) -> None:
    good = _pingtan(tmp_path)
    cut = tmp_path / "cut.xlsx"
    cut.write_bytes(good.read_bytes()[: len(good.read_bytes()) // 2])
    _expect(cut, "损坏或不完整")
    other = tmp_path / "other.xlsx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("hello.txt", "hi")
    other.write_bytes(buf.getvalue())
    _expect(other, "不是 Excel 工作簿")


def test_empty_workbook_and_deleted_sheet(tmp_path: Path) -> None:
    empty = tmp_path / "empty.xlsx"
    openpyxl.Workbook().save(empty)
    _expect(empty, "没有找到")
    p = _pingtan(tmp_path)
    wb = openpyxl.load_workbook(p)
    del wb["表二 依申请公开"]
    wb.save(tmp_path / "nosheet.xlsx")
    _expect(tmp_path / "nosheet.xlsx", "表二")


def test_inserted_rows_are_followed_by_names(tmp_path: Path) -> None:
    p = _pingtan(tmp_path)
    wb = openpyxl.load_workbook(p)
    ws = wb["表二 依申请公开"]
    # Simulate Excel's row insertion: move the body down and shift the names with it.
    ws.move_range("A4:K40", rows=2)
    for _name, dn in list(wb.defined_names.items()):
        (sheet, ref), = list(dn.destinations)
        if sheet == "表二 依申请公开":
            col, row = ref.replace("$", "")[0], int(ref.replace("$", "")[1:])
            dn.attr_text = f"'{sheet}'!${col}${row + 2}"
    wb.save(tmp_path / "moved.xlsx")
    for mode in ("full", "fast"):  # fast (consolidation) falls back to the names when the layout moved
        report = read_any(tmp_path / "moved.xlsx", mode=mode)
        assert report.number("t2.new.person") == 80, mode
        assert [f for f in check(report) if f.severity == "error"] == [], mode


def test_million_blank_rows_below_the_table(tmp_path: Path) -> None:
    """A stray space at A1000000 makes the used range 1,000,000 x 11 cells: python-calamine
    holds that grid densely (~350 MB for a 30 kB file), beyond the per-input budget. The file
    is refused, in both readers, with the sheet, the size and what to do."""
    p = _pingtan(tmp_path)
    wb = openpyxl.load_workbook(p)
    wb["表二 依申请公开"]["A1000000"] = " "
    wb.save(tmp_path / "tall.xlsx")
    for mode in ("fast", "full"):
        with pytest.raises(ReadError, match=r"表二 依申请公开.*1000000 行 × 11 列.*删除多余的行列"):
            read_any(tmp_path / "tall.xlsx", mode=mode)
    wb = openpyxl.load_workbook(p)
    wb["表二 依申请公开"]["A300000"] = " "  # 300,000 x 11: within the budget, read as usual
    wb.save(tmp_path / "tall.xlsx")
    assert read_any(tmp_path / "tall.xlsx", mode="fast").number("t2.new.total") == 81


def test_huge_and_negative_numbers_are_errors_at_the_cell() -> None:
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    form = load_form("2021")
    findings = check(report_from_raw(form, {**values, "t2.deny_law.person": 1e20, "t3.review.other": -1}, header))
    bad = {f.cell_ids[0] for f in findings if f.rule == "value-type"}
    assert bad == {"t2.deny_law.person", "t3.review.other"}


@pytest.mark.parametrize("text", ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "=HYPERLINK(\"http://x\")"])
def test_text_written_back_stays_text(tmp_path: Path, text: str) -> None:
    p = _pingtan(tmp_path, "inj.xlsx", **{"t2.deny_law.person": text})
    wb = openpyxl.load_workbook(p)
    cell = wb["表二 依申请公开"]["D12"]
    assert cell.data_type == "s" and cell.value == text
    out = check_file(p, mark_dir=tmp_path / "m", form="2021")
    marked = openpyxl.load_workbook(out.marked)
    assert marked["表二 依申请公开"]["D12"].value == text
    assert marked["表二 依申请公开"]["D12"].data_type == "s"
    for row in marked["校验结果"].iter_rows(min_row=2):
        for c in row:
            assert c.data_type != "f"


CELL_TEXT = st.one_of(
    st.none(),
    st.integers(min_value=-10**6, max_value=10**13),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(alphabet=st.sampled_from(list("0123456789０１２３-—/,.件元万 =+@abc不适用")), max_size=12),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.dictionaries(st.sampled_from(sorted(load_form("2021").cells)), CELL_TEXT, max_size=8))
def test_fuzz_read_check_mark_never_crashes_or_changes_values(tmp_path: Path, planted: dict) -> None:
    """Random cell contents through fill -> read -> check -> mark: no crash, values intact."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    form = load_form("2021")
    values = {**values, **planted}
    path = tmp_path / "fuzz.xlsx"
    make_filled(tmp_path, "fuzz.xlsx", "2021", values, header)
    report = read_any(path)
    findings = check(report)
    marker = OpenpyxlMarker.open(path)
    apply_marks(marker, findings)
    buf = io.BytesIO()
    marker.wb.save(buf)
    again = openpyxl.load_workbook(io.BytesIO(buf.getvalue()))
    original = openpyxl.load_workbook(path)
    for cid in planted:
        cell = form.cells[cid]
        assert again[cell.sheet][cell.ref].value == original[cell.sheet][cell.ref].value


def test_control_characters_from_text_reports_never_break_a_workbook(tmp_path: Path) -> None:
    """pdftotext puts a form feed between pages; other tools leave other control characters.
    They cannot be stored in .xlsx (openpyxl refuses them): written text drops them."""
    from gkreport.consolidation.consolidate import consolidate, write_summary
    from gkreport.output.safety import set_text

    src = Path(__file__).parent / "fixtures" / "real" / "xiuzhou-honghe-2020.txt"
    lines = src.read_text(encoding="utf-8").splitlines()
    lines[0] = lines[0] + "\x0b\ufffe"
    text = "\n\x0c".join(lines[i:i + 20] and "\n".join(lines[i:i + 20]) for i in range(0, len(lines), 20))
    folder = tmp_path / "in"
    folder.mkdir()
    report = folder / "洪合镇.txt"
    report.write_text(text, encoding="utf-8")
    result = check_file(report, mark_dir=tmp_path / "m")
    assert result.report is not None and result.marked is not None
    marked = openpyxl.load_workbook(result.marked)
    for ws in marked.worksheets:
        for row in ws.iter_rows(values_only=True):
            assert not any(isinstance(v, str) and ("\x0b" in v or "\x0c" in v or "\ufffe" in v) for v in row)
    summary = write_summary(consolidate([folder], jobs=1), tmp_path / "汇总.xlsx")
    assert openpyxl.load_workbook(summary)["报送情况"]["B2"].value
    cell = openpyxl.Workbook().active["A1"]
    set_text(cell, "甲\x00乙\x0c丙\ud800丁")
    assert cell.value == "甲乙丙丁" and cell.data_type == "s"


# ------------------------------------------------------------------ the robustness corpus, fast subset

def _corpus():
    import importlib.util
    import sys

    path = Path(__file__).resolve().parent.parent / "benchmarks" / "robustness.py"
    spec = importlib.util.spec_from_file_location("gk_robustness_corpus", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is made
    spec.loader.exec_module(module)
    return module


CORPUS = _corpus()


@pytest.mark.parametrize("name", [c.name for c in CORPUS.CASES if c.fast])
def test_corpus_case_has_the_documented_exit_code_and_no_traceback(name: str) -> None:
    """benchmarks/robustness.py's quick cases, as subprocesses: the exit code documented in
    docs/robustness.md, one Chinese message, no traceback, and the case's own after-check."""
    case = next(c for c in CORPUS.CASES if c.name == name)
    outcome = CORPUS.run_case(case)
    assert not outcome.traceback, outcome.run.text
    assert outcome.problem is None, outcome.problem
    assert outcome.run.code in case.expect, outcome.run.text


def test_every_corpus_case_is_in_the_published_table() -> None:
    table = (Path(__file__).resolve().parent.parent / "docs" / "robustness.md").read_text(encoding="utf-8")
    missing = [c.name for c in CORPUS.CASES if c.name.replace("|", "\\|") not in table]
    assert not missing, f"docs/robustness.md is stale (run benchmarks/robustness.py --markdown): {missing}"


# ------------------------------------------------------------------ duplicates only by name


def test_blank_agency_names_in_different_folders_are_two_agencies(tmp_path: Path) -> None:
    """乡A/年报.xlsx and 乡B/年报.xlsx, both without 填报单位: both summed, each flagged."""
    from gkreport.consolidation.consolidate import consolidate

    _, _, values = REAL_REPORTS["pingtan-2023"]()
    for town in ("乡A", "乡B"):
        (tmp_path / town).mkdir()
        make_filled(tmp_path / town, "年报.xlsx", "2021", values, {"hdr.year": 2023})
    named = tmp_path / "乡C"
    named.mkdir()
    make_filled(named, "年报.xlsx", "2021", values, {"hdr.year": 2023, "hdr.agency": "丙乡"})
    make_filled(named, "年报-更正.xlsx", "2021", values, {"hdr.year": 2023, "hdr.agency": "丙 乡"})
    result = consolidate([tmp_path], jobs=1)
    included = result.included
    assert len(included) == 3  # 乡A, 乡B, and one of 丙乡's two files
    assert result.sums["t2.new.total"] == 3 * values["t2.new.total"]
    blank = [e for e in included if not e.summary.agency]
    assert len({e.name for e in blank}) == 2
    for e in blank:
        assert "未填写填报单位" in e.reason
        assert any(fd["rule"] == "blank-agency" for fd in e.summary.findings)
    assert len(result.duplicates) == 1  # the same name (spaces aside) is the same agency
