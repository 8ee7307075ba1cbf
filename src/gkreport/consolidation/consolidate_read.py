"""Reading many files in worker processes for a consolidation (see :mod:`gkreport.consolidation.consolidate`).

Each worker sends back a small picklable :class:`FileSummary` (numbers by cell id, blank
cells, finding dicts), never the Report or the workbook, so memory stays flat with
1000s of files. One bad file never stops the run: a reader bug, a Rust panic or a dying
worker becomes that file's error.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gkreport.commands.runtime import internal_error_message
from gkreport.core.engine import check
from gkreport.core.findings import Finding, count_by_severity
from gkreport.core.forms import available_forms, load_form
from gkreport.core.stamp import data_fingerprint
from gkreport.core.values import iso_date
from gkreport.readers import ReadError, read_any
from gkreport.readers.workbook import warm_layout

from . import rollup
from .consolidate_model import ISSUES_SHEET, STATUS_SHEET, FileSummary, pack_values
from .pool import map_files


def summarise_file(path: str) -> FileSummary:
    """Read and check one file (runs in a worker); never raises."""
    try:
        report = read_any(Path(path), mode="fast")
    except ReadError as e:
        return FileSummary(path=path, ok=False, error=str(e), unreadable=True)
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # a reader bug, or a Rust panic (a BaseException), must not stop 999 files
        return FileSummary(path=path, ok=False, error=internal_error_message(f"读取 {path}", e), internal=True)
    child: dict[str, Any] | None = None
    if {STATUS_SHEET, ISSUES_SHEET} <= set(report.sheet_names):
        # A summary: another region's is summed one level up, this region's is skipped (rollup.py).
        manifest = rollup.child_manifest(path, report)
        if isinstance(manifest, str):
            return FileSummary(path=path, ok=False, error=manifest)
        child = manifest
    y = report.header.get("hdr.year")
    if isinstance(y, float) and y.is_integer():
        # The fast (calamine) reader gives numbers as floats; 2023.0 is not read as a year.
        report.header["hdr.year"] = int(y)
    internal = False
    try:
        findings = check(report)
    except Exception as e:  # per-file boundary, as in check_batch: an engine bug is logged and is exit code 3,
        # and the error finding keeps the file from showing as passing
        internal = True
        findings = [Finding(rule="internal", severity="error", message=internal_error_message(f"校验 {path}", e))]
    values: dict[str, float | int] = {}
    blanks: list[str] = []
    for cid, v in report.values.items():  # Value.is_blank and Value.arith, spelt out: 200 cells a file
        state = v.state
        if state == "blank" or state == "unread":  # an unread published value counts 0: the sum is uncertain
            blanks.append(cid)
        elif (state == "number" or state == "converted") and v.number:
            values[cid] = v.number
    return FileSummary(
        path=path, ok=True, agency=report.agency, region=_text(report.header.get("hdr.region")),
        year=report.year, form=report.form.version, date=iso_date(report.header.get("hdr.date")),
        mtime=file_mtime(path),
        values=pack_values(report.form, values), blanks=blanks,
        findings=[_finding_dict(f) for f in findings], counts=count_by_severity(findings),
        fingerprint=data_fingerprint(report), rollup=child, internal=internal,
    )


def file_mtime(path: str) -> float:
    """The file's modification time (which of two copies is newer), 0 when it cannot be had."""
    try:
        return os.stat(path).st_mtime
    except OSError:
        return 0.0


def _text(v: object) -> str | None:
    t = str(v).strip() if v is not None else ""
    return t or None


def _finding_dict(f: Finding) -> dict[str, Any]:
    where = (f.suspects or f.cells or ("",))[0]
    return {"rule": f.rule, "severity": f.severity, "message": f.message, "sheet": f.sheet or "", "cell": where,
            "instance": f.instance}



class Progress:
    """A one-line progress bar on stderr (only when asked: the CLI asks on a TTY), for the
    reading and for the writing of the summary (``label`` and ``unit`` say which)."""

    def __init__(self, total: int, enabled: bool, label: str = "读取", unit: str = "") -> None:
        self.total, self.enabled, self.done = total, enabled and total > 0, 0
        self.label, self.unit = label, unit

    def step(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.done == self.total or self.done % max(1, self.total // 100) == 0:
            width = 30
            filled = width * self.done // self.total
            sys.stderr.write(f"\r{self.label} [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
                             f"{self.unit}")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


_Progress = Progress  # the name before the summary's writing used it too


def read_all(files: Sequence[Path], jobs: int | None, progress: bool = False,
             on_first: Callable[[FileSummary], None] | None = None, cache: bool = False) -> list[FileSummary]:
    """Summaries of ``files`` in the given order, read in parallel when worthwhile
    (a file whose worker process dies is reported, see :mod:`gkreport.consolidation.pool`).

    ``on_first`` is called once, in this process, with the first summary read without error:
    work that needs the form (the summary's blank workbook) is done while the workers read
    the rest, instead of after them on one core. ``cache``: a file whose bytes were read
    before by the same code and rules gives that reading again (:mod:`gkreport.consolidation.read_cache`)."""
    from . import read_cache

    bar = Progress(len(files), progress)
    out: list[FileSummary] = []
    # Load and validate the forms once, here: forked workers inherit them instead of
    # each loading them again.
    for v in available_forms():
        warm_layout(load_form(v))
    store = read_cache.open_store("consolidate") if cache else None
    with read_cache.active(store):
        fn = read_cache.summarise if store is not None else summarise_file
        for s in map_files(fn, [str(p) for p in files], jobs, crashed=_crashed,
                           initializer=read_cache.activate, initargs=(store,)):
            out.append(_compact(s))
            bar.step()
            if on_first is not None and s.ok and s.form:
                on_first(s)
                on_first = None
    read_cache.keep_summaries(store, out)
    return out


def _crashed(path: str) -> FileSummary:
    return FileSummary(path=path, ok=False, error="读取此文件时读取进程意外退出（文件可能已损坏或异常巨大），已跳过",
                       unreadable=True)


def _compact(s: FileSummary) -> FileSummary:
    """The strings every summary repeats (cell ids, finding keys, rules, sheets) shared, not
    one copy per file as unpickled: a province's 40,000 summaries stay small in the parent."""
    s.blanks = [sys.intern(b) for b in s.blanks]
    s.findings = [{sys.intern(k): sys.intern(v) if k in _SHARED_TEXT and isinstance(v, str) else v
                   for k, v in f.items()} for f in s.findings]
    return s


_SHARED_TEXT = frozenset({"rule", "severity", "sheet", "cell", "instance"})
