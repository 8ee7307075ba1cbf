"""The reading cache of ``consolidate`` (consolidation/read_cache.py): a file read before is
not read again only when its bytes, the rules and the code are the same, and the result is
then exactly what reading it gives."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import openpyxl
import pytest

import gkreport.consolidation.consolidate_read as cons
from conftest import make_agencies
from gkreport.commands.cli import main as cli_main
from gkreport.consolidation import read_cache
from gkreport.consolidation.consolidate import consolidate
from gkreport.core import forms

mk = make_agencies()


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A cache folder of this test's own, with the cache on (conftest turns it off for the others)."""
    monkeypatch.setenv("GKREPORT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GKREPORT_NO_CACHE", raising=False)
    monkeypatch.delenv("GKREPORT_RULES_DIR", raising=False)
    forms.reset()
    yield
    forms.reset()


def _db(tmp_path: Path) -> Path:
    return tmp_path / "cache" / read_cache.DB_NAME


def _keys(tmp_path: Path) -> set[str]:
    with sqlite3.connect(_db(tmp_path)) as c:
        return {k for (k,) in c.execute("SELECT key FROM readings")}


def _cells(path: Path) -> dict[tuple[str, str], object]:
    wb = openpyxl.load_workbook(path)
    return {(ws.title, c.coordinate): c.value for ws in wb.worksheets for row in ws.iter_rows() for c in row
            if c.value is not None}


def _consolidate_json(folder: Path, out: Path, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, dict]:
    code = cli_main(["consolidate", str(folder), "-o", str(out), "--force", "--json", *extra])
    return code, json.loads(capsys.readouterr().out)


def _rewrite(record: dict, values: dict) -> None:
    from gkreport.output.fill import fill_workbook
    from gkreport.output.template import build_template

    form = forms.load_form("2021")
    fill_workbook(build_template(form), form, values,
                  {"hdr.agency": record["name"], "hdr.year": 2023}).save(record["path"])


def _no_reading(*args: object, **kwargs: object) -> None:
    raise AssertionError("the file was read again")


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_second_run_reads_nothing_and_writes_the_same_summary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                capsys: pytest.CaptureFixture[str], jobs: str) -> None:
    d = tmp_path / "in"
    records = mk.write_agencies(12, d, seed=41, error_share=0.0)
    mk.plant_error(records[4]["values"], __import__("random").Random(2))  # a file with findings
    _rewrite(records[4], records[4]["values"])
    code1, first = _consolidate_json(d, tmp_path / "a.xlsx", capsys, "--jobs", jobs)
    assert code1 == 1 and len(_keys(tmp_path)) == 12
    before = _used(tmp_path)
    monkeypatch.setattr(cons, "read_any", _no_reading)  # forked workers inherit the patch too
    code2, second = _consolidate_json(d, tmp_path / "b.xlsx", capsys, "--jobs", jobs)
    assert code2 == code1
    assert all(_used(tmp_path)[k] > before[k] for k in before)  # each entry marked used again (kept by the pruning)
    assert all(f["reused"] for f in second["files"] if f["readable"]) and not any(f["reused"] for f in first["files"])
    for f in first["files"] + second["files"]:
        del f["reused"]
    assert json.dumps(second, sort_keys=True).replace("b.xlsx", "a.xlsx") == json.dumps(first, sort_keys=True)
    assert _cells(tmp_path / "b.xlsx") == _cells(tmp_path / "a.xlsx")
    cli_main(["consolidate", str(d), "-o", str(tmp_path / "b.xlsx"), "--force", "--jobs", jobs])
    assert "其中 12 个文件与以前汇总时读过的内容完全相同" in capsys.readouterr().out
    assert _cells(tmp_path / "b.xlsx") == _cells(tmp_path / "a.xlsx")
    # and --no-cache reads every file: the patched reader is met
    code3 = cli_main(["consolidate", str(d), "-o", str(tmp_path / "c.xlsx"), "--jobs", jobs, "--no-cache"])
    assert code3 == 2 and "没有可以汇总的报表" in capsys.readouterr().err


