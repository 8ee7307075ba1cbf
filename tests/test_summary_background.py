"""The summary saved with openpyxl's part in a forked child (output/background_save.py) is the same
workbook as the one saved in one process, part for part; and a child that fails, dies or leaves
a bad file never costs the summary: the parent saves it itself, atomically, without a traceback."""

from __future__ import annotations

import os
import signal
import zipfile
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.test_make_agencies import mk

from gkreport.consolidation.consolidate import Consolidation, consolidate, write_summary
from gkreport.core.forms import load_form
from gkreport.output import background_save
from gkreport.output.xlsx_rows import BulkRows, save_with_rows

FORM = load_form("2021")
IDS = list(FORM.cells)
pytestmark = pytest.mark.skipif(not background_save.can_fork(), reason="the background save forks (Linux)")


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> Consolidation:
    """Six agencies (some with errors), one with a blank and a decimal cell, an unreadable file,
    and a roster naming an agency that sent nothing."""
    d = tmp_path_factory.mktemp("bg")
    rec = mk.write_agencies(6, d / "in", seed=5, error_share=0.5)
    first = sorted((d / "in").glob("*.xlsx"))[0]
    wb = openpyxl.load_workbook(first)
    blank, decimal = FORM.cells[IDS[3]], next(c for c in FORM.cells.values() if c.type == "amount")
    wb[blank.sheet][blank.ref] = None
    wb[decimal.sheet][decimal.ref] = 12.5
    wb.save(first)
    (d / "in" / "坏文件.xlsx").write_bytes(b"PK\x03\x04 not a workbook")
    roster = mk.write_roster(d / "名单.csv", [*rec, {"name": "某某县未报送局", "level": "县本级"}])
    r = consolidate([d / "in"], roster=roster, jobs=2)
    assert r.missing and any(e.summary.findings for e in r.included) and r.blanks
    assert any(not e.summary.ok for e in r.entries)
    return r


def _parts(path: Path) -> dict[str, bytes]:
    """Every part but the time of saving (docProps/core.xml's modified)."""
    with zipfile.ZipFile(path) as zf:
        assert zf.testzip() is None
        return {n: zf.read(n) for n in zf.namelist() if n != "docProps/core.xml"}


def _dump(path: Path) -> dict[str, Any]:
    """The workbook cell for cell and style for style, with each sheet's set-up."""
    wb = openpyxl.load_workbook(path)
    out: dict[str, Any] = {"sheets": wb.sheetnames, "names": sorted(wb.defined_names)}
    for ws in wb.worksheets:
        out[ws.title] = {
            "setup": (ws.sheet_state, ws.freeze_panes, ws.auto_filter.ref, ws.print_title_rows, ws.print_title_cols,
                      ws.page_setup.orientation, ws.page_setup.fitToWidth, ws.dimensions,
                      sorted(str(m) for m in ws.merged_cells.ranges),
                      {k: v.width for k, v in ws.column_dimensions.items()},
                      {k: v.height for k, v in ws.row_dimensions.items() if v.height}),
            "cells": [(c.coordinate, c.value, c.data_type, c.number_format, repr(c.font), repr(c.fill),
                       repr(c.border), repr(c.alignment), repr(c.protection), c.comment and c.comment.text)
                      for row in ws.iter_rows() for c in row],
        }
    return out


def _write(result: Consolidation, out: Path, monkeypatch: pytest.MonkeyPatch, way: str, long: bool = False) -> None:
    """Write the summary one way: "serial" (one process), "background" (a child saves the
    workbook), "split" (a child generates and compresses the largest sheet); check it went so."""
    from gkreport.output import xlsx_split

    used: list[str] = []
    real_save, real_job = background_save.start_save, xlsx_split.start_job
    with monkeypatch.context() as m:
        if way == "serial":
            m.setattr(background_save, "can_fork", lambda: False)
        if way != "split":
            m.setattr(xlsx_split, "child_sheet", lambda bulk: None)
        m.setattr("gkreport.output.xlsx_rows.start_save",
                  lambda wb, path: used.append("background") or real_save(wb, path))
        m.setattr(xlsx_split, "start_job", lambda work: used.append("split") or real_job(work))
        write_summary(result, out, force=True, long=long)
    assert used == {"serial": ["background"], "background": ["background"], "split": ["split"]}[way]


