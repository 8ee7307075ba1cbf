"""Reading many files in worker processes for a consolidation (see :mod:`gkreport.consolidate`).

Each worker sends back a small picklable :class:`FileSummary` (numbers by cell id, blank
cells, finding dicts), never the Report or the workbook, so memory stays flat with
1000s of files. One bad file never stops the run: a reader bug, a Rust panic or a dying
worker becomes that file's error.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from .consolidate_model import ISSUES_SHEET, STATUS_SHEET, FileSummary, pack_values
from .engine import check
from .findings import Finding, count_by_severity
from .forms import available_forms, load_form
from .readers import ReadError, read_any
from .readers.workbook import warm_layout
from .runtime import die_with_parent, internal_error_message
from .stamp import data_fingerprint
from .values import iso_date


def summarise_file(path: str) -> FileSummary:
    """Read and check one file (runs in a worker); never raises."""
    try:
        report = read_any(Path(path), mode="fast")
    except ReadError as e:
        return FileSummary(path=path, ok=False, error=str(e))
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # a reader bug, or a Rust panic (a BaseException), must not stop 999 files
        return FileSummary(path=path, ok=False, error=internal_error_message(f"读取 {path}", e), internal=True)
    if {STATUS_SHEET, ISSUES_SHEET} <= set(report.sheet_names):
        # A summary written into the folder it was made from must not be added again.
        return FileSummary(path=path, ok=False, error="这是本工具生成的汇总表（含“报送情况”“问题清单”），不是单位的报表，未纳入")
    y = report.header.get("hdr.year")
    if isinstance(y, float) and y.is_integer():
        # The fast (calamine) reader gives numbers as floats; 2023.0 is not read as a year.
        report.header["hdr.year"] = int(y)
    try:
        findings = check(report)
    except Exception as e:  # pragma: no cover - engine bugs are reported, not fatal
        findings = [Finding(rule="internal", severity="error", message=f"校验时发生内部错误（{type(e).__name__}）")]
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
        mtime=_mtime(path),
        values=pack_values(report.form, values), blanks=blanks,
        findings=[_finding_dict(f) for f in findings], counts=count_by_severity(findings),
        fingerprint=data_fingerprint(report),
    )


def _mtime(path: str) -> float:
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


def _chunks(n: int, jobs: int) -> int:
    """Chunk size: many small chunks per worker, so no worker idles while another
    finishes a long last chunk (a file takes ~3 ms; a chunk's IPC ~0.1 ms)."""
    return max(1, min(16, n // (jobs * 8) or 1))


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


def read_all(files: Sequence[Path], jobs: int | None, progress: bool = False) -> list[FileSummary]:
    """Summaries of ``files`` in the given order, read in parallel when worthwhile."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    bar = Progress(len(files), progress)
    names = [str(p) for p in files]
    out: list[FileSummary] = []
    # Load and validate the forms once, here: forked workers inherit them instead of
    # each spending ~0.15 s on JSON Schema validation (spawned workers load their own).
    for v in available_forms():
        warm_layout(load_form(v))
    if jobs == 1 or len(files) < 4:
        for n in names:
            out.append(summarise_file(n))
            bar.step()
        return out
    ctx = _mp_context()
    chunk = _chunks(len(names), jobs)
    pending = names
    while pending:
        before = len(out)
        try:
            with _pool(min(jobs, len(pending)), ctx) as pool:
                for s in pool.map(summarise_file, pending, chunksize=chunk):
                    out.append(_compact(s))
                    bar.step()
            pending = []
        except BrokenProcessPool:
            # A worker died (a crash inside a native reader, the OOM killer): one bad file
            # must not stop the run. The files that were in flight are read again one per
            # process, so the culprit is found and reported; the rest go on in a new pool.
            done = len(out) - before
            window = pending[done:done + chunk * (2 * jobs + 1)]
            for n in window:
                out.append(_isolated(n))
                bar.step()
            pending = pending[done + len(window):]
    return out


def _compact(s: FileSummary) -> FileSummary:
    """The strings every summary repeats (cell ids, finding keys, rules, sheets) shared, not
    one copy per file as unpickled: a province's 40,000 summaries stay small in the parent."""
    s.blanks = [sys.intern(b) for b in s.blanks]
    s.findings = [{sys.intern(k): sys.intern(v) if k in _SHARED_TEXT and isinstance(v, str) else v
                   for k, v in f.items()} for f in s.findings]
    return s


_SHARED_TEXT = frozenset({"rule", "severity", "sheet", "cell", "instance"})


def _mp_context() -> multiprocessing.context.BaseContext | None:
    """fork on Linux: workers inherit the loaded forms (Python 3.14 made forkserver the
    default there); elsewhere the platform's default (spawn)."""
    return multiprocessing.get_context("fork") if sys.platform == "linux" else None


@contextlib.contextmanager
def _pool(workers: int, ctx: multiprocessing.context.BaseContext | None) -> Iterator[ProcessPoolExecutor]:
    """A worker pool whose workers die with this process (see :func:`runtime.die_with_parent`);
    on Ctrl+C the workers are stopped at once instead of finishing the queue."""
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=die_with_parent)
    try:
        yield pool
    except KeyboardInterrupt:
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)  # (a second call after the one above returns at once)


def _isolated(path: str) -> FileSummary:
    """``summarise_file`` in a process of its own, so that a crash is this file's error."""
    with _pool(1, _mp_context()) as pool:
        try:
            return pool.submit(summarise_file, path).result()
        except BrokenProcessPool:
            return FileSummary(path=path, ok=False, error="读取此文件时读取进程意外退出（文件可能已损坏或异常巨大），已跳过")