def test_a_changed_file_is_read_again_and_a_copy_under_another_name_is_not(tmp_path: Path) -> None:
    d = tmp_path / "in"
    records = mk.write_agencies(5, d, seed=42, error_share=0.0)
    first = consolidate([d], jobs=1, cache=True)
    assert not any(e.summary.cached for e in first.entries)
    # an agency sends a corrected file: other bytes, same name
    changed = Path(str(records[1]["path"]))
    cid = "t1.license.decisions"
    _rewrite(records[1], {**records[1]["values"], cid: int(records[1]["values"][cid] or 0) + 7})
    # and another file is the same bytes as an old one under a new name
    copy = d / "副本-" / Path(str(records[2]["path"])).name
    copy.parent.mkdir()
    shutil.copy2(str(records[2]["path"]), copy)
    second = consolidate([d], jobs=1, cache=True)
    by_file = {e.summary.path: e.summary for e in second.entries}
    assert not by_file[str(changed)].cached
    assert by_file[str(copy)].cached and by_file[str(copy)].path == str(copy)
    assert by_file[str(copy)].mtime == pytest.approx(os.stat(copy).st_mtime)
    assert second.sums[cid] == first.sums[cid] + 7
    fresh = consolidate([d], jobs=1)
    for s in fresh.entries:
        got = by_file[s.summary.path]
        assert replace(got, cached=False, cache_key="") == replace(s.summary, cache_key=""), s.summary.path


def test_other_rules_are_another_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A province's overlay that regrades a rule changes what reading gives: nothing read
    under the packaged rules is reused."""
    d = tmp_path / "in"
    mk.write_agencies(3, d, seed=43, error_share=0.0)
    consolidate([d], jobs=1, cache=True)
    rules = tmp_path / "省级规则"
    rules.mkdir()
    (rules / "overlay-2021.json").write_text(json.dumps({"form": "2021", "disable": ["carry-over"]}),
                                             encoding="utf-8")
    monkeypatch.setenv("GKREPORT_RULES_DIR", str(rules))
    forms.reset()
    again = consolidate([d], jobs=1, cache=True)
    assert not any(e.summary.cached for e in again.entries)
    assert len(_keys(tmp_path)) == 6


def test_a_damaged_store_or_entry_costs_only_speed(tmp_path: Path) -> None:
    d = tmp_path / "in"
    mk.write_agencies(3, d, seed=44, error_share=0.0)
    first = consolidate([d], jobs=1, cache=True)
    with sqlite3.connect(_db(tmp_path)) as c:
        c.execute("UPDATE readings SET value = ?", (b"not a pickle",))
    damaged = consolidate([d], jobs=1, cache=True)
    assert not any(e.summary.cached for e in damaged.entries) and damaged.sums == first.sums
    _db(tmp_path).write_bytes(b"this is not a database" * 100)
    broken = consolidate([d], jobs=1, cache=True)
    assert not any(e.summary.cached for e in broken.entries) and broken.sums == first.sums
    _db(tmp_path).unlink()
    os.mkfifo(_db(tmp_path)) if hasattr(os, "mkfifo") else _db(tmp_path).mkdir()
    special = consolidate([d], jobs=1, cache=True)  # (opening a FIFO could wait for ever)
    assert not any(e.summary.cached for e in special.entries) and special.sums == first.sums


def test_only_plain_readings_are_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Not kept: an unreadable file, a gkreport bug's result, a file that changed while read."""
    d = tmp_path / "in"
    records = mk.write_agencies(3, d, seed=45, error_share=0.0)
    (d / "坏文件.xlsx").write_bytes(b"PK\x03\x04 damaged")
    real = cons.summarise_file
    moving = str(records[0]["path"])

    def changing_while_read(path: str):
        s = real(path)
        if path == moving:
            with open(path, "ab") as fh:  # an agency's new copy lands while the run reads it
                fh.write(b"\0")
        return s

    monkeypatch.setattr(cons, "summarise_file", changing_while_read)
    result = consolidate([d], jobs=1, cache=True)
    assert sum(1 for e in result.entries if e.summary.cache_key) == 2
    assert len(_keys(tmp_path)) == 2
    monkeypatch.setattr(cons, "check", _no_reading)  # an engine bug: the file's result is internal
    monkeypatch.setattr(read_cache, "_scope", lambda: b"other code")
    buggy = consolidate([d], jobs=1, cache=True)
    assert all(e.summary.internal for e in buggy.entries if e.summary.ok)
    assert not any(e.summary.cache_key for e in buggy.entries)


def test_off_by_environment_and_oldest_entries_dropped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "in"
    mk.write_agencies(4, d, seed=46, error_share=0.0)
    monkeypatch.setenv("GKREPORT_NO_CACHE", "1")
    consolidate([d], jobs=1, cache=True)
    assert not _db(tmp_path).exists()
    monkeypatch.delenv("GKREPORT_NO_CACHE")
    monkeypatch.setattr(read_cache, "MAX_ENTRIES", 3)
    consolidate([d], jobs=1, cache=True)
    assert len(_keys(tmp_path)) == 3


# ------------------------------------------------------------------------------ check of several files


def _check_json(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, list[dict]]:
    code = cli_main(["check", *argv, "--json"])
    return code, json.loads(capsys.readouterr().out)