@pytest.mark.parametrize("long", [False, True])
def test_every_way_writes_the_same_workbook(result: Consolidation, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch, long: bool) -> None:
    ways = ("serial", "background", "split")
    for way in ways:
        _write(result, tmp_path / f"{way}.xlsx", monkeypatch, way, long)
    serial = _parts(tmp_path / "serial.xlsx")
    dumped = _dump(tmp_path / "serial.xlsx")
    for way in ways[1:]:
        assert _parts(tmp_path / f"{way}.xlsx") == serial, way
        assert _dump(tmp_path / f"{way}.xlsx") == dumped, way
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f"{w}.xlsx" for w in ways)  # no temporary left
    names = openpyxl.load_workbook(tmp_path / "split.xlsx", read_only=True).sheetnames
    assert ("明细（长表）" in names) == long and "明细" in names and "问题清单" in names


def _child_only(fault: Any) -> Any:
    """``save_plain`` that does ``fault`` in the forked child and saves normally in the parent."""
    parent, real = os.getpid(), background_save.save_plain

    def save(wb: Any, path: Path) -> None:
        if os.getpid() != parent:
            fault(path)
        real(wb, path)

    return save


def _raise(path: Path) -> None:
    raise MemoryError("模拟子进程出错")


def _die(path: Path) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _garbage_then_exit(path: Path) -> None:
    path.write_bytes(b"PK not a zip")
    os._exit(0)


def _children() -> set[int]:
    """This process's child processes other than multiprocessing's own helpers (a resource
    tracker another test's spawned pool left, which lives as long as this process), from /proc:
    a zombie counts (not reaped)."""
    me, found = os.getpid(), set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2:].split()
        if int(fields[1]) == me and "resource_tracker" not in _cmdline(stat.parent):
            found.add(int(stat.parent.name))
    return found


