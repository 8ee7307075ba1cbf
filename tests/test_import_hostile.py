"""Damaged and hostile inputs to ``import``/``check``: a Chinese message, bounded resources.

Published reports come from the internet. A truncated download, a flipped bit, or a file
built to exhaust memory (huge merged-cell spans, megabytes of tabs, a 5000-digit number)
must give a message naming the file (``import`` exit code 2), never a traceback, and no
input under 1 MB may take more than ~300 MB or 30 s.
"""

from __future__ import annotations

import argparse
import io
import random
import time
import tracemalloc
import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gkreport.commands import cli_import
from gkreport.core.forms import load_form
from gkreport.markers.checking import check_file
from gkreport.readers.published import ReportReadError, read_published
from test_import_completeness import report_text
from test_import_published import BREAKS_2021, add_docx_grid, expected_pingtan, grid_spec


def good_docx() -> bytes:
    form = load_form("2021")
    doc = docx.Document()
    doc.add_paragraph("平潭综合实验区2023年度政府信息公开工作年度报告")
    for t in form.tables:
        doc.add_paragraph(t.title)
        add_docx_grid(doc, *grid_spec(form, t.id, expected_pingtan(), BREAKS_2021))
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()


def good_xlsx() -> bytes:
    form = load_form("2021")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws["A1"] = "平潭综合实验区2023年度政府信息公开工作年度报告"
    top = 3
    for t in form.tables:
        spec, n_rows, _ = grid_spec(form, t.id, expected_pingtan())
        for r1, c1, _r2, _c2, text in spec:
            if text:
                ws.cell(row=top + r1 - 1, column=c1, value=text)
        top += n_rows + 2
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


GOOD = {".docx": good_docx(), ".xlsx": good_xlsx()}


