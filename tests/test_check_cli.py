"""``gkreport check`` end to end: exit codes, JSON, marked copies, bad files."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

from conftest import REAL_REPORTS, lo_convert, make_filled
from gkreport.markers.marking import RESULTS_SHEET, STATE_SHEET


def run(*args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "gkreport.commands.cli", "check", *map(str, args)],
                          capture_output=True, text=True, encoding="utf-8", timeout=120)


@pytest.fixture
def good(tmp_path: Path) -> Path:
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    return make_filled(tmp_path, "good.xlsx", "2021", values, header)


@pytest.fixture
def bad(tmp_path: Path) -> Path:
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    values = {**values, "t2.unable_none.person": 13, "t2.new.legal": "2件"}
    path = make_filled(tmp_path, "bad.xlsx", "2021", values, header)
    wb = openpyxl.load_workbook(path)
    ws = wb["表二 依申请公开"]
    ws["D19"].fill = openpyxl.styles.PatternFill("solid", fgColor="FF00B050")  # the clerk's own colour
    wb.save(path)
    return path


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_exit_codes_and_summary(good: Path, bad: Path, tmp_path: Path) -> None:
    assert run(good).returncode == 0
    r = run(bad)
    assert r.returncode == 1
    assert "表二 D19" in r.stdout and "应为 31" in r.stdout
    csv = tmp_path / "renamed.xlsx"
    csv.write_text("单位,件数\n某局,5\n", encoding="utf-8")
    r = run(good, csv)
    assert r.returncode == 2
    assert "改了扩展名的 CSV" in r.stdout


def test_json_output(bad: Path) -> None:
    out = json.loads(run(bad, "--json").stdout)
    assert len(out) == 1
    rec = out[0]
    assert rec["form"] == "2021" and rec["year"] == 2023 and rec["agency"] == "平潭综合实验区"
    f = next(f for f in rec["findings"] if f["rule"] == "T2-row-total" and f["suspects"] == ["D19"])
    assert set(f) >= {"rule", "severity", "message", "sheet", "cells", "suspects", "expected", "actual", "suggested", "id"}
    assert f["suggested"] == 31 and f["sheet"] == "表二 依申请公开"


def test_mark_writes_a_marked_copy_and_never_touches_the_source(bad: Path, tmp_path: Path) -> None:
    before = _sha(bad)
    outdir = tmp_path / "marked"
    assert run(bad, "--mark", outdir).returncode == 1
    assert _sha(bad) == before
    marked = outdir / "bad.checked.xlsx"
    wb = openpyxl.load_workbook(marked)
    ws = wb["表二 依申请公开"]
    suspect = ws["D19"]
    assert suspect.fill.fgColor.rgb == "FFFFC7CE"
    assert suspect.border.left.style == "medium"
    assert "应为 31" in suspect.comment.text
    assert ws["H7"].fill.fgColor.rgb in ("FFFFC7CE", "FFFFEB9C")
    assert ws["D19"].value == 13 and ws["H7"].value == "2件", "values are never changed"
    results = wb[RESULTS_SHEET]
    rows = list(results.iter_rows(values_only=True))
    assert rows[0][:4] == ("序号", "严重程度", "工作表", "单元格")
    links = [c.hyperlink.location or c.hyperlink.target for c in results["D"][1:] if c.hyperlink]
    assert "#'表二 依申请公开'!D19" in links or "'表二 依申请公开'!D19" in links
    # Everything else kept: names, protection, validation.
    assert "t2.new.total" in wb.defined_names
    assert ws.protection.sheet is True
    assert ws.data_validations.dataValidation
    assert wb[STATE_SHEET].sheet_state == "veryHidden"


def test_rechecking_a_marked_copy_does_not_pile_up(bad: Path, tmp_path: Path) -> None:
    first = tmp_path / "m1"
    second = tmp_path / "m2"
    run(bad, "--mark", first)
    run(first / "bad.checked.xlsx", "--mark", second)
    a = openpyxl.load_workbook(first / "bad.checked.xlsx")
    b = openpyxl.load_workbook(second / "bad.checked.xlsx")
    assert a.sheetnames == b.sheetnames
    assert a[STATE_SHEET].max_row == b[STATE_SHEET].max_row
    assert b["表二 依申请公开"]["D19"].comment.text.count("【gkreport 校验】") == 1
    # The state remembers the clerk's own green fill, not our red one.
    state = {(r[0], r[1]): r[2] for r in b[STATE_SHEET].iter_rows(min_row=2, values_only=True)}
    assert "00B050" in state[("表二 依申请公开", "D19")]


def test_clear_restores_original_look(bad: Path, tmp_path: Path) -> None:
    from gkreport.markers.marking import clear_marks
    from gkreport.markers.openpyxl_marker import OpenpyxlMarker

    run(bad, "--mark", tmp_path / "m")
    marker = OpenpyxlMarker.open(tmp_path / "m" / "bad.checked.xlsx")
    assert clear_marks(marker) > 0
    ws = marker.wb["表二 依申请公开"]
    assert ws["D19"].fill.fgColor.rgb == "FF00B050"
    assert ws["D19"].comment is None
    assert RESULTS_SHEET not in marker.wb.sheetnames and STATE_SHEET not in marker.wb.sheetnames


def test_marked_copy_opens_in_libreoffice_with_marks(bad: Path, tmp_path: Path) -> None:
    run(bad, "--mark", tmp_path / "m")
    out = lo_convert(tmp_path / "m" / "bad.checked.xlsx", "xlsx", tmp_path / "lo")
    wb = openpyxl.load_workbook(out)
    assert RESULTS_SHEET in wb.sheetnames
    assert wb["表二 依申请公开"]["D19"].fill.fgColor.rgb.endswith("FFC7CE")


def test_formula_cells_are_recomputed(good: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(good)
    ws = wb["表二 依申请公开"]
    ws["J7"] = "=SUM(D7:I7)"  # no cached value: openpyxl does not calculate
    ws["J8"] = "=D8+"  # broken
    wb.save(tmp_path / "formulas.xlsx")
    out = json.loads(run(tmp_path / "formulas.xlsx", "--json").stdout)[0]["findings"]
    by_cell = {(f["rule"], tuple(f["cells"])) for f in out}
    assert ("formula", ("J7",)) in by_cell
    assert ("value-type", ("J8",)) in by_cell
    assert not any(f["rule"] == "T2-row-total" and "J7" in f["cells"] for f in out)


def test_stale_cached_formula_value_is_not_trusted(good: Path, tmp_path: Path) -> None:
    wb = openpyxl.load_workbook(good)
    wb["表二 依申请公开"]["J7"] = "=SUM(D7:I7)"
    wb.save(tmp_path / "stale.xlsx")
    # Forge a stale cache: the formula's saved result says 99.
    src = zipfile.ZipFile(tmp_path / "stale.xlsx")
    dst = zipfile.ZipFile(tmp_path / "stale2.xlsx", "w", zipfile.ZIP_DEFLATED)
    for item in src.infolist():
        data = src.read(item.filename)
        if item.filename.endswith("sheet3.xml"):
            data = data.replace(b"<f>SUM(D7:I7)</f><v></v>", b"<f>SUM(D7:I7)</f><v>99</v>")
            data = data.replace(b"<f>SUM(D7:I7)</f></c>", b"<f>SUM(D7:I7)</f><v>99</v></c>")
        dst.writestr(item, data)
    dst.close()
    out = json.loads(run(tmp_path / "stale2.xlsx", "--json").stdout)[0]["findings"]
    formula = next(f for f in out if f["rule"] == "formula")
    assert "已过期" in formula["message"] and "99" in formula["message"]
    assert not [f for f in out if f["severity"] == "error"]


def test_bad_inputs_get_chinese_messages(tmp_path: Path, good: Path) -> None:
    corrupt = tmp_path / "corrupt.xlsx"
    corrupt.write_bytes(good.read_bytes()[:3000])
    lock = tmp_path / "~$good.xlsx"
    lock.write_bytes(b"\x00" * 165)
    empty = tmp_path / "empty.xlsx"
    empty.write_bytes(b"")
    r = run(corrupt, lock, empty, good)
    assert r.returncode == 2
    assert "损坏或不完整" in r.stdout
    assert "临时锁文件" in r.stdout
    assert "空的" in r.stdout
    assert "✓ 未发现错误" in r.stdout  # the good file is still checked


def test_check_accepts_published_reports_and_reports_unplaced_values() -> None:
    from conftest import REAL

    r = run(*sorted(REAL.glob("*.txt")), REAL / "pingtan-2023.tsv", "--json")
    assert r.returncode == 0, r.stdout
    out = {Path(x["file"]).name: x for x in json.loads(r.stdout)}
    assert {k: (v["form"], v["year"]) for k, v in out.items()} == {
        "helan-hongguang-2020.txt": ("2019", 2020), "pingluo-tongfu-2020.txt": ("2019", 2020),
        "xiuzhou-honghe-2020.txt": ("2019", 2020), "pingtan-2023.tsv": ("2021", 2023)}
    # pingluo's table 3 has a 16th "0": all 15 cells are 0 whichever is extra (an info, not an error)
    noted = [f for f in out["pingluo-tongfu-2020.txt"]["findings"] if f["rule"].startswith("import-")]
    assert [f["rule"] for f in noted] == ["import-deduced"] and "表三" in noted[0]["message"]


def test_a_folder_is_checked_file_by_file_skipping_lock_files_and_marked_copies(good: Path, bad: Path,
                                                                               tmp_path: Path) -> None:
    folder = tmp_path / "收到的报表"
    (folder / "乡镇").mkdir(parents=True)
    good.rename(folder / "good.xlsx")
    bad.rename(folder / "乡镇" / "bad.xlsx")
    (folder / "~$good.xlsx").write_bytes(b"\x00" * 165)
    (folder / "说明.pdf").write_bytes(b"%PDF-1.4")
    assert run(folder, "--mark", folder).returncode == 1  # the marked copies land in the folder itself
    assert (folder / "乡镇" / "bad.checked.xlsx").is_file()  # beside their source: sub-folders are kept
    r = run(folder, "--json")
    assert r.returncode == 1
    checked = sorted(Path(d["file"]).name for d in json.loads(r.stdout))
    assert checked == ["bad.xlsx", "good.xlsx"]  # not the lock file, the PDF or the two .checked copies
    assert "锁文件" in r.stderr and "标注副本" in r.stderr and "说明.pdf" in r.stderr
    empty = tmp_path / "空文件夹"
    empty.mkdir()
    r = run(empty)
    assert r.returncode == 2 and "没有可校验的报表" in r.stderr


def test_results_sheet_rows_fit_their_wrapped_messages(bad: Path, tmp_path: Path) -> None:
    run(bad, "--mark", tmp_path / "m")
    ws = openpyxl.load_workbook(tmp_path / "m" / "bad.checked.xlsx")[RESULTS_SHEET]
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$1:$1"
    width = ws.column_dimensions["F"].width
    for row in range(2, ws.max_row + 1):
        text = ws[f"F{row}"].value or ""
        height = ws.row_dimensions[row].height
        if len(text) * 2 > 2 * width:  # clearly more than one line of Chinese text
            assert height is not None and height >= 30, (row, text)
        elif len(text) * 2 < width - 2:
            assert height is None, (row, text)  # one line: left at the default height


def test_marking_a_published_report_says_the_copy_is_a_new_template(good: Path, tmp_path: Path) -> None:
    txt = Path(__file__).parent / "fixtures" / "real" / "xiuzhou-honghe-2020.txt"
    r = run(txt, good, "--mark", tmp_path / "m", "--mark-all", "--json")  # both are clean: copies asked for
    by_file = {Path(d["file"]).name: d for d in json.loads(r.stdout)}
    assert by_file["xiuzhou-honghe-2020.txt"]["marked_is_new_template"] is True
    assert by_file["good.xlsx"]["marked_is_new_template"] is False
    text = run(txt, "--mark", tmp_path / "m2", "--mark-all").stdout
    assert "新生成填报表" in text and (tmp_path / "m2" / "xiuzhou-honghe-2020.txt.checked.xlsx").is_file()


# ------------------------------------------------------------------ safe outputs, one guard


def test_marked_copy_names_are_unique_and_fit_the_file_system(tmp_path: Path) -> None:
    from gkreport.markers.checking import MarkPlan

    plan = MarkPlan(tmp_path / "out")
    a, b = tmp_path / "乡A" / "年报.xlsx", tmp_path / "乡B" / "年报.xlsx"
    plan.add_input(a, Path("乡A"))
    plan.add_input(b, Path("乡B"))
    assert plan.path_for(a) == tmp_path / "out" / "乡A" / "年报.checked.xlsx"
    assert plan.path_for(b) == tmp_path / "out" / "乡B" / "年报.checked.xlsx"
    flat = MarkPlan(tmp_path / "out")
    names = [flat.path_for(p).name for p in (a, b, tmp_path / "a.xlsx", tmp_path / "a.txt", tmp_path / "A.XLSX")]
    assert names == ["年报.checked.xlsx", "年报(2).checked.xlsx", "a.checked.xlsx", "a.txt.checked.xlsx",
                     "A(2).checked.xlsx"]  # case-insensitive file systems: A.XLSX and a.xlsx collide
    long = flat.path_for(tmp_path / ("年" * 84 + ".xlsx"))
    assert len(long.name.encode("utf-8")) <= 255 and long.name.endswith(".checked.xlsx")
    xlsm = flat.path_for(tmp_path / "宏.xlsm")
    assert xlsm.suffix == ".xlsm"
    assert flat.path_for(tmp_path / "宏2.xlsm", new_template=True).suffix == ".xlsx"  # no macros to keep


def test_check_output_refuses_what_must_not_be_written(tmp_path: Path) -> None:
    import os

    from gkreport.output.outputs import OutputError, check_output

    inp = tmp_path / "in.xlsx"
    inp.write_bytes(b"x")
    fifo = tmp_path / "pipe.xlsx"
    os.mkfifo(fifo)
    (tmp_path / "dir.xlsx").mkdir()
    device = tmp_path / "device.xlsx"
    device.symlink_to("/dev/null")  # a device (here through a link): never replaced, even with --force
    cases = {
        device: "不是普通文件",
        tmp_path / "x.xls": "必须是 .xlsx",
        tmp_path / "x.xlsm": "必须是 .xlsx",
        fifo: "不是普通文件",
        tmp_path / "dir.xlsx": "是一个文件夹",
        inp: "本次读取的文件之一",
        tmp_path / ("长" * 90 + ".xlsx"): "文件名过长",
    }
    for path, why in cases.items():
        with pytest.raises(OutputError, match=why):
            check_output(path, force=True, inputs=[inp])
    with pytest.raises(OutputError, match="已存在；如需覆盖请加 --force"):
        check_output(inp)
    assert check_output(tmp_path / "new.xlsx") == tmp_path / "new.xlsx"


def test_atomic_write_respects_umask_and_leaves_nothing_on_failure(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    import errno
    import os
    import stat

    from gkreport.output.outputs import OutputError, atomic_write, atomic_write_bytes

    old = os.umask(0o027)
    try:
        out = atomic_write_bytes(tmp_path / "a.bin", b"data")
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o640  # 0666 minus the umask, not mkstemp's 0600

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(OutputError, match=r"无法写入 .*a\.bin：磁盘空间不足"):
        atomic_write_bytes(tmp_path / "a.bin", b"new")
    assert out.read_bytes() == b"data"  # the old file is untouched
    monkeypatch.undo()

    def interrupted(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "b.xlsx", interrupted)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin"]


def test_output_lock_makes_a_second_writer_fail_and_is_released(tmp_path: Path) -> None:
    import multiprocessing

    from gkreport.output.outputs import OutputError, output_lock

    out = tmp_path / "汇总.xlsx"
    with output_lock(out):
        with pytest.raises(OutputError, match="另一个 gkreport 正在写入"), output_lock(out):
            pass
        # Another process sees the same lock (flock is per open file, so this also holds across processes).
        ctx = multiprocessing.get_context("fork")
        q = ctx.Queue()
        p = ctx.Process(target=_try_lock, args=(out, q))
        p.start()
        p.join(30)
        assert q.get(timeout=5) == "busy"
    with output_lock(out):
        pass
    assert list(tmp_path.iterdir()) == []  # the lock file is gone with the lock


def _try_lock(out: Path, q) -> None:
    from gkreport.output.outputs import OutputError, output_lock

    try:
        with output_lock(out):
            q.put("got it")
    except OutputError:
        q.put("busy")


def test_stale_temps_of_dead_runs_are_removed_and_live_ones_kept(tmp_path: Path) -> None:
    import os

    from gkreport.output.outputs import clean_stale_temps

    dead = tmp_path / ".~gk-99999999-abc.xlsx"
    dead.write_bytes(b"half")
    (tmp_path / ".~gk-99999999-dir").mkdir()
    (tmp_path / ".~gk-99999999-dir" / "plain.xlsx").write_bytes(b"half")
    live = tmp_path / f".~gk-{os.getpid()}-abc.xlsx"
    live.write_bytes(b"being written")
    mine = tmp_path / "报表.xlsx"
    mine.write_bytes(b"x")
    assert clean_stale_temps(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([live.name, mine.name])


def test_one_guard_no_traceback_exit_codes(tmp_path: Path, good: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Interrupt: 130, a short line, no debris. A bug: 3 and one line naming the log."""
    import gkreport.markers.marking
    from gkreport.commands.cli import main
    from gkreport.core.exits import Exit

    def interrupted(*a: object, **k: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(gkreport.markers.marking, "apply_marks", interrupted)  # (imported when a copy is written)
    assert main(["check", str(good), "--mark", str(tmp_path / "m"), "--mark-all"]) == Exit.INTERRUPTED
    assert "已中断" in capsys.readouterr().err
    assert list((tmp_path / "m").iterdir()) == []  # no temp, no lock left
    monkeypatch.undo()

    log = tmp_path / "log" / "gkreport.log"
    monkeypatch.setenv("GKREPORT_LOG", str(log))

    def bug(*a: object, **k: object) -> None:
        raise ZeroDivisionError("planted")

    monkeypatch.setattr("gkreport.commands.cli_consolidate.consolidate", bug)
    assert main(["consolidate", str(tmp_path), "-o", str(tmp_path / "s.xlsx")]) == Exit.INTERNAL
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "程序内部错误" in err and str(log) in err and "Traceback" not in err
    assert "ZeroDivisionError: planted" in log.read_text(encoding="utf-8")


def test_help_documents_the_exit_codes() -> None:
    for args in ([], ["check"], ["consolidate"], ["import"]):
        r = subprocess.run([sys.executable, "-m", "gkreport.commands.cli", *args, "--help"], capture_output=True,
                           text=True, encoding="utf-8", timeout=60)
        assert r.returncode == 0
        assert "  3 = 程序内部错误" in r.stdout and "  2 = 有文件无法读取或写入" in r.stdout


def test_an_error_python_can_only_ignore_at_exit_goes_to_the_log(tmp_path: Path) -> None:
    """After the command has said its result, an exception raised where Python can only
    ignore it (here a ``__del__`` at shutdown; in the wild a worker pool's wakeup pipe closed
    by a CPython race) is logged, not printed as a traceback."""
    log = tmp_path / "gkreport.log"
    code = ("import sys\n"
            "class Late:\n    def __del__(self):\n        raise OSError(9, 'Bad file descriptor')\n"
            "late = Late()\n"
            "import atexit\natexit.register(lambda: globals().pop('late'))\n"
            "from gkreport.commands.cli import main\nsys.argv = ['gkreport', 'describe']\nsys.exit(main())\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, encoding="utf-8",
                       env={**os.environ, "GKREPORT_LOG": str(log)}, timeout=120)
    assert r.returncode == 0 and "Traceback" not in r.stderr and "Exception ignored" not in r.stderr, r.stderr
    assert "OSError: [Errno 9] Bad file descriptor" in log.read_text(encoding="utf-8")
