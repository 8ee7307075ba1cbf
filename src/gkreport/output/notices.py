"""Return notices (退回修改通知) and the chase list (催报清单): closing the clerk's loop.

After a check or a consolidation the clerk sends each agency whose report has errors a
notice that can be printed, signed and filed: every error in plain Chinese with the
table, row and column labels, the cell address, what is in the cell now and, where the
checker could determine it, the value it should have. The report's data fingerprint
(:mod:`gkreport.core.stamp`) is printed on it, so the signed paper copy can be matched to
the exact file (the summary's 报送情况 lists the same fingerprint). Agencies on the
roster that have not submitted get onto one page: the chase list, with the roster's
contact columns.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from docx.document import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Cm, Pt

from gkreport.consolidation.consolidate import Consolidation, FileEntry
from gkreport.core.findings import Finding
from gkreport.core.forms import Form
from gkreport.core.report import Report
from gkreport.core.stamp import cell_text, data_fingerprint, raw_text
from gkreport.core.values import format_number
from gkreport.markers.checking import FileResult, check_file
from gkreport.publish.content import chinese_date
from gkreport.publish.to_docx import (
    HEADING_FONT,
    TABLE_FONT,
    add_paragraph,
    add_text,
    grid_widths,
    new_document,
    repeat_header,
    set_borders,
    set_cell_margins,
    set_widths,
    write_cell,
)
from gkreport.readers.inputs import NOTICE_SUFFIX

from .outputs import atomic_write

NOTICE_MARGINS = (Cm(2.0), Cm(2.0), Cm(2.2), Cm(2.0))
ITEM_HEADERS = ("序号", "表", "行", "列", "单元格", "现填写", "建议值", "问题说明")
ITEM_WIDTHS = (1.0, 2.2, 5.0, 3.4, 2.6, 1.8, 1.6, 8.5)  # cm, A4 landscape minus margins
TABLE_TEXT = Pt(10.5)
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]+')


@dataclass(frozen=True)
class NoticeItem:
    """One error of a report, located for a person: which table, row, column and cell."""

    table: str
    row: str
    column: str
    address: str
    current: str
    suggested: str
    message: str


@dataclass
class Notice:
    """Everything printed on one agency's return notice."""

    agency: str
    file: str
    year: int | None
    form: Form
    fingerprint: str
    items: list[NoticeItem]
    warnings: int = 0
    marked: str | None = None  # the marked copy's file name, sent along with the notice
    extra: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------ items


def _locate(f: Finding) -> tuple[str | None, str | None]:
    """The one cell a finding is about, with its A1 address: the single suspect when the
    checker named one, else the finding's first cell (the total of a broken identity)."""
    if len(f.suspect_ids) == 1:
        return f.suspect_ids[0], f.suspects[0] if f.suspects else None
    if f.cell_ids:
        return f.cell_ids[0], f.cells[0] if f.cells else None
    return None, None


def notice_item(report: Report, f: Finding) -> NoticeItem:
    """A finding in the notice's words; a suggested value only where it is determined."""
    form = report.form
    cid, ref = _locate(f)
    suggested = format_number(f.suggested) if f.suggested is not None else ""
    if cid is not None and cid in form.cells:
        cell = form.cells[cid]
        table = form.table(cell.table)
        current = cell_text(report.value(cid)) or "（空白）"
        return NoticeItem(table.sheet.split(" ")[0], cell.row_label or "—", cell.col_label or "—",
                          f"{cell.sheet}!{cell.ref}", current, suggested, f.message)
    header = next((h for h in form.header if h.id == cid), None)
    if header is not None:
        raw = report.header.get(header.id)
        current = raw_text(raw) or "（空白）"
        return NoticeItem(form.header_sheet, header.label, "—", f"{header.sheet}!{header.cell}", current,
                          suggested, f.message)
    where = f"{f.sheet}!{ref}" if f.sheet and ref else "—"
    return NoticeItem(f.sheet or "—", "—", "—", where, "—", suggested, f.message)


def merge_items(items: Sequence[NoticeItem]) -> list[NoticeItem]:
    """One row per cell to fix: a wrong leaf breaks its row total and its column (two
    findings), but the clerk corrects one cell, so the notice counts and lists it once,
    with both explanations. Rows without a cell, or with different suggestions, stay apart."""
    out: list[NoticeItem] = []
    at: dict[tuple[str, str], int] = {}
    for it in items:
        key = (it.address, it.suggested)
        if it.address == "—" or key not in at:
            at.setdefault(key, len(out))
            out.append(it)
            continue
        first = out[at[key]]
        out[at[key]] = replace(first, message=first.message + "\n" + it.message)
    return out


