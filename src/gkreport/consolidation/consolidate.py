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

Modules: the data (``consolidate_model``), the reading in worker processes
(``consolidate_read``), and here the choosing and adding up; every public name is
importable from here.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from gkreport.core.engine import check
from gkreport.core.findings import Finding
from gkreport.core.forms import Form, load_form
from gkreport.core.report import report_from_raw
from gkreport.readers import is_lock_file
from gkreport.readers.inputs import collect_files

from . import rollup
from .consolidate_model import ISSUES_SHEET as ISSUES_SHEET
from .consolidate_model import LEVEL_ALL as LEVEL_ALL
from .consolidate_model import LEVEL_UNLISTED as LEVEL_UNLISTED
from .consolidate_model import LEVEL_UNSET as LEVEL_UNSET
from .consolidate_model import STATUS_SHEET as STATUS_SHEET
from .consolidate_model import CellValues
from .consolidate_model import Consolidation as Consolidation
from .consolidate_model import FileEntry as FileEntry
from .consolidate_model import FileSummary as FileSummary
from .consolidate_model import NothingToSum as NothingToSum
from .consolidate_read import read_all as read_all
from .consolidate_read import summarise_file as summarise_file
from .roster import LEVEL_OWN as LEVEL_OWN
from .roster import LEVEL_TOWN as LEVEL_TOWN
from .roster import NameMismatch, RosterMatcher, renamed_note
from .roster import RosterEntry as RosterEntry
from .roster import closest as closest
from .roster import load_roster as load_roster
from .roster import normalise_name as normalise_name
from .roster import roster_line as roster_line

# ---------------------------------------------------------------------------- consolidating


def consolidate(paths: Sequence[Path], *, year: int | None = None, form: str | None = None,
                roster: Path | None = None, strict: bool = False, jobs: int | None = None,
                progress: bool = False, output: Path | None = None, region: str | None = None,
                prepare_summary: bool = False, cache: bool = False) -> Consolidation:
    """Read every file under ``paths`` and build the summary for one year and form version.

    Files with error findings are included but flagged (``strict`` leaves them out);
    unreadable files, other years and other form versions are reported, not added.
    ``output`` and ``roster`` are skipped if they lie among the inputs. Summaries among the
    inputs are other regions' (summed) or ``region``'s own (skipped): see :mod:`gkreport.consolidation.rollup`.
    ``prepare_summary`` (the caller will call :func:`write_summary`): the summary's blank
    workbook is built while the worker processes read, not after them on one core.
    ``cache``: files read before (same bytes, same code and rules) are not read again
    (:mod:`gkreport.consolidation.read_cache`).
    """
    not_reports = {}
    if output is not None:
        not_reports[Path(output)] = "本次汇总的输出文件，已跳过"
    if roster is not None:
        not_reports[Path(roster)] = "应报送单位名单，不是报表，已跳过"
    files, skipped = collect_files(paths, not_reports)
    roster_entries = load_roster(roster) if roster is not None else None
    prepared: dict[str, Any] = {}

    def prepare(first: FileSummary) -> None:
        version = form or first.form
        if version:
            prepared[version] = prepare_workbook(version)

    summaries = read_all(files, jobs, progress, on_first=prepare if prepare_summary else None, cache=cache)
    entries = [FileEntry(FileSummary(path=str(p), ok=False, error=why), reason=why) for p, why in skipped]
    read_entries = [FileEntry(s) for s in summaries]
    rollup.screen_summaries(read_entries, region)

    ok = [e.summary for e in read_entries if e.summary.ok]
    target_form = form or _most_common(s.form for s in ok)
    form_obj = load_form(target_form) if target_form else None
    target_year = year or _most_common(s.year for s in ok if s.form == target_form and s.year is not None)

    result = Consolidation(form=form_obj, year=target_year, entries=entries, roster=roster_entries, region=region)
    if target_form is not None:
        result.blank_workbook = prepared.get(target_form)
    entries.extend(read_entries)
    candidates = _eligible(read_entries, form_obj, target_year, RosterMatcher(roster_entries or []))
    kept = _one_per_agency(result, candidates, strict)
    rollup.settle_children(result)
    if roster_entries is not None:
        _check_names(result, kept, read_entries, RosterMatcher(roster_entries))
    if form_obj is not None:
        _sum(result, form_obj)
    return result


def _eligible(read: Sequence[FileEntry], form: Form | None, year: int | None,
              matcher: RosterMatcher) -> dict[str, list[FileEntry]]:
    """The files of this form and year, grouped by agency (roster name when matched exactly or
    after normalising); every other file gets its reason."""
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
        if (not s.agency and not s.values and len(s.blanks) >= len(form.cells)
                and Path(s.path).suffix.lower() in (".xlsx", ".xlsm")):
            # The blank template the clerk sent out, kept in the folder of replies: summing it
            # adds nothing but an unnamed "agency" to 报送情况.
            e.reason = "空白模板：没有填写填报单位，也没有填写任何数据，未纳入汇总"
            continue
        norm = normalise_name(s.agency or "")
        match = matcher.match(s.agency)
        if match is not None:
            e.match = match
            e.roster_name, e.level, e.name = match.entry.name, match.entry.level, match.entry.name
            key = "roster:" + normalise_name(match.entry.name)
        else:
            # Only the same non-empty 填报单位 makes two files one agency's; a blank name says
            # nothing, so such a file is its own group, keyed by its full path.
            key = "name:" + norm if norm else "path:" + os.path.abspath(s.path)
        groups.setdefault(key, []).append(e)
    return groups


