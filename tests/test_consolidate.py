"""Consolidation: sums, roster matching, bad inputs, CLI exit codes, output safety."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from conftest import make_agencies
from gkreport.commands.cli import main as cli_main
from gkreport.consolidation.consolidate import Consolidation, consolidate, normalise_name, write_summary
from gkreport.core.forms import load_form
from gkreport.output.fill import fill_workbook
from gkreport.output.template import build_template
from gkreport.readers import ReadError
from gkreport.readers.ooxml import sheet_parts
from gkreport.xlam.cfb import Storage, Stream, write_cfb

mk = make_agencies()


def _by_name(wb: openpyxl.Workbook, name: str) -> object:
    ((sheet, ref),) = list(wb.defined_names[name].destinations)
    return wb[sheet][ref.replace("$", "")].value


def _expected_sums(records: list[dict]) -> dict[str, float]:
    form = load_form("2021")
    return {cid: sum(float(r["values"].get(cid) or 0) for r in records) for cid in form.cells}


@pytest.fixture(scope="module")
def messy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict], dict[str, Path]]:
    """8 good agencies (one with a planted error) plus every kind of bad file."""
    d = tmp_path_factory.mktemp("messy")
    records = mk.write_agencies(8, d, seed=3, error_share=0.0)
    planted = mk.plant_error(records[3]["values"], __import__("random").Random(1))
    form = load_form("2021")
    fill_workbook(build_template(form), form, records[3]["values"],
                  {"hdr.agency": records[3]["name"], "hdr.year": 2023}).save(records[3]["path"])
    records[3]["planted"] = planted
    bad = mk.write_bad_files(d / "sub", records[0]["path"])
    enc = d / "sub" / "加密的文件.xlsx"
    enc.write_bytes(write_cfb(Storage("Root", [Stream("EncryptionInfo", b"\x04\x00\x04\x00" + b"\x00" * 60),
                                                Stream("EncryptedPackage", b"\x00" * 600)])))
    bad["encrypted"] = enc
    return d, records, bad


def test_sums_equal_independent_sums_and_bad_files_reported(messy, tmp_path: Path) -> None:
    d, records, bad = messy
    result = consolidate([d], year=None, form=None, roster=None, strict=False, jobs=2, progress=False)
    assert result.form is not None and result.form.version == "2021" and result.year == 2023
    assert len(result.included) == 8
    by_file = {e.file: e for e in result.entries}
    for kind, path in bad.items():
        e = by_file[path.name]
        assert not e.included, kind
        assert e.reason, kind
    assert "加密" in by_file[bad["encrypted"].name].reason
    assert "CSV" in by_file[bad["csv"].name].reason
    assert "锁文件" in by_file[bad["lock"].name].reason
    assert "表式版本不同" in by_file[bad["old_form"].name].reason
    # the planted error is flagged but the agency is included
    flagged = by_file[records[3]["path"].name]
    assert flagged.included and flagged.summary.counts["error"] > 0
    assert result.error_count > 0
    # the summary inherits the planted imbalance and names the agency it comes from
    inherited = [f for f in result.summary_findings if f.severity == "error"]
    assert inherited and all(records[3]["name"] in f.message for f in inherited)
    assert not any("最可能填错" in f.message for f in inherited)  # a sum has no typed-wrong cell

    out = tmp_path / "summary.xlsx"
    write_summary(result, out)
    wb = openpyxl.load_workbook(out)
    expected = _expected_sums(records)
    for cid, value in expected.items():
        got = _by_name(wb, cid)
        assert got == pytest.approx(value), cid
    assert _by_name(wb, "hdr.agency") == "汇总（8 个单位）"
    assert _by_name(wb, "hdr.region") == "某某县"  # every agency gave the same region
    assert _by_name(wb, "hdr.date").date() == __import__("datetime").date.today()
    for name in ("报送情况", "问题清单"):  # lists print landscape, one page wide, header on every page
        ws = wb[name]
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1, name
        assert ws.sheet_properties.pageSetUpPr.fitToPage, name
    assert wb["问题清单"].print_title_rows == "$1:$1"
    assert wb["报送情况"].print_title_rows == "$1:$2"  # the counts line and the header
    for name in ("报送情况", "问题清单", "明细", "图表"):
        assert name in wb.sheetnames
    assert "明细（长表）" not in wb.sheetnames
    detail = wb["明细"]
    ids = list(load_form("2021").cells)
    assert detail.cell(row=1, column=3).value == "表一·规章·本年制发件数"  # one header row: the label path
    assert detail.max_row == 1 + 8
    assert detail.auto_filter.ref == f"A1:{openpyxl.utils.get_column_letter(3 + len(ids))}9"
    # every agency's row holds its own values, cell by cell; a blank input stays blank
    rows = {r[-1]: r for r in detail.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == 8
    for rec in records:
        row = rows[Path(rec["path"]).name]
        assert row[0] == rec["name"]
        for j, cid in enumerate(ids, start=2):
            given = rec["values"].get(cid)
            assert row[j] == (None if given is None else pytest.approx(float(given))), (rec["name"], cid)
    issues = wb["问题清单"]
    assert issues.auto_filter.ref and issues.freeze_panes == "A2"
    assert any(r[4] == "T2-row-total" for r in issues.iter_rows(min_row=2, values_only=True))
    charts = wb["图表"]._charts
    assert len(charts) == 2  # applications by agency; the county's results by outcome
    head = next(r for r in range(1, 200) if wb["图表"].cell(row=r, column=4).value == "办理结果")
    shares = {r[0]: r[1] for r in wb["图表"].iter_rows(min_row=head + 1, min_col=4, max_col=5, values_only=True)
              if r[0]}
    assert list(shares)[:3] == ["（一）予以公开", "（二）部分公开", "（三）不予公开"]
    assert sum(shares.values()) == pytest.approx(expected["t2.total.total"])  # the parts add up to (七)总计
    # blank cells of some agencies make the summary cell uncertain, with a comment naming them
    blank_ids = [cid for cid, who in result.blanks.items() if who]
    if blank_ids:
        cell = load_form("2021").cells[blank_ids[0]]
        c = wb[cell.sheet][cell.ref]
        assert c.comment is not None and result.blanks[blank_ids[0]][0] in c.comment.text


def test_roster_missing_duplicate_mismatched(tmp_path: Path) -> None:
    d = tmp_path / "in"
    records = mk.write_agencies(6, d, seed=5, error_share=0.0)
    form = load_form("2021")
    town = next(r for r in records if str(r["name"]).endswith("人民政府"))
    typo = str(town["name"]).replace("人民政府", "政府")
    fill_workbook(build_template(form), form, town["values"], {"hdr.agency": typo, "hdr.year": 2023}).save(town["path"])
    shutil.copy(records[1]["path"], d / "zz-再次报送.xlsx")
    # a name written with spaces and full-width brackets still matches
    spaced = records[0]
    fill_workbook(build_template(form), form, spaced["values"],
                  {"hdr.agency": f" {str(spaced['name'])[:3]} {str(spaced['name'])[3:]}（ ）", "hdr.year": 2023}
                  ).save(spaced["path"])
    roster = tmp_path / "名单.csv"
    mk.write_roster(roster, [*records, {"name": "某某县审计局", "level": "部门"}])

    result = consolidate([d], year=2023, form="2021", roster=roster, strict=False, jobs=1, progress=False)
    missing = {m.name for m, _ in result.missing}
    assert missing == {"某某县审计局"}  # 政府 for 人民政府 is the same agency: submitted, not 未报送
    # the copy is the newer file (same 填报日期): it is used, the earlier one is listed as the duplicate
    assert result.duplicates == [(records[1]["name"], Path(records[1]["path"]).name, "zz-再次报送.xlsx")]
    assert result.mismatched == []
    renamed = {e.name: (e.summary.agency, e.level) for e in result.renamed}  # spaced and 政府 names
    assert renamed[town["name"]] == (typo, "乡镇街道") and set(renamed) == {town["name"], spaced["name"]}
    assert len(result.included) == 6  # the 6 agencies (the duplicate left out)
    assert normalise_name(f" {spaced['name']}（ ）") == normalise_name(str(spaced["name"]))
    assert result.has_levels
    own, towns, unlisted, whole = (result.level_sums[k]["t2.new.total"]
                                   for k in ("本级", "乡镇街道", "未列入名单", "全县"))
    assert unlisted == 0 and own + towns == whole

    out = tmp_path / "s.xlsx"
    write_summary(result, out, long=True)
    wb = openpyxl.load_workbook(out)
    assert "分级汇总" in wb.sheetnames and "明细（长表）" in wb.sheetnames
    long_rows = list(wb["明细（长表）"].iter_rows(min_row=2, values_only=True))
    assert len(long_rows) == len(result.included) * len(form.cells)
    assert wb["明细（长表）"].auto_filter.ref == f"A1:I{len(long_rows) + 1}"
    rec = records[2]
    mine = {r[3]: r for r in long_rows if r[1] == Path(rec["path"]).name}
    for cid, cell in form.cells.items():
        given = rec["values"].get(cid)
        assert mine[cid][4:7] == (form.table(cell.table).title, cell.row_label or None, cell.col_label or None)
        assert mine[cid][7:] == ((None, "是") if given is None else (pytest.approx(float(given)), None)), cid
    status = {r[0]: r for r in wb["报送情况"].iter_rows(min_row=3, values_only=True) if r[6] != "未纳入"}
    assert status["某某县审计局"][6] == "未报送"
    assert status[town["name"]][6] == "已纳入·名称略有不同"
    assert status[town["name"]][9].startswith(f"名称与名单略有不同（名单：{town['name']}）")
    texts = [v for row in wb["报送情况"].iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert any(t.startswith("重复报送") for t in texts)
    # every cell is uncertain while an agency is missing: grey-blue fill and a comment naming it
    cell = form.cells["t2.new.total"]
    c = wb[cell.sheet][cell.ref]
    assert "某某县审计局" in c.comment.text
    assert c.fill.fgColor.rgb.endswith("DCE6F1")


def test_formula_like_agency_name_stays_text(tmp_path: Path) -> None:
    d = tmp_path / "in"
    records = mk.write_agencies(2, d, seed=2, error_share=0.0)
    form = load_form("2021")
    fill_workbook(build_template(form), form, records[0]["values"],
                  {"hdr.agency": "=HYPERLINK(\"http://x\")", "hdr.year": 2023}).save(records[0]["path"])
    result = consolidate([d], year=None, form=None, roster=None, strict=False, jobs=1, progress=False)
    out = tmp_path / "s.xlsx"
    write_summary(result, out)
    wb = openpyxl.load_workbook(out)
    cell = wb["明细"]["A2"]
    assert cell.value == "=HYPERLINK(\"http://x\")" and cell.data_type == "s"


def _run(*argv: str) -> int:
    return cli_main(["consolidate", *argv])


def test_cli_exit_codes_and_no_overwrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    clean = tmp_path / "clean"
    mk.write_agencies(4, clean, seed=7, error_share=0.0)
    out = tmp_path / "summary.xlsx"
    assert _run(str(clean), "-o", str(out), "--jobs", "1") == 0
    text = capsys.readouterr().out
    assert "纳入汇总 4 个" in text
    before = out.read_bytes()
    assert _run(str(clean), "-o", str(out), "--jobs", "1") == 2
    assert "已存在" in capsys.readouterr().err
    assert out.read_bytes() == before
    assert _run(str(clean), "-o", str(out), "--jobs", "1", "--force", "--json") == 0
    assert '"included": true' in capsys.readouterr().out

    with_error = tmp_path / "err"
    recs = mk.write_agencies(3, with_error, seed=8, error_share=1.0)
    assert all(r["planted"] for r in recs)
    assert _run(str(with_error), "-o", str(tmp_path / "e.xlsx"), "--jobs", "1") == 1
    assert _run(str(with_error), "-o", str(tmp_path / "e2.xlsx"), "--jobs", "1", "--strict") == 2  # nothing left

    junk = tmp_path / "junk"
    junk.mkdir()
    (junk / "坏.xlsx").write_bytes(b"PK\x03\x04broken")
    assert _run(str(junk), "-o", str(tmp_path / "j.xlsx")) == 2
    assert not (tmp_path / "j.xlsx").exists()
    assert _run(str(clean), "-o", str(tmp_path / "x.xlsx"), "--form", "1999") == 2
    assert _run(str(clean)) == 2  # -o is required
    capsys.readouterr()


def test_write_refuses_existing_output(tmp_path: Path) -> None:
    d = tmp_path / "in"
    mk.write_agencies(2, d, seed=9, error_share=0.0)
    result: Consolidation = consolidate([d], year=None, form=None, roster=None, strict=False, jobs=1,
                                        progress=False)
    out = tmp_path / "s.xlsx"
    out.write_bytes(b"keep me")
    with pytest.raises(FileExistsError):
        write_summary(result, out)
    assert out.read_bytes() == b"keep me"
    write_summary(result, out, force=True)
    assert out.read_bytes()[:2] == b"PK"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".~gk-")]


def test_summary_opens_in_libreoffice(tmp_path: Path) -> None:
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        pytest.skip("LibreOffice (soffice) is not installed")
    d = tmp_path / "in"
    records = mk.write_agencies(3, d, seed=4, error_share=0.0)
    roster = mk.write_roster(tmp_path / "r.csv", [*records[:2], {"name": "某某县审计局", "level": "部门"}])
    result = consolidate([d], year=None, form=None, roster=roster, strict=False, jobs=1, progress=False)
    out = tmp_path / "summary.xlsx"
    write_summary(result, out, long=True)
    proc = subprocess.run(
        [exe, "-env:UserInstallation=file:///tmp/lo-consol", "--headless", "--convert-to", "pdf",
         "--outdir", str(tmp_path / "pdf"), str(out)],
        capture_output=True, timeout=180, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    pdf = tmp_path / "pdf" / "summary.pdf"
    assert pdf.is_file() and pdf.stat().st_size > 1000


def test_damaged_part_is_reported_by_the_fast_reader(tmp_path: Path) -> None:
    """The fast path skips zipfile.testzip; a part with a bad CRC must still be caught."""
    import zipfile

    d = tmp_path / "in"
    records = mk.write_agencies(3, d, seed=11, error_share=0.0)
    victim = Path(records[1]["path"])
    with zipfile.ZipFile(victim) as zf:
        parts = {i.filename: zf.read(i.filename) for i in zf.infolist()}
        sheet = sheet_parts(zf)["表二 依申请公开"]
    with zipfile.ZipFile(victim, "w", zipfile.ZIP_STORED) as zf:  # stored: the bytes are findable
        for name, data in parts.items():
            zf.writestr(name, data)
    raw = bytearray(victim.read_bytes())
    number = re.search(rb"<v>[1-8]", parts[sheet])
    assert number
    at = raw.find(parts[sheet]) + number.end() - 1
    raw[at] ^= 0x01  # one flipped bit turns a digit into another digit: only the CRC shows it
    victim.write_bytes(bytes(raw))
    result = consolidate([d], jobs=1)
    e = next(e for e in result.entries if e.file == victim.name)
    assert not e.included and "损坏" in e.reason
    assert len(result.included) == 2


def test_formulas_in_data_cells_are_recomputed_not_counted_as_blank(tmp_path: Path) -> None:
    """calamine sees only cached results; a formula saved without one (or with a stale one)
    must not be summed as blank: such files go through the recomputing reader."""
    d = tmp_path / "in"
    records = mk.write_agencies(4, d, seed=12, error_share=0.0)
    form = load_form("2021")
    total = form.cells["t2.new.total"]
    parts = [form.cells[f"t2.new.{c}"] for c in ("person", "company", "research", "nonprofit", "legal", "other_org")]
    victim = Path(records[2]["path"])
    wb = openpyxl.load_workbook(victim)
    ws = wb[total.sheet]
    ws[total.ref] = f"=SUM({parts[0].ref}:{parts[-1].ref})"  # openpyxl saves no cached value
    wb.save(victim)
    assert records[2]["values"]["t2.new.total"] > 0

    result = consolidate([d], jobs=2)
    assert len(result.included) == 4
    assert result.sums["t2.new.total"] == sum(r["values"]["t2.new.total"] for r in records)
    e = next(e for e in result.entries if e.file == victim.name)
    assert "t2.new.total" not in e.summary.blanks
    assert any(f["rule"] == "formula" and f["cell"] == total.ref for f in e.summary.findings)


def test_a_summary_in_the_input_folder_is_never_added_again(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "in"
    records = mk.write_agencies(3, d, seed=13, error_share=0.0)
    out = d / "汇总.xlsx"  # a clerk writes the summary into the folder of reports
    assert _run(str(d), "-o", str(out), "--jobs", "1") == 0
    first = openpyxl.load_workbook(out)
    shutil.copy(out, d / "去年的汇总副本.xlsx")  # and keeps a renamed copy there too
    assert _run(str(d), "-o", str(out), "--jobs", "1", "--force") == 0
    text = capsys.readouterr().out
    assert "汇总.xlsx：本次汇总的输出文件，已跳过" in text
    assert "去年的汇总副本.xlsx：这是本工具生成的汇总表" in text
    second = openpyxl.load_workbook(out)
    expected = _expected_sums(records)
    for cid in load_form("2021").cells:
        assert _by_name(second, cid) == _by_name(first, cid) == pytest.approx(expected[cid]), cid
    assert _by_name(second, "hdr.agency") == "汇总（3 个单位）"


def test_a_resubmission_replaces_the_earlier_report_by_date_then_file_time(tmp_path: Path) -> None:
    import os

    d = tmp_path / "in"
    records = mk.write_agencies(2, d, seed=14, error_share=0.0)
    form = load_form("2021")
    rec = records[0]
    corrected = dict(rec["values"], **{"t2.new.person": int(rec["values"]["t2.new.person"] or 0) + 1,
                                      "t2.new.total": int(rec["values"]["t2.new.total"] or 0) + 1})
    header = {"hdr.agency": rec["name"], "hdr.year": 2023}
    # the corrected file says it was filled later, but its file is older (copied from a USB stick)
    fixed = d / "更正版.xlsx"
    fill_workbook(build_template(form), form, corrected, {**header, "hdr.date": "2024年1月25日"}).save(fixed)
    fill_workbook(build_template(form), form, rec["values"], {**header, "hdr.date": "2024-01-20"}).save(rec["path"])
    os.utime(fixed, (1_600_000_000, 1_600_000_000))
    result = consolidate([d], jobs=1)
    used = {e.file for e in result.included}
    assert used == {"更正版.xlsx", Path(records[1]["path"]).name}
    assert result.sums["t2.new.person"] == corrected["t2.new.person"] + (records[1]["values"]["t2.new.person"] or 0)
    earlier = next(e for e in result.entries if e.file == Path(rec["path"]).name)
    assert not earlier.included and "更正版.xlsx" in earlier.reason and "填报日期 2024-01-25 最新" in earlier.reason

    # same (or no) 填报日期: the newer file wins
    fill_workbook(build_template(form), form, rec["values"], {**header, "hdr.date": "2024-01-25"}).save(rec["path"])
    result = consolidate([d], jobs=1)
    assert Path(rec["path"]).name in {e.file for e in result.included}
    assert "文件修改时间最新" in next(e for e in result.entries if e.file == "更正版.xlsx").reason


def test_roster_from_xlsx_with_a_title_row_and_from_a_gbk_csv(tmp_path: Path) -> None:
    from gkreport.consolidation.consolidate import LEVEL_OWN, LEVEL_TOWN, load_roster

    book = openpyxl.Workbook()
    ws = book.active
    ws.append(["某某县2023年度政府信息公开年报应报送单位名单"])  # a title above the header, as clerks make them
    ws.append(["序号", "单位名称", "层级", "备注"])
    ws.append([1, "某某县财政局", "县直部门", None])
    ws.append([2, " 石马镇人民政府 ", "乡镇", None])
    ws.append([None, None, None, None])
    ws.append([3, "长兴街道办事处", "街道", "新设"])
    ws.append([4, "某某县统计局", None, None])
    book.save(tmp_path / "名单.xlsx")
    got = [(r.name, r.level) for r in load_roster(tmp_path / "名单.xlsx")]
    assert got == [("某某县财政局", LEVEL_OWN), ("石马镇人民政府", LEVEL_TOWN), ("长兴街道办事处", LEVEL_TOWN),
                   ("某某县统计局", None)]

    (tmp_path / "名单.csv").write_bytes("单位名称\r\n某某县财政局\r\n石马镇人民政府\r\n".encode("gbk"))
    assert [(r.name, r.level) for r in load_roster(tmp_path / "名单.csv")] == [
        ("某某县财政局", None), ("石马镇人民政府", None)]

    (tmp_path / "无表头.csv").write_text("某某县财政局\n", encoding="utf-8")
    with pytest.raises(ReadError, match="单位名称"):
        load_roster(tmp_path / "无表头.csv")


_CRASH_ON: list[str] = []


def _crashing_summarise(path: str) -> object:
    """summarise_file, except that the worker process dies on the files in _CRASH_ON."""
    import os

    if path in _CRASH_ON:
        os._exit(3)  # what a segfault looks like to the pool
    return _REAL_SUMMARISE[0](path)


_REAL_SUMMARISE: list = []


@pytest.mark.skipif(sys.platform != "linux", reason="workers inherit the patched reader only when forked")
def test_a_file_that_kills_its_worker_is_reported_and_the_rest_consolidated(tmp_path: Path,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    """A crash inside a native reader (or the OOM killer) ends the worker process, not the run."""
    import gkreport.consolidation.consolidate_read as cons

    d = tmp_path / "in"
    records = mk.write_agencies(40, d, seed=15, error_share=0.0)
    victim = Path(records[17]["path"])
    _REAL_SUMMARISE[:] = [cons.summarise_file]
    _CRASH_ON[:] = [str(victim)]
    monkeypatch.setattr(cons, "summarise_file", _crashing_summarise)
    result = consolidate([d], jobs=2)
    e = next(e for e in result.entries if e.file == victim.name)
    assert not e.included and "意外退出" in e.reason
    assert len(result.included) == 39
    assert [x.file for x in result.entries] == sorted(x.file for x in result.entries)  # order kept
    expected = _expected_sums([r for r in records if r is not records[17]])
    assert result.sums["t2.new.total"] == pytest.approx(expected["t2.new.total"])


def test_a_panic_in_the_reader_is_this_files_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gkreport.consolidation.consolidate_read as cons

    class PanicException(BaseException):  # what pyo3 raises for a Rust panic
        pass

    def panicking(*args: object, **kwargs: object) -> None:
        raise PanicException("index out of bounds")

    d = tmp_path / "in"
    mk.write_agencies(1, d, seed=16, error_share=0.0)
    monkeypatch.setattr(cons, "read_any", panicking)
    s = cons.summarise_file(str(next(d.iterdir())))
    assert not s.ok and "PanicException" in s.error


def test_an_engine_bug_is_this_files_internal_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """As in `check FOLDER` (check_batch): the file's values are read, but a bug in the engine is
    logged, shown as an error finding (the file never looks clean) and makes the run exit 3."""
    import gkreport.consolidation.consolidate_read as cons

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("bug")

    d = tmp_path / "in"
    mk.write_agencies(2, d, seed=17, error_share=0.0)
    monkeypatch.setenv("GKREPORT_LOG", str(tmp_path / "gkreport.log"))
    monkeypatch.setattr(cons, "check", broken)
    s = cons.summarise_file(str(sorted(d.iterdir())[0]))
    assert s.ok and s.internal and s.counts["error"] == 1
    assert "程序内部错误" in s.findings[0]["message"] and "ZeroDivisionError" in s.findings[0]["message"]
    assert "ZeroDivisionError: bug" in (tmp_path / "gkreport.log").read_text(encoding="utf-8")
    assert _run(str(d), "-o", str(tmp_path / "汇总.xlsx"), "--jobs", "1") == 3
