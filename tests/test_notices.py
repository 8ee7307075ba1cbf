"""Return notices (退回修改通知), the chase list (催报清单) and the data fingerprint.

Workbooks are built here with planted errors; the notices are read back with python-docx
and must list every error finding of each agency with its cell, current value and the
suggested value where the checker determined one.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import docx
import openpyxl
import pytest

from conftest import REAL_REPORTS, make_filled
from gkreport.commands.cli import main
from gkreport.consolidation.consolidate import load_roster
from gkreport.core.engine import check
from gkreport.core.stamp import data_fingerprint
from gkreport.readers import read_any
from lo_writer import lo_pdf


def _values(**changes: object) -> dict:
    _, _, values = REAL_REPORTS["pingtan-2023"]()
    return {**values, **changes}


def _problem_rows(path: Path) -> list[list[str]]:
    doc = docx.Document(str(path))
    table = doc.tables[0]
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0][:8] == ["序号", "表", "行", "列", "单元格", "现填写", "建议值", "问题说明"]
    return rows[1:]


def _text(path: Path) -> str:
    doc = docx.Document(str(path))
    return "\n".join(p.text for p in doc.paragraphs) + "\n".join(
        p.text for s in doc.sections for p in s.footer.paragraphs)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Three agencies: one with a located error (granted·person 22 -> 13) and a text cell,
    one with an error no single cell explains, one clean."""
    d = tmp_path / "reports"
    d.mkdir()
    make_filled(d, "a.xlsx", "2021", _values(**{"t2.granted.person": 13, "t1.penalty.decisions": "很多"}),
                {"hdr.agency": "甲局", "hdr.year": 2023})
    make_filled(d, "b.xlsx", "2021", _values(**{"t3.review.total": 5}), {"hdr.agency": "乙镇人民政府", "hdr.year": 2023})
    make_filled(d, "c.xlsx", "2021", _values(), {"hdr.agency": "丙局", "hdr.year": 2023})
    return d


def test_check_notices_list_every_error_with_cells_and_suggestions(folder: Path, tmp_path: Path) -> None:
    out, marks = tmp_path / "notices", tmp_path / "marks"
    assert main(["check", str(folder), "--notices", str(out), "--mark", str(marks), "-q"]) == 1
    names = sorted(p.name for p in out.iterdir())
    assert names == ["a.checked.xlsx", "b.checked.xlsx", "乙镇人民政府-退回修改通知.docx", "甲局-退回修改通知.docx"]
    for src, agency in ((folder / "a.xlsx", "甲局"), (folder / "b.xlsx", "乙镇人民政府")):
        report = read_any(src)
        errors = [f for f in check(report) if f.severity == "error"]
        notice = out / f"{agency}-退回修改通知.docx"
        rows = _problem_rows(notice)
        # every error, in order; the findings of one cell to fix share its row
        assert "\n".join(r[7] for r in rows).split("\n") == [f.message for f in errors]
        assert len({r[4] for r in rows if r[4] != "—"}) == len([r for r in rows if r[4] != "—"])
        text = _text(notice)
        assert data_fingerprint(report) in text and src.name in text and f"{agency}：" in text
        assert f"{src.stem}.checked.xlsx" in text
    rows = _problem_rows(out / "甲局-退回修改通知.docx")
    located = [r for r in rows if r[4] == "表二 依申请公开!D9"]
    assert len(located) == 1 and located[0][7].count("\n") == 1  # its row and its column, one row to fix
    assert all(r[2] == "三、本年度办理结果 / （一）予以公开" and r[3] == "申请人情况 / 自然人"
                           and r[5] == "13" and r[6] == "22" for r in located)
    text_cell = [r for r in rows if r[5] == "很多"]
    assert len(text_cell) == 1 and text_cell[0][6] == "—" and text_cell[0][2].endswith("行政处罚")
    # a total that fails on its own: no value is suggested
    (only,) = _problem_rows(out / "乙镇人民政府-退回修改通知.docx")
    assert only[4] == "表三 复议诉讼!E7" and only[5] == "5" and only[6] == "—"


def test_no_notice_for_a_clean_report(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "n"
    assert main(["check", str(folder / "c.xlsx"), "--notices", str(out)]) == 0
    assert list(out.iterdir()) == [] and "没有需要退回修改的报表" in capsys.readouterr().err


def _roster(path: Path) -> Path:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["单位名称", "层级", "联系人", "联系电话"])
        w.writerows([["甲局", "县本级", "张三", "0591-1234567"], ["乙镇人民政府", "镇", "李四", ""],
                     ["丙局", "县本级", "", ""], ["丁局", "县本级", "王五", "13800000000"],
                     ["戊街道办事处", "街道", "赵六", "0591-7654321"]])
    return path


