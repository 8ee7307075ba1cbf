"""Consolidate many agencies' reports into one county summary (全县汇总).

The county summary is the cell-by-cell sum of every agency's report for one year and
one form version (see design/forms.md, "Consolidation"). Because the identities are
linear, a summary of valid reports is valid; a summary that fails a rule points to an
input that failed it — so the summary is checked with the same engine as any report.

Design choices, and why:

- Reading is done in worker processes (``ProcessPoolExecutor``) with the fast reader;
  each worker sends back a small picklable :class:`FileSummary` (numbers by cell id,
  blank cells, finding dicts), never the Report or the workbook, so memory stays flat
  with 1000+ files.
- One bad file never stops the run: every failure becomes a row in 报送情况.
- Mixed years or form versions are not silently added: the target is the one asked
  for, else the most common; other files are reported and left out.
- With a roster, the summary knows who is expected: a summary cell is *uncertain*
  while an expected agency is missing or left that cell blank, and says which.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import difflib
import multiprocessing
import os
import re
import sys
import unicodedata
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .engine import check
from .findings import Finding, count_by_severity
from .forms import SEVERITY_LABEL, Form, available_forms, load_form
from .inputs import collect_files
from .readers import ReadError, is_lock_file, read_any
from .readers.files import decode_text
from .readers.workbook import warm_layout
from .report import report_from_raw
from .runtime import die_with_parent, internal_error_message

LEVEL_OWN, LEVEL_TOWN, LEVEL_ALL = "本级", "乡镇街道", "全县"
LEVELS = (LEVEL_OWN, LEVEL_TOWN, LEVEL_ALL)
CHART_CELL = "t2.new.total"
STATUS_SHEET, ISSUES_SHEET = "报送情况", "问题清单"  # also how a summary is told from an agency's report
_BRACKETS = re.compile(r"[\s()（）\[\]【】〔〕{}<>《》「」『』\"'“”‘’·•・.,，、]+")


# ------------------------------------------------------------------------------- data


@dataclass
class FileSummary:
    """What a worker sends back for one file: small, picklable, no file handles."""

    path: str
    ok: bool
    error: str = ""
    agency: str | None = None
    region: str | None = None
    year: int | None = None
    form: str | None = None
    date: str | None = None  # 填报日期 as YYYY-MM-DD, when it reads as a date
    mtime: float = 0.0  # the file's modification time: which of two copies is newer
    values: dict[str, float | int] = field(default_factory=dict)
    blanks: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"error": 0, "warning": 0, "info": 0})
    internal: bool = False  # ``error`` is a bug in gkreport (logged), not a fault of the file: exit code 3


@dataclass
class RosterEntry:
    """One expected agency from the roster (名单)."""

    name: str
    level: str | None  # 本级 / 乡镇街道 / None when the roster has no 层级


@dataclass
class FileEntry:
    """One input file and what became of it in this consolidation."""

    summary: FileSummary
    included: bool = False
    reason: str = ""
    name: str = ""  # the agency as shown (the roster name when matched)
    roster_name: str | None = None
    level: str | None = None

    @property
    def file(self) -> str:
        return Path(self.summary.path).name


@dataclass
class Consolidation:
    """The result of :func:`consolidate`: everything the writer and the CLI need."""

    form: Form | None
    year: int | None
    entries: list[FileEntry]
    roster: list[RosterEntry] | None = None
    missing: list[tuple[RosterEntry, str]] = field(default_factory=list)  # (who, note)
    duplicates: list[tuple[str, str, str]] = field(default_factory=list)  # (agency, file, kept file)
    mismatched: list[tuple[str, str, str | None]] = field(default_factory=list)  # (agency, file, suggestion)
    sums: dict[str, float | int] = field(default_factory=dict)
    level_sums: dict[str, dict[str, float | int]] = field(default_factory=dict)
    blanks: dict[str, list[str]] = field(default_factory=dict)  # cell id -> agencies that left it blank
    summary_findings: list[Finding] = field(default_factory=list)

    @property
    def included(self) -> list[FileEntry]:
        return [e for e in self.entries if e.included]

    @property
    def has_levels(self) -> bool:
        return bool(self.level_sums)

    def uncertain(self, cell_id: str) -> list[str]:
        """Agencies that make a summary cell uncertain: missing ones, then those that left it blank."""
        return [m.name for m, _ in self.missing] + self.blanks.get(cell_id, [])

    @property
    def error_count(self) -> int:
        """Error findings of included agencies and of the summary (drives exit code 1)."""
        return (sum(e.summary.counts.get("error", 0) for e in self.included)
                + count_by_severity(self.summary_findings)["error"])


# ---------------------------------------------------------------------------- collecting


# ---------------------------------------------------------------------------- reading


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
    for cid, v in report.values.items():
        if v.is_blank:
            blanks.append(cid)
        a = v.arith
        if a:
            values[cid] = a
    return FileSummary(
        path=path, ok=True, agency=report.agency, region=_text(report.header.get("hdr.region")),
        year=report.year, form=report.form.version, date=_iso_date(report.header.get("hdr.date")),
        mtime=_mtime(path),
        values=values, blanks=blanks,
        findings=[_finding_dict(f) for f in findings], counts=count_by_severity(findings),
    )


_DATE = re.compile(r"(\d{4})\D{1,3}(\d{1,2})\D{1,3}(\d{1,2})")


def _iso_date(v: object) -> str | None:
    """A 填报日期 as typed (a date cell, "2024-01-20", "2024年1月20日", "2024.1.20") in ISO form."""
    if isinstance(v, dt.datetime | dt.date):
        return v.strftime("%Y-%m-%d")
    m = _DATE.search(str(v or ""))
    if not m:
        return None
    try:
        return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
    except ValueError:
        return None


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


class _Progress:
    """A one-line progress bar on stderr (only when asked: the CLI asks on a TTY)."""

    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done = total, enabled and total > 0, 0

    def step(self) -> None:
        self.done += 1
        if not self.enabled:
            return
        if self.done == self.total or self.done % max(1, self.total // 100) == 0:
            width = 30
            filled = width * self.done // self.total
            sys.stderr.write(f"\r读取 [{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}")
            if self.done == self.total:
                sys.stderr.write("\n")
            sys.stderr.flush()


def read_all(files: Sequence[Path], jobs: int | None, progress: bool = False) -> list[FileSummary]:
    """Summaries of ``files`` in the given order, read in parallel when worthwhile."""
    jobs = max(1, jobs or os.cpu_count() or 1)
    bar = _Progress(len(files), progress)
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
                    out.append(s)
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


# ---------------------------------------------------------------------------- roster


def normalise_name(name: str) -> str:
    """Agency names as typed differ in spaces, full-width forms and brackets; compare without them."""
    return _BRACKETS.sub("", unicodedata.normalize("NFKC", name or "")).lower()


def _level(text: object) -> str | None:
    t = str(text or "").strip()
    if not t:
        return None
    return LEVEL_TOWN if any(k in t for k in ("乡", "镇", "街道")) else LEVEL_OWN


def load_roster(path: Path) -> list[RosterEntry]:
    """Read a roster (.csv or .xlsx) with a 单位名称 column and an optional 层级 column."""
    path = Path(path)
    rows: list[list[Any]]
    if path.suffix.lower() == ".csv":
        data = path.read_bytes()
        decoded = decode_text(data)
        if decoded is None:
            raise ReadError("名单文件的编码无法识别（请另存为 UTF-8 或 GBK 编码的 CSV）")
        text = decoded
        rows = [list(r) for r in csv.reader(text.splitlines())]
    else:
        import python_calamine as pc

        try:
            wb = pc.CalamineWorkbook.from_path(str(path))
            rows = wb.get_sheet_by_index(0).to_python()
            wb.close()
        except Exception as e:
            raise ReadError(f"名单文件无法读取（{type(e).__name__}）") from None
    for i, row in enumerate(rows):
        heads = [str(c or "").strip() for c in row]
        if "单位名称" in heads:
            name_col = heads.index("单位名称")
            level_col = heads.index("层级") if "层级" in heads else None
            out = []
            for r in rows[i + 1:]:
                cell = r[name_col] if name_col < len(r) else None
                name = str(cell if cell is not None else "").strip()
                if not name:
                    continue
                lv = _level(r[level_col]) if level_col is not None and level_col < len(r) else None
                out.append(RosterEntry(name, lv))
            return out
    raise ReadError("名单文件中没有“单位名称”列")


def closest(name: str, candidates: Mapping[str, str]) -> str | None:
    """The roster name closest to ``name`` (difflib), as a suggestion for the person."""
    hit = difflib.get_close_matches(normalise_name(name), list(candidates), n=1, cutoff=0.5)
    return candidates[hit[0]] if hit else None


# ---------------------------------------------------------------------------- consolidating


def consolidate(paths: Sequence[Path], *, year: int | None = None, form: str | None = None,
                roster: Path | None = None, strict: bool = False, jobs: int | None = None,
                progress: bool = False, output: Path | None = None) -> Consolidation:
    """Read every file under ``paths`` and build the summary for one year and form version.

    Files with error findings are included but flagged (``strict`` leaves them out);
    unreadable files, other years and other form versions are reported, not added.
    ``output`` and ``roster`` are skipped if they lie among the inputs.
    """
    not_reports = {}
    if output is not None:
        not_reports[Path(output)] = "本次汇总的输出文件，已跳过"
    if roster is not None:
        not_reports[Path(roster)] = "应报送单位名单，不是报表，已跳过"
    files, skipped = collect_files(paths, not_reports)
    roster_entries = load_roster(roster) if roster is not None else None
    summaries = read_all(files, jobs, progress)
    entries = [FileEntry(FileSummary(path=str(p), ok=False, error=why), reason=why) for p, why in skipped]
    read_entries = [FileEntry(s) for s in summaries]

    ok = [e.summary for e in read_entries if e.summary.ok]
    target_form = form or _most_common(s.form for s in ok)
    form_obj = load_form(target_form) if target_form else None
    target_year = year or _most_common(s.year for s in ok if s.form == target_form and s.year is not None)

    result = Consolidation(form=form_obj, year=target_year, entries=entries, roster=roster_entries)
    entries.extend(read_entries)
    candidates = _eligible(read_entries, form_obj, target_year, roster_entries or [])
    kept = _one_per_agency(result, candidates, strict)
    if roster_entries is not None:
        result.missing = _not_submitted(roster_entries, kept, read_entries)
    if form_obj is not None:
        _sum(result, form_obj)
    return result


def _eligible(read: Sequence[FileEntry], form: Form | None, year: int | None,
              roster: Sequence[RosterEntry]) -> dict[str, list[FileEntry]]:
    """The files of this form and year, grouped by agency (roster name when matched);
    every other file gets its reason."""
    by_norm = {normalise_name(r.name): r for r in roster}
    groups: dict[str, list[FileEntry]] = {}
    for e in read:
        s = e.summary
        # Blank 填报单位: named by folder and file, so 乡A/年报.xlsx and 乡B/年报.xlsx stay apart.
        e.name = s.agency or f"（未填单位）{Path(s.path).parent.name}/{e.file}"
        if not s.ok:
            e.reason = s.error
            continue
        if form is None or s.form != form.version:
            e.reason = f"表式版本不同（{load_form(s.form).name if s.form else '未知'}，本次汇总 {form.name if form else ''}），未纳入"
            continue
        if year is not None and s.year is not None and s.year != year:
            e.reason = f"报告年度不同（{s.year} 年度，本次汇总 {year} 年度），未纳入"
            continue
        norm = normalise_name(s.agency or "")
        match = by_norm.get(norm) if norm else None
        if match is not None:
            e.roster_name, e.level, e.name = match.name, match.level, match.name
            key = "roster:" + normalise_name(match.name)
        else:
            # Only the same non-empty 填报单位 makes two files one agency's; a blank name says
            # nothing, so such a file is its own group, keyed by its full path.
            key = "name:" + norm if norm else "path:" + os.path.abspath(s.path)
        groups.setdefault(key, []).append(e)
    return groups


def _one_per_agency(result: Consolidation, groups: Mapping[str, list[FileEntry]], strict: bool) -> dict[str, FileEntry]:
    """One report per agency: a resubmission (later 填报日期, else the newer file) replaces the
    earlier one, which is listed as a duplicate naming the one used. Marks what is included."""
    roster_norms = {normalise_name(r.name): r.name for r in result.roster or []}
    kept: dict[str, FileEntry] = {}
    for key, group in groups.items():
        chosen = max(group, key=_newness)
        for e in group:
            if e is not chosen:
                e.reason = f"重复报送：同一单位另有较新的文件 {chosen.file}（{_why_chosen(chosen, group)}），以该文件为准，本文件未纳入"
                result.duplicates.append((e.name, e.file, chosen.file))
        e, s = chosen, chosen.summary
        kept[key] = e
        if strict and s.counts.get("error", 0):
            e.reason = f"存在 {s.counts['error']} 个错误（--strict），未纳入"
            continue
        e.included = True
        notes = []
        if len(group) > 1:
            notes.append(f"同一单位报送了 {len(group)} 份，采用本文件（{_why_chosen(chosen, group)}）")
        if s.counts.get("error", 0):
            notes.append(f"纳入，但有 {s.counts['error']} 个错误，请核实")
        if s.year is None and result.year is not None:
            notes.append(f"未填报告年度，按 {result.year} 年度纳入")
        if not normalise_name(s.agency or ""):
            _flag_blank_agency(s)
            notes.append("未填写填报单位：按文件单独纳入，无法判断是否与其他文件重复，请补填")
        if result.roster is not None and e.roster_name is None:
            hint = closest(s.agency or "", roster_norms) if s.agency else None
            result.mismatched.append((e.name, e.file, hint))
            notes.append("单位名称不在名单中" + (f"（建议：{hint}）" if hint else ""))
        e.reason = "；".join(notes)
    return kept


BLANK_AGENCY_RULE = "blank-agency"


def _flag_blank_agency(s: FileSummary) -> None:
    """A finding for the 问题清单: the report does not say whose it is."""
    if any(fd.get("rule") == BLANK_AGENCY_RULE for fd in s.findings):
        return
    s.findings.append({"rule": BLANK_AGENCY_RULE, "severity": "info", "sheet": "", "cell": "", "instance": "",
                       "message": "未填写填报单位：无法与名单核对，也无法判断是否与其他文件重复（已按文件单独纳入）"})
    s.counts = {**s.counts, "info": s.counts.get("info", 0) + 1}


def _not_submitted(roster: Sequence[RosterEntry], kept: Mapping[str, FileEntry],
                   read: Sequence[FileEntry]) -> list[tuple[RosterEntry, str]]:
    """Roster agencies without an included report, with what became of their file if any."""
    out = []
    for r in roster:
        got = kept.get("roster:" + normalise_name(r.name))
        if got is None:
            others = [e for e in read if normalise_name(e.summary.agency or "") == normalise_name(r.name)]
            out.append((r, f"有文件但未纳入：{others[0].reason}" if others else ""))
        elif not got.included:
            out.append((r, f"有文件但未纳入：{got.reason}"))
    return out


def _newness(e: FileEntry) -> tuple[str, float, str]:
    """Order of submissions of one agency: 填报日期, then file time, then name (stable)."""
    return (e.summary.date or "", e.summary.mtime, e.file)


def _why_chosen(chosen: FileEntry, group: Sequence[FileEntry]) -> str:
    """Why ``chosen`` is the newest of ``group`` (as :func:`_newness` decided)."""
    others = [e.summary for e in group if e is not chosen]
    c = chosen.summary
    if all((c.date or "") > (o.date or "") for o in others):
        return f"填报日期 {c.date} 最新"
    if all(c.mtime > o.mtime for o in others if (o.date or "") == (c.date or "")):
        return "填报日期相同或未填，文件修改时间最新"
    return "填报日期和文件时间都相同，按文件名取后者"


def find_roster(folder: Path) -> Path | None:
    """The roster a clerk keeps with the reports: the one .csv/.xlsx directly in ``folder``
    (or beside it) whose name contains 名单. None when there is none, or several."""
    folder = Path(folder)
    for where in (folder, folder.parent):
        found = [p for p in sorted(where.glob("*名单*"))
                 if p.is_file() and p.suffix.lower() in (".csv", ".xlsx") and not is_lock_file(p)]
        if len(found) == 1:
            return found[0]
        if found:
            return None  # ambiguous: better no roster than the wrong one
    return None


def _most_common(items: Iterable[Any]) -> Any:
    c = Counter(x for x in items if x is not None)
    if not c:
        return None
    best = max(c.values())
    # Ties go to the newest (largest) value: the current form / the latest year.
    return max(k for k, n in c.items() if n == best)


def _clean(x: float | int) -> float | int:
    """Sums of amounts accumulate float noise (0.1 + 0.2); keep 6 decimals, ints as ints."""
    r = round(float(x), 6)
    return int(r) if r.is_integer() and abs(r) < 2**53 else r


def _sum(result: Consolidation, form: Form) -> None:
    ids = list(form.cells)
    groups: dict[str, dict[str, float]] = {LEVEL_ALL: dict.fromkeys(ids, 0.0)}
    levels_known = bool(result.roster) and any(r.level for r in result.roster or [])
    if levels_known:
        groups[LEVEL_OWN] = dict.fromkeys(ids, 0.0)
        groups[LEVEL_TOWN] = dict.fromkeys(ids, 0.0)
    blanks: dict[str, list[str]] = {}
    for e in result.included:
        targets = [groups[LEVEL_ALL]]
        if levels_known and e.level in groups:
            targets.append(groups[e.level])
        for cid, v in e.summary.values.items():
            if cid in groups[LEVEL_ALL]:
                for g in targets:
                    g[cid] += v
        for cid in e.summary.blanks:
            blanks.setdefault(cid, []).append(e.name)
    result.sums = {cid: _clean(v) for cid, v in groups[LEVEL_ALL].items()}
    if levels_known:
        result.level_sums = {lv: {cid: _clean(v) for cid, v in groups[lv].items()} for lv in LEVELS}
    result.blanks = blanks
    report = report_from_raw(form, result.sums, {"hdr.agency": "汇总", "hdr.year": result.year}, source="汇总")
    result.summary_findings = [_with_sources(f, result.included) for f in check(report, locate=False)]


def _with_sources(f: Finding, included: Sequence[FileEntry]) -> Finding:
    """A broken identity in the summary comes from agencies where the same identity is broken:
    name them, since a sum cannot be corrected, only the agencies' reports can."""
    if not f.instance:
        return f
    who = [e.name for e in included if any(fd.get("instance") == f.instance for fd in e.summary.findings)]
    if not who:
        return f
    return replace(f, message=f"{f.message}。汇总数不平来自这些单位的报表（其本身此项也不平）：{_listing(who)}")