def build_notice(report: Report, findings: Sequence[Finding], file: Path,
                 marked: Path | None = None) -> Notice | None:
    """The notice for one report, or None when it has no error finding."""
    errors = [f for f in findings if f.severity == "error"]
    if not errors:
        return None
    return Notice(
        agency=report.agency or "（未填写单位名称）", file=Path(file).name, year=report.year, form=report.form,
        fingerprint=data_fingerprint(report), items=merge_items([notice_item(report, f) for f in errors]),
        warnings=sum(1 for f in findings if f.severity == "warning"),
        marked=Path(marked).name if marked else None,
    )


# ------------------------------------------------------------------------------ writing


def safe_name(text: str, limit: int = 60) -> str:
    """A file name part that every file system accepts."""
    return _UNSAFE.sub("_", text).strip(" .")[:limit] or "未命名"


def _today() -> str:
    return chinese_date(dt.date.today().isoformat())


def _grid(doc: Document, headers: Sequence[str], rows: Sequence[Sequence[str]], widths_cm: Sequence[float],
          size: Pt = TABLE_TEXT, left_cols: Sequence[int] = ()) -> None:
    table = doc.add_table(rows=1 + len(rows), cols=len(headers))
    set_borders(table)
    set_cell_margins(table, 60)
    total = sum(widths_cm)
    set_widths(table, grid_widths(int(Cm(total).twips), [w / total for w in widths_cm]))
    repeat_header(table, 1)
    cells = table._cells
    n = len(headers)
    for i, h in enumerate(headers):
        write_cell(cells[i], h, size=size, bold=True, font=HEADING_FONT)
    for r, row in enumerate(rows, 1):
        for i, text in enumerate(row):
            align = WD_ALIGN_PARAGRAPH.LEFT if i in left_cols else WD_ALIGN_PARAGRAPH.CENTER
            write_cell(cells[r * n + i], text, size=size, align=align, font=TABLE_FONT)


