"""Multi-level roll-up (乡镇/部门 → 县 → 市 → 省): summaries as inputs one level up.

A county summary written by gkreport is the cell-by-cell sum of its agencies, so a city
can consolidate its counties' summaries exactly as a county consolidates agencies. What
the sum alone cannot tell is *who is in it*: an agency counted in county A's summary and
again in county B's (or again through its own report in the city's folder) would be added
twice without a trace. So every summary carries a machine-readable **agency manifest**:
a very hidden sheet listing each agency it contains (as shown and as typed, its region,
its data fingerprint from :mod:`gkreport.core.stamp`, the chain of summaries it came through),
the roster agencies missing from it, the summary's own region, and the fingerprint of the
summary's data (so a summary edited by hand after it was made is noticed).

The rules, and why:

- A summary of **the same region** in the input folder (this run's output, an older run's
  copy) is skipped, never added: it repeats the agencies' own reports. It is recognised
  by its region (``--region``, or the one region every agency report states when all
  summaries present are of that region), or, whatever the regions, because every agency
  it contains is also among this run's agency reports (adding it could only count twice).
- A summary of **another region** is a child: summed, listed in 报送情况 with the number of
  agencies it contains.
- The **same agency in two inputs** (two child summaries, or a child summary and the
  agency's own report) stops the run with a Chinese message naming both inputs (exit 2):
  which copy is right is the clerk's decision, not a guess. The same agency means the same
  name (as typed or as the roster spells it) and either the same data fingerprint or a
  compatible region (equal, or one unknown) — so 财政局 of county A and 财政局 of county B,
  named alike, with different data and regions, are two agencies.
- Older summaries without a manifest cannot be checked, so they are still skipped.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gkreport.core.exits import UsageError
from gkreport.core.stamp import data_fingerprint, raw_text

from .roster import normalise_name

if TYPE_CHECKING:
    from openpyxl.workbook.workbook import Workbook

    from gkreport.core.report import Report
    from gkreport.output.xlsx_rows import BulkRows

    from .consolidate import Consolidation, FileEntry, FileSummary

MANIFEST_SHEET = "汇总单位清单"
MANIFEST_MARK = "gkreport-manifest"
MANIFEST_VERSION = 1
COUNTED, MISSING = "纳入", "未报送"
EDITED_RULE = "summary-edited"
COLUMNS = ("单位名称", "报表所填单位名称", "所属地区", "数据指纹", "经由", "状态", "文件")
_HEAD_ROWS = 5  # mark, 地区, 数据指纹, 年度, then the column titles
OLD_SUMMARY = "这是本工具生成的汇总表（含“报送情况”“问题清单”），不是单位的报表，未纳入"
NO_MANIFEST = OLD_SUMMARY + "（由旧版本生成，没有单位清单，无法确认其中包含哪些单位；请用新版本重新汇总后再逐级汇总）"


class DoubleCounting(UsageError):
    """The same agency is in two inputs: the run refuses to add it twice (exit code 2)."""


@dataclass(frozen=True)
class Agency:
    """One row of a manifest: an agency a summary contains (or misses)."""

    name: str  # as the summary shows it (the roster's name when matched)
    typed: str  # as typed in its report's 填报单位
    region: str  # its 所属地区, else the region of the summary that first added it
    fingerprint: str
    via: str  # the regions of the summaries it came through, nearest first ("" = directly)
    status: str  # COUNTED or MISSING
    file: str

    @property
    def keys(self) -> set[str]:
        """Its names, normalised; none when 填报单位 was left blank (its shown name is then only
        its file's, which says nothing about who it is)."""
        if not self.typed.strip():
            return set()
        return {k for k in (normalise_name(self.name), normalise_name(self.typed)) if k}


@dataclass(frozen=True)
class Manifest:
    """What a summary says about itself (read from its hidden sheet)."""

    region: str
    fingerprint: str  # of the summary's data as written
    agencies: tuple[Agency, ...]

    @property
    def counted(self) -> list[Agency]:
        return [a for a in self.agencies if a.status == COUNTED]

    @property
    def missing(self) -> list[Agency]:
        return [a for a in self.agencies if a.status == MISSING]

    def to_dict(self) -> dict[str, Any]:
        """Picklable and JSON-able (workers send it back inside a FileSummary)."""
        return {"region": self.region, "fingerprint": self.fingerprint,
                "agencies": [a.__dict__.copy() for a in self.agencies]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Manifest:
        return cls(d.get("region", ""), d.get("fingerprint", ""), tuple(Agency(**a) for a in d.get("agencies", [])))


def manifest_of(s: FileSummary) -> Manifest | None:
    """The manifest of an input that is a gkreport summary (None for an agency's report)."""
    return Manifest.from_dict(s.rollup) if s.rollup is not None else None


def _same_region(a: str | None, b: str | None) -> bool:
    return bool(a and b and normalise_name(a) == normalise_name(b))


# ---------------------------------------------------------------------------- writing


def children(result: Consolidation) -> list[FileEntry]:
    """The included inputs that are summaries of other regions."""
    return [e for e in result.included if e.summary.rollup is not None]


def summary_region(result: Consolidation) -> str | None:
    """The region a summary is of: ``--region``; else the one region the included agency
    reports state, unless it is a child summary's (then the agencies are that child's, and
    claiming its region would make the next level skip this summary as a copy of it)."""
    if result.region:
        return result.region
    kids = {normalise_name(manifest_of(e.summary).region) for e in children(result)}  # type: ignore[union-attr]
    regions = {e.summary.region for e in result.included if e.summary.rollup is None and e.summary.region}
    if len(regions) == 1:
        only = regions.pop()
        return None if normalise_name(only) in kids else only
    return None


def agency_count(result: Consolidation) -> int:
    """Agencies a summary contains: its agency reports plus every child's."""
    return sum(len(m.counted) if (m := manifest_of(e.summary)) else 1 for e in result.included)


def summary_header(result: Consolidation) -> dict[str, str | None]:
    """The summary's 填报单位 and 所属地区 (the region the next level identifies it by)."""
    kids = children(result)
    own = len(result.included) - len(kids)
    who = (f"汇总（{len(result.included)} 个单位）" if not kids else
           f"汇总（{len(kids)} 个地区" + (f"及 {own} 个直接报送的单位" if own else "")
           + f"，共 {agency_count(result)} 个单位）")
    return {"hdr.agency": who, "hdr.region": summary_region(result)}


def manifest_rows(result: Consolidation) -> list[list[Any]]:
    """The manifest sheet's rows: the head (mark, region, fingerprint, year), the titles, then
    each agency: direct reports, every child's agencies (via the child), the missing ones."""
    from gkreport.core.report import report_from_raw

    region = summary_region(result) or ""
    fp = ""
    if result.form is not None:
        fp = data_fingerprint(report_from_raw(result.form, result.sums))
    rows: list[list[Any]] = [[MANIFEST_MARK, MANIFEST_VERSION], ["地区", region], ["数据指纹", fp],
                             ["年度", result.year or ""], list(COLUMNS)]
    for e in result.included:
        s = e.summary
        m = manifest_of(s)
        if m is None:
            rows.append([e.name, s.agency or "", s.region or region, s.fingerprint, "", COUNTED, e.file])
            continue
        for a in m.agencies:
            via = "／".join(x for x in (m.region or e.file, a.via) if x)
            rows.append([a.name, a.typed, a.region or m.region, a.fingerprint, via, a.status, a.file])
    for r, _note in result.missing:
        rows.append([r.name, "", region, "", "", MISSING, ""])
    return rows


def add_manifest(wb: Workbook, result: Consolidation, bulk: dict[str, BulkRows]) -> None:
    """The manifest as a very hidden sheet, its rows streamed by :mod:`gkreport.output.xlsx_rows` with
    the other bulk rows (inline strings: text stays text, and 1000 agencies cost milliseconds,
    where openpyxl's cells cost ~0.4 s)."""
    from gkreport.output.xlsx_rows import BulkRows

    ws = wb.create_sheet(MANIFEST_SHEET)
    ws.sheet_state = "veryHidden"
    rows = [[None if v == "" else v for v in row] for row in manifest_rows(result)]
    bulk[MANIFEST_SHEET] = BulkRows(1, rows, len(rows), len(COLUMNS))


# ---------------------------------------------------------------------------- reading


def child_manifest(path: str, report: Report) -> dict[str, Any] | str:
    """A summary found among the inputs: its manifest (as a dict), or why it cannot be used.

    Runs in a worker. The report's 填报单位 becomes the summary's region, so that two
    summaries of one region are one "agency" (the newer is used) and a city's roster of
    counties matches them; a summary edited since it was written gets a warning finding.
    """
    try:
        m = read_manifest(Path(path))
    except Exception:  # an unreadable hidden sheet: as good as none
        m = None
    if m is None:
        return NO_MANIFEST
    from gkreport.core.findings import Finding

    report.header["hdr.agency"] = m.region or None
    now = data_fingerprint(report)
    if m.fingerprint and now != m.fingerprint:
        report.read_findings.append(Finding(rule=EDITED_RULE, severity="warning", message=(
            f"这份汇总表的数据在生成后被改动过（生成时数据指纹 {m.fingerprint}，现在 {now}），"
            "其中的数字可能已不是所列单位报表之和，请核实")))
    return m.to_dict()


def read_manifest(path: Path) -> Manifest | None:
    """The manifest of a summary workbook, or None when it has none (or not a valid one)."""
    from python_calamine import CalamineWorkbook

    wb = CalamineWorkbook.from_path(str(path))
    if MANIFEST_SHEET not in wb.sheet_names:
        return None
    rows = wb.get_sheet_by_name(MANIFEST_SHEET).to_python(skip_empty_area=False)
    return parse_manifest(rows)


def parse_manifest(rows: Sequence[Sequence[Any]]) -> Manifest | None:
    """Rows as :func:`manifest_rows` writes them back into a Manifest (None if not one)."""
    def cell(r: int, c: int) -> str:
        return raw_text(rows[r][c]) if r < len(rows) and c < len(rows[r]) else ""

    if cell(0, 0) != MANIFEST_MARK or cell(_HEAD_ROWS - 1, 0) != COLUMNS[0]:
        return None
    agencies = []
    for r in range(_HEAD_ROWS, len(rows)):
        vals = [cell(r, c) for c in range(len(COLUMNS))]
        if not any(vals):
            continue
        if vals[5] not in (COUNTED, MISSING):
            return None
        agencies.append(Agency(*vals))
    return Manifest(cell(1, 1), cell(2, 1), tuple(agencies))


# ---------------------------------------------------------------------------- consolidating


def screen_summaries(entries: Sequence[FileEntry], region: str | None) -> None:
    """Leave out the summaries that are this region's own (see the module doc); the others
    stay in as children. Runs before the form, year and duplicates are decided."""
    kids = [e for e in entries if e.summary.ok and e.summary.rollup is not None]
    if not kids:
        return
    direct = [e.summary for e in entries if e.summary.ok and e.summary.rollup is None]
    direct_keys = {normalise_name(s.agency or "") for s in direct} - {""}
    own = region
    if own is None:
        stated = {normalise_name(s.region) for s in direct if s.region}
        if len(stated) == 1 and all(_same_region(manifest_of(e.summary).region, next(iter(stated)))  # type: ignore[union-attr]
                                    for e in kids):
            own = next(iter(stated))  # a county's folder with its own older summaries in it
    for e in kids:
        m = manifest_of(e.summary)
        assert m is not None
        if _same_region(m.region, own):
            why = f"本地区（{m.region}）以前生成的汇总表，其中的单位以本次收到的报表为准"
        elif m.counted and all(a.keys & direct_keys for a in m.counted):
            why = f"其中的 {len(m.counted)} 个单位的报表都在本次的输入中，再加会重复计算"
        else:
            continue
        e.summary.ok = False
        e.summary.error = f"这是本工具生成的汇总表（{why}），未纳入"


@dataclass(frozen=True)
class _Seen:
    agency: Agency
    entry: FileEntry


def _contents(e: FileEntry) -> Iterable[Agency]:
    """The agencies an included input adds: itself, or a child summary's counted agencies."""
    s = e.summary
    m = manifest_of(s)
    if m is None:
        yield Agency(e.name, s.agency or "", s.region or "", s.fingerprint, "", COUNTED, e.file)
        return
    for a in m.counted:
        yield Agency(a.name, a.typed, a.region or m.region, a.fingerprint, a.via, a.status, a.file)


def _same_agency(a: Agency, b: Agency) -> bool:
    if not (a.keys & b.keys):
        return False
    if a.fingerprint and a.fingerprint == b.fingerprint:
        return True
    return not a.region or not b.region or normalise_name(a.region) == normalise_name(b.region)


def _where(seen: _Seen) -> str:
    m = manifest_of(seen.entry.summary)
    if m is None:
        return f"单位报表 {seen.entry.file}"
    return f"{m.region or '地区'}的汇总表 {seen.entry.file}（经由 {seen.agency.via}）" if seen.agency.via \
        else f"{m.region or '地区'}的汇总表 {seen.entry.file}"


def settle_children(result: Consolidation) -> None:
    """Refuse to count an agency twice across the included inputs (raise :class:`DoubleCounting`);
    then say in each child summary's row how many agencies it contains."""
    kids = children(result)
    if not kids:
        return
    by_key: dict[str, list[_Seen]] = {}
    clashes: list[tuple[_Seen, _Seen]] = []
    for e in result.included:
        for a in _contents(e):
            here = _Seen(a, e)
            # Two agency reports were already told apart (or merged) by consolidate's own rules.
            found = [o for k in a.keys for o in by_key.get(k, []) if o.entry is not e
                     and (o.entry.summary.rollup is not None or e.summary.rollup is not None)
                     and _same_agency(o.agency, a)]
            if found:
                clashes.append((found[0], here))
            for k in a.keys:
                by_key.setdefault(k, []).append(here)
    if clashes:
        lines = [f"“{b.agency.name}”同时在 {_where(a)} 和 {_where(b)} 中"
                 + ("（数据相同）" if a.agency.fingerprint == b.agency.fingerprint else "")
                 for a, b in clashes[:10]]
        more = f"……共 {len(clashes)} 处" if len(clashes) > 10 else ""
        raise DoubleCounting("同一单位出现在两份输入中，汇总会重复计算，已停止（未生成汇总表）：\n    "
                             + "\n    ".join(lines) + more
                             + "\n请移除重复的一份（或把单位报表从上级文件夹中移出）后重新汇总。")
    for e in kids:
        m = manifest_of(e.summary)
        assert m is not None
        note = f"地区汇总表（{m.region or '未填地区'}）：含 {len(m.counted)} 个单位" + (
            f"，其中名单中未报送 {len(m.missing)} 个" if m.missing else "")
        e.reason = "；".join(x for x in (note, e.reason) if x)
