"""What a form says beyond its cells and rules: guide texts, deadlines, charts, table shapes.

These are the form-specific words and choices that used to live in code (the template's
instructions and deadlines, the summary's chart cell and outcome rule, the names 表一/表二/表三
and how each table is printed in a published report). They are top-level keys of
``rules/form-<version>.json`` (``guide``, ``charts``, ``shapes``; JSON Schema in
``rules/schema.json``), read here into typed objects, so a new form version is a JSON file
and no code names a form or a table.

Kept apart from :mod:`gkreport.core.forms` (which loads cells and rules) on purpose: this module
only reads the form's own file again, so the loading, registry and overlay of forms can
change without touching it. A form whose keys are inconsistent (a chart cell or a shaped
table that does not exist) is rejected with the file and the key named.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

from .forms import Form, FormError, available_forms, load_form

Shape = Literal["blocks", "rows", "single_row"]


@dataclass(frozen=True)
class Deadline:
    """Who must publish the report by when (《政府信息公开条例》第四十九条)."""

    who: str
    by: str


@dataclass(frozen=True)
class TableShape:
    """How a table is named for a clerk and printed in a published report."""

    id: str
    name: str  # 表一
    shape: Shape


@dataclass(frozen=True)
class PieChart:
    """The summary's outcome pie: the parts of one identity of one rule (（七）总计 = …)."""

    rule: str
    instance: str  # the instance key, e.g. ``col=total``


@dataclass(frozen=True)
class FormMeta:
    """The guide, charts and table shapes of one form (see the module docstring)."""

    version: str
    instructions: tuple[str, ...]
    checks_note: str
    deadlines: tuple[Deadline, ...]
    deadline_basis: str
    bar_cell: str | None
    pie: PieChart | None
    shapes: tuple[TableShape, ...]  # in the form's table order

    def table_name(self, table_id: str) -> str:
        """The name a clerk reads for a table (表二), or the id when the form gives none."""
        return next((s.name for s in self.shapes if s.id == table_id), table_id)

    def shape(self, table_id: str) -> TableShape:
        for s in self.shapes:
            if s.id == table_id:
                return s
        raise KeyError(table_id)

    @property
    def deadline_text(self) -> str:
        """``部门应于1月31日前、县级政府应于3月31日前公开年度报告（《…》第四十九条）``."""
        whom = "、".join(f"{d.who}应于{d.by}前" for d in self.deadlines)
        return f"{whom}公开年度报告（{self.deadline_basis}）"

    @property
    def guide_text(self) -> str:
        """The numbered 填报说明 of the header sheet, the deadline last."""
        items = [*self.instructions, self.deadline_text]
        return "填报说明：" + "；".join(f"{i}. {s}" for i, s in enumerate(items, start=1)) + "。"


def form_meta(form: Form) -> FormMeta:
    """The guide, charts and shapes of ``form``, read from the file it was loaded from."""
    return _meta_of(str(form.source), form)


def years_text(form: Form) -> str:
    """The report years a form is for, as a clerk reads them: ``2019、2020年度``,
    ``2021年度及以后``."""
    if form.year_max is None:
        return f"{form.year_min}年度及以后"
    if form.year_max == form.year_min:
        return f"{form.year_min}年度"
    sep = "、" if form.year_max == form.year_min + 1 else "至"
    return f"{form.year_min}{sep}{form.year_max}年度"


def form_neighbours(form: Form) -> tuple[Form | None, Form | None]:
    """The forms a report must use for the years just before and just after ``form``'s range
    (what the template's 表式与年度 check names when the year does not fit)."""
    from .forms import form_for_year

    before = form_for_year(form.year_min - 1)
    after = form_for_year(form.year_max + 1) if form.year_max is not None else None
    return (before if before is not None and before.version != form.version else None,
            after if after is not None and after.version != form.version else None)


def all_forms() -> tuple[Form, ...]:
    """Every available form, oldest first."""
    return tuple(load_form(v) for v in available_forms())


def table_prefixes() -> tuple[str, ...]:
    """``t1.``, ``t2.`` …: the prefixes of cell ids of any available form (names a workbook
    reader must look at even when they belong to another form). Cached like
    :func:`gkreport.core.forms.available_forms`: per rules overlay in effect."""
    return _prefixes_under(_overlay_signature())


@cache
def _prefixes_under(sig: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(sorted({f"{t.id}." for f in all_forms() for t in f.tables}))


def _overlay_signature() -> tuple[Any, ...]:
    from .overlay import active_dir, signature

    return signature(active_dir())


def form_for_report_year(year: int) -> Form:
    """The form whose years cover ``year``; FormError (Chinese) when none does."""
    from .forms import form_for_year

    form = form_for_year(year)
    if form is None:
        known = "；".join(f"{f.name}用于{years_text(f)}" for f in all_forms())
        raise FormError(f"没有适用于 {year} 年度的表式（{known}）")
    return form


# ---------------------------------------------------------------------------------- loading


@cache
def _document(path: str, sig: tuple[Any, ...]) -> dict[str, Any]:
    return dict(json.loads(Path(path).read_text(encoding="utf-8")))


# Keyed by the overlay's signature too (its files' names, sizes and times): an overlay form
# file edited within one process is read again, like gkreport.core.forms does.
_CACHE: dict[tuple[str, str, tuple[Any, ...]], FormMeta] = {}


def _meta_of(path: str, form: Form) -> FormMeta:
    sig = _overlay_signature()
    key = (path, form.version, sig)
    got = _CACHE.get(key)
    if got is None:
        got = _CACHE[key] = parse_meta(_document(path, sig), form, path)
    return got


def parse_meta(doc: dict[str, Any], form: Form, source: str = "<memory>") -> FormMeta:
    """Build the FormMeta of ``form`` from its (schema-valid) document, checking that every
    table has a shape and that the charts name cells and rules of this form."""
    guide = doc.get("guide", {})
    shapes_doc = doc.get("shapes", {})
    table_ids = [t.id for t in form.tables]
    missing = [t for t in table_ids if t not in shapes_doc]
    unknown = [t for t in shapes_doc if t not in table_ids]
    if missing or unknown:
        raise FormError(f"{source}: shapes 应恰好列出每张表（缺少：{missing or '无'}；多出：{unknown or '无'}）")
    shapes = tuple(TableShape(t, shapes_doc[t]["name"], shapes_doc[t]["shape"]) for t in table_ids)
    charts = doc.get("charts", {})
    bar = charts.get("bar")
    if bar is not None and bar not in form.cells:
        raise FormError(f"{source}: charts.bar 引用了不存在的单元格 {bar}")
    pie = None
    if "pie" in charts:
        pie = PieChart(charts["pie"]["rule"], charts["pie"]["instance"])
        try:
            rule = form.rule(pie.rule)
        except KeyError:
            raise FormError(f"{source}: charts.pie 引用了不存在的规则 {pie.rule}") from None
        if not any(i.key == pie.instance for i in rule.instances):
            raise FormError(f"{source}: charts.pie 的规则 {pie.rule} 没有实例 {pie.instance}")
    return FormMeta(
        version=form.version,
        instructions=tuple(guide.get("instructions", ())),
        checks_note=guide.get("checks", ""),
        deadlines=tuple(Deadline(d["who"], d["by"]) for d in guide.get("deadlines", ())),
        deadline_basis=guide.get("deadline_basis", ""),
        bar_cell=bar,
        pie=pie,
        shapes=shapes,
    )
