"""The official forms as typed objects, loaded from ``rules/form-<version>.json``.

Everything the rest of the package knows about a form (labels, the grid, every input
cell and its id, every rule) comes from these files: the template writer, ``describe``,
the readers, the engine and the summary writer all take positions from here. A file
is checked against ``rules/schema.json`` and then for consistency (unique ids, cells
inside their grid, rules that name existing cells); a bad file is rejected at load
time with the offending rule or cell named, never half-used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from . import addresses as addr
from . import form_cache, overlay
from .form_schema import FormError as FormError  # re-exported: raised by every loader
from .resources import data_dir

CellType = Literal["count", "signed", "amount"]
CellKind = Literal["input", "total"]
Severity = Literal["error", "warning", "info"]

SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
SEVERITY_LABEL: dict[str, str] = {"error": "错误", "warning": "警告", "info": "提示"}
TYPE_LABEL: dict[str, str] = {"count": "件数（非负整数）", "signed": "增减数（整数，可为负）", "amount": "金额（非负数）"}


@dataclass(frozen=True)
class CellDef:
    """One data cell of the official tables, with its stable id and position."""

    id: str
    table: str
    sheet: str
    range: str  # the (possibly merged) range on the sheet, e.g. "B7:D7"
    row_key: str
    col_key: str
    row_path: tuple[str, ...]
    col_path: tuple[str, ...]
    row_short: str
    col_short: str
    type: CellType
    kind: CellKind
    unit: str | None
    grid_row: int  # 1-based row inside the table's official grid
    grid_col: int  # 1-based column inside the table's official grid

    @property
    def ref(self) -> str:
        """Top-left address of the cell on its sheet (where the value lives)."""
        return self.range.split(":")[0]

    @property
    def label(self) -> str:
        """Short human label, e.g. ``（七）总计·自然人``."""
        return f"{self.row_short}·{self.col_short}" if self.row_short else self.col_short

    @property
    def row_label(self) -> str:
        return " / ".join(self.row_path)

    @property
    def col_label(self) -> str:
        return " / ".join(self.col_path)


@dataclass(frozen=True)
class HeaderField:
    """A header field (填报单位, 报告年度, ...) on the header sheet."""

    id: str
    label: str
    sheet: str
    cell: str
    type: Literal["text", "year", "date"]
    required: bool = False
    fixed: str | None = None
    prompt: str | None = None


@dataclass(frozen=True)
class Label:
    """A printed label of the official grid, already placed on its sheet."""

    range: str
    text: str
    style: str


@dataclass(frozen=True)
class TableDef:
    """One official table: where its grid sits on which sheet, its labels and cells."""

    id: str
    title: str
    sheet: str
    origin: str
    n_rows: int
    n_cols: int
    header_rows: int
    col_widths: tuple[float, ...]
    labels: tuple[Label, ...]
    cell_ids: tuple[str, ...]

    @property
    def first_row(self) -> int:
        return addr.split_ref(self.origin)[1]

    @property
    def first_col(self) -> int:
        return addr.split_ref(self.origin)[0]

    @property
    def last_row(self) -> int:
        return self.first_row + self.n_rows - 1

    @property
    def last_col(self) -> int:
        return self.first_col + self.n_cols - 1


@dataclass(frozen=True)
class Term:
    """``coef × cell`` in a linear rule; ``prev`` means last year's report."""

    cell: str
    coef: int = 1
    prev: bool = False


@dataclass(frozen=True)
class RuleInstance:
    """One concrete identity of a rule, e.g. T2-row-total for the row ``new``."""

    rule: RuleDef
    binding: tuple[tuple[str, str], ...]
    labels: tuple[tuple[str, str], ...]  # variable -> human label of the bound key
    left: tuple[Term, ...]
    right: tuple[Term, ...]
    left_const: int = 0  # integer constants written among the left terms, summed
    right_const: int = 0

    @property
    def key(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.binding) or "-"

    @property
    def const(self) -> int:
        """The constant of ``left − right`` (0 for the packaged rules)."""
        return self.left_const - self.right_const

    @property
    def terms(self) -> tuple[Term, ...]:
        return self.left + self.right

    @property
    def target(self) -> str | None:
        """The total cell of a ``total: left`` rule (the single left term)."""
        if self.rule.total_left and len(self.left) == 1:
            return self.left[0].cell
        return None

    def cells(self, *, include_prev: bool = False) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for t in self.terms:
            if include_prev or not t.prev:
                seen.setdefault(t.cell, None)
        return tuple(seen)


@dataclass(frozen=True)
class RuleDef:
    """A rule as written in rules/*.json; ``instances`` are its expanded identities."""

    id: str
    severity: Severity
    type: str
    title: str
    description: str
    message: str
    needs: str | None
    live: str | None
    op: str | None
    total_left: bool
    tolerance: float
    origin: str = field(default="", compare=False)  # the overlay file a rule came from ("" = packaged)
    params: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)
    instances: tuple[RuleInstance, ...] = field(default=(), compare=False, hash=False)