@pytest.fixture
def county(tmp_path: Path) -> tuple[Path, list[dict]]:
    """Six agencies, one of them with an error."""
    d = tmp_path / "in"
    records = mk.write_agencies(6, d, seed=47, error_share=0.0)
    mk.plant_error(records[2]["values"], __import__("random").Random(3))
    _rewrite(records[2], records[2]["values"])
    return d, records


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_check_again_reads_nothing_and_says_the_same(county: tuple[Path, list[dict]], monkeypatch: pytest.MonkeyPatch,
                                                     capsys: pytest.CaptureFixture[str], jobs: str) -> None:
    import gkreport.markers.check_batch as batch

    d, _ = county
    code1, first = _check_json(capsys, str(d), "--jobs", jobs)
    assert code1 == 1 and sum(1 for r in first if r["findings"]) >= 1
    monkeypatch.setattr(batch, "read_and_check", _no_reading)
    code2, second = _check_json(capsys, str(d), "--jobs", jobs)
    assert (code2, second) == (code1, first)
    cli_main(["check", str(d), "--jobs", jobs])
    assert "其中 6 份与以前校验时读过的内容完全相同" in capsys.readouterr().out
    # another --year is another question: every file is read again (the patched reader is met)
    assert cli_main(["check", str(d), "--jobs", "1", "--year", "2023"]) == 3  # gkreport's own error: exit 3
    assert "AssertionError" in capsys.readouterr().err


def test_check_reads_again_what_this_run_needs_more_of(county: tuple[Path, list[dict]], tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    """A kept result has no Report: a file whose marked copy is due, or whose return notice
    is asked for, is read again; a clean file is not."""
    import gkreport.markers.check_batch as batch

    d, records = county
    _check_json(capsys, str(d), "--jobs", "1")
    real, read = batch.read_and_check, []

    def counting(path: Path, **kwargs: object):
        read.append(Path(path).name)
        return real(path, **kwargs)

    monkeypatch.setattr(batch, "read_and_check", counting)
    code, marked = _check_json(capsys, str(d), "--jobs", "1", "--mark", str(tmp_path / "标注"))
    assert code == 1 and read == [Path(str(records[2]["path"])).name]
    assert [Path(r["marked"]).name for r in marked if "marked" in r] == [Path(str(records[2]["path"])).stem
                                                                         + ".checked.xlsx"]
    read.clear()
    cli_main(["check", str(d), "--jobs", "1", "--notices", str(tmp_path / "通知")])
    assert read == [Path(str(records[2]["path"])).name]
    read.clear()
    cli_main(["check", str(d), "--jobs", "1", "--previous", str(records[0]["path"])])
    assert len(read) == 6  # with last year's report every file is read
    read.clear()
    cli_main(["check", str(records[0]["path"])])
    assert len(read) == 1  # one file alone: no cache (it would cost its start-up more than it saves)


def test_the_api_reads_every_file_unless_asked(tmp_path: Path) -> None:
    from gkreport import api

    d = tmp_path / "in"
    mk.write_agencies(2, d, seed=48, error_share=0.0)
    api.consolidate(d)
    assert not _db(tmp_path).exists()  # a script's run leaves nothing behind unless it asks
    api.consolidate(d, cache=True)
    again = api.consolidate(d, cache=True)
    assert all(e.summary.cached for e in again.entries)


@pytest.mark.parametrize("command", ["consolidate", "check"])
def test_spawned_workers_use_the_cache_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                           capsys: pytest.CaptureFixture[str], command: str) -> None:
    """On Windows (and macOS) workers are spawned, not forked: they inherit nothing and get the
    run's store from the pool's initializer, or they would read every file, every run."""
    import multiprocessing

    import gkreport.consolidation.pool as pool

    monkeypatch.setattr(pool, "mp_context", lambda: multiprocessing.get_context("spawn"))
    d = tmp_path / "in"
    mk.write_agencies(4, d, seed=49, error_share=0.0)
    if command == "consolidate":
        consolidate([d], jobs=2, cache=True)
        again = consolidate([d], jobs=2, cache=True)
        assert all(e.summary.cached for e in again.entries)
    else:
        assert cli_main(["check", str(d), "--jobs", "2"]) == 0
        capsys.readouterr()
        assert len(_keys(tmp_path)) == 4
        before = _used(tmp_path)
        assert cli_main(["check", str(d), "--jobs", "2"]) == 0
        assert all(_used(tmp_path)[k] > before[k] for k in before)  # each entry used again


def _used(tmp_path: Path) -> dict[str, float]:
    with sqlite3.connect(_db(tmp_path)) as c:
        return {k: u for k, u in c.execute("SELECT key, used FROM readings")}
