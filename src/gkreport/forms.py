"""The official forms as typed objects, loaded from ``rules/form-<version>.json``.

Everything the rest of the package knows about a form (labels, the grid, every input
cell and its id, every rule) comes from these files: the template writer, ``describe``,
the readers, the engine and the summary writer all take positions from here. A file
is checked against ``rules/schema.json`` and then for consistency (unique ids, cells
inside their grid, rules that name existing cells); a bad file is rejected at load
time with the offending rule or cell named, never half-used.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal

from . import addresses as addr
from .resources import data_dir

CellType = Literal["count", "signed", "amount"]
CellKind = Literal["input", "total"]
Severity = Literal["error", "warning", "info"]

SEVERITY_ORDER: dict[str, int] = {"error": 0, "warning": 1, "info": 2}
SEVERITY_LABEL: dict[str, str] = {"error": "错误", "warning": "警告", "info": "提示"}
TYPE_LABEL: dict[str, str] = {"count": "件数（非负整数）", "signed": "增减数（整数，可为负）", "amount": "金额（非负数）"}


class FormError(ValueError):
    """A form definition file is malformed; the message names the file and the culprit."""


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

    def place(self, rel: str) -> str:
        """Map a grid-relative range (A1 = the table's top-left) onto the sheet."""
        return addr.offset_range(rel, self.first_row - 1, self.first_col - 1)


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

    @property
    def key(self) -> str:
        return ",".join(f"{k}={v}" for k, v in self.binding) or "-"

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

    def linear_instances(self) -> Iterator[RuleInstance]:
        for r in self.rules:
            yield from r.instances


# ---------------------------------------------------------------------------------- loading


def rules_dir() -> Path:
    return data_dir("rules")


@cache
def _schema() -> dict[str, Any]:
    return json.loads((rules_dir() / "schema.json").read_text(encoding="utf-8"))


@cache
def available_forms() -> tuple[str, ...]:
    """Form versions that have a definition file, oldest first (fixed for the process,
    like :func:`load_form`'s cache: the readers ask for every file they open)."""
    return tuple(sorted(p.stem.removeprefix("form-") for p in rules_dir().glob("form-*.json")))


def form_for_year(year: int) -> Form | None:
    """The form a report of ``year`` must use, or ``None`` when no form covers it."""
    for v in reversed(available_forms()):
        f = load_form(v)
        if f.accepts_year(year):
            return f
    return None


@cache
def load_form(version: str) -> Form:
    """Load and check ``rules/form-<version>.json``; cached, forms are immutable."""
    path = rules_dir() / f"form-{version}.json"
    if not path.is_file():
        known = "、".join(available_forms())
        raise FormError(f"没有 {version} 版表式的定义（可用：{known}）")
    return parse_form(json.loads(path.read_text(encoding="utf-8")), path)


def validate_document(doc: Mapping[str, Any], source: Path | str = "<memory>") -> None:
    """Raise FormError listing every JSON-Schema violation of a form document."""
    import jsonschema  # here, not at the top: ``--version`` and ``-h`` import the forms module

    validator = jsonschema.Draft202012Validator(_schema(), format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
    if errors:
        lines = [f"{'/'.join(map(str, e.absolute_path)) or '(根)'}: {e.message}" for e in errors[:20]]
        raise FormError(f"{source}: 表式定义不符合 schema：\n" + "\n".join(lines))


def parse_form(doc: Mapping[str, Any], source: Path | str = "<memory>") -> Form:
    """Build a Form from a parsed JSON document (schema + consistency checks)."""
    validate_document(doc, source)
    src = Path(str(source))
    header_sheet = doc["header"]["sheet"]
    header = tuple(
        HeaderField(
            id=h["id"], label=h["label"], sheet=header_sheet, cell=h["cell"], type=h["type"],
            required=h.get("required", False), fixed=h.get("fixed"), prompt=h.get("prompt"),
        )
        for h in doc["header"]["fields"]
    )
    cells: dict[str, CellDef] = {}
    tables = tuple(_parse_table(t, cells, source) for t in doc["tables"])
    sheets = [t.sheet for t in tables] + [header_sheet]
    if len(set(sheets)) != len(sheets):
        raise FormError(f"{source}: 工作表名称重复：{sheets}")
    sets = {k: tuple(v) for k, v in doc["sets"].items()}
    form = Form(
        version=doc["form"], name=doc["name"], defined_by=doc.get("defined_by", ""), title=doc["title"],
        year_min=doc["years"]["min"], year_max=doc["years"].get("max"),
        header_sheet=header_sheet, header=header,
        synonyms={k: tuple(v) for k, v in doc.get("synonyms", {}).items()},
        sets=sets, tables=tables, cells=cells, rules=(), source=src, locate=dict(doc.get("locate", {})),
    )
    rules = tuple(_parse_rule(r, form, source) for r in doc["rules"])
    ids = [r.id for r in rules]
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        raise FormError(f"{source}: 规则编号重复：{sorted(dupes)}")
    unknown = sorted(set(form.locate.get("exclude_rules", ())) - set(ids))
    if unknown:
        raise FormError(f"{source}: locate.exclude_rules 引用了不存在的规则：{unknown}")
    object.__setattr__(form, "rules", rules)
    return form


def _parse_table(t: Mapping[str, Any], cells: dict[str, CellDef], source: Path | str) -> TableDef:
    tid = t["id"]
    n_rows, n_cols = t["size"]
    origin_col, origin_row = addr.split_ref(t["origin"])

    def inside(rel: str, what: str) -> None:
        c1, r1, c2, r2 = addr.range_bounds(rel)
        if not (1 <= r1 <= r2 <= n_rows and 1 <= c1 <= c2 <= n_cols):
            raise FormError(f"{source}: 表 {tid} 的{what} {rel} 超出表格范围 {n_rows}×{n_cols}")

    def place(rel: str) -> str:
        return addr.offset_range(rel, origin_row - 1, origin_col - 1)

    labels = []
    for lab in t["labels"]:
        inside(lab["range"], f"标签“{lab['text']}”")
        labels.append(Label(place(lab["range"]), lab["text"], lab["style"]))
    ids: list[str] = []
    occupied: dict[tuple[int, int], str] = {}
    for lab in t["labels"]:
        for cell in addr.cells_in(lab["range"]):
            occupied[cell] = f"标签“{lab['text']}”"
    for block in t["blocks"]:
        for row in block["rows"]:
            for col in block["columns"]:
                cid = f"{tid}.{row['key']}.{col['key']}"
                if cid in cells:
                    raise FormError(f"{source}: 单元格编号重复：{cid}")
                first, _, last = col["col"].partition(":")
                rel = f"{first}{row['row']}" + (f":{last}{row['row']}" if last else "")
                inside(rel, f"单元格 {cid}")
                for cell in addr.cells_in(rel):
                    if cell in occupied:
                        raise FormError(f"{source}: 单元格 {cid}（{rel}）与{occupied[cell]}重叠")
                    occupied[cell] = f"单元格 {cid}"
                gc, gr = addr.split_ref(rel.split(":")[0])
                kind = "total" if "total" in (row.get("kind"), col.get("kind")) else "input"
                cells[cid] = CellDef(
                    id=cid, table=tid, sheet=t["sheet"], range=place(rel),
                    row_key=row["key"], col_key=col["key"],
                    row_path=tuple(block["path"]) + tuple(row["path"]), col_path=tuple(col["path"]),
                    row_short=row.get("short", row["path"][-1] if row["path"] else ""),
                    col_short=col.get("short", col["path"][-1]),
                    type=col.get("type", "count"), kind=kind, unit=col.get("unit"),
                    grid_row=gr, grid_col=gc,
                )
                ids.append(cid)
    return TableDef(
        id=tid, title=t["title"], sheet=t["sheet"], origin=t["origin"], n_rows=n_rows, n_cols=n_cols,
        header_rows=t["header_rows"], col_widths=tuple(t.get("col_widths", ())), labels=tuple(labels),
        cell_ids=tuple(ids),
    )


_TERM = re.compile(r"^(?P<neg>-)?(?P<prev>prev:)?(?P<id>[a-z0-9_{}.]+)$")
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def _parse_rule(r: Mapping[str, Any], form: Form, source: Path | str) -> RuleDef:
    known = {
        "id", "severity", "type", "title", "description", "message", "needs", "live",
        "for_each", "left", "right", "total", "op", "tolerance", "$comment",
    }
    rule = RuleDef(
        id=r["id"], severity=r["severity"], type=r["type"], title=r["title"],
        description=r["description"], message=r["message"], needs=r.get("needs"), live=r.get("live"),
        op=r.get("op"), total_left=r.get("total") == "left", tolerance=float(r.get("tolerance", 1e-6)),
        params={k: v for k, v in r.items() if k not in known},
    )
    if rule.type in ("equal", "compare"):
        object.__setattr__(rule, "instances", tuple(_expand(rule, r, form, source)))
    return rule


def _resolve_set(name: str, form: Form, rule_id: str, source: Path | str) -> tuple[str, ...]:
    try:
        return form.sets[name.removeprefix("@")]
    except KeyError:
        raise FormError(f"{source}: 规则 {rule_id} 引用了不存在的集合 {name}") from None


def _expand(rule: RuleDef, r: Mapping[str, Any], form: Form, source: Path | str) -> Iterator[RuleInstance]:
    ((var, set_name),) = r["for_each"].items()
    for key in _resolve_set(set_name, form, rule.id, source):
        binding = {var: key}
        sides = []
        labels: dict[str, str] = {}
        for side in ("left", "right"):
            terms: list[Term] = []
            for raw in r[side]:
                if isinstance(raw, str):
                    terms.append(_term(raw, binding, form, rule.id, source, labels))
                else:
                    ((ivar, iset),) = raw["over"].items()
                    for ikey in _resolve_set(iset, form, rule.id, source):
                        terms.append(_term(raw["sum"], {**binding, ivar: ikey}, form, rule.id, source, labels))
            sides.append(tuple(terms))
        if rule.total_left and len(sides[0]) != 1:
            raise FormError(f"{source}: 规则 {rule.id} 标明 total=left，但左边不是单个单元格")
        yield RuleInstance(
            rule=rule, binding=tuple(binding.items()),
            labels=tuple((v, labels.get(v, k)) for v, k in binding.items()),
            left=sides[0], right=sides[1],
        )


def _term(
    template: str, binding: Mapping[str, str], form: Form, rule_id: str, source: Path | str,
    labels: dict[str, str],
) -> Term:
    m = _TERM.match(template)
    if not m:
        raise FormError(f"{source}: 规则 {rule_id} 的项“{template}”无法解析")
    try:
        cell_id = m["id"].format(**binding)
    except KeyError as e:
        raise FormError(f"{source}: 规则 {rule_id} 的项“{template}”使用了未定义的变量 {e}") from None
    cell = form.cells.get(cell_id)
    if cell is None:
        raise FormError(f"{source}: 规则 {rule_id} 引用了不存在的单元格 {cell_id}")
    # Remember a human label for each loop variable from the position it fills.
    parts = m["id"].split(".")
    for pos, short in ((1, cell.row_short), (2, cell.col_short)):
        if pos < len(parts):
            ph = _PLACEHOLDER.fullmatch(parts[pos])
            if ph and ph[1] in binding:
                labels.setdefault(ph[1], short)
    return Term(cell=cell_id, coef=-1 if m["neg"] else 1, prev=bool(m["prev"]))
