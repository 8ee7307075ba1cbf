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


def _write(result: Consolidation, out: Path, monkeypatch: pytest.MonkeyPatch, *, fork: bool, long: bool) -> list[Any]:
    started: list[Any] = []
    real_start = background_save.start_save

    def start(wb: Any, path: Path) -> Any:
        saver = real_start(wb, path) if fork else None
        started.append(saver)
        return saver

    monkeypatch.setattr("gkreport.output.xlsx_rows.start_save", start)
    write_summary(result, out, force=True, long=long)
    monkeypatch.undo()
    return started


@pytest.mark.parametrize("long", [False, True])
def test_the_background_save_writes_the_same_workbook(result: Consolidation, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch, long: bool) -> None:
    serial, forked = tmp_path / "serial.xlsx", tmp_path / "forked.xlsx"
    assert _write(result, serial, monkeypatch, fork=False, long=long) == [None]
    started = _write(result, forked, monkeypatch, fork=True, long=long)
    assert len(started) == 1 and isinstance(started[0], background_save.BackgroundSave)  # the child did save it
    assert _parts(forked) == _parts(serial)
    assert _dump(forked) == _dump(serial)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["forked.xlsx", "serial.xlsx"]  # no temporary left
    names = openpyxl.load_workbook(forked, read_only=True).sheetnames
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


@pytest.mark.parametrize("fault", [_raise, _die, _garbage_then_exit])
def test_a_failing_child_costs_nothing(result: Consolidation, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                       fault: Any, capfd: pytest.CaptureFixture[str]) -> None:
    serial = tmp_path / "serial.xlsx"
    _write(result, serial, monkeypatch, fork=False, long=False)
    capfd.readouterr()
    monkeypatch.setattr(background_save, "save_plain", _child_only(fault))
    monkeypatch.setattr("gkreport.output.xlsx_rows.save_plain", background_save.save_plain)
    out = tmp_path / "out.xlsx"
    write_summary(result, out, force=True)
    assert _parts(out) == _parts(serial)
    assert "Traceback" not in capfd.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.xlsx", "serial.xlsx"]
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # the child was reaped


def test_an_error_in_the_rows_stops_the_child_and_writes_nothing(tmp_path: Path) -> None:
    wb = openpyxl.Workbook()
    wb.active.title = "S"

    def rows() -> Any:
        for i in range(3000):
            yield [f"第{i}行", i]
        raise RuntimeError("行数据出错")

    out = tmp_path / "x.xlsx"
    with pytest.raises(RuntimeError, match="行数据出错"):
        save_with_rows(wb, out, {"S": BulkRows(2, rows(), 3000, 2)})
    assert list(tmp_path.iterdir()) == []  # neither the summary nor a temporary file
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)  # no child left running or unreaped


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