def test_consolidate_notices_chase_list_and_fingerprint_column(folder: Path, tmp_path: Path) -> None:
    out, summary = tmp_path / "notices", tmp_path / "汇总.xlsx"
    roster = _roster(tmp_path / "名单.csv")
    code = main(["consolidate", str(folder), "-o", str(summary), "--roster", str(roster), "--notices", str(out),
                 "--jobs", "1"])
    assert code == 1
    names = sorted(p.name for p in out.iterdir())
    assert names == ["a.checked.xlsx", "b.checked.xlsx", "乙镇人民政府-退回修改通知.docx", "催报清单.docx",
                     "甲局-退回修改通知.docx"]
    a_errors = [f for f in check(read_any(folder / "a.xlsx")) if f.severity == "error"]
    assert "\n".join(r[7] for r in _problem_rows(out / "甲局-退回修改通知.docx")).split("\n") == [
        f.message for f in a_errors]
    # the chase list is exactly the roster's missing agencies, with the roster's contact columns
    table = docx.Document(str(out / "催报清单.docx")).tables[0]
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0] == ["序号", "单位名称", "层级", "联系人", "联系电话", "情况"]
    assert [r[1:5] for r in rows[1:]] == [["丁局", "本级", "王五", "13800000000"],
                                         ["戊街道办事处", "乡镇街道", "赵六", "0591-7654321"]]
    # 报送情况 carries each file's fingerprint, the one printed on its notice
    ws = openpyxl.load_workbook(summary)["报送情况"]
    head = [c.value for c in ws[2]]  # row 1 is the counts line
    col, file_col = head.index("数据指纹"), head.index("文件")
    printed = {row[file_col]: row[col] for row in ws.iter_rows(min_row=3, values_only=True)
               if row[file_col] in ("a.xlsx", "b.xlsx", "c.xlsx")}
    assert printed == {n: data_fingerprint(read_any(folder / n)) for n in ("a.xlsx", "b.xlsx", "c.xlsx")}
    assert printed["a.xlsx"] in _text(out / "甲局-退回修改通知.docx")


def test_fingerprint_is_the_data_not_the_file_or_the_reader(folder: Path, tmp_path: Path) -> None:
    a = read_any(folder / "a.xlsx")
    assert re.fullmatch(r"[0-9a-f]{8}", data_fingerprint(a))
    assert data_fingerprint(read_any(folder / "a.xlsx", mode="fast")) == data_fingerprint(a)
    renamed = make_filled(tmp_path, "other-name.xlsx", "2021",
                          _values(**{"t2.granted.person": 13, "t1.penalty.decisions": "很多"}),
                          {"hdr.agency": "别的名字", "hdr.year": 2023})
    assert data_fingerprint(read_any(renamed)) == data_fingerprint(a)
    assert data_fingerprint(read_any(folder / "b.xlsx")) != data_fingerprint(a)
    published = tmp_path / "a.docx"
    assert main(["publish", str(folder / "c.xlsx"), "-o", str(published)]) == 0
    assert data_fingerprint(read_any(published)) == data_fingerprint(read_any(folder / "c.xlsx"))


def test_roster_keeps_contact_columns_from_xlsx(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["单位名称", "联系电话", "层级"])
    ws.append(["甲局", 13800000000, "县本级"])
    ws.append(["乙镇", None, "镇"])
    wb.save(tmp_path / "名单.xlsx")
    got = load_roster(tmp_path / "名单.xlsx")
    assert [(r.name, r.level, r.extra) for r in got] == [("甲局", "本级", (("联系电话", "13800000000"),)),
                                                         ("乙镇", "乡镇街道", ())]


def test_notice_opens_in_libreoffice(folder: Path, tmp_path: Path) -> None:
    out = tmp_path / "n"
    main(["check", str(folder / "a.xlsx"), "--notices", str(out), "-q"])
    pdf = lo_pdf(out / "甲局-退回修改通知.docx", tmp_path / "pdf")
    assert pdf.read_bytes().startswith(b"%PDF")


def test_header_errors_name_the_header_field(tmp_path: Path) -> None:
    """A 2023 report on the 2019 form: the notice points at 报告年度 on the header sheet."""
    src = make_filled(tmp_path, "old.xlsx", "2019", dict.fromkeys(REAL_REPORTS["helan-hongguang-2020"]()[2], 0),
                      {"hdr.agency": "某某县审计局", "hdr.year": 2023})
    out = tmp_path / "n"
    assert main(["check", str(src), "--notices", str(out), "-q"]) == 1
    (row,) = _problem_rows(out / "某某县审计局-退回修改通知.docx")
    assert row[1:6] == ["基本信息", "报告年度", "—", "基本信息!B6", "2023"] and "2021版" in row[7]


def test_notices_kept_among_the_reports_are_not_read_as_reports(folder: Path, tmp_path: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """A clerk who puts --notices inside the reports' folder: the next run skips the notices,
    the chase list and the marked copies (not "无法读取"), and sums the same agencies."""
    roster = _roster(tmp_path / "名单.csv")
    args = ["consolidate", str(folder), "--roster", str(roster), "--notices", str(folder / "通知"), "--jobs", "1"]
    assert main([*args, "-o", str(tmp_path / "1.xlsx")]) == 1
    assert (folder / "通知" / "催报清单.docx").is_file()
    capsys.readouterr()
    assert main([*args, "-o", str(tmp_path / "2.xlsx"), "--json"]) == 1
    import json

    files = {Path(f["file"]).name: f for f in json.loads(capsys.readouterr().out)["files"]}
    assert {n for n, f in files.items() if f["included"]} == {"a.xlsx", "b.xlsx", "c.xlsx"}
    for name in ("催报清单.docx", "甲局-退回修改通知.docx", "乙镇人民政府-退回修改通知.docx"):
        assert files[name]["reason"] == "本工具生成的退回修改通知或催报清单，不是报表，已跳过"
