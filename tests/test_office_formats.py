"""Reports that arrive in an Office format gkreport cannot read are named, not dropped.

A clerk collects what agencies send: some save as .xls (Excel 97-2003), .ods (LibreOffice),
.et (WPS) or .xlsb. Inside a folder these used to be "not a report, skipped" with exit code 0,
so the county total silently lacked those agencies. Now every such file is tried: the message
says which format it is and how to save it as .xlsx, it counts as unreadable, and both `check`
and `consolidate` exit with 2 (the summary of the readable ones is still written).
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import make_agencies
from gkreport.commands.cli import main
from gkreport.readers.inputs import collect_files
from gkreport.xlam.cfb import Storage, Stream, write_cfb


def _ods(path: Path, mimetype: str = "application/vnd.oasis.opendocument.spreadsheet") -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("mimetype", mimetype)  # stored first and uncompressed, as ODF requires
        z.writestr("content.xml", "<office:document-content/>")
    return path


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "收到的报表"
    make_agencies().write_agencies(2, folder, seed=3, error_share=0.0)
    (folder / "丙局.xls").write_bytes(write_cfb(Storage("Root Entry", [Stream("Workbook", b"\x09\x08" * 600)])))
    _ods(folder / "丁局.ods")
    with zipfile.ZipFile(folder / "戊局.xlsb", "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.bin", b"\x83\x01\x00")
    (folder / "己局.et").write_bytes(write_cfb(Storage("Root Entry", [Stream("WpsContent", b"\x00" * 600)])))
    (folder / "说明.pdf").write_bytes(b"%PDF-1.4\n")
    (folder / "照片.jpg").write_bytes(b"\xff\xd8\xff")
    return folder


MESSAGES = {
    "丙局.xls": "旧版 Excel 97-2003 格式（.xls）",
    "丁局.ods": "OpenDocument 表格（.ods）",
    "戊局.xlsb": "Excel 二进制工作簿（.xlsb）",
    "己局.et": "WPS 表格格式（.et）",
}


def test_office_files_in_a_folder_are_tried_and_other_files_skipped_with_their_reason(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    files, skipped = collect_files([folder])
    assert {p.name for p in files} >= set(MESSAGES)
    reasons = {p.name: why for p, why in skipped}
    assert set(reasons) == {"说明.pdf", "照片.jpg"}
    assert "PDF" in reasons["说明.pdf"] and ".docx" in reasons["说明.pdf"]
    assert "（.jpg）" in reasons["照片.jpg"]


def test_check_names_each_format_and_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = _folder(tmp_path)
    code = main(["check", str(folder), "--json"])
    results = {Path(r["file"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert code == 2
    for name, text in MESSAGES.items():
        assert text in results[name]["error"], name
        assert ".xlsx" in results[name]["error"]
    assert sum(1 for r in results.values() if not r.get("error")) == 2


def test_consolidate_writes_the_summary_of_the_rest_lists_them_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _folder(tmp_path)
    out = tmp_path / "汇总.xlsx"
    code = main(["consolidate", str(folder), "-o", str(out), "--json"])
    doc = json.loads(capsys.readouterr().out)
    assert code == 2 and out.exists()
    excluded = {Path(e["file"]).name: e["reason"] for e in doc["files"] if not e["included"]}
    for name, text in MESSAGES.items():
        assert text in excluded[name], name
    assert sum(1 for e in doc["files"] if e["included"]) == 2


def test_an_opendocument_text_is_told_apart_from_a_spreadsheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = _ods(tmp_path / "报告.odt", "application/vnd.oasis.opendocument.text")
    assert main(["check", str(path)]) == 2
    assert "OpenDocument 文档（.odt）" in capsys.readouterr().out


def test_the_blank_template_left_in_the_folder_is_not_summed_as_an_agency(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Clerks keep the template they sent out next to the replies. With no 填报单位 and no data
    it is not an agency: it is listed as a blank template, not summed as （未填单位）; a file with
    data but no name is still summed (and flagged) as before."""
    folder = tmp_path / "收到的报表"
    records = make_agencies().write_agencies(2, folder, seed=5, error_share=0.0)
    assert main(["template", "--form", "2021", "-o", str(folder / "模板.xlsx")]) == 0
    nameless = folder / "未填名称.xlsx"
    wb = openpyxl.load_workbook(records[0]["path"])
    wb["基本信息"]["B4"] = None
    wb.save(nameless)
    capsys.readouterr()
    code = main(["consolidate", str(folder), "-o", str(tmp_path / "汇总.xlsx"), "--json"])
    files = {Path(e["file"]).name: e for e in json.loads(capsys.readouterr().out)["files"]}
    assert code == 0
    assert not files["模板.xlsx"]["included"] and "空白模板" in files["模板.xlsx"]["reason"]
    assert files["未填名称.xlsx"]["included"]
    assert sum(1 for e in files.values() if e["included"]) == 3
