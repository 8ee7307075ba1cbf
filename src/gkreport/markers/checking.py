"""Check files end to end: read, evaluate, optionally write a marked copy.

Shared by the CLI (through :mod:`gkreport.markers.check_batch`, in worker processes), the demo and
the consolidation's notices; the xlwings add-in uses the engine and marking directly on
the open workbook instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

from gkreport.commands.runtime import import_openpyxl, internal_error_message
from gkreport.core.engine import check
from gkreport.core.findings import Finding, count_by_severity
from gkreport.core.report import Report
from gkreport.output.outputs import NAME_MAX, OutputError, check_output
from gkreport.readers import ReadError, read_any

MARK_SUFFIX = ".checked"


@dataclass(frozen=True)
class ReportInfo:
    """Who and what a read report is: all a batch's console and JSON need of it (a batch's
    workers send this back instead of the whole report, which costs ~2 ms a file to pickle;
    the form by its version and name, since a pickled Form is 80 KB)."""

    form: str  # version
    form_name: str
    agency: str | None
    year: int | None

    @classmethod
    def of(cls, report: Report) -> ReportInfo:
        return cls(report.form.version, report.form.name, report.agency, report.year)


@dataclass
class FileResult:
    file: Path
    info: ReportInfo | None = None  # set whenever the file was read
    report: Report | None = None  # the whole report: single checks, and in a batch what notices need
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    marked: Path | None = None
    marked_is_new: bool = False  # the input was not a template: the copy is a new, filled template
    internal: bool = False  # ``error`` is a bug in gkreport (logged), not a fault of the file (exit 3)
    reused: bool = False  # given again from the reading cache (same bytes, rules, code, options): not read this run

    @property
    def counts(self) -> dict[str, int]:
        return count_by_severity(self.findings)

    @property
    def unreadable(self) -> bool:
        """Not read (or gkreport failed on it): counted as 无法读取."""
        return bool(self.error) and (self.info is None or self.internal)

    @property
    def needs_mark(self) -> bool:
        """Whether ``--mark`` writes a copy (without ``--mark-all``): the file has an error or a
        warning, the findings that are painted (a copy with only 提示 would show nothing)."""
        c = self.counts
        return self.info is not None and (c["error"] > 0 or c["warning"] > 0)

    def to_dict(self) -> dict[str, object]:
        r = self.info
        d: dict[str, object] = {
            "file": str(self.file),
            "form": r.form if r else None,
            "year": r.year if r else None,
            "agency": r.agency if r else None,
            "findings": [f.to_dict() for f in self.findings],
        }
        if self.error:
            d["error"] = self.error
        if self.internal:
            d["internal_error"] = True
        if self.marked:
            d["marked"] = str(self.marked)
            d["marked_is_new_template"] = self.marked_is_new
        return d


def marked_name(source: Path, *, new_template: bool = False) -> str:
    """``年报.xlsx`` -> ``年报.checked.xlsx``; a report that is not an .xlsx/.xlsm keeps its suffix
    in the name (``a.txt`` -> ``a.txt.checked.xlsx``), so ``a.xlsx`` and ``a.txt`` never share a copy.
    Long names are shortened to what a file system holds (255 bytes)."""
    suffix = source.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        stem = source.stem.removesuffix(MARK_SUFFIX)
        ext = ".xlsm" if suffix == ".xlsm" and not new_template else ".xlsx"
    else:
        stem, ext = source.name, ".xlsx"
    tail = f"{MARK_SUFFIX}{ext}"
    room = NAME_MAX - len(tail.encode("utf-8")) - 8  # 8: space for a "(2)" that makes a name unique
    while len(stem.encode("utf-8")) > room:
        stem = stem[:-1]
    return stem + tail


@dataclass
class MarkPlan:
    """Where the marked copies of one run go: one folder, the inputs' sub-folders kept,
    every name unique in the run (乡A/年报.xlsx and 乡B/年报.xlsx, a.xlsx and a.txt), and
    never one of the run's inputs."""

    outdir: Path
    inputs: set[str] = field(default_factory=set)  # normalised absolute paths (a set: batches of 1000s)
    subfolders: dict[Path, Path] = field(default_factory=dict)  # source -> folder under outdir
    taken: set[str] = field(default_factory=set)

    def add_input(self, source: Path, sub: Path | None = None) -> None:
        self.inputs.add(_key(source))
        if sub is not None and str(sub) not in ("", "."):
            self.subfolders[Path(source)] = sub

    def path_for(self, source: Path, *, new_template: bool = False) -> Path:
        folder = self.outdir / self.subfolders.get(Path(source), Path())
        name = marked_name(Path(source), new_template=new_template)
        stem, _, ext = name.rpartition(MARK_SUFFIX)  # "年报(2).checked.xlsx": still a marked copy by name
        out, n = folder / name, 1
        while os.path.normcase(str(out)).casefold() in self.taken:
            n += 1
            out = folder / f"{stem}({n}){MARK_SUFFIX}{ext}"
        self.taken.add(os.path.normcase(str(out)).casefold())
        return out

    def reserve(self, source: Path) -> tuple[Path, Path]:
        """The copy's path if ``source`` is marked in place, and if it becomes a new template
        (they differ only for an .xlsm), both taken now: the batch assigns names in input order,
        before its workers know which files get a copy, so names never depend on scheduling."""
        own = self.path_for(source)
        new = self.path_for(source, new_template=True) if Path(source).suffix.lower() == ".xlsm" else own
        return own, new

    def is_input(self, out: Path) -> bool:
        return _key(out) in self.inputs


