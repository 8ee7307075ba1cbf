"""What the published annual report says, independent of Word or HTML.

The outline, the generated sentences and the clerk's placeholders are data
(``rules/publication.json``); the tables come from the form (:mod:`.grid`) and the
numbers from the report, printed as they were typed: a blank cell stays blank, never 0.

Why sentences cannot contradict the tables: every figure in a sentence is a cell of the
same report (or a sum of cells, e.g. 不予公开 = the eight 不予公开 rows of the 总计
column), and a clause is printed only when every cell it names holds a number. A clause
that would need a blank or unreadable cell is left out rather than guessed.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any, Literal

from gkreport.core.forms import Form, rules_dir
from gkreport.core.report import Report
from gkreport.core.stamp import cell_text
from gkreport.core.values import format_number, iso_date

from .grid import TableGrid, table_grid

ParaKind = Literal["body", "sign"]
_EXPR = re.compile(r"\{([^{}]+)\}")


@dataclass(frozen=True)
class Para:
    """A paragraph; ``todo`` paragraphs are placeholders the clerk replaces (shown highlighted);
    ``sign`` paragraphs are the signature (agency and date, right-aligned)."""

    text: str
    kind: ParaKind = "body"
    todo: bool = False


@dataclass(frozen=True)
class TablePart:
    """One official table with the text of each data cell (cell id -> text, '' = blank)."""

    grid: TableGrid
    texts: Mapping[str, str]


@dataclass(frozen=True)
class Section:
    title: str
    parts: tuple[Para | TablePart, ...]


@dataclass(frozen=True)
class Publication:
    """The whole report: title, opening paragraphs, the six sections and the signature."""

    form: Form
    title: str
    intro: tuple[Para, ...]
    sections: tuple[Section, ...]
    signature: tuple[Para, ...]

    @property
    def tables(self) -> list[TablePart]:
        return [p for s in self.sections for p in s.parts if isinstance(p, TablePart)]


@cache
def outline() -> dict[str, Any]:
    """``rules/publication.json`` (the outline, sentences and placeholders)."""
    data: dict[str, Any] = json.loads((rules_dir() / "publication.json").read_text(encoding="utf-8"))
    return data


# ------------------------------------------------------------------------------ sentences


def _terms(expr: str, form: Form) -> list[str] | None:
    """Cell ids of ``a + b + t2.deny_*.total``; None when a term names no cell of this form."""
    ids: list[str] = []
    for term in (t.strip() for t in expr.split("+")):
        hits = [cid for cid in form.cells if fnmatch.fnmatchcase(cid, term)] if any(
            ch in term for ch in "*?[") else ([term] if term in form.cells else [])
        if not hits:
            return None
        ids.extend(hits)
    return ids


def fill_template(template: str, report: Report) -> str | None:
    """``template`` with each ``{expr}`` replaced by the sum of its cells; None when a cell
    is missing from the form or does not hold a number (blank, "/", text)."""
    out: list[str] = []
    pos = 0
    for m in _EXPR.finditer(template):
        ids = _terms(m.group(1), report.form)
        if ids is None:
            return None
        values = [report.value(cid) for cid in ids]
        if any(v.state not in ("number", "converted") or v.number is None for v in values):
            return None
        total = sum((Decimal(repr(v.number)) if isinstance(v.number, float) else Decimal(v.number)
                    for v in values if v.number is not None), Decimal(0))
        out.append(template[pos:m.start()])
        out.append(format_number(int(total) if total == total.to_integral_value() else float(total)))
        pos = m.end()
    out.append(template[pos:])
    return "".join(out)


def sentences(specs: Sequence[Mapping[str, Any]], report: Report) -> list[str]:
    """The data sentences of a section: each sentence keeps the clauses whose cells are filled."""
    out = []
    for spec in specs:
        lead = fill_template(spec.get("lead", ""), report)
        if lead is None:
            continue
        clauses = [c for c in (fill_template(t, report) for t in spec.get("clauses", [])) if c is not None]
        if spec.get("clauses") and not clauses:
            continue
        text = lead + "，".join(clauses)
        if text.strip():
            out.append(text.rstrip("，、 ") + "。")
    return out


# ------------------------------------------------------------------------------ header


def chinese_date(iso: str) -> str:
    y, m, d = (int(x) for x in iso.split("-"))
    return f"{y}年{m}月{d}日"


# ------------------------------------------------------------------------------ building


def build_publication(report: Report) -> Publication:
    """The report's publication: the official outline filled from ``report``."""
    spec = outline()
    form = report.form
    holders = spec["placeholders"]
    agency = report.agency
    year = report.year
    title = spec["title"].format(agency=agency or "", year=year if year is not None else "（年度）")
    fields = {"year": year if year is not None else "（年度）", "defined_by": form.defined_by}
    intro = [Para(t.format(**fields)) for t in spec["intro"]]
    intro.append(Para(spec["intro_placeholder"], todo=True))
    sections = []
    for sec in spec["sections"]:
        parts: list[Para | TablePart] = []
        if "table" in sec:
            grid = table_grid(form, sec["table"])
            title_text = grid.table.title
        else:
            grid = None
            title_text = sec["title"]
        said = sentences(sec.get("sentences", []), report)
        if said:
            parts.append(Para("".join(said)))
        if grid is not None:
            parts.append(TablePart(grid, {cid: cell_text(report.value(cid)) for cid in grid.table.cell_ids}))
        holder = sec.get("placeholder")
        if isinstance(holder, Mapping):
            holder = holder.get(form.version) or next(iter(holder.values()))
        if holder:
            parts.append(Para(holder, todo=True))
        sections.append(Section(title_text, tuple(parts)))
    date = iso_date(report.header.get("hdr.date"))
    signature = (
        Para(agency, "sign") if agency else Para(holders["agency"], "sign", todo=True),
        Para(chinese_date(date), "sign") if date else Para(holders["date"], "sign", todo=True),
    )
    return Publication(form, title, tuple(intro), tuple(sections), signature)
