"""Readers turn one kind of input into a Report (adapters; the core never opens files)."""

from __future__ import annotations

from pathlib import Path

from gkreport.core.report import Report
from gkreport.readers.files import NotATemplate, ReadError, is_lock_file, sniff

__all__ = ["ReadError", "is_lock_file", "read_any"]


def read_any(path: Path, form: str | None = None, year: int | None = None, *, mode: str = "full") -> Report:
    """Read a report from a template workbook, or import a published report in memory.

    Template workbooks are read by name/position; anything else (a workbook laid out
    like the official tables, .docx, .html, text) goes through the published-report
    importer, so ``check`` accepts every input ``import`` does.
    """
    from gkreport.readers.workbook import read_workbook

    sniffed = sniff(Path(path), verify=mode != "fast", keep_open=mode == "fast")
    if sniffed.kind == "xlsx":
        try:
            report = read_workbook(path, form, mode=mode, sniffed=sniffed)
        except NotATemplate as template_error:
            try:
                return _read_published(path, form, year)
            except ReadError:
                raise template_error from None
        finally:
            sniffed.close()
    else:
        sniffed.close()
        report = _read_published(path, form, year)
    if year is not None and report.year is None:
        report.header["hdr.year"] = year
    return report


def _read_published(path: Path, form: str | None, year: int | None) -> Report:
    from gkreport.core.findings import Finding, fingerprint
    from gkreport.core.forms import load_form
    from gkreport.core.report import report_from_raw
    from gkreport.core.values import unread
    from gkreport.readers.published import read_published

    imported = read_published(Path(path), form or "auto", year)  # ReportReadError is a ReadError
    header = {"hdr.agency": imported.agency, "hdr.year": imported.year, "hdr.date": imported.date}
    form_def = load_form(imported.form)
    report = report_from_raw(form_def, imported.values, header, source=str(path), text=imported.text)
    for cid in imported.unread:
        report.values[cid] = unread("导入时未能读取（见“导入不完整”）")
    rule_ids = {"error": "import-incomplete", "warning": "import-unplaced", "info": "import-deduced"}
    for issue in imported.issues:
        try:
            rule = form_def.rule(rule_ids[issue.severity])
        except KeyError:
            continue
        cells = [form_def.cells[c] for c in issue.cells if c in form_def.cells]
        report.read_findings.append(Finding(
            rule=rule.id, severity=rule.severity, message=rule.message.format(what=issue.message),
            sheet=cells[0].sheet if cells else None, cells=tuple(c.ref for c in cells if c.sheet == cells[0].sheet),
            cell_ids=tuple(c.id for c in cells),
            id=fingerprint(rule.id, [c.id for c in cells], report.key, issue.message),
        ))
    return report
