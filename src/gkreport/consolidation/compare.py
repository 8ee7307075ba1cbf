"""Parent vs children: is a region's own report the sum of its children's reports?

A city publishes its report; its counties publish theirs. The city's tables should be the
cell-by-cell sum of the counties' (and of the city's own departments, when they report
separately) — and in published reports they often are not: a county's correction that never
reached the city, a number retyped wrong, a county left out. This compares the parent report
(any format ``gkreport import``/``check`` reads) with the sum of its children, read exactly
as ``consolidate`` reads them (one report per agency, summaries one level down, roster,
double counting refused), and lists every cell where they differ and the children missing.

pandas holds the children × cells frame: the sum, the comparison with the parent and the
per-child columns of the cells that differ (what a clerk looks at to find who changed).
It is imported here, not at start-up, so the other commands stay fast.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gkreport.core.addresses import quote_sheet
from gkreport.core.exits import UsageError
from gkreport.core.forms import Form

if TYPE_CHECKING:
    import pandas as pd

    from gkreport.core.report import Report

    from .consolidate import Consolidation, FileEntry

TOLERANCE = 1e-6  # sums of amounts carry float noise (0.1 + 0.2)


@dataclass(frozen=True)
class Difference:
    """One cell where the parent is not the sum of its children."""

    cell_id: str
    table: str  # 表一 / 表二 / 表三
    row: str  # the official row label path
    col: str  # the official column label path
    address: str  # '表二 依申请公开'!D9
    parent: float | int | None  # None: blank in the parent (counted 0)
    parent_text: str  # the parent's cell as written ("", "12", "5件")
    children: float | int
    difference: float | int  # parent − children

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Comparison:
    """Everything the console, JSON and the workbook say."""

    parent: Path
    report: Report
    result: Consolidation
    frame: pd.DataFrame  # one row per included child, one column per cell id (blank = 0)
    differences: list[Difference] = field(default_factory=list)
    uncompared: dict[str, str] = field(default_factory=dict)  # parent cells not read as a number: cell id -> why

    @property
    def form(self) -> Form:
        return self.report.form

    @property
    def missing(self) -> list[tuple[str, str]]:
        """Children expected (roster) but not summed: (name, why)."""
        return [(r.name, note or "未报送") for r, note in self.result.missing]

    @property
    def left_out(self) -> list[FileEntry]:
        """Children's files found but not summed (unreadable, other year or form …)."""
        return [e for e in self.result.entries if not e.included]

    @property
    def compared(self) -> int:
        return len(self.form.cells) - len(self.uncompared)


def cell_place(form: Form, cid: str) -> tuple[str, str, str, str]:
    """(表, row label, column label, 表二!D7) of a data cell, in the official words."""
    c = form.cells[cid]
    table = form.table(c.table).sheet.split()[0]
    return table, c.row_label, c.col_label, f"{quote_sheet(c.sheet)}!{c.ref}"


def compare(parent: Path, children: list[Path], *, roster: Path | None = None, region: str | None = None,
            jobs: int | None = None, progress: bool = False) -> Comparison:
    """Read ``parent`` and sum ``children`` (as ``consolidate`` would, for the parent's form and
    year); the cells where they differ. Raises ReadError / UsageError for unusable inputs."""
    import pandas as pd

    from gkreport.readers import read_any
    from gkreport.readers.inputs import collect_files

    from .consolidate import consolidate

    parent = Path(parent)
    found, _ = collect_files([p for p in children if Path(p).is_dir()])
    if any(p.resolve() == parent.resolve() for p in [*found, *children]):
        raise UsageError(f"上级报表 {parent} 在下级报表之中，会被当作下级相加；请把它移出下级报表的文件夹")
    report = read_any(parent)
    form = report.form
    result = consolidate(children, year=report.year, form=form.version, roster=roster, region=region,
                         jobs=jobs, progress=progress)
    if not result.included:
        raise UsageError("下级报表中没有可以相加的报表（" + (
            "；".join(f"{e.file}：{e.reason}" for e in result.entries[:5]) or "没有找到文件") + "）")
    ids = list(form.cells)
    frame = pd.DataFrame.from_records([e.summary.values for e in result.included], columns=ids,
                                      index=pd.Index([e.name for e in result.included], name="下级"))
    frame = frame.astype("float64").fillna(0.0)
    # A parent cell that is not a number (unread by the importer, text, negative) cannot be
    # compared: it is listed with the reason, never taken as 0.
    uncompared = {cid: _why_not(report, cid) for cid in ids if not report.value(cid).usable}
    mine = pd.Series({cid: float(report.number(cid)) for cid in ids}, dtype="float64")
    sums = frame.sum(axis=0)
    delta = (mine - sums).drop(index=list(uncompared))
    differing = delta[delta.abs() > TOLERANCE].index
    diffs = []
    for cid in differing:
        v = report.value(cid)
        table, row, col, address = cell_place(form, cid)
        diffs.append(Difference(cid, table, row, col, address, None if v.is_blank else _clean(mine[cid]),
                                _raw(v.raw), _clean(sums[cid]), _clean(delta[cid])))
    return Comparison(parent, report, result, frame, diffs, uncompared)


def _why_not(report: Report, cid: str) -> str:
    v = report.value(cid)
    table, row, col, address = cell_place(report.form, cid)
    what = "未能读取" if v.state == "unread" else f"“{_raw(v.raw)}”不是有效的数" + (f"（{v.why}）" if v.why else "")
    return f"{table}｜{row}｜{col}（{address}）：{what}"



def _clean(x: Any) -> float | int:
    r = round(float(x), 6)
    return int(r) if r.is_integer() and abs(r) < 2**53 else r


def _raw(raw: object) -> str:
    from gkreport.core.stamp import raw_text

    return raw_text(raw)


def differing_frame(c: Comparison) -> pd.DataFrame:
    """Each child's value in each differing cell, then the children's sum and the parent's value:
    the table a clerk reads to see which child's number the parent did not take."""
    import pandas as pd

    ids = [d.cell_id for d in c.differences]
    part: pd.DataFrame = c.frame.loc[:, ids].copy()
    part.loc["下级合计"] = c.frame[ids].sum(axis=0)
    part.loc["上级报表"] = pd.Series({d.cell_id: float(d.parent or 0) for d in c.differences})
    return part