def _key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))


def check_file(path: Path, *, previous: Report | None = None, form: str | None = None,
               year: int | None = None, mark_dir: Path | None = None,
               mark_plan: MarkPlan | None = None, mode: str = "full") -> FileResult:
    """Check one file; never raises (a bad file's reason, or a logged internal error, is in ``error``).

    ``mark_dir`` writes the marked copy there; ``mark_plan`` (the CLI's, for a batch)
    also keeps sub-folders and makes names unique. ``mode`` is the reader's (see
    :func:`gkreport.readers.read_any`: ``fast`` reads exactly what ``full`` reads, or declines)."""
    result = read_and_check(Path(path), previous=previous, form=form, year=year, mode=mode)
    if result.report is None or result.internal:
        return result
    if mark_plan is None and mark_dir is not None:
        mark_plan = MarkPlan(Path(mark_dir))
        mark_plan.add_input(Path(path))
    if mark_plan is None:
        return result
    new_template = not _is_own_workbook(Path(path), result.report)  # (no file access)
    out = mark_plan.path_for(Path(path), new_template=new_template)
    return mark_result(result, out, refused=_key(out) in mark_plan.inputs)


def read_and_check(path: Path, *, previous: Report | None = None, form: str | None = None,
                   year: int | None = None, mode: str = "full") -> FileResult:
    """Read ``path`` and check it; never raises (see :func:`check_file`)."""
    result = FileResult(Path(path))
    try:
        report = read_any(path, form, year, mode=mode)
    except ReadError as e:
        result.error = str(e)
        return result
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as e:  # a reader bug or a Rust panic (a BaseException): this file's error
        return _internal(result, f"读取 {path}", e)
    result.report, result.info = report, ReportInfo.of(report)
    try:
        result.findings = check(report, previous)
    except Exception as e:  # per-file boundary: an engine bug is this file's internal error (exit 3), no findings shown as passing
        return _internal(result, f"校验 {path}", e)
    return result


def is_new_template(result: FileResult) -> bool:
    """Whether the marked copy of a read file is a new, filled template (not a copy of it)."""
    assert result.report is not None
    return not _is_own_workbook(result.file, result.report)


def mark_result(result: FileResult, out: Path, *, refused: bool = False) -> FileResult:
    """Write the marked copy of a read and checked file to ``out`` (``refused``: ``out`` is one of
    the run's inputs); a failure is the file's error."""
    assert result.report is not None
    new_template = is_new_template(result)
    path = result.file
    try:
        if refused:
            raise OutputError(f"标注副本 {out} 是本次读取的文件之一，不能覆盖")
        check_output(out, suffixes=(out.suffix,), force=True, inputs=[path], what="标注副本")
        result.marked = write_marked(path, result.report, result.findings, out)
        result.marked_is_new = new_template
    except OutputError as e:
        result.error = str(e)
    except Exception as e:  # per-file boundary: a marker bug costs this file's copy (exit 3), not the batch
        return _internal(result, f"写标注副本 {out}", e)
    return result


def _internal(result: FileResult, where: str, e: BaseException) -> FileResult:
    result.error = internal_error_message(where, e)
    result.internal = True
    return result


def _is_own_workbook(source: Path, report: Report) -> bool:
    """Whether ``report`` was read from ``source`` as a template workbook (marked in place).
    Imported reports always carry their text (possibly empty); template reads never do."""
    return report.source == str(source) and report.text is None


def write_marked(source: Path, report: Report, findings: list[Finding], out: Path) -> Path:
    """A marked copy of ``source`` (or, for a published report, of a filled template).
    openpyxl and the markers are imported here, when a copy is written: a check without
    ``--mark`` of a file the fast reader reads never imports openpyxl."""
    import_openpyxl()
    from gkreport.markers.marking import apply_marks
    from gkreport.markers.openpyxl_marker import OpenpyxlMarker
    from gkreport.output.fill import CellInput, fill_workbook
    from gkreport.output.template import build_template, save_workbook_atomic

    if _is_own_workbook(source, report):
        marker = OpenpyxlMarker.open(source)
    else:
        # Imported values are numbers, text or None (CellInput); the header likewise.
        raw = {cid: cast(CellInput, v.raw) for cid, v in report.values.items()}
        wb = fill_workbook(build_template(report.form), report.form, raw,
                           {k: cast(CellInput, v) for k, v in report.header.items() if v is not None})
        marker = OpenpyxlMarker(wb)
    apply_marks(marker, findings)
    return save_workbook_atomic(marker.wb, out)
