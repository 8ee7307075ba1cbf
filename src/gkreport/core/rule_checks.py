"""The engine's check of each rule type that is not a linear identity, registered in
:mod:`gkreport.core.rule_types`: ``cell`` (what was in each cell), ``header``,
``form-version``, ``outlier`` and ``narrative``. Identities (``equal``, ``compare``,
and ``blank-total`` found through them) are evaluated together in :mod:`gkreport.core.engine`,
because the cell to blame is located over all of them at once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from . import rule_types
from .findings import Finding, fingerprint
from .forms import CellDef, RuleDef, form_for_year
from .rule_text import render, short, where
from .values import format_number

if TYPE_CHECKING:
    from .engine import Context


@rule_types.evaluation("cell")
def cell_rule(ctx: Context, rule: RuleDef) -> Iterable[Finding]:
    check_kind = rule.params.get("check")
    if check_kind == "blank":
        yield from _blanks(ctx, rule)
        return
    if check_kind == "formula":
        for cid in ctx.with_formula:
            cell, v = ctx.form.cells[cid], ctx.report.value(cid)
            yield ctx.finding(rule, render(rule.message, cell_label=where(cell), formula=v.formula,
                                             why=v.why), [cell])
        return
    states = {"value-type": ("invalid", "unreadable"), "value-format": ("converted",),
              "not-applicable": ("na",)}.get(str(check_kind), ())
    hits = {cid for st in states for cid in ctx.by_state.get(st, ())}
    for cid, cell in ctx.form.cells.items():  # form order, so findings read top to bottom
        if cid not in hits:
            continue
        v = ctx.report.value(cid)
        if v.formula and v.state == "converted":
            continue  # a formula's text result is described by the formula finding
        msg = render(rule.message, cell_label=where(cell), raw=short(v.raw), why=v.why,
                     value=v.number if v.number is not None else "")
        yield ctx.finding(rule, msg, [cell], suspects=[cell],
                            suggested=v.number if v.state == "converted" else None)

def _blanks(ctx: Context, rule: RuleDef) -> Iterable[Finding]:
    blanks = set(ctx.by_state.get("blank", ()))
    if not blanks:
        return
    for table in ctx.form.tables:
        blank = [ctx.form.cells[c] for c in table.cell_ids if c in blanks]
        if not blank:
            continue
        if len(blank) == len(table.cell_ids):
            listed = "整张表均未填写"
        else:
            listed = "、".join(c.ref for c in blank[:12]) + (f" 等（共 {len(blank)} 个）" if len(blank) > 12 else "")
        yield ctx.finding(rule, f"{table.sheet.split(' ')[0]}：" + render(
            rule.message, count=len(blank), cells=listed), blank, instance=table.id)


@rule_types.evaluation("header")
def header_rule(ctx: Context, rule: RuleDef) -> Iterable[Finding]:
    for field in ctx.form.header:
        if not field.required:
            continue
        raw = ctx.report.header.get(field.id)
        missing = raw is None or str(raw).strip() == ""
        why = ""
        if field.type == "year" and not missing and ctx.report.year is None:
            missing, why = True, f"（填写的是“{short(raw)}”，应为四位年份）"
        if missing:
            yield Finding(rule=rule.id, severity=rule.severity,
                          message=render(rule.message, field=field.label, why=why),
                          sheet=field.sheet, cells=(field.cell,), cell_ids=(field.id,),
                          suspects=(field.cell,), suspect_ids=(field.id,),
                          id=fingerprint(rule.id, [field.id], ctx.report.key))

@rule_types.evaluation("form-version")
def form_version_rule(ctx: Context, rule: RuleDef) -> Iterable[Finding]:
    year = ctx.report.year
    if year is None or ctx.form.accepts_year(year):
        return
    right = form_for_year(year)
    field = ctx.form.header_field("hdr.year")
    yield Finding(
        rule=rule.id, severity=rule.severity,
        message=render(rule.message, year=str(year), expected_form=right.name if right else "（无适用的）",
                       form_name=ctx.form.name),
        sheet=field.sheet, cells=(field.cell,), cell_ids=(field.id,),
        id=fingerprint(rule.id, [field.id], ctx.report.key),
    )


@rule_types.evaluation("outlier")
def outlier_rule(ctx: Context, rule: RuleDef) -> Iterable[Finding]:
    if ctx.previous is None:
        return
    factor = float(rule.params["factor"])
    base = float(rule.params["min_base"])
    include = rule.params.get("include") or [{}]
    for cid, cell in ctx.form.cells.items():
        if cell.type == "signed" or not _included(cell, include):
            continue
        v = ctx.report.value(cid)
        if v.state not in ("number", "converted"):
            continue
        cur = float(v.arith)
        why = None
        if cid in ctx.previous.form.cells:
            pv = ctx.previous.value(cid)
            if pv.state in ("number", "converted"):
                prev = float(pv.arith)
                if prev >= base and (cur > factor * prev or cur * factor < prev):
                    why = f"上年为 {format_number(prev)}，变化超过 {format_number(factor)} 倍"
                elif prev < base and cur >= base * factor:
                    why = f"上年仅为 {format_number(prev)}"
        if why:
            yield ctx.finding(rule, render(rule.message, cell_label=where(cell), actual=cur, why=why),
                                [cell], suspects=[cell], actual=cur)

@rule_types.evaluation("narrative")
def narrative_rule(ctx: Context, rule: RuleDef) -> Iterable[Finding]:
    """Counts stated in the prose against the table.

    A pattern's ``cells`` sum is the usual reading; ``accept`` lists other sums the
    same wording is used for (a report "收到申请 75 件" may count the 74 new ones plus
    1 carried over, or the 办理结果 total). Only a count matching none is reported,
    once per pattern, and never when a cell it needs could not be read.
    """
    text = ctx.report.text
    if not text:
        return
    flat = flatten_prose(text)
    for pat in rule.params["patterns"]:
        choices = [pat["cells"], *pat.get("accept", [])]
        sums = [_narrative_sum(ctx, cells) for cells in choices]
        if sums[0] is None:
            continue
        for m in re.finditer(pat["regex"], flat):
            digits = m.group(1)
            if len(digits) > 9:  # not a count; also keeps int() within Python's limits
                continue
            said = int(digits)
            if any(s is not None and abs(s - said) < 1e-9 for s in sums):
                continue
            cells = [ctx.form.cells[c] for c in pat["cells"] if c in ctx.form.cells]
            also = "、".join(f"{what}为 {format_number(s)} 件" for what, s in
                            zip(pat.get("accept_what", []), sums[1:], strict=False) if s is not None)
            yield ctx.finding(rule, render(rule.message, what=pat["what"], narrative=said, table=sums[0],
                                             also=f"（{also}）" if also else ""),
                                cells, suspects=cells, expected=said, actual=sums[0], instance=pat["what"])
            break

def _narrative_sum(ctx: Context, cells: Iterable[str]) -> float | None:
    """The table's sum over ``cells``; None when one is missing or could not be read."""
    total = 0.0
    for c in cells:
        if c not in ctx.form.cells or ctx.report.value(c).state == "unread":
            return None
        total += ctx.report.number(c)
    return total


def _included(cell: CellDef, include: Iterable[Mapping[str, str]]) -> bool:
    return any(all(getattr(cell, k) == v for k, v in inc.items()) for inc in include)


_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)])[^。；！？]{0,40}$")


def flatten_prose(text: str) -> str:
    """Prose as one line for the narrative patterns. Line breaks go (PDF extraction wraps
    sentences anywhere), but a heading line ends like a sentence: otherwise the heading
    "三、收到和处理政府信息公开申请情况" runs into the next paragraph's "…17720 件"."""
    lines = (ln.strip() for ln in text.splitlines())
    return re.sub(r"\s+", "", "".join(ln + "。" if _HEADING.match(ln) else ln for ln in lines if ln))