@dataclass(frozen=True)
class Form:
    """One version of the official forms (``2019`` or ``2021``)."""

    version: str
    name: str
    defined_by: str
    title: str
    year_min: int
    year_max: int | None
    header_sheet: str
    header: tuple[HeaderField, ...]
    synonyms: Mapping[str, tuple[str, ...]]
    sets: Mapping[str, tuple[str, ...]]
    tables: tuple[TableDef, ...]
    cells: Mapping[str, CellDef]
    rules: tuple[RuleDef, ...]
    source: Path
    locate: Mapping[str, Any] = field(default_factory=dict, compare=False, hash=False)  # weights for locate.py

    def accepts_year(self, year: int) -> bool:
        return year >= self.year_min and (self.year_max is None or year <= self.year_max)

    def table(self, table_id: str) -> TableDef:
        for t in self.tables:
            if t.id == table_id:
                return t
        raise KeyError(table_id)

    def rule(self, rule_id: str) -> RuleDef:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)

    def header_field(self, field_id: str) -> HeaderField:
        for h in self.header:
            if h.id == field_id:
                return h
        raise KeyError(field_id)

    def table_cells(self, table_id: str) -> list[CellDef]:
        return [self.cells[c] for c in self.table(table_id).cell_ids]


# ---------------------------------------------------------------------------------- loading
# Forms come from rules/ and the rules overlay in effect (gkreport.core.overlay); the caches
# are keyed by the overlay folder and its files, so ``--rules`` and an edited overlay are
# always seen, and a process without an overlay loads each form once.


def rules_dir() -> Path:
    return data_dir("rules")


def available_forms() -> tuple[str, ...]:
    """Form versions that have a definition file (packaged or in the overlay), oldest first."""
    return _available(overlay.signature(overlay.active_dir()))


@cache
def _available(sig: tuple[Any, ...]) -> tuple[str, ...]:
    return tuple(sorted(overlay.sources(str(sig[0]) if sig else "").forms))


def form_for_year(year: int) -> Form | None:
    """The form a report of ``year`` must use, or ``None`` when no form covers it."""
    for v in reversed(available_forms()):
        f = load_form(v)
        if f.accepts_year(year):
            return f
    return None


def load_form(version: str) -> Form:
    """The form ``version`` with the rules overlay applied; cached, forms are immutable."""
    return _load(version, overlay.signature(overlay.active_dir()), True)


def load_base_form(version: str) -> Form:
    """The form ``version`` without the overlay files (``gkreport rules check`` applies one
    overlay file to it); a form file of the overlay folder still replaces the packaged one."""
    return _load(version, overlay.signature(overlay.active_dir()), False)


@cache
def _load(version: str, sig: tuple[Any, ...], with_overlays: bool) -> Form:
    """Form ``version``: built from its files, or as built before from the same files by the
    same code (:mod:`gkreport.core.form_cache`)."""
    src = overlay.sources(str(sig[0]) if sig else "")
    path = src.forms.get(version)
    if path is None:
        raise FormError(f"没有 {version} 版表式的定义（可用：{'、'.join(sorted(src.forms))}）")
    key = _cache_key(version, path, src, with_overlays)
    if key is not None:
        cached = form_cache.load(key)
        if isinstance(cached, Form) and cached.version == version:
            return cached
    form = _build(version, path, src, with_overlays)
    key = key or _cache_key(version, path, src, with_overlays)  # the build has stamped the files
    if key is not None:
        form_cache.store(key, form)
    return form


def rules_key() -> str | None:
    """One key for every form as :func:`load_form` gives it (form and overlay files, this code):
    what a file's reading result depends on besides the file (:mod:`gkreport.consolidation.read_cache`);
    None when a file cannot be read or is not validated yet."""
    sig = overlay.signature(overlay.active_dir())
    src = overlay.sources(str(sig[0]) if sig else "")
    keys = [_cache_key(v, p, src, True) for v, p in sorted(src.forms.items())]
    if not keys or any(k is None for k in keys):
        return None
    return "|".join(k for k in keys if k is not None)


def _cache_key(version: str, path: Path, src: overlay.Sources, with_overlays: bool) -> str | None:
    """The built form's cache key; None when a file cannot be read (the build says why) or a
    file's validation stamp is missing (the stamps stay the one record of validation: without
    them the form is validated and built again)."""
    from .form_schema import FORM_SCHEMA, OVERLAY_SCHEMA, is_stamped, stamp_key

    try:
        data = path.read_bytes()
        overlays = [(p, p.read_bytes()) for p in src.overlays] if with_overlays else []
    except OSError:
        return None
    stamps = [stamp_key(FORM_SCHEMA, data), *(stamp_key(OVERLAY_SCHEMA, b) for _, b in overlays)]
    if not all(is_stamped(k) for k in stamps):
        return None
    return form_cache.form_key(version, path, data, overlays, sorted(src.forms.items()))


def _build(version: str, path: Path, src: overlay.Sources, with_overlays: bool) -> Form:
    from .form_parse import parse_form as build
    from .form_schema import validate_once

    doc, data = overlay.read_json(path)
    validate_once(doc, data, path)
    if doc["form"] != version:
        raise FormError(f"{path}：文件名的版本与其中的 \"form\": \"{doc['form']}\" 不一致")
    origins: dict[str, str] = {}
    if src.directory is not None and path.parent == src.directory:
        origins = {r["id"]: str(path) for r in doc["rules"]}
    if with_overlays:
        doc = overlay.apply(doc, overlay.read_overlays(src), origins)
    return build(doc, path, validated=True, origins=origins)


def reset() -> None:
    """Forget the loaded forms (tests that rewrite an overlay within one mtime tick)."""
    _available.cache_clear()
    _load.cache_clear()


def parse_form(doc: Mapping[str, Any], source: Path | str = "<memory>") -> Form:
    """Build a Form from a parsed JSON document (schema + consistency checks)."""
    from .form_parse import parse_form as build

    return build(doc, source)