def write_notice(notice: Notice, path: Path) -> Path:
    """The notice as a one-agency .docx (A4 landscape: the problem table is wide)."""
    doc = new_document(landscape=True, margins=NOTICE_MARGINS)
    doc.core_properties.title = f"{notice.agency}退回修改通知"
    footer = doc.sections[0].footer.paragraphs[0]
    footer.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    add_text(footer, f"{notice.agency}｜{notice.file}｜数据指纹 {notice.fingerprint}", size=Pt(9))
    title = add_paragraph(doc, "政府信息公开工作年度报告退回修改通知", font=HEADING_FONT, size=Pt(18),
                          align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    title.paragraph_format.space_after = Pt(10)
    add_paragraph(doc, f"{notice.agency}：", indent=False, size=Pt(14))
    year = f"{notice.year}年度" if notice.year else ""
    p = add_paragraph(doc, f"经校验，你单位报送的{year}政府信息公开工作年度报告统计表（文件“{notice.file}”，"
                           f"数据指纹 {notice.fingerprint}）有以下 {len(notice.items)} 处错误，请逐项核实修改后于",
                      size=Pt(14))
    add_text(p, "（请填写日期）", size=Pt(14), todo=True)
    add_text(p, "前重新报送。", size=Pt(14))
    rows = [[str(i), it.table, it.row, it.column, it.address, it.current, it.suggested or "—", it.message]
            for i, it in enumerate(notice.items, 1)]
    _grid(doc, ITEM_HEADERS, rows, ITEM_WIDTHS, size=Pt(10), left_cols=(2, 3, 7))
    notes = ["“建议值”只在能确定是哪个单元格填错时给出（同一行的合计和同一列的勾稽关系以相同差额不平）；"
             "其余请按“问题说明”逐项核对原始台账。"]
    if notice.warnings:
        notes.append(f"另有 {notice.warnings} 个警告（如数值带单位、与上年差异过大），不影响退回，请一并核实。")
    if notice.marked:
        notes.append(f"随本通知附标注副本“{notice.marked}”：填错的单元格已标红并加批注，“校验结果”工作表列出全部问题。")
    notes.append(f"表式：{notice.form.name}。修改后请核对数据指纹已变化，以免重复报送旧文件。")
    for text in notes:
        add_paragraph(doc, text, size=Pt(12))
    add_paragraph(doc, "", size=Pt(12))
    add_paragraph(doc, "（发文单位）", indent=False, size=Pt(14), align=WD_ALIGN_PARAGRAPH.RIGHT, todo=True)
    add_paragraph(doc, _today(), indent=False, size=Pt(14), align=WD_ALIGN_PARAGRAPH.RIGHT)
    return atomic_write(path, lambda tmp: doc.save(str(tmp)))


def notice_path(outdir: Path, notice: Notice, taken: set[str]) -> Path:
    """``<agency>-退回修改通知.docx``; the source file's name is added if two notices would clash."""
    name = f"{safe_name(notice.agency)}-{NOTICE_SUFFIX}"
    if name in taken:
        name = f"{safe_name(notice.agency)}-{safe_name(Path(notice.file).stem, 40)}-{NOTICE_SUFFIX}"
    taken.add(name)
    return Path(outdir) / name


def write_check_notices(results: Sequence[FileResult], outdir: Path) -> list[Path]:
    """One notice per checked file with errors; its marked copy (``--mark``) is copied beside it."""
    outdir = Path(outdir)
    written: list[Path] = []
    taken: set[str] = set()
    for r in results:
        if r.report is None:
            continue
        notice = build_notice(r.report, r.findings, r.file, r.marked)
        if notice is None:
            continue
        path = notice_path(outdir, notice, taken)
        written.append(write_notice(notice, path))
        if r.marked is not None and Path(r.marked).resolve().parent != outdir.resolve():
            shutil.copy2(r.marked, outdir / Path(r.marked).name)
    return written


def _needs_notice(result: Consolidation, e: FileEntry) -> bool:
    """Readable files with errors, except superseded resubmissions (the newer one counts)."""
    superseded = {f for _, f, _ in result.duplicates}
    return e.summary.ok and e.summary.counts.get("error", 0) > 0 and e.file not in superseded


def write_consolidation_notices(result: Consolidation, outdir: Path, *, mark: bool = True) -> list[Path]:
    """Notices for every agency of a consolidation whose report has errors, each with its
    marked copy beside it (what is sent back to the agency). The files are checked again
    in full here: the consolidation's workers keep only small summaries."""
    outdir = Path(outdir)
    written: list[Path] = []
    taken: set[str] = set()
    for e in result.entries:
        if not _needs_notice(result, e):
            continue
        checked = check_file(Path(e.summary.path), mark_dir=outdir if mark else None)
        if checked.report is None:
            continue
        notice = build_notice(checked.report, checked.findings, checked.file, checked.marked)
        if notice is None:
            continue
        if e.roster_name or e.summary.rollup is not None:  # a region's summary: addressed to the region
            notice.agency = e.roster_name or e.name
        written.append(write_notice(notice, notice_path(outdir, notice, taken)))
    return written


# ------------------------------------------------------------------------------ chase list


def chase_columns(result: Consolidation) -> list[str]:
    """The roster's contact columns (every column besides 单位名称 and 层级), in roster order."""
    cols: dict[str, None] = {}
    for entry in result.roster or []:
        for k, _ in entry.extra:
            cols.setdefault(k, None)
    return list(cols)


def write_chase_list(result: Consolidation, path: Path) -> Path:
    """One page (A4 portrait) of roster agencies that have not submitted, with contacts."""
    doc = new_document(margins=NOTICE_MARGINS)
    doc.core_properties.title = "催报清单"
    year = f"{result.year}年度" if result.year else ""
    add_paragraph(doc, f"{year}政府信息公开工作年度报告催报清单", font=HEADING_FONT, size=Pt(18),
                  align=WD_ALIGN_PARAGRAPH.CENTER, indent=False)
    roster_n = len(result.roster or [])
    add_paragraph(doc, f"截至{_today()}，名单中 {roster_n} 个单位，已纳入汇总 {roster_n - len(result.missing)} 个，"
                       f"以下 {len(result.missing)} 个单位尚未报送（或报送的文件未能纳入），请督促报送。", size=Pt(12))
    extra = chase_columns(result)
    headers = ["序号", "单位名称", "层级", *extra, "情况"]
    rows = []
    for i, (m, note) in enumerate(result.missing, 1):
        values = dict(m.extra)
        rows.append([str(i), m.name, m.level or "", *(values.get(k, "") for k in extra), note or "未报送"])
    if not rows:
        rows = [["", "（无）", "", *("" for _ in extra), ""]]
    avail = 16.8 - (1.0 + 5.0 + 1.8)  # A4 portrait text width minus 序号, 单位名称, 层级 (cm)
    per_extra = min(3.0, (avail - 3.0) / len(extra)) if extra else 0.0
    widths = [1.0, 5.0, 1.8, *(per_extra for _ in extra), avail - per_extra * len(extra)]
    _grid(doc, headers, rows, widths, size=Pt(10.5), left_cols=(1, len(headers) - 1))
    return atomic_write(path, lambda tmp: doc.save(str(tmp)))
