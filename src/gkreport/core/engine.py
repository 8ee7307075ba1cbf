"""Evaluate every rule of a report's form and return findings (pure: no files, no Excel).

Rules are data (rules/*.json); each rule type is defined in :mod:`gkreport.core.rule_types`
(its parameters, its messages, its check). This module dispatches through that registry
and evaluates the linear identities (``equal`` and ``compare``, optionally against last
year's report, and ``blank-total`` found through them) together, because the cell to
blame is located over all of them at once (:mod:`gkreport.core.locate`). Bad data never
raises: it becomes a finding at its cell.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from . import locate as loc
from . import rule_checks as _registered  # noqa: F401  (registers the other types' checks)
from . import rule_types
from .findings import Finding, fingerprint, sort_findings
from .forms import CellDef, Form, RuleDef, RuleInstance
from .report import Report

if TYPE_CHECKING:  # the solver (numpy, highspy) is imported only when a rule fails
    from .locate_milp import Explanation
from .rule_text import group_where as _group_where
from .rule_text import num as _num
from .rule_text import render
from .rule_text import where as _where
from .values import BLANK, format_number

__all__ = ["Context", "check", "render"]

_Broken = tuple[RuleInstance, float, float, "loc.Blame | None"]  # a failing identity: left, right, blame


def check(report: Report, previous: Report | None = None, *, locate: bool = True) -> list[Finding]:
    """All findings for ``report``; ``previous`` (last year's) enables cross-year rules.

    ``locate=False`` skips naming the most likely wrong cell: for a computed report (a
    county summary) no cell was typed wrong, and the caller names the sources instead.
    A finding of a rule from a rules overlay carries the rule's ``origin`` (its file).
    """
    ctx = Context(report, previous, locate)
    out: list[Finding] = list(report.read_findings)
    for rule in report.form.rules:
        rt = rule_types.get(rule.type)
        if rule.needs == "previous" and previous is None:
            continue
        if rt.evaluate is not None:
            out.extend(rt.evaluate(ctx, rule))
    out.extend(ctx.linear_rules())
    origins = {r.id: r.origin for r in report.form.rules if r.origin}
    if origins:
        out = [dataclasses.replace(f, origin=origins[f.rule]) if f.rule in origins else f for f in out]
    return sort_findings(out)


class Context:
    """What every rule's check needs of one report (read once)."""


    def __init__(self, report: Report, previous: Report | None, locate: bool = True) -> None:
        self.report = report
        self.form: Form = report.form
        self.previous = previous
        self.locate = locate
        # One pass over the values serves every rule: the number each cell contributes,
        # and the cells in each state (most rules only look at a few states).
        self.numbers: dict[str, float | int] = {}
        self.by_state: dict[str, list[str]] = {}
        self.with_formula: list[str] = []
        numbers, by_state, get = self.numbers, self.by_state, report.values.get
        for cid in self.form.cells:  # Report.value and Value.arith, spelt out: 200 cells a report
            v = get(cid, BLANK)
            state = v.state
            numbers[cid] = v.number if v.number is not None and (state == "number" or state == "converted") else 0
            cells = by_state.get(state)
            if cells is None:
                by_state[state] = [cid]
            else:
                cells.append(cid)
            if v.formula:
                self.with_formula.append(cid)

    # ------------------------------------------------------------------ helpers

    def finding(self, rule: RuleDef, message: str, cells: Iterable[CellDef], *,
                 suspects: Iterable[CellDef] = (), expected: float | None = None,
                 actual: float | None = None, suggested: float | None = None,
                 instance: str = "", sheet: str | None = None) -> Finding:
        cells = list(cells)
        suspects = list(suspects)
        ids = tuple(c.id for c in cells)
        return Finding(
            rule=rule.id, severity=rule.severity, message=message,
            sheet=sheet or (cells[0].sheet if cells else None),
            cells=tuple(c.ref for c in cells), cell_ids=ids,
            suspects=tuple(c.ref for c in suspects), suspect_ids=tuple(c.id for c in suspects),
            expected=expected, actual=actual, suggested=suggested,
            id=fingerprint(rule.id, ids, self.report.key, instance), instance=instance,
        )

    # ------------------------------------------------------------------ cells

    # ------------------------------------------------------------------ identities

    def _side(self, terms: Iterable[Any], const: int = 0) -> float | None:
        """Σ coef × value (+ the side's constant); None when last year's report is missing."""
        total = float(const)
        numbers = self.numbers
        for t in terms:
            if t.prev:
                if self.previous is None or t.cell not in self.previous.form.cells:
                    return None
                total += t.coef * self.previous.number(t.cell)
            else:
                total += t.coef * numbers.get(t.cell, 0)
        return total

    def linear_rules(self) -> Iterable[Finding]:
        blank_rule = next((r for r in self.form.rules if r.type == "blank-total"), None)
        evaluated: list[loc.Evaluated] = []
        pending: list[tuple[int, RuleInstance, float, float, bool]] = []
        unchecked: dict[str, tuple[RuleDef, list[RuleInstance]]] = {}
        for rule in self.form.rules:
            rt = rule_types.get(rule.type)
            if not rt.identity or rt.holds is None:
                continue
            if rule.needs == "previous" and self.previous is None:
                continue
            for inst in rule.instances:
                if self._touches_unread(inst):
                    unchecked.setdefault(rule.id, (rule, []))[1].append(inst)
                    continue
                left, right = self._side(inst.left, inst.left_const), self._side(inst.right, inst.right_const)
                if left is None or right is None:
                    continue
                failing = not rt.holds(left, right, rule)
                evaluated.append(loc.Evaluated(inst, left - right, failing))
                if failing:
                    # Only for identities within this report: a blank 上年结转 is not a blank total.
                    local = not any(t.prev for t in inst.terms)
                    blank_total = bool(rule.type == "equal" and local and inst.target and abs(right) > 1e-9
                                       and self.report.value(inst.target).is_blank)
                    pending.append((len(evaluated) - 1, inst, left, right, blank_total))
        blames = loc.locate(evaluated, self.form, self.report.values) if self.locate and pending else {}
        blank_totals: dict[str, list[_Broken]] = {}
        for idx, inst, left, right, blank_total in pending:
            blame = blames.get(idx)
            if inst.rule.type == "compare":
                yield self._compare_finding(inst, left, right, blame)
                continue
            # A blank total is the finding unless the other identities blame a part.
            blamed_elsewhere = blame is not None and blame.determined and inst.target not in blame.suspects
            if blank_total and blank_rule is not None and not blamed_elsewhere:
                blank_totals.setdefault(inst.rule.id, []).append((inst, left, right, blame))
                continue
            yield self._identity_finding(inst.rule, inst, left, right, blame)
        if blank_totals:
            assert blank_rule is not None  # only grouped when the form has the rule
            yield from self._blank_findings(blank_rule, blank_totals)
        for unchecked_rule, insts in unchecked.values():
            yield self._unchecked_finding(unchecked_rule, insts)

    def _blank_findings(self, rule: RuleDef, groups: dict[str, list[_Broken]]) -> Iterable[Finding]:
        """One finding per column or row of blank totals (a clerk who skipped the 总计 column)
        instead of one per row, and one per blank cell: a total closing both a row and a
        column (（七）总计·总计) is named by the first rule only; the identities it also
        breaks are listed in the finding's ``instance`` (``blank-total:rule:key,…``)."""
        owner: dict[str | None, str] = {}
        kept: dict[str, list[_Broken]] = {}
        also: dict[str, list[RuleInstance]] = {}
        for rule_id, group in groups.items():
            for item in group:
                target = item[0].target
                if target in owner:
                    also.setdefault(owner[target], []).append(item[0])
                    continue
                owner[target] = rule_id
                kept.setdefault(rule_id, []).append(item)
        for rule_id, items in kept.items():
            covered = [inst for inst, *_ in items] + also.get(rule_id, [])
            instance = (f"{rule_id}:{covered[0].key}" if len(covered) == 1 else
                        "blank-total:" + ",".join(f"{i.rule.id}:{i.key}" for i in covered))
            if len(items) == 1:
                inst, left, right, blame = items[0]
                yield self._identity_finding(rule, inst, left, right, blame, instance=instance)
            else:
                yield self._blank_group_finding(rule, items, instance)

    def _blank_group_finding(self, rule: RuleDef, group: list[_Broken], instance: str) -> Finding:
        """The finding for several blank totals of one rule: where they are, and what each
        should be."""
        targets = [self.form.cells[inst.target] for inst, *_ in group if inst.target]
        listed = "、".join(f"{t.ref} 应为 {format_number(right)}" for t, (_, _, right, _) in zip(targets, group, strict=True))
        template = str(rule.params.get("group_message", rule.message))
        msg = render(template, where=_group_where(targets), count=len(targets), cells=listed)
        parts = {c for inst, *_ in group for c in inst.cells()}
        cells = targets + [self.form.cells[c] for c in self.form.cells if c in parts and c not in
                           {t.id for t in targets}]
        return self.finding(rule, msg, cells, suspects=targets, instance=instance)

    def _touches_unread(self, inst: RuleInstance) -> bool:
        """Whether an identity needs a cell whose published value could not be read."""
        return "unread" in self.by_state and any(
            self.report.value(c).state == "unread" for c in inst.cells())

    def _unchecked_finding(self, rule: RuleDef, insts: list[RuleInstance]) -> Finding:
        """One note per rule for the identities that depend on unread cells: they are not
        arithmetic errors, the import is incomplete (reported by the reader)."""
        unread = [self.form.cells[c] for i in insts for c in i.cells() if self.report.value(c).state == "unread"]
        unread = list(dict.fromkeys(unread))
        where = "、".join(c.ref for c in unread[:8]) + (" 等" if len(unread) > 8 else "")
        msg = (f"无法校验“{rule.title}”（{len(insts)} 处）：涉及导入时未能读取的单元格 {where}，"
               "原因见“导入不完整”问题；这不是计算错误")
        return Finding(rule=rule.id, severity="info", message=msg, sheet=unread[0].sheet,
                       cells=tuple(c.ref for c in unread), cell_ids=tuple(c.id for c in unread),
                       id=fingerprint(rule.id, [c.id for c in unread], self.report.key, "unread"),
                       instance="unread")

    def _identity_finding(self, rule: RuleDef, inst: RuleInstance, left: float, right: float,
                          blame: loc.Blame | None, instance: str | None = None) -> Finding:
        cells = [self.form.cells[c] for c in inst.cells()]
        target = self.form.cells[inst.target] if inst.target else None
        labels = dict(inst.labels)
        msg = render(rule.message, target=_where(target) if target else "", expected=right, actual=left,
                     diff=abs(left - right), left=left, right=right, **labels)
        suspects: list[CellDef] = [target] if target is not None else []
        suggested = None
        if blame is not None:
            suspects, suggested, more = self._blame_text(blame, target)
            said_already = rule.type == "blank-total" and not blame.stopped and (
                not blame.determined or set(blame.errors) == {inst.target})  # the message names the fix
            if not said_already:
                msg += more
        if rule.type == "blank-total" and target is not None:
            suspects = [target]
            if blame is None:  # nothing located (a computed summary): the parts' sum is the total
                suggested = _num(right)
            elif not (blame.determined and target.id in blame.errors):
                suggested = None
        return self.finding(rule, msg, cells, suspects=suspects, expected=_num(right), actual=_num(left),
                             suggested=suggested, instance=instance or f"{inst.rule.id}:{inst.key}")

    def _shown(self, cid: str) -> str:
        """A cell's current content for a message: a blank is 空白, never "0" (spaced like
        the other numbers of a message: "现为空白" but "现为 13")."""
        v = self.report.value(cid)
        return "空白" if v.is_blank else f" {format_number(v.arith)}"

    def _blame_text(self, blame: loc.Blame, target: CellDef | None) -> tuple[list[CellDef], float | None, str]:
        """Suspects, the suggested value (one determined suspect only) and the sentence
        added to the message: the certain fix, or every equally good explanation."""
        suspects = [self.form.cells[c] for c in blame.suspects]
        observed = {c: self.report.number(c) for c in blame.errors}
        fixes = loc.corrected(observed, blame)
        certain = "、".join(f"{_where(self.form.cells[c])}（现为{self._shown(c)}，应为 "
                           f"{format_number(_num(v))}）" for c, v in fixes.items())
        advice = (f"，建议改为 {format_number(_num(next(iter(fixes.values()))))}" if len(fixes) == 1
                  else "，建议按此改正")
        if blame.determined:
            suggested = _num(next(iter(fixes.values()))) if len(fixes) == 1 else None
            return suspects, suggested, "。最可能填错的是 " + certain + advice
        text = f"。其中 {certain} 在各种解释中都需改正{advice}" if fixes else ""
        alts = [e for e in blame.alternatives if e.changes]
        free = [c for c, v in alts[0].changes.items() if v is None and c in blame.suspects] if alts else []
        if len(alts) == 1 and blame.complete and free:
            listed = "、".join(_where(self.form.cells[c]) for c in free)
            return suspects, None, text + f"。最可能填错的是 {listed}，但其正确数值无法由表内关系确定，请核对"
        if alts:
            count = f"有 {len(alts)} 种" if blame.complete else f"至少有 {len(alts)} 种"
            more = "" if blame.complete else "，还可能有其他同样简单的解释"
            described = "；或 ".join(self._explanation(e) for e in alts)
            if target is not None and target.id in blame.suspects and len(blame.suspects) > 1:
                head = f"。无法确定是总计 {target.ref} 填错还是其组成部分填错"
            else:
                head = "。无法确定是哪个单元格填错"
            if not blame.complete and len(alts) == 1:  # the search was cut short (time or count)
                return suspects, None, text + f"{head}（表内不平之处较多）：一种可能的解释是 {described}；请逐项核对"
            return suspects, None, text + f"{head}：{count}同样简单的解释，可能是 {described}{more}；请逐项核对"
        return suspects, None, text + blame.stopped  # a bound cut the search short: say which

    def _explanation(self, e: Explanation) -> str:
        """``D28（…）和 J28（…）都应为 4，E9（…）应为 3`` for one explanation."""
        by_value: dict[float | None, list[str]] = {}
        for c, v in e.changes.items():
            by_value.setdefault(v, []).append(f"{self.form.cells[c].ref}（{self.form.cells[c].label}）")
        parts = []
        for v, refs in by_value.items():
            names = "和".join(refs) if len(refs) <= 2 else "、".join(refs[:-1]) + "和" + refs[-1]
            if v is None:
                parts.append(f"{names}填错（数值无法确定）")
            else:
                parts.append(f"{names}{'都' if len(refs) > 1 else ''}应为 {format_number(_num(v))}")
        sheet = self.form.cells[next(iter(e.changes))].sheet.split(" ")[0]
        return sheet + " " + "，".join(parts)

    def _compare_finding(self, inst: RuleInstance, left: float, right: float,
                         blame: loc.Blame | None = None) -> Finding:
        cells = [self.form.cells[c] for c in inst.cells()]
        msg = render(inst.rule.message, left=left, right=right, diff=abs(left - right), **dict(inst.labels))
        suspects, suggested = cells, None
        if blame is not None:
            suspects, suggested, more = self._blame_text(blame, None)
            msg += more
        return self.finding(inst.rule, msg, cells, suspects=suspects, actual=left, expected=right,
                             suggested=suggested, instance=f"{inst.rule.id}:{inst.key}")