# ---------------------------------------------------------------------------- writing


UNCERTAIN_FILL_RGB = "DCE6F1"  # light grey-blue: "this number may still change"


def write_summary(result: Consolidation, out: Path, force: bool = False, long: bool = False) -> Path:
    """Write the summary workbook atomically; refuse to replace ``out`` unless ``force``."""
    from openpyxl.chart import BarChart, Reference
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    from .fill import fill_workbook
    from .safety import set_value, xml_safe
    from .template import build_template, print_as_list
    from .xlsx_rows import BulkRows, save_with_rows

    out = Path(out)
    if out.exists() and not force:
        raise FileExistsError(f"输出文件 {out} 已存在；如需覆盖请加 --force")
    form = result.form
    if form is None:
        raise ValueError("没有可用的报表，无法生成汇总")
    included = result.included
    wb = build_template(form)
    regions = {e.summary.region for e in included if e.summary.region}
    fill_workbook(wb, form, result.sums, {
        "hdr.agency": f"汇总（{len(included)} 个单位）", "hdr.year": result.year,
        # The region when every agency gave the same one; the date the summary was made.
        "hdr.region": regions.pop() if len(regions) == 1 else None, "hdr.date": dt.date.today(),
    })
    fill = PatternFill("solid", fgColor=UNCERTAIN_FILL_RGB)
    for cid, cell in form.cells.items():
        who = result.uncertain(cid)
        if not who:
            continue
        c = wb[cell.sheet][cell.ref]
        c.fill = fill
        missing = [m.name for m, _ in result.missing]
        blank = result.blanks.get(cid, [])
        parts = []
        if missing:
            parts.append(f"未报送（{len(missing)}）：" + _listing(missing))
        if blank:
            parts.append(f"此格空白（{len(blank)}）：" + _listing(blank))
        c.comment = Comment(xml_safe("汇总数可能不完整。\n" + "\n".join(parts)), "gkreport", width=320, height=160)

    bold = Font(bold=True)
    head_fill = PatternFill("solid", fgColor="D9D9D9")

    def header(ws: Any, row: int, titles: Sequence[str]) -> None:
        for i, t in enumerate(titles, start=1):
            c = ws.cell(row=row, column=i)
            set_value(c, t)
            c.font = bold
            c.fill = head_fill
            c.alignment = Alignment(wrap_text=True, vertical="center")

    def put(ws: Any, row: int, values: Sequence[Any]) -> None:
        for i, v in enumerate(values, start=1):
            if v is not None and v != "":
                set_value(ws.cell(row=row, column=i), v)

    # 分级汇总
    if result.has_levels:
        ws = wb.create_sheet("分级汇总")
        header(ws, 1, ["单元格编号", "表", "行", "列", LEVEL_OWN, LEVEL_TOWN, LEVEL_ALL])
        for r, (cid, cell) in enumerate(form.cells.items(), start=2):
            put(ws, r, [cid, form.table(cell.table).title, cell.row_label, cell.col_label,
                        *(result.level_sums[lv][cid] for lv in LEVELS)])
        unmatched = sum(1 for e in included if e.level is None)
        if unmatched:
            put(ws, len(form.cells) + 3, [f"注：{unmatched} 个单位未在名单中找到层级，只计入全县。"])
        ws.freeze_panes = "E2"
        _widths(ws, [22, 24, 40, 24, 12, 12, 12])
        print_as_list(ws)

    # 报送情况
    ws = wb.create_sheet(STATUS_SHEET)
    header(ws, 1, ["文件", "填报单位", "年度", "表式", "错误数", "警告数", "是否纳入", "原因"])
    r = 2
    for e in result.entries:
        s = e.summary
        put(ws, r, [e.file, s.agency or "", s.year, load_form(s.form).name if s.form else "",
                    s.counts.get("error", 0) if s.ok else None, s.counts.get("warning", 0) if s.ok else None,
                    "是" if e.included else "否", e.reason])
        r += 1
    if result.roster is not None:
        r += 1
        for title, rows in (
            (f"未报送（{len(result.missing)}）", [[m.name, m.level or "", note] for m, note in result.missing]),
            (f"重复报送（{len(result.duplicates)}）", [[a, f, f"已纳入 {k}"] for a, f, k in result.duplicates]),
            (f"名称不符（{len(result.mismatched)}）", [[a, f, f"建议：{h}" if h else "名单中没有相近的名称"]
                                                     for a, f, h in result.mismatched]),
        ):
            c = ws.cell(row=r, column=1)
            set_value(c, title)
            c.font = bold
            r += 1
            for row in rows or [["（无）"]]:
                put(ws, r, row)
                r += 1
            r += 1
    ws.freeze_panes = "A2"
    _widths(ws, [30, 28, 8, 22, 8, 8, 9, 60])
    print_as_list(ws)

    # 问题清单, 明细 and the long table hold one row per finding / agency / agency×cell:
    # the bulk of the cells, appended as plain rows by xlsx_rows (openpyxl's per-cell
    # objects cost more than reading all the inputs). Headers and layout stay openpyxl's.
    bulk: dict[str, BulkRows] = {}
    ws = wb.create_sheet(ISSUES_SHEET)
    header(ws, 1, ["单位", "文件", "工作表", "单元格", "规则", "严重程度", "说明"])
    issues: list[list[Any]] = [
        ["汇总", "", f.sheet or "", (f.suspects or f.cells or ("",))[0], f.rule,
         SEVERITY_LABEL.get(f.severity, f.severity), f.message] for f in result.summary_findings]
    for e in result.entries:
        s = e.summary
        if not s.ok:
            issues.append([e.name if s.agency else "", e.file, "", "", "读取失败", SEVERITY_LABEL["error"], s.error])
            continue
        issues.extend([e.name, e.file, fd["sheet"], fd["cell"], fd["rule"],
                       SEVERITY_LABEL.get(fd["severity"], fd["severity"]), fd["message"]] for fd in s.findings)
    bulk[ws.title] = BulkRows(2, issues, len(issues), 7)
    ws.auto_filter.ref = f"A1:G{len(issues) + 1}"
    ws.freeze_panes = "A2"
    _widths(ws, [28, 30, 16, 8, 18, 9, 80])
    print_as_list(ws)

    # 明细
    ids = list(form.cells)
    ws = wb.create_sheet("明细")
    labels = [
        ("表", [form.table(form.cells[c].table).title for c in ids]),
        ("行", [form.cells[c].row_label for c in ids]),
        ("列", [form.cells[c].col_label for c in ids]),
        ("编号", ids),
    ]
    for i, (what, row) in enumerate(labels, start=1):
        header(ws, i, ["单位" if what == "编号" else "", "文件" if what == "编号" else "",
                       "层级" if what == "编号" else what, *row])

    def wide_rows() -> Iterable[list[Any]]:
        for e in included:
            vals, blank = e.summary.values, set(e.summary.blanks)
            yield [e.name, e.file, e.level or "",
                   *(None if cid in blank else vals.get(cid, 0) for cid in ids)]

    bulk[ws.title] = BulkRows(len(labels) + 1, wide_rows(), len(included), 3 + len(ids))
    ws.freeze_panes = f"D{len(labels) + 1}"  # a string: ws.cell() would create a cell there
    # Filters on the 编号 row, which is also the header row to give a pivot table.
    ws.auto_filter.ref = f"A{len(labels)}:{get_column_letter(3 + len(ids))}{len(labels) + len(included)}"
    _widths(ws, [28, 26, 10])
    # 200 columns cannot fit a page width: repeat the labels and the agency instead.
    print_as_list(ws, f"1:{len(labels)}", fit_width=False, title_cols="A:A")

    if long:
        ws = wb.create_sheet("明细（长表）")
        header(ws, 1, ["单位", "文件", "层级", "单元格编号", "表", "行", "列", "数值", "是否空白"])
        where = {cid: (form.table(c.table).title, c.row_label, c.col_label) for cid, c in form.cells.items()}

        def long_rows() -> Iterable[list[Any]]:
            for e in included:
                vals, blank = e.summary.values, set(e.summary.blanks)
                for cid in ids:
                    yield [e.name, e.file, e.level or "", cid, *where[cid],
                           *((None, "是") if cid in blank else (vals.get(cid, 0), None))]

        bulk[ws.title] = BulkRows(2, long_rows(), len(included) * len(ids), 9)
        ws.auto_filter.ref = f"A1:I{len(included) * len(ids) + 1}"
        ws.freeze_panes = "A2"
        print_as_list(ws)

    # 图表
    if CHART_CELL in form.cells and included:
        ws = wb.create_sheet("图表")
        header(ws, 1, ["单位", form.cells[CHART_CELL].label])
        for r, e in enumerate(included, start=2):
            put(ws, r, [e.name, e.summary.values.get(CHART_CELL, 0)])
        chart = BarChart()
        chart.type = "bar"
        chart.title = f"各单位{form.cells[CHART_CELL].row_short}（件）"
        chart.y_axis.title = "件"
        chart.height = max(8.0, min(400.0, 0.45 * len(included)))
        chart.width = 18
        n = len(included)
        chart.add_data(Reference(ws, min_col=2, min_row=1, max_row=n + 1), titles_from_data=True)
        chart.set_categories(Reference(ws, min_col=1, min_row=2, max_row=n + 1))
        chart.legend = None
        ws.add_chart(chart, "D2")
        _widths(ws, [30, 16])
        _results_pie(ws, form, result.sums)

    # Re-check just before replacing: another run may have written it meanwhile.
    if out.exists() and not force:
        raise FileExistsError(f"输出文件 {out} 已存在；如需覆盖请加 --force")
    return save_with_rows(wb, out, bulk)


