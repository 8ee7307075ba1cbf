"""Check files end to end: read, evaluate, optionally write a marked copy.

Shared by the CLI and the demo; the xlwings add-in uses the engine and marking
directly on the open workbook instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .engine import check
from .fill import fill_workbook
from .findings import Finding, count_by_severity
from .markers.openpyxl_marker import OpenpyxlMarker
from .marking import apply_marks
from .readers import ReadError, read_any
from .report import Report
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
        if self.marked:
            d["marked"] = str(self.marked)
            d["marked_is_new_template"] = self.marked_is_new
        return d


def marked_path(source: Path, outdir: Path) -> Path:
    stem = source.stem.removesuffix(MARK_SUFFIX)
    suffix = ".xlsm" if source.suffix.lower() == ".xlsm" else ".xlsx"
    return outdir / f"{stem}{MARK_SUFFIX}{suffix}"


def check_file(path: Path, *, previous: Report | None = None, form: str | None = None,
               year: int | None = None, mark_dir: Path | None = None) -> FileResult:
    """Check one file; never raises for a bad file (the reason is in ``error``)."""
    result = FileResult(Path(path))
    try:
        report = read_any(path, form, year)
    except ReadError as e:
        result.error = str(e)
        return result
    result.report = report
    result.findings = check(report, previous)
    if mark_dir is not None:
        out = marked_path(Path(path), Path(mark_dir))
        if out.resolve() == Path(path).resolve():
            result.error = "标注副本会覆盖源文件，请指定另一个输出文件夹"
            return result
        result.marked = write_marked(Path(path), report, result.findings, out)
        result.marked_is_new = not _is_own_workbook(Path(path), report)  # (no file access)
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