def import_cli(src: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    cli_import.add_parser(parser.add_subparsers())
    args = parser.parse_args(["import", str(src), "-o", str(out)])
    code = args.func(args)  # the registered command: under the CLI's guard, as users run it
    return code, capsys.readouterr().err


@pytest.mark.parametrize("ext", [".docx", ".xlsx"])
def test_the_good_files_import(tmp_path: Path, ext: str) -> None:
    path = tmp_path / f"good{ext}"
    path.write_bytes(GOOD[ext])
    got = read_published(path)
    assert got.values["t2.new.person"] == 80 and got.complete


def _damaged(ext: str) -> dict[str, bytes]:
    data = GOOD[ext]
    rng = random.Random(7)
    out = {f"truncated-{n}": data[:n] for n in (10, 200, len(data) // 2, len(data) - 30)}
    for _ in range(12):
        pos = rng.randrange(len(data))
        out[f"flip-{pos}"] = data[:pos] + bytes([data[pos] ^ (1 << rng.randrange(8))]) + data[pos + 1:]
    part = "word/document.xml" if ext == ".docx" else "xl/worksheets/sheet1.xml"
    for name, body in (("garbage-xml", b"<w:document><w:body><w:p>"), ("not-xml", b"\x00\x01PK not xml")):
        buf = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                dst.writestr(info, body if info.filename == part else src.read(info))
        out[name] = buf.getvalue()
    return out


@pytest.mark.parametrize("ext", [".docx", ".xlsx"])
def test_damaged_files_are_a_message_naming_the_file(tmp_path: Path, ext: str,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    for name, data in _damaged(ext).items():
        path = tmp_path / f"{name}{ext}"
        path.write_bytes(data)
        try:
            read_published(path)  # a flip in an unused byte may leave the file readable
        except ReportReadError as e:
            assert path.name in str(e), (name, str(e))
            code, err = import_cli(path, tmp_path / f"{name}.out.xlsx", capsys)
            assert code == 2 and path.name in err and "Traceback" not in err
            assert not (tmp_path / f"{name}.out.xlsx").exists()
        result = check_file(path)  # check: the same file is an unreadable file, not a crash
        assert result.error is None or result.report is None


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ext=st.sampled_from([".docx", ".xlsx"]), pos=st.floats(0, 1, exclude_max=True), bit=st.integers(0, 7),
       cut=st.booleans())
def test_any_flip_or_cut_is_imported_or_refused(tmp_path: Path, ext: str, pos: float, bit: int, cut: bool) -> None:
    data = GOOD[ext]
    i = int(pos * len(data))
    data = data[:i] if cut else data[:i] + bytes([data[i] ^ (1 << bit)]) + data[i + 1:]
    path = tmp_path / f"x{ext}"
    path.write_bytes(data)
    try:
        read_published(path)
    except ReportReadError as e:
        assert "x" + ext in str(e)


# ----------------------------------------------------------------------------- resources


def _html_spans() -> bytes:
    cell = '<td colspan="100000" rowspan="100000">申请人情况</td>'
    return ("<html><body><p>某某局2023年度政府信息公开工作年度报告</p><table>"
            + ("<tr>" + cell * 8 + "</tr>") * 400 + "</table></body></html>").encode()


def _docx_spans() -> bytes:
    """A Word table whose cells claim gridSpan 100000 and a vertical merge down 1000 rows."""
    row = ('<w:tr><w:tc><w:tcPr><w:gridSpan w:val="100000"/><w:vMerge w:val="restart"/></w:tcPr>'
           '<w:p><w:r><w:t>自然人</w:t></w:r></w:p></w:tc></w:tr>')
    cont = '<w:tr><w:tc><w:tcPr><w:gridSpan w:val="100000"/><w:vMerge/></w:tcPr><w:p/></w:tc></w:tr>'
    body = ('<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>'
            f'<w:tbl>{row}{cont * 1000}</w:tbl></w:body></w:document>')
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(GOOD[".docx"])) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info.filename, body.encode() if info.filename == "word/document.xml" else src.read(info))
    return buf.getvalue()


def _xlsx_far_cell() -> bytes:
    wb = openpyxl.load_workbook(io.BytesIO(GOOD[".xlsx"]))
    ws = wb.active
    ws["XFD1048576"] = 1
    ws.cell(row=60, column=16000, value="0")
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HOSTILE = {
    "spans.html": _html_spans,
    "tab-line.txt": lambda: b"\t" * 1_000_000,
    "tab-lines.txt": lambda: (b"\t" * 500 + b"\n") * 2000,
    "cell-lines.txt": lambda: b"\t0\n" * 330_000,
    "many-tds.html": lambda: ("<table>" + "<tr>" + "<td>0</td>" * 400 + "</tr>" * 1 + "<tr><td>0</td></tr>" * 15_000
                              + "</table>").encode(),
    "spans.docx": _docx_spans,
    "far-cell.xlsx": _xlsx_far_cell,
    "digits.txt": lambda: report_text(t3=["9" * 5000] + ["0"] * 14).encode(),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_is_bounded(tmp_path: Path, name: str) -> None:
    data = HOSTILE[name]()
    assert len(data) < 1024 * 1024
    path = tmp_path / name
    path.write_bytes(data)
    start = time.perf_counter()
    try:
        read_published(path)
    except ReportReadError as e:
        assert name in str(e)
    elapsed = time.perf_counter() - start
    tracemalloc.start()
    try:
        result = check_file(path)
        assert result.error or result.report is not None
    except ReportReadError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert elapsed < 30, f"{name}: {elapsed:.1f} s"
    assert peak < 300 * 1024 * 1024, f"{name}: {peak / 1e6:.0f} MB"


def test_check_refuses_a_workbook_whose_farthest_cell_spans_billions(tmp_path: Path) -> None:
    """python-calamine would allocate the whole area (500 GB for XFD1048576) and abort."""
    path = tmp_path / "far.xlsx"
    path.write_bytes(_xlsx_far_cell())
    result = check_file(path)
    assert result.report is None and "数据区域过大" in (result.error or "")
    assert read_published(path).values["t2.new.person"] == 80  # import reads only the first rows/columns


def test_a_5000_digit_number_is_a_finding(tmp_path: Path) -> None:
    path = tmp_path / "digits.txt"
    path.write_text(report_text(t3=["9" * 5000] + ["0"] * 14), encoding="utf-8")
    result = check_file(path)
    (f,) = [f for f in result.findings if f.rule == "value-type"]
    assert "5000 位数字" in f.message and f.cell_ids == ("t3.review.upheld",)


def test_numbers_beyond_any_float_are_invalid_not_a_traceback() -> None:
    from gkreport.core.values import parse_value

    for raw in ("1e999999999", "9" * 5000, "-" + "9" * 400 + ".5", "1," + "000," * 2000 + "000"):
        v = parse_value(raw)
        assert v.state == "invalid" and ("过大" in v.why or "过长" in v.why)


def test_limits_have_chinese_messages(tmp_path: Path) -> None:
    path = tmp_path / "long.txt"
    path.write_bytes(b"\t" * 300_000)
    with pytest.raises(ReportReadError, match=r"过长.*long\.txt"):
        read_published(path)
    path = tmp_path / "wide.html"
    path.write_bytes(("<table><tr>" + "<td>申请人情况</td>" * 600 + "</tr></table>").encode())
    with pytest.raises(ReportReadError, match=r"超过上限.*wide\.html"):
        read_published(path)
