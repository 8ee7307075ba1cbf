"""Building a :class:`~gkreport.core.forms.Form` from its JSON document, with the checks no
schema can express: unique ids, cells inside their grid, rules naming existing cells and
sets, message placeholders the rule's type fills in. A bad document is rejected with the
file and the rule or cell named, never half-used.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from . import addresses as addr
from . import rule_types
from .form_schema import FormError, validate
from .forms import CellDef, CellKind, Form, HeaderField, Label, RuleDef, RuleInstance, TableDef, Term


def parse_form(doc: Mapping[str, Any], source: Path | str = "<memory>", *, validated: bool = False,
               origins: Mapping[str, str] | None = None) -> Form:
    """Build a Form from a parsed JSON document. ``validated``: the caller has checked it
    against the schema (a stamp, see :mod:`gkreport.core.form_schema`); if it then fails to
    build, it is validated in full so the user reads the schema's reason, not a bug.
    ``origins`` maps the id of a rule from a rules overlay to the file it came from."""
    if not validated:
        validate(doc, source)
    try:
        return _build(doc, source, origins or {})
    except (KeyError, TypeError, AttributeError, IndexError, ValueError) as e:
        if isinstance(e, FormError) or not validated:
            raise
        validate(doc, source)  # a stale or forged stamp: the schema names the problem
        raise


def _build(doc: Mapping[str, Any], source: Path | str, origins: Mapping[str, str]) -> Form:
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
    rules = tuple(_parse_rule(r, form, origins.get(r["id"], ""), source) for r in doc["rules"])
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
                kind: CellKind = "total" if "total" in (row.get("kind"), col.get("kind")) else "input"
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


def _parse_rule(r: Mapping[str, Any], form: Form, origin: str, form_source: Path | str) -> RuleDef:
    source = origin or form_source  # a rule from an overlay is reported in its own file
    rt = rule_types.get(r["type"])
    known = set(rule_types.COMMON_KEYS)
    if rt.identity:
        known |= {"for_each", "left", "right", "total", "op", "tolerance", "live"}
    rule = RuleDef(
        id=r["id"], severity=r["severity"], type=r["type"], title=r["title"],
        description=r["description"], message=r["message"], needs=r.get("needs"), live=r.get("live"),
        op=r.get("op"), total_left=r.get("total") == "left", tolerance=float(r.get("tolerance", 1e-6)),
        params={k: v for k, v in r.items() if k not in known}, origin=origin,
    )
    _check_placeholders(r, rt, source)
    if rt.identity:
        instances = tuple(_expand(rule, r, form, source))
        if not any(inst.terms for inst in instances):
            raise FormError(f"{source}: 规则 {rule.id} 没有引用任何单元格")
        if rule.live and not all(inst.left for inst in instances):
            raise FormError(f"{source}: 规则 {rule.id} 标明 live，但左边没有单元格（现场校验放在左边第一个单元格旁）")
        object.__setattr__(rule, "instances", instances)
    return rule


def _check_placeholders(r: Mapping[str, Any], rt: rule_types.RuleType, source: Path | str) -> None:
    """Every ``{name}`` of the rule's messages must be one its type fills in."""
    for key in rt.messages:
        template = r.get(key)
        if not isinstance(template, str):
            continue
        allowed = rt.placeholders(r, key)
        try:
            names = rule_types.fields_of(template)
        except ValueError as e:
            raise FormError(f"{source}: 规则 {r['id']} 的 {key} 写法不对：{e}（文字中的花括号写作 {{{{ 和 }}}}）") from None
        unknown = [n for n in dict.fromkeys(names) if n not in allowed]
        if unknown:
            listed = "、".join("{" + n + "}" for n in sorted(allowed)) or "（无）"
            import difflib  # (only to name a misspelt cell id)

            close = difflib.get_close_matches(unknown[0], sorted(allowed), n=1)
            hint = f"，是否应为 {{{close[0]}}}？" if close else ""
            raise FormError(f"{source}: 规则 {r['id']} 的 {key} 使用了未知的占位符 "
                            f"{'、'.join('{' + n + '}' for n in unknown)}（{rt.name} 类规则可用：{listed}{hint}）")


def _resolve_set(name: str, form: Form, rule_id: str, source: Path | str) -> tuple[str, ...]:
    try:
        return form.sets[name.removeprefix("@")]
    except KeyError:
        raise FormError(f"{source}: 规则 {rule_id} 引用了不存在的集合 {name}") from None


def _expand(rule: RuleDef, r: Mapping[str, Any], form: Form, source: Path | str) -> Iterator[RuleInstance]:
    """One identity per key of the ``for_each`` set (a single one without ``for_each``)."""
    loop = r.get("for_each")
    if loop:
        ((var, set_name),) = loop.items()
        bindings = [{var: key} for key in _resolve_set(set_name, form, rule.id, source)]
    else:
        bindings = [{}]
    for binding in bindings:
        sides: list[tuple[Term, ...]] = []
        consts: list[int] = []
        labels: dict[str, str] = {}
        for side in ("left", "right"):
            terms: list[Term] = []
            const = 0
            for raw in r[side]:
                if isinstance(raw, int) and not isinstance(raw, bool):
                    const += raw
                elif isinstance(raw, str):
                    terms.append(_term(raw, 1, binding, form, rule.id, source, labels))
                elif "cell" in raw:
                    terms.append(_term(raw["cell"], int(raw.get("coef", 1)), binding, form, rule.id, source, labels))
                else:
                    ((ivar, iset),) = raw["over"].items()
                    for ikey in _resolve_set(iset, form, rule.id, source):
                        terms.append(_term(raw["sum"], int(raw.get("coef", 1)), {**binding, ivar: ikey},
                                           form, rule.id, source, labels))
            sides.append(tuple(terms))
            consts.append(const)
        if rule.total_left and (len(sides[0]) != 1 or sides[0][0].coef != 1 or consts[0]):
            raise FormError(f"{source}: 规则 {rule.id} 标明 total=left，但左边不是单个（系数为 1 的）单元格")
        yield RuleInstance(
            rule=rule, binding=tuple(binding.items()),
            labels=tuple((v, labels.get(v, k)) for v, k in binding.items()),
            left=sides[0], right=sides[1], left_const=consts[0], right_const=consts[1],
        )


def _term(
    template: str, coef: int, binding: Mapping[str, str], form: Form, rule_id: str, source: Path | str,
    labels: dict[str, str],
) -> Term:
    m = _TERM.match(template)
    if m and m["id"].isdigit():
        raise FormError(f"{source}: 规则 {rule_id} 的项“{template}”是文字：常数请直接写数字 {template}（不加引号）")
    if not m:
        raise FormError(f"{source}: 规则 {rule_id} 的项“{template}”无法解析")
    try:
        cell_id = m["id"].format(**binding)
    except (KeyError, IndexError, ValueError) as e:
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
    return Term(cell=cell_id, coef=-coef if m["neg"] else coef, prev=bool(m["prev"]))