RESULT_RULE, RESULT_KEY = "T2-result-total", "col=total"  # (七)总计 = the sum of every result row
_TRAILING_NOTE = re.compile(r"（[^（）]*）$")


def result_shares(form: Form, sums: Mapping[str, float | int]) -> list[tuple[str, float | int]]:
    """The county's applications by outcome (（一）予以公开, （二）部分公开, ...), from the rule
    that adds the result rows up, grouped by their heading: what the pie chart shows."""
    try:
        rule = form.rule(RESULT_RULE)
    except KeyError:
        return []
    inst = next((i for i in rule.instances if i.key == RESULT_KEY), None)
    if inst is None:
        return []
    groups: dict[str, float | int] = {}
    for t in inst.right:
        path = form.cells[t.cell].row_path
        label = _TRAILING_NOTE.sub("", path[1] if len(path) > 1 else path[-1])
        groups[label] = groups.get(label, 0) + t.coef * sums.get(t.cell, 0)
    return list(groups.items())


def _results_pie(ws: Any, form: Form, sums: Mapping[str, float | int]) -> None:
    """A pie of :func:`result_shares`, with its little table, right of the bar chart."""
    from openpyxl.chart import PieChart, Reference
    from openpyxl.chart.label import DataLabelList
    from openpyxl.styles import Font

    shares = result_shares(form, sums)
    if not shares or not any(v for _, v in shares):
        return
    col = 16  # column P
    for i, title in enumerate(("办理结果", "件数")):
        c = ws.cell(row=1, column=col + i, value=title)
        c.font = Font(bold=True)
    for r, (label, v) in enumerate(shares, start=2):
        ws.cell(row=r, column=col, value=label)
        ws.cell(row=r, column=col + 1, value=_clean(v))
    pie = PieChart()
    pie.title = "全县政府信息公开申请办理结果"
    pie.add_data(Reference(ws, min_col=col + 1, min_row=1, max_row=len(shares) + 1), titles_from_data=True)
    pie.set_categories(Reference(ws, min_col=col, min_row=2, max_row=len(shares) + 1))
    pie.dataLabels = DataLabelList(showPercent=True, showVal=False, showCatName=False, showSerName=False,
                                   showLegendKey=False)  # the legend names the slices; the labels give shares
    pie.height, pie.width = 10, 14
    ws.add_chart(pie, f"P{len(shares) + 3}")
    ws.column_dimensions["P"].width = 22


def _listing(names: Sequence[str], limit: int = 15) -> str:
    shown = "、".join(names[:limit])
    return shown + (f" 等 {len(names)} 个单位" if len(names) > limit else "")


def _widths(ws: Any, widths: Sequence[float]) -> None:
    from openpyxl.utils import get_column_letter

    for i, w in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = w

