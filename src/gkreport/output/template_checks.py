"""Where the template's live checks sit and what each formula computes.

One check cell per identity of every rule marked ``live`` in the form's rules file; the
formula reads the cells as the engine does (:mod:`gkreport.core.livecalc`), so a ✗ in the
workbook is exactly a finding of ``check``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from gkreport.core import addresses as addr
from gkreport.core import livecalc, rule_types
from gkreport.core.forms import Form, RuleInstance

from .template_style import FAIL_MARK, PASS_MARK, REJECTED_NOTE, TEXT_NOTE


@dataclass(frozen=True)
class LiveCheck:
    """Where one rule identity's check formula sits in the template."""

    instance: RuleInstance
    sheet: str
    cell: str  # address on ``sheet``


@dataclass(frozen=True)
class CheckLine:
    """A header (for ``right``) or label (for ``below``) of a group of live checks."""

    sheet: str
    range: str
    text: str


def live_checks(form: Form) -> tuple[list[LiveCheck], list[CheckLine]]:
    """Place one check cell per identity of every rule marked ``live`` in the rules file.

    ``right``: a column just right of the table, on the row of the identity's total.
    ``below``: one row per rule under the table, under the column of its total. Rules
    needing last year's report have no live check (the template has no last year).
    """
    checks: list[LiveCheck] = []
    lines: list[CheckLine] = []
    next_right: dict[str, int] = {}
    next_below: dict[str, int] = {}
    used: set[tuple[str, str]] = set()
    for rule in form.rules:
        if not rule.live or not rule.instances or rule.needs:
            continue
        anchor_cell = form.cells[rule.instances[0].left[0].cell]
        table = form.table(anchor_cell.table)
        placed: list[str] = []
        if rule.live == "right":
            col = next_right.get(table.id, table.last_col + 1)
            next_right[table.id] = col + 1
            for inst in rule.instances:
                _, row = addr.split_ref(form.cells[inst.left[0].cell].ref)
                placed.append(addr.make_ref(col, row))
            lines.append(CheckLine(
                table.sheet,
                addr.make_range(col, table.first_row, col, table.first_row + table.header_rows - 1),
                f"校验：{rule.title}",
            ))
        else:
            row = next_below.get(table.id, table.last_row + 1)
            next_below[table.id] = row + 1
            cols = []
            for inst in rule.instances:
                col, _ = addr.split_ref(form.cells[inst.target or inst.left[0].cell].ref)
                cols.append(col)
                placed.append(addr.make_ref(col, row))
            first = min(cols)
            if first > table.first_col:
                lines.append(CheckLine(
                    table.sheet, addr.make_range(table.first_col, row, first - 1, row), f"校验：{rule.title}"
                ))
        for inst, cell in zip(rule.instances, placed, strict=True):
            if (table.sheet, cell) in used:
                raise ValueError(f"规则 {rule.id} 的校验单元格 {cell} 与其他校验重叠")
            used.add((table.sheet, cell))
            checks.append(LiveCheck(inst, table.sheet, cell))
    return checks, lines


# ------------------------------------------------------------------------------ formulas


def check_formula(check: LiveCheck, form: Form, lay: livecalc.CalcLayout) -> str:
    """The live check: ✗ exactly where the engine reports the identity (the cells read as
    the engine reads them, see :mod:`gkreport.core.livecalc`), with the expected value or the
    imbalance; else ⚠ where a cell holds text ("5件", "/", "１２") or something the engine
    rejects; else ✓."""
    inst = check.instance
    live = rule_types.get(inst.rule.type).live
    if live is None:
        raise ValueError(f"规则 {inst.rule.id} 的类型 {inst.rule.type} 没有现场校验公式")
    fails, fail = live(inst, form, lay, FAIL_MARK)
    terms = inst.left + inst.right
    rejected = livecalc.band_count(terms, form, lay, livecalc.REJECTED)
    text = livecalc.band_count(terms, form, lay, livecalc.TEXT_READ)
    return (f'=IFERROR(IF({fails},{fail},IF({rejected}>0,"{REJECTED_NOTE}",'
            f'IF({text}>0,"{TEXT_NOTE}","{PASS_MARK}"))),"{FAIL_MARK} 无法计算")')



def check_ranges(checks: Sequence[LiveCheck]) -> list[str]:
    """Bounding ranges of each rule's check cells (they hold nothing else)."""
    by_rule: dict[str, list[tuple[int, int]]] = {}
    for c in checks:
        by_rule.setdefault(c.instance.rule.id, []).append(addr.split_ref(c.cell))
    out = []
    for cells in by_rule.values():
        cols = [c for c, _ in cells]
        rows = [r for _, r in cells]
        out.append(addr.make_range(min(cols), min(rows), max(cols), max(rows)))
    return out

