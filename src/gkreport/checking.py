"""Check files end to end: read, evaluate, optionally write a marked copy.

Shared by the CLI and the demo; the xlwings add-in uses the engine and marking
directly on the open workbook instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .engine import check
from .fill import fill_workbook
from .findings import Finding, count_by_severity
from .markers.openpyxl_marker import OpenpyxlMarker
from .marking import apply_marks
from .outputs import NAME_MAX, OutputError, check_output
from .readers import ReadError, read_any
from .report import Report
from .runtime import internal_error_message
from .template import build_template, save_workbook_atomic

MARK_SUFFIX = ".checked"


@dataclass
class FileResult:
    file: Path
    report: Report | None = None
    findings: list[Finding] = field(default_factory=list)
    error: str | None = None
    marked: Path | None = None
    marked_is_new: bool = False  # the input was not a template: the copy is a new, filled template
    internal: bool = False  # ``error`` is a bug in gkreport (logged), not a fault of the file (exit 3)

    @property
    def counts(self) -> dict[str, int]:
        return count_by_severity(self.findings)

    def to_dict(self) -> dict[str, object]:
        r = self.report
        d: dict[str, object] = {
            "file": str(self.file),
            "form": r.form.version if r else None,
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


def marked_path(source: Path, outdir: Path) -> Path:
    """The marked copy of ``source`` directly in ``outdir`` (the demo and single files)."""
    return Path(outdir) / marked_name(Path(source))


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


def _key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))


def check_file(path: Path, *, previous: Report | None = None, form: str | None = None,
               year: int | None = None, mark_dir: Path | None = None,
               mark_plan: MarkPlan | None = None) -> FileResult:
    """Check one file; never raises (a bad file's reason, or a logged internal error, is in ``error``).

    ``mark_dir`` writes the marked copy there; ``mark_plan`` (the CLI's, for a batch)
    also keeps sub-folders and makes names unique."""
    result = FileResult(Path(path))
    try:
        report = read_any(path, form, year)
    except ReadError as e:
        result.error = str(e)
        return result
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as e:  # a reader bug: this file's error, the batch goes on
        return _internal(result, f"读取 {path}", e)
    result.report = report
    try:
        result.findings = check(report, previous)
    except Exception as e:
        return _internal(result, f"校验 {path}", e)
    if mark_plan is None and mark_dir is not None:
        mark_plan = MarkPlan(Path(mark_dir))
        mark_plan.add_input(Path(path))
    if mark_plan is None:
        return result
    new_template = not _is_own_workbook(Path(path), report)  # (no file access)
    out = mark_plan.path_for(Path(path), new_template=new_template)
    try:
        if _key(out) in mark_plan.inputs:
            raise OutputError(f"标注副本 {out} 是本次读取的文件之一，不能覆盖")
        check_output(out, suffixes=(out.suffix,), force=True, inputs=[Path(path)], what="标注副本")
        result.marked = write_marked(Path(path), report, result.findings, out)
        result.marked_is_new = new_template
    except OutputError as e:
        result.error = str(e)
    except Exception as e:
        return _internal(result, f"写标注副本 {out}", e)
    return result


def _internal(result: FileResult, where: str, e: Exception) -> FileResult:
    result.error = internal_error_message(where, e)
    result.internal = True
    return result


def _is_own_workbook(source: Path, report: Report) -> bool:
    """Whether ``report`` was read from ``source`` as a template workbook (marked in place).
    Imported reports always carry their text (possibly empty); template reads never do."""
    return report.source == str(source) and report.text is None


def write_marked(source: Path, report: Report, findings: list[Finding], out: Path) -> Path:
    """A marked copy of ``source`` (or, for a published report, of a filled template)."""
    if _is_own_workbook(source, report):
        marker = OpenpyxlMarker.open(source)
    else:
        raw = {cid: v.raw for cid, v in report.values.items()}
        wb = fill_workbook(build_template(report.form), report.form, raw,
                           {k: v for k, v in report.header.items() if v is not None})
        marker = OpenpyxlMarker(wb)
    apply_marks(marker, findings)
    return save_workbook_atomic(marker.wb, out)
