"""What a consolidation is made of: one file's summary, its fate, the whole result.

Kept apart from the reading (worker pool) and the consolidating logic so that the
writer, the notices and the CLI can use the data without the machinery; everything
here is re-exported by :mod:`gkreport.consolidation.consolidate`.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from gkreport.consolidation.roster import NameMismatch, RosterEntry, RosterMatch
from gkreport.core.exits import UsageError
from gkreport.core.findings import Finding, count_by_severity
from gkreport.core.forms import Form, load_form

LEVEL_ALL = "全县"
LEVEL_UNLISTED = "未列入名单"  # included agencies the roster does not (certainly) name: 分级汇总's third column
LEVEL_UNSET = "名单未填层级"  # on the roster, but its 层级 cell is empty
STATUS_SHEET, ISSUES_SHEET = "报送情况", "问题清单"  # also how a summary is told from an agency's report


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
    values: Mapping[str, float | int] = field(default_factory=dict)  # non-zero numbers (see CellValues)
    blanks: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=lambda: {"error": 0, "warning": 0, "info": 0})
    fingerprint: str = ""  # stamp.data_fingerprint: matches a signed return notice to this file
    internal: bool = False  # a bug in gkreport met this file (logged; in ``error``, or as an "internal" finding): exit code 3
    unreadable: bool = False  # the file could not be read (damaged, a format gkreport cannot read): exit code 2
    rollup: dict[str, Any] | None = None  # a gkreport summary one level down: its agency manifest (rollup.py)
    cache_key: str = ""  # the key this reading is kept under for the next run (read_cache.py), if kept
    cached: bool = False  # this run took it from the store instead of reading the file again


@dataclass
class FileEntry:
    """One input file and what became of it in this consolidation."""

    summary: FileSummary
    included: bool = False
    reason: str = ""
    name: str = ""  # the agency as shown (the roster name when matched)
    roster_name: str | None = None
    level: str | None = None
    match: RosterMatch | None = None  # how the agency name matched the roster (a NEAR one is only proposed)

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
    mismatched: list[NameMismatch] = field(default_factory=list)  # included, name not certainly on the roster
    sums: dict[str, float | int] = field(default_factory=dict)
    level_sums: dict[str, dict[str, float | int]] = field(default_factory=dict)
    blanks: dict[str, list[str]] = field(default_factory=dict)  # cell id -> agencies that left it blank
    summary_findings: list[Finding] = field(default_factory=list)
    region: str | None = None  # the region summed (--region); see rollup.summary_region
    # The summary's blank workbook, built while the files were read (consolidate(prepare_summary=True));
    # write_summary takes it once (it fills it in) and builds a new one otherwise.
    blank_workbook: Any = field(default=None, repr=False, compare=False)

    @property
    def included(self) -> list[FileEntry]:
        return [e for e in self.entries if e.included]

    @property
    def has_levels(self) -> bool:
        return bool(self.level_sums)

    @property
    def pending(self) -> list[NameMismatch]:
        """Reports whose name only resembles a roster entry: that entry is neither 已报送 nor 未报送."""
        return [m for m in self.mismatched if m.match is not None]

    @property
    def renamed(self) -> list[FileEntry]:
        """Included reports matched to the roster after normalising their agency name."""
        return [e for e in self.included if e.match is not None and e.match.kind == "normalised"]

    def uncertain(self, cell_id: str) -> list[str]:
        """Agencies that make a summary cell uncertain: missing ones, roster entries whose report is
        not confirmed (a near name), then those that left the cell blank."""
        return ([m.name for m, _ in self.missing] + [p.suggestion or "" for p in self.pending]
                + self.blanks.get(cell_id, []))

    @property
    def error_count(self) -> int:
        """Error findings of included agencies and of the summary (drives exit code 1)."""
        return (sum(e.summary.counts.get("error", 0) for e in self.included)
                + count_by_severity(self.summary_findings)["error"])


# ------------------------------------------------------------------------------- packed numbers


@cache
def _cell_index(version: str) -> tuple[tuple[str, ...], dict[str, int]]:
    ids = tuple(load_form(version).cells)
    return ids, {cid: i for i, cid in enumerate(ids)}


class CellValues(Mapping[str, float | int]):
    """One report's non-zero numbers by cell id, packed as one double per cell of its form.

    A province is 40,000 reports of ~200 cells: as dicts that is ~1 GB in the parent, as
    these 1.6 KB each (and a few hundred bytes to pickle instead of ~5 KB). Only numbers a
    double holds exactly are packed (see :func:`pack_values`); zeros are absent, as before.
    """

    __slots__ = ("_data", "_version")

    def __init__(self, version: str, data: array[float]) -> None:
        self._version, self._data = version, data

    def __getitem__(self, cid: str) -> float | int:
        i = _cell_index(self._version)[1].get(cid)
        if i is None:
            raise KeyError(cid)
        x = self._data[i]
        if x == 0.0:
            raise KeyError(cid)
        return int(x) if x.is_integer() else x

    def __iter__(self) -> Iterator[str]:
        ids = _cell_index(self._version)[0]
        return (ids[i] for i, x in enumerate(self._data) if x != 0.0)

    def __len__(self) -> int:
        return sum(1 for x in self._data if x != 0.0)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_unpack, (self._version, self._data.tobytes()))

    def doubles(self, ids: Sequence[str]) -> array[float] | None:
        """The packed doubles, one per cell of ``ids`` (0.0 for an absent one), or None unless
        ``ids`` are this form's cells in their order. Never to be changed by the caller."""
        return self._data if tuple(ids) == _cell_index(self._version)[0] else None

    def in_order(self, ids: Sequence[str]) -> list[float | int] | None:
        """Every value of ``ids`` (zero for an absent one), or None unless ``ids`` are this form's
        cells in their order: the 200,000-cell 明细 sheet and the sums read the packed doubles
        directly instead of looking each cell up by id."""
        data = self.doubles(ids)
        return None if data is None else [int(x) if x.is_integer() else x for x in data]

    def __repr__(self) -> str:
        return f"CellValues({dict(self.items())!r})"


def _unpack(version: str, raw: bytes) -> CellValues:
    data = array("d")
    data.frombytes(raw)
    return CellValues(version, data)


def pack_values(form: Form, values: Mapping[str, float | int]) -> Mapping[str, float | int]:
    """``values`` (non-zero numbers by cell id of ``form``) packed as :class:`CellValues`, or
    as they are when one would not come back exactly (an int beyond 2**53, NaN, a foreign id)."""
    ids, index = _cell_index(form.version)
    data = array("d", bytes(8 * len(ids)))
    for cid, v in values.items():
        i = index.get(cid)
        if i is None or isinstance(v, bool) or not isinstance(v, int | float) or math.isnan(v) or v == 0 \
                or (isinstance(v, int) and abs(v) > 2**53):
            return values
        data[i] = float(v)
    return CellValues(form.version, data)


class NothingToSum(UsageError):
    """No input could be added into the summary: the command line and :func:`gkreport.api.consolidate`
    refuse alike (exit code 2). ``result`` keeps the consolidation, whose entries say file by
    file why each was left out."""

    def __init__(self, result: Consolidation) -> None:
        super().__init__("没有可以汇总的报表")
        self.result = result