def _cmdline(proc: Path) -> str:
    try:
        return (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return ""


@pytest.mark.parametrize("fault", [_raise, _die, _garbage_then_exit])
def test_a_failing_child_costs_nothing(result: Consolidation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       fault: Any, capfd: pytest.CaptureFixture[str]) -> None:
    serial = tmp_path / "serial.xlsx"
    _write(result, serial, monkeypatch, "serial")
    capfd.readouterr()
    monkeypatch.setattr(background_save, "save_plain", _child_only(fault))
    monkeypatch.setattr("gkreport.output.xlsx_rows.save_plain", background_save.save_plain)
    out = tmp_path / "out.xlsx"
    _write(result, out, monkeypatch, "background")
    assert _parts(out) == _parts(serial)
    assert "Traceback" not in capfd.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx", "serial.xlsx"]
    assert _children() == set()  # the child was reaped: none running, none unreaped


def _exit_without_result(b: Any, path: Path) -> None:
    path.write_bytes(b"\x00half a segment")
    os._exit(0)


@pytest.mark.parametrize("fault", [_raise, _die, _exit_without_result])
def test_a_failing_split_child_costs_nothing(result: Consolidation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                             fault: Any, capfd: pytest.CaptureFixture[str]) -> None:
    """The child generating the largest sheet raises, is killed, or leaves without saying it
    finished: that sheet is generated by the parent, and the workbook is the same."""
    from gkreport.output import xlsx_split

    serial = tmp_path / "serial.xlsx"
    _write(result, serial, monkeypatch, "serial", long=True)
    capfd.readouterr()
    parent = os.getpid()
    real = xlsx_split._child

    def child(b: Any, path: Path) -> None:
        if os.getpid() != parent:
            fault(b, path) if fault is _exit_without_result else fault(path)
        real(b, path)

    monkeypatch.setattr(xlsx_split, "_child", child)
    out = tmp_path / "out.xlsx"
    _write(result, out, monkeypatch, "split", long=True)
    assert _parts(out) == _parts(serial)
    assert "Traceback" not in capfd.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx", "serial.xlsx"]
    assert _children() == set()  # the child was reaped: none running, none unreaped


@pytest.mark.parametrize("bad", ["大", "小", None])
def test_an_error_in_the_rows_stops_the_child_and_writes_nothing(tmp_path: Path, bad: str | None) -> None:
    """Rows that fail in the child's sheet (大, the largest), in the parent's (小), or in the
    only sheet (None: the child saves the workbook): the error is the caller's, as in one
    process; no summary, no temporary file, no child left."""
    wb = openpyxl.Workbook()
    wb.active.title = "大"
    wb.create_sheet("小")

    def rows(n: int, fail: bool) -> Any:
        for i in range(n):
            yield [f"第{i}行", i, i * 0.5]
        if fail:
            raise RuntimeError("行数据出错")

    bulk = {"大": BulkRows(2, rows(3000, bad in ("大", None)), 3000, 3)}
    if bad is not None:
        bulk["小"] = BulkRows(2, rows(10, bad == "小"), 10, 3)
    out = tmp_path / "x.xlsx"
    with pytest.raises(RuntimeError, match="行数据出错"):
        save_with_rows(wb, out, bulk)
    assert list(tmp_path.iterdir()) == []
    assert _children() == set()  # the child was reaped: none running, none unreaped


def test_no_fork_while_another_thread_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """A fork copies other threads' locks in whatever state they are: the workbook is then saved here."""
    import threading

    stop = threading.Event()
    t = threading.Thread(target=stop.wait)
    t.start()
    try:
        assert not background_save.can_fork()
        assert background_save.start_save(openpyxl.Workbook(), Path("unused.xlsx")) is None
    finally:
        stop.set()
        t.join()
    assert background_save.can_fork()


def test_one_progress_bar_when_a_child_writes_a_sheet(result: Consolidation, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     capfd: pytest.CaptureFixture[str]) -> None:
    """The child's rows are not drawn by the child (two bars would fight over the line): the
    parent's bar only moves forward and ends full, once."""
    import re

    from gkreport.output import xlsx_split

    used: list[int | None] = []
    real = xlsx_split.start_job
    monkeypatch.setattr(xlsx_split, "start_job", lambda work: used.append(real(work)) or used[-1])
    capfd.readouterr()
    write_summary(result, tmp_path / "s.xlsx", progress=True)
    err = capfd.readouterr().err
    assert used and used[0] is not None  # the split was used
    counts = [(int(d), int(t)) for d, t in re.findall(r"写入汇总表 \[[#.]+\] (\d+)/(\d+) 行", err)]
    assert counts and all(t == counts[0][1] for _, t in counts)
    assert [d for d, _ in counts] == sorted(d for d, _ in counts) and counts[-1][0] == counts[-1][1]
    assert err.count("\n") == 1 and err.endswith(" 行\n")


@settings(max_examples=60, deadline=None)
@given(st.dictionaries(st.sampled_from(IDS), st.one_of(st.integers(-10**9, 10**9), st.floats(-1e9, 1e9, allow_nan=False),
                                                     st.floats(allow_nan=False)).filter(bool), max_size=30))
def test_detail_numbers_are_the_packed_values_in_order(values: dict[str, float | int]) -> None:
    """明细's row of numbers, converted in C when all are integral, is what in_order gives, type for type."""
    from gkreport.consolidation.consolidate_model import CellValues, pack_values
    from gkreport.consolidation.summary_workbook import _numbers

    packed = pack_values(FORM, values)
    assert isinstance(packed, CellValues)
    data = packed.doubles(IDS)
    assert data is not None
    row, expected = _numbers(data), packed.in_order(IDS)
    assert row == expected and [type(x) for x in row] == [type(x) for x in (expected or [])]
