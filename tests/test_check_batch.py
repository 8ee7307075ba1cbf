"""``check`` over a folder at consolidation speed gives exactly what checking each file alone gives.

The folder is built here with the kinds of file a county receives: clean reports of both
forms, errors (located, with suggested values), text cells ("2件", "/"), a clerk's inserted
row (which the fast reader declines: the full reader reads it), a published report in text,
an unreadable file. The batch (fast-or-full reader, worker processes, marking in the
workers) is compared with the single-file full check, finding by finding: fingerprints,
cells, suspects, suggested values, messages.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import openpyxl
import pytest

from conftest import REAL, REAL_REPORTS, make_filled
from gkreport.core.stamp import data_fingerprint
from gkreport.markers.check_batch import BatchOptions, check_files, plan_jobs
from gkreport.markers.checking import MarkPlan, check_file
from gkreport.markers.marking import RESULTS_SHEET
from gkreport.readers import read_any
from gkreport.readers.inputs import collect_files
from gkreport.readers.workbook import fast_decline_reason, name_target


def _insert_row(path: Path, sheet: str, row: int) -> None:
    """A row inserted as Excel does it: the cells below and the names pointing at them move."""
    from openpyxl.workbook.defined_name import DefinedName

    from gkreport.core import addresses as addr

    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    ws.insert_rows(row)
    for rng in list(ws.merged_cells.ranges):
        if rng.min_row >= row:
            ws.merged_cells.remove(rng)
            rng.shift(row_shift=1)
            ws.merged_cells.add(rng)
    for name, dn in list(wb.defined_names.items()):
        target = name_target(dn.attr_text or "")
        if target is None or target[0] != sheet:
            continue
        col, r = addr.split_ref(target[1])
        if r >= row:
            wb.defined_names[name] = DefinedName(name, attr_text=addr.absolute(addr.make_ref(col, r + 1), sheet))
    wb.save(path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    d = tmp_path / "收到的报表"
    (d / "乡镇").mkdir(parents=True)
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    make_filled(d, "01-clean.xlsx", "2021", values, header)
    make_filled(d / "乡镇", "02-errors.xlsx", "2021",
                {**values, "t2.unable_none.person": 13, "t2.new.legal": "2件", "t2.granted.legal": "/"},
                {**header, "hdr.agency": "某镇人民政府"})
    make_filled(d / "乡镇", "03-two-errors.xlsx", "2021",
                {**values, "t2.granted.person": 1, "t2.granted.total": 1, "t1.penalty.decisions": "很多"},
                {**header, "hdr.agency": "某街道办事处"})
    inserted = make_filled(d, "04-inserted-row.xlsx", "2021", {**values, "t2.new.person": 99}, header)
    _insert_row(inserted, "表二 依申请公开", 12)
    _, header19, values19 = REAL_REPORTS["xiuzhou-honghe-2020"]()
    make_filled(d, "05-form-2019.xlsx", "2019", values19, header19)
    make_filled(d, "06-wrong-form.xlsx", "2019", values19, {**header19, "hdr.year": 2023})
    shutil.copy(REAL / "xiuzhou-honghe-2020.txt", d / "07-published.txt")
    (d / "08-damaged.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 200)
    return d


def _finding_dicts(findings: list) -> list[dict]:
    return [f.to_dict() for f in findings]


def test_batch_findings_equal_single_file_full_check(folder: Path) -> None:
    files, _ = collect_files([folder])
    assert len(files) == 8
    assert fast_decline_reason(folder / "01-clean.xlsx") is None  # the common case is read fast ...
    assert fast_decline_reason(folder / "04-inserted-row.xlsx") is not None  # ... this one by the full reader
    batch = list(check_files(plan_jobs(files, None), BatchOptions(keep_reports=True), workers=2))
    assert [r.file for r in batch] == files  # input order, whatever the workers' timing
    for got in batch:
        want = check_file(got.file)  # today's single-file check: the full reader
        assert (got.error, got.internal) == (want.error, want.internal), got.file
        assert got.info == want.info, got.file
        assert _finding_dicts(got.findings) == _finding_dicts(want.findings), got.file
        if want.counts["error"]:
            assert got.report is not None and want.report is not None
            assert data_fingerprint(got.report) == data_fingerprint(want.report)
        else:
            assert got.report is None  # nothing needs it: not sent back from the worker
    by_name = {r.file.name: r for r in batch}
    assert by_name["08-damaged.xlsx"].unreadable
    errors = by_name["02-errors.xlsx"].findings
    assert any(f.suggested == 31 for f in errors)  # a located error keeps its suggested value
    assert any(f.rule == "value-format" for f in errors)  # "2件"
    assert by_name["04-inserted-row.xlsx"].counts["error"]  # the 99 below the inserted row is read
    assert by_name["07-published.txt"].info is not None and by_name["07-published.txt"].info.form == "2019"


def test_previous_years_report_reaches_the_workers(folder: Path, tmp_path: Path) -> None:
    """--previous: the cross-year rules run in the workers with the same last-year report."""
    files = [*sorted((folder / "乡镇").iterdir()), folder / "01-clean.xlsx", folder / "04-inserted-row.xlsx"]
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    tenfold = {k: v * 10 if isinstance(v, int) else v for k, v in values.items()}
    previous = read_any(make_filled(tmp_path, "上年.xlsx", "2021", tenfold, {**header, "hdr.year": 2022}))
    batch = list(check_files(plan_jobs(files, None), BatchOptions(previous=previous), workers=2))
    for got in batch:
        want = check_file(got.file, previous=previous)
        assert _finding_dicts(got.findings) == _finding_dicts(want.findings), got.file
    assert any(f.rule in ("carry-over", "outlier") for r in batch for f in r.findings)


# Runs ``gkreport check`` as the console script does and says whether openpyxl was imported.
_SINGLE = """
import json, sys
sys.argv = ["gkreport", "check", *sys.argv[1:]]
from gkreport.__main__ import main
code = main()
sys.stdout.flush()
print("\\n" + json.dumps({"exit": code, "openpyxl": "openpyxl" in sys.modules}))
"""


def _single_cli(*args: object) -> tuple[list[dict], int, bool]:
    """``gkreport check ARGS --json`` in a fresh interpreter: its results, exit code, and
    whether it imported openpyxl."""
    done = subprocess.run([sys.executable, "-c", _SINGLE, *map(str, args), "--json"], capture_output=True,
                          text=True, encoding="utf-8", timeout=300)
    body, _, tail = done.stdout.rstrip().rpartition("\n")
    status = json.loads(tail)
    return json.loads(body), status["exit"], status["openpyxl"]


@pytest.mark.parametrize("previous", [False, True], ids=["alone", "with-previous"])
def test_one_file_check_equals_the_full_check_and_reads_fast_without_openpyxl(folder: Path, tmp_path: Path,
                                                                               previous: bool) -> None:
    """``gkreport check FILE`` (issue #16): every kind of file gives what the full reader's
    check gives (results, findings with fingerprints, cells, suspects and suggested values,
    exit code); a file the fast reader accepts is checked without importing openpyxl."""
    from gkreport.commands.cli_check import exit_code

    files, _ = collect_files([folder])
    assert len(files) == 8
    extra: list[object] = []
    last_year = None
    if previous:
        _, header, values = REAL_REPORTS["pingtan-2023"]()
        tenfold = {k: v * 10 if isinstance(v, int) else v for k, v in values.items()}
        prev_path = make_filled(tmp_path, "上年.xlsx", "2021", tenfold, {**header, "hdr.year": 2022})
        last_year = read_any(prev_path)
        extra = ["--previous", prev_path]
        files = [f for f in files if f.suffix == ".xlsx"]  # the cross-year rules on both readers' files
    rules = set()
    for path in files:
        want = check_file(path, previous=last_year)  # the full reader
        got, code, imported = _single_cli(path, *extra)
        assert got == [want.to_dict()], path
        assert code == exit_code([want]), path
        rules |= {f["rule"] for f in got[0]["findings"]}
        if path.suffix == ".xlsx" and not want.unreadable:
            # read fast: no openpyxl (the previous year's file too); declined: the full reader's
            assert imported == (fast_decline_reason(path) is not None), path
    assert "value-format" in rules  # "2件" (and the located errors above: suspects and suggested values)
    if previous:
        assert rules & {"carry-over", "outlier"}


def run_cli(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gkreport.commands.cli", "check", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", timeout=300)


def test_mark_writes_copies_for_files_with_findings_in_the_workers(folder: Path, tmp_path: Path) -> None:
    marks = tmp_path / "标注"
    r = run_cli(folder, "--mark", marks, "--json")
    assert r.returncode == 2  # the damaged file
    out = {Path(d["file"]).name: d for d in json.loads(r.stdout)}
    marked = {name for name, d in out.items() if "marked" in d}
    with_findings = {name for name, d in out.items()
                     if any(f["severity"] in ("error", "warning") for f in d["findings"])}
    assert marked == with_findings and "02-errors.xlsx" in marked and "07-published.txt" not in marked
    assert "01-clean.xlsx" not in marked and not (marks / "01-clean.checked.xlsx").exists()
    copy = marks / "乡镇" / "02-errors.checked.xlsx"
    assert out["02-errors.xlsx"]["marked"] == str(copy)
    # The worker's copy is the single-file check's copy: the same results sheet, row by row.
    single = check_file(folder / "乡镇" / "02-errors.xlsx", mark_dir=tmp_path / "single")
    assert single.marked is not None
    rows = [list(row) for row in openpyxl.load_workbook(copy)[RESULTS_SHEET].iter_rows(values_only=True)]
    want = [list(row) for row in openpyxl.load_workbook(single.marked)[RESULTS_SHEET].iter_rows(values_only=True)]
    assert rows == want and len(rows) > 2

    text = run_cli(folder, "--mark", tmp_path / "全部", "--mark-all")
    lines = text.stdout.splitlines()
    assert lines[-1] == "共 8 份：通过 3，有错误 4，无法读取 1"  # the tally stays the last line
    assert lines[-2].startswith("标注副本 7 份") and "每个读取成功的报表" in lines[-2]
    assert (tmp_path / "全部" / "01-clean.checked.xlsx").is_file()
    assert (tmp_path / "全部" / "07-published.txt.checked.xlsx").is_file()  # a new template, filled
    assert run_cli(folder, "--mark-all").returncode == 2  # --mark-all alone is a usage error


def test_reserved_names_do_not_depend_on_which_files_get_a_copy(tmp_path: Path) -> None:
    """Two 年报.xlsx named on the command line go to one folder: names follow input order."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    a = make_filled(tmp_path / "x", "年报.xlsx", "2021", values, header)
    b = make_filled(tmp_path / "y", "年报.xlsx", "2021", {**values, "t2.unable_none.person": 13}, header)
    plan = MarkPlan(tmp_path / "m")
    for p in (a, b):
        plan.add_input(p)
    jobs = plan_jobs([a, b], plan)
    assert [j.copy.name for j in jobs if j.copy] == ["年报.checked.xlsx", "年报(2).checked.xlsx"]
    macro = plan_jobs([tmp_path / "宏.xlsm"], plan)[0]
    assert macro.copy is not None and macro.copy_new is not None
    assert (macro.copy.suffix, macro.copy_new.suffix) == (".xlsm", ".xlsx")
    (tmp_path / "m").mkdir()
    results = list(check_files(jobs, BatchOptions(), workers=1))
    assert results[0].marked is None and results[1].marked == tmp_path / "m" / "年报(2).checked.xlsx"
