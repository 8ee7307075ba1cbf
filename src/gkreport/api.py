"""The Python interface for analysts and scripts: read, check, consolidate, and pandas frames.

Thin wrappers over what the command line uses (``readers.read_any``, ``engine.check``,
``consolidate.consolidate``), so a script gets exactly the findings and sums ``gkreport``
prints; errors are the command line's own (:class:`~gkreport.readers.ReadError`,
:class:`~gkreport.core.exits.UsageError`) with their Chinese messages. pandas is imported only
inside the two ``*_frame`` functions: reading and checking do not pay for it.

``gkreport.read`` and ``gkreport.check`` are these functions
(loaded on first use by ``gkreport.__getattr__``, so ``import gkreport`` stays cheap).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from os import PathLike
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gkreport.consolidation.consolidate import Consolidation, FileEntry, NothingToSum
from gkreport.consolidation.consolidate import consolidate as _consolidate
from gkreport.core.engine import check as _check
from gkreport.core.exits import UsageError
from gkreport.core.findings import Finding
from gkreport.core.forms_meta import form_meta
from gkreport.core.report import Report
from gkreport.readers import ReadError, read_any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Consolidation", "Finding", "NothingToSum", "ReadError", "Report", "UsageError", "agencies_frame",
           "check", "consolidate", "findings_frame", "read"]

StrPath = str | PathLike[str]

# The leading (non-cell) columns of agencies_frame, and of findings_frame.
META_COLUMNS = ("file", "agency", "year", "form", "level", "errors", "warnings")
FINDING_COLUMNS = ("agency", "file", "rule", "severity", "sheet", "cell", "message", "suggested")


def read(path: StrPath, *, form: str | None = None, year: int | None = None) -> Report:
    """Read one report from anything ``gkreport check`` reads: a template workbook, or a
    published report (.txt, .docx, .html, .xlsx laid out like the official tables).

    ``form`` ("2019"/"2021") and ``year`` help when the file does not say; an unreadable
    file raises :class:`ReadError` whose message tells the clerk why, in Chinese.
    """
    return read_any(Path(path), form, year)


def check(path_or_report: StrPath | Report, *, previous: StrPath | Report | None = None) -> list[Finding]:
    """Every finding for one report (a path is read first), as ``gkreport check --json`` lists them.

    ``previous`` (last year's report or its path) enables the cross-year rules; if it cannot
    be read, :class:`UsageError` says so, as ``--previous`` does on the command line.
    """
    report = path_or_report if isinstance(path_or_report, Report) else read(path_or_report)
    last: Report | None = None
    if isinstance(previous, Report):
        last = previous
    elif previous is not None:
        try:
            last = read(previous)
        except ReadError as e:
            raise UsageError(f"上一年度报告 {previous} 无法读取：{e}") from None
    return _check(report, last)


def consolidate(paths: StrPath | Sequence[StrPath], *, roster: StrPath | None = None, year: int | None = None,
                form: str | None = None, region: str | None = None, cache: bool = False) -> Consolidation:
    """The county summary of every report under ``paths`` (files or folders), as ``gkreport
    consolidate`` builds it before writing: ``.sums`` by cell id, ``.entries`` (each file and
    what became of it), ``.summary_findings``. See :func:`gkreport.consolidation.consolidate.consolidate`.

    Refused as on the command line, with its Chinese message: a missing roster raises
    :class:`UsageError`; no summable report raises :class:`NothingToSum` (a UsageError whose
    ``.result`` lists each file and why it was left out); one agency counted twice (a region's
    summary beside its own reports) raises :class:`~gkreport.consolidation.rollup.DoubleCounting`.
    ``cache=True``: files read before (same bytes, rules and code) are not read again, as on the
    command line (see :mod:`gkreport.consolidation.read_cache`; off by default in scripts).
    """
    if roster is not None and not Path(roster).is_file():
        raise UsageError(f"名单文件 {roster} 不存在")
    items = [paths] if isinstance(paths, (str, PathLike)) else list(paths)
    result = _consolidate([Path(p) for p in items], year=year, form=form,
                          roster=Path(roster) if roster is not None else None, region=region, cache=cache)
    if not result.included:
        raise NothingToSum(result)
    return result


# ---------------------------------------------------------------------------- pandas


def agencies_frame(consolidation: Consolidation, *, include_excluded: bool = False) -> pd.DataFrame:
    """One row per agency added into the summary, one column per data cell of the form.

    Columns are a 3-level MultiIndex of the official labels — (table name such as 表二, row
    label path, column label) — after the metadata columns ``file, agency, year, form, level,
    errors, warnings`` (as ``(name, "", "")``, so ``frame["agency"]`` is a Series). Values are
    the numbers the summary added, a blank cell is NaN: the data columns sum to
    ``consolidation.sums``. ``include_excluded`` adds the files left out (unreadable, other
    year or form, duplicates) with an ``included`` column saying which rows were added.
    """
    import pandas as pd

    form = consolidation.form
    cells = list(form.cells.values()) if form is not None else []
    meta = form_meta(form) if form is not None else None
    cell_columns = [((meta.table_name(c.table) if meta else c.table), c.row_label, c.col_label) for c in cells]
    meta_names = [*META_COLUMNS, *(["included"] if include_excluded else [])]
    entries = consolidation.entries if include_excluded else consolidation.included
    rows = [_agency_row(e, [c.id for c in cells], include_excluded) for e in entries]
    columns = pd.MultiIndex.from_tuples([(name, "", "") for name in meta_names] + cell_columns,
                                        names=["table", "row", "column"])
    frame: pd.DataFrame = pd.DataFrame(rows, columns=columns)
    return frame


def _agency_row(e: FileEntry, cell_ids: Sequence[str], with_flag: bool) -> list[Any]:
    s = e.summary
    blanks = set(s.blanks)
    meta: list[Any] = [s.path, e.name or s.agency, s.year, s.form, e.level, s.counts.get("error", 0),
                       s.counts.get("warning", 0)]
    if with_flag:
        meta.append(e.included)
    values = [math.nan if (cid in blanks or not s.ok) else s.values.get(cid, 0) for cid in cell_ids]
    return meta + values


def findings_frame(source: Consolidation | Iterable[Finding]) -> pd.DataFrame:
    """One row per finding, columns ``agency, file, rule, severity, sheet, cell, message, suggested``.

    From a consolidation: every read file's findings (its agency and file), then the
    summary's own (agency ``汇总``, no file); ``suggested`` is known only for a single
    report's findings. From a list of findings (``check``): agency and file are empty.
    """
    import pandas as pd

    if isinstance(source, Consolidation):
        rows = [(e.name or e.summary.agency, e.summary.path, d.get("rule"), d.get("severity"), d.get("sheet") or None,
                 d.get("cell") or None, d.get("message"), None)
                for e in source.entries for d in e.summary.findings]
        rows += [_finding_row(f, "汇总", None) for f in source.summary_findings]
    else:
        rows = [_finding_row(f, None, None) for f in source]
    frame: pd.DataFrame = pd.DataFrame(rows, columns=list(FINDING_COLUMNS))
    return frame


def _finding_row(f: Finding, agency: str | None, file: str | None) -> tuple[Any, ...]:
    """The cell is the one a clerk should look at: the likeliest wrong one, else the first named."""
    cell = (f.suspects or f.cells or (None,))[0]
    return (agency, file, f.rule, f.severity, f.sheet, cell, f.message, f.suggested)