def _one_per_agency(result: Consolidation, groups: Mapping[str, list[FileEntry]], strict: bool) -> dict[str, FileEntry]:
    """One report per agency: a resubmission (later 填报日期, else the newer file) replaces the
    earlier one, which is listed as a duplicate naming the one used. Marks what is included."""
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


def _check_names(result: Consolidation, kept: Mapping[str, FileEntry], read: Sequence[FileEntry],
                 matcher: RosterMatcher) -> None:
    """Roster status of every agency, decided once (see roster.py for the semantics): notes on
    included reports whose name was normalised or only resembles a roster entry, the 名称不符
    list, and 未报送 — roster entries with no included report and no near-named one."""
    # Roster entries are told apart by name: a name listed twice is one agency.
    submitted = {e.match.entry.name for e in kept.values() if e.included and e.match is not None}
    unlisted = [e for e in kept.values() if e.included and e.match is None]
    files_of: dict[str, list[FileEntry]] = {}  # roster name -> every readable file certainly its
    for e in read:
        m = e.match or (matcher.match(e.summary.agency) if e.summary.ok else None)
        if m is not None:
            files_of.setdefault(m.entry.name, []).append(e)
            if e.match is None:  # a left-out file still names its roster agency in 报送情况
                e.match, e.roster_name, e.level = m, m.entry.name, m.entry.level
    # A roster entry whose own file was left out (other form, --strict) is 未报送, never a proposal.
    free = list({r.name: r for r in matcher.roster if r.name not in submitted and r.name not in files_of}.values())
    proposals = matcher.propose([e.summary.agency or "" for e in unlisted], free)
    for e in kept.values():
        if e.included and e.match is not None and e.match.kind == "normalised":
            e.reason = "；".join(x for x in (renamed_note(e.match), e.reason) if x)
    proposed: set[str] = set()
    for e in unlisted:
        near = proposals.get(e.summary.agency or "")
        if near is not None:
            e.match = near
            proposed.add(near.entry.name)
        mismatch = NameMismatch(e.name, e.file, near)
        result.mismatched.append(mismatch)
        e.reason = "；".join(x for x in (f"{mismatch.note}；已计入全县合计", e.reason) if x)
    done = submitted | proposed
    for r in matcher.roster:
        if r.name in done:
            continue
        done.add(r.name)
        got = kept.get("roster:" + normalise_name(r.name))
        files = [got] if got is not None else files_of.get(r.name, [])
        result.missing.append((r, f"有文件但未纳入：{files[0].reason}" if files else ""))


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
    n = len(ids)
    position = {cid: i for i, cid in enumerate(ids)}
    # Running sums as one list of floats per group, in the form's cell order. Each agency's
    # numbers are added in file order, cell by cell, as floats: the same additions in the same
    # order as adding them one by one by cell id (an absent cell adds 0.0, which changes nothing).
    groups: dict[str, list[float]] = {LEVEL_ALL: [0.0] * n}
    levels_known = bool(result.roster) and any(r.level for r in result.roster or [])
    if levels_known:
        # Every included agency lands in exactly one part, so the parts add up to 全县.
        for lv in (LEVEL_OWN, LEVEL_TOWN, LEVEL_UNLISTED):
            groups[lv] = [0.0] * n
    blanks: dict[str, list[str]] = {}
    for e in result.included:
        keys = [LEVEL_ALL]
        if levels_known:
            part = e.level if e.roster_name is not None else LEVEL_UNLISTED
            keys.append(part or LEVEL_UNSET)
        vals = e.summary.values
        packed = vals.doubles(ids) if isinstance(vals, CellValues) else None
        for key in keys:
            acc = groups.setdefault(key, [0.0] * n)
            if packed is not None:
                groups[key] = [a + b for a, b in zip(acc, packed, strict=True)]
            else:
                for cid, v in vals.items():
                    if cid in position:
                        acc[position[cid]] += v
        for cid in e.summary.blanks:
            blanks.setdefault(cid, []).append(e.name)
    sums = {lv: dict(zip(ids, acc, strict=True)) for lv, acc in groups.items()}
    result.sums = {cid: _clean(v) for cid, v in sums[LEVEL_ALL].items()}
    if levels_known:
        result.level_sums = {lv: {cid: _clean(v) for cid, v in g.items()} for lv, g in sums.items()}
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


def prepare_workbook(version: str) -> Any:
    """The summary's blank workbook for form ``version`` (openpyxl imported here), or None if it
    could not be built: :func:`write_summary` then builds it again and reports what went wrong."""
    try:
        from gkreport.commands.runtime import import_openpyxl

        import_openpyxl()  # without numpy (~0.1 s), as the command line has it already
        # The writing's modules too (~20 ms): imported while the workers read, not after them.
        from gkreport.output import xlsx_split  # noqa: F401
        from gkreport.output.template import build_template

        from . import summary_charts, summary_workbook  # noqa: F401

        return build_template(load_form(version))
    except Exception:  # boundary: a failure here is met again, and reported, by write_summary
        return None


def write_summary(result: Consolidation, out: Path, force: bool = False, long: bool = False,
                  progress: bool = False) -> Path:
    """Write the summary workbook atomically (see :mod:`gkreport.consolidation.summary_workbook`)."""
    from .summary_workbook import write_summary as write

    return write(result, out, force=force, long=long, progress=progress)


def result_shares(form: Form, sums: Mapping[str, float | int]) -> list[tuple[str, float | int]]:
    """The county's applications by outcome (see :func:`gkreport.consolidation.summary_workbook.result_shares`)."""
    from .summary_workbook import result_shares as shares

    return shares(form, sums)


def _listing(names: Sequence[str], limit: int = 15) -> str:
    shown = "、".join(names[:limit])
    return shown + (f" 等 {len(names)} 个单位" if len(names) > limit else "")

