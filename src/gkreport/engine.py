"""Evaluate every rule of a report's form and return findings (pure: no files, no Excel).

Rules are data (rules/*.json); this module is the one small interpreter for their
types: ``cell`` (what was in each cell), ``header``, ``form-version``, ``equal`` and
``compare`` (linear identities, optionally against last year's report),
``blank-total``, ``outlier`` and ``narrative``. Bad data never raises: it becomes a
finding at its cell.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from . import locate as loc
from .findings import Finding, fingerprint, sort_findings
from .forms import CellDef, Form, RuleDef, RuleInstance
from .report import Report
from .values import format_number

Peers = Mapping[str, float]  # cell id -> mean over peer agencies


class _Fmt(string.Formatter):
    """``str.format`` that leaves unknown placeholders visible instead of raising."""

    def get_value(self, key: int | str, args: Any, kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, str):
            return kwargs.get(key, "{" + key + "}")
        return super().get_value(key, args, kwargs)


_FMT = _Fmt()


def render(template: str, **values: Any) -> str:
    return _FMT.format(template, **{k: format_number(v) if isinstance(v, int | float) and not isinstance(v, bool)
                                     else v for k, v in values.items()})


def check(report: Report, previous: Report | None = None, peers: Peers | None = None, *,
          locate: bool = True) -> list[Finding]:
    """All findings for ``report``; ``previous`` (last year's) enables cross-year rules.

    ``locate=False`` skips naming the most likely wrong cell: for a computed report (a
    county summary) no cell was typed wrong, and the caller names the sources instead.
    """
    ctx = _Context(report, previous, peers, locate)
    handlers: dict[str, Callable[[RuleDef], Iterable[Finding]]] = {
        "cell": ctx.cell_rule,
        "header": ctx.header_rule,
        "form-version": ctx.form_version_rule,
        "outlier": ctx.outlier_rule,
        "narrative": ctx.narrative_rule,
    }
    out: list[Finding] = list(report.read_findings)
    for rule in report.form.rules:
        if rule.needs == "previous" and previous is None and rule.type != "outlier":
            continue
        handler = handlers.get(rule.type)
        if handler is not None:
            out.extend(handler(rule))
    out.extend(ctx.linear_rules())
    return sort_findings(out)


class _Context:
    def __init__(self, report: Report, previous: Report | None, peers: Peers | None, locate: bool = True) -> None:
        self.report = report
        self.form: Form = report.form
        self.previous = previous
        self.peers = peers
        self.locate = locate
        # One pass over the values serves every rule: the number each cell contributes,
        # and the cells in each state (most rules only look at a few states).
        self.numbers: dict[str, float | int] = {}
        self.by_state: dict[str, list[str]] = {}
        self.with_formula: list[str] = []
        for cid in self.form.cells:
            v = report.value(cid)
            self.numbers[cid] = v.arith
            self.by_state.setdefault(v.state, []).append(cid)
            if v.formula:
                self.with_formula.append(cid)

    # ------------------------------------------------------------------ helpers

    def _finding(self, rule: RuleDef, message: str, cells: Iterable[CellDef], *,
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

    def cell_rule(self, rule: RuleDef) -> Iterable[Finding]:
        check_kind = rule.params.get("check")
        if check_kind == "blank":
            yield from self._blanks(rule)
            return
        if check_kind == "formula":
            for cid in self.with_formula:
                cell, v = self.form.cells[cid], self.report.value(cid)
                yield self._finding(rule, render(rule.message, cell_label=_where(cell), formula=v.formula,
                                                 why=v.why), [cell])
            return
        states = {"value-type": ("invalid", "unreadable"), "value-format": ("converted",),
                  "not-applicable": ("na",)}.get(str(check_kind), ())
        hits = {cid for st in states for cid in self.by_state.get(st, ())}
        for cid, cell in self.form.cells.items():  # form order, so findings read top to bottom
            if cid not in hits:
                continue
            v = self.report.value(cid)
            if v.formula and v.state == "converted":
                continue  # a formula's text result is described by the formula finding
            msg = render(rule.message, cell_label=_where(cell), raw=_short(v.raw), why=v.why,
                         value=v.number if v.number is not None else "")
            yield self._finding(rule, msg, [cell], suspects=[cell],
                                suggested=v.number if v.state == "converted" else None)

    def _blanks(self, rule: RuleDef) -> Iterable[Finding]:
        blanks = set(self.by_state.get("blank", ()))
        if not blanks:
            return
        for table in self.form.tables:
            blank = [self.form.cells[c] for c in table.cell_ids if c in blanks]
            if not blank:
                continue
            if len(blank) == len(table.cell_ids):
                listed = "整张表均未填写"
            else:
                listed = "、".join(c.ref for c in blank[:12]) + (f" 等（共 {len(blank)} 个）" if len(blank) > 12 else "")
            yield self._finding(rule, f"{table.sheet.split(' ')[0]}：" + render(
                rule.message, count=len(blank), cells=listed), blank, instance=table.id)

    # ------------------------------------------------------------------ header / version

    def header_rule(self, rule: RuleDef) -> Iterable[Finding]:
        for field in self.form.header:
            if not field.required:
                continue
            raw = self.report.header.get(field.id)
            missing = raw is None or str(raw).strip() == ""
            why = ""
            if field.type == "year" and not missing and self.report.year is None:
                missing, why = True, f"（填写的是“{_short(raw)}”，应为四位年份）"
            if missing:
                yield Finding(rule=rule.id, severity=rule.severity,
                              message=render(rule.message, field=field.label, why=why),
                              sheet=field.sheet, cells=(field.cell,), cell_ids=(field.id,),
                              suspects=(field.cell,), suspect_ids=(field.id,),
                              id=fingerprint(rule.id, [field.id], self.report.key))

    def form_version_rule(self, rule: RuleDef) -> Iterable[Finding]:
        year = self.report.year
        if year is None or self.form.accepts_year(year):
            return
        from .forms import form_for_year

        right = form_for_year(year)
        field = self.form.header_field("hdr.year")
        yield Finding(
            rule=rule.id, severity=rule.severity,
            message=render(rule.message, year=str(year), expected_form=right.name if right else "（无适用的）",
                           form_name=self.form.name),
            sheet=field.sheet, cells=(field.cell,), cell_ids=(field.id,),
            id=fingerprint(rule.id, [field.id], self.report.key),
        )

    # ------------------------------------------------------------------ identities

    def _side(self, terms: Iterable[Any]) -> float | None:
        total = 0.0
        for t in terms:
            if t.prev:
                if self.previous is None or t.cell not in self.previous.form.cells:
                    return None
                total += t.coef * self.previous.number(t.cell)
            else:
                total += t.coef * self.numbers.get(t.cell, 0)
        return total

    def linear_rules(self) -> Iterable[Finding]:
        blank_rule = next((r for r in self.form.rules if r.type == "blank-total"), None)
        evaluated: list[loc.Evaluated] = []
        pending: list[tuple[int, RuleInstance, float, float, bool]] = []
        for rule in self.form.rules:
            if rule.type not in ("equal", "compare"):
                continue
            if rule.needs == "previous" and self.previous is None:
                continue
            for inst in rule.instances:
                left, right = self._side(inst.left), self._side(inst.right)
                if left is None or right is None:
                    continue
                if rule.type == "compare":
                    failing = not _compare(left, rule.op or ">=", right)
                else:
                    failing = abs(left - right) > rule.tolerance
                evaluated.append(loc.Evaluated(inst, left - right, failing))
                if failing:
                    blank_total = bool(rule.type == "equal" and inst.target and abs(right) > 1e-9
                                       and self.report.value(inst.target).is_blank)
                    pending.append((len(evaluated) - 1, inst, left, right, blank_total))
        blames = loc.locate(evaluated, self.form, self.report.values) if self.locate and pending else {}
        for idx, inst, left, right, blank_total in pending:
            blame = blames.get(idx)
            if inst.rule.type == "compare":
                yield self._compare_finding(inst, left, right, blame)
                continue
            rule = inst.rule
            # A blank total is the finding unless the other identities blame a part.
            blamed_elsewhere = blame is not None and blame.determined and inst.target not in blame.suspects
            if blank_total and blank_rule is not None and not blamed_elsewhere:
                rule = blank_rule
            yield self._identity_finding(rule, inst, left, right, blame)

    def _identity_finding(self, rule: RuleDef, inst: RuleInstance, left: float, right: float,
                          blame: loc.Blame | None) -> Finding:
        cells = [self.form.cells[c] for c in inst.cells()]
        target = self.form.cells[inst.target] if inst.target else None
        labels = dict(inst.labels)
        msg = render(rule.message, target=_where(target) if target else "", expected=right, actual=left,
                     diff=abs(left - right), left=left, right=right, **labels)
        suspects: list[CellDef] = [target] if target is not None else []
        suggested = None
        if blame is not None:
            suspects, suggested, more = self._blame_text(blame, target)
            msg += more
        if rule.type == "blank-total" and target is not None:
            suspects = [target]
            if blame is None:  # nothing located (a computed summary): the parts' sum is the total
                suggested = _num(right)
            elif not (blame.determined and target.id in blame.errors):
                suggested = None
        return self._finding(rule, msg, cells, suspects=suspects, expected=_num(right), actual=_num(left),
                             suggested=suggested, instance=f"{inst.rule.id}:{inst.key}")

    def _blame_text(self, blame: loc.Blame, target: CellDef | None) -> tuple[list[CellDef], float | None, str]:
        """Suspects, the suggested value (one determined suspect only) and the sentence
        added to the message: the certain fix, or every equally good explanation."""
        suspects = [self.form.cells[c] for c in blame.suspects]
        observed = {c: self.report.number(c) for c in blame.errors}
        fixes = loc.corrected(observed, blame)
        certain = "、".join(f"{_where(self.form.cells[c])}（现为 {format_number(observed[c])}，应为 "
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
            return suspects, None, text + f"{head}：{count}同样简单的解释，可能是 {described}{more}；请逐项核对"
        return suspects, None, text

    def _explanation(self, e: loc.Explanation) -> str:
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
        msg = render(inst.rule.message, left=left, right=right, **dict(inst.labels))
        suspects, suggested = cells, None
        if blame is not None:
            suspects, suggested, more = self._blame_text(blame, None)
            msg += more
        return self._finding(inst.rule, msg, cells, suspects=suspects, actual=left, expected=right,
                             suggested=suggested, instance=f"{inst.rule.id}:{inst.key}")

    # ------------------------------------------------------------------ outliers, narrative

    def outlier_rule(self, rule: RuleDef) -> Iterable[Finding]:
        if self.previous is None and not self.peers:
            return
        factor = float(rule.params["factor"])
        base = float(rule.params["min_base"])
        peer_mean = float(rule.params["peer_mean"])
        include = rule.params.get("include") or [{}]
        for cid, cell in self.form.cells.items():
            if cell.type == "signed" or not _included(cell, include):
                continue
            v = self.report.value(cid)
            if v.state not in ("number", "converted"):
                continue
            cur = float(v.arith)
            why = None
            if self.previous is not None and cid in self.previous.form.cells:
                pv = self.previous.value(cid)
                if pv.state in ("number", "converted"):
                    prev = float(pv.arith)
                    if prev >= base and (cur > factor * prev or cur * factor < prev):
                        why = f"上年为 {format_number(prev)}，变化超过 {format_number(factor)} 倍"
                    elif prev < base and cur >= base * factor:
                        why = f"上年仅为 {format_number(prev)}"
            if why is None and self.peers and cur == 0 and self.peers.get(cid, 0) > peer_mean:
                why = f"同类单位平均为 {format_number(round(self.peers[cid], 1))}"
            if why:
                yield self._finding(rule, render(rule.message, cell_label=_where(cell), actual=cur, why=why),
                                    [cell], suspects=[cell], actual=cur)

    def narrative_rule(self, rule: RuleDef) -> Iterable[Finding]:
        text = self.report.text
        if not text:
            return
        flat = re.sub(r"\s+", "", text)
        for pat in rule.params["patterns"]:
            m = re.search(pat["regex"], flat)
            if not m:
                continue
            said = int(m.group(1))
            cells = [self.form.cells[c] for c in pat["cells"] if c in self.form.cells]
            table = sum(self.report.number(c.id) for c in cells)
            if abs(table - said) > 1e-9:
                yield self._finding(rule, render(rule.message, what=pat["what"], narrative=said, table=table),
                                    cells, suspects=cells, expected=said, actual=table, instance=pat["what"])


def _num(x: float | None) -> float | int | None:
    """Integral results as int, so JSON and messages show 12, not 12.0."""
    if x is None:
        return None
    r = round(x, 6)
    return int(r) if float(r).is_integer() else r


def _compare(left: float, op: str, right: float) -> bool:
    return {">=": left >= right - 1e-9, "<=": left <= right + 1e-9, ">": left > right, "<": left < right}[op]


def _included(cell: CellDef, include: Iterable[Mapping[str, str]]) -> bool:
    return any(all(getattr(cell, k) == v for k, v in inc.items()) for inc in include)


def _where(cell: CellDef) -> str:
    """``表二 D9（（一）予以公开·自然人）``: sheet short name, address and label."""
    short = cell.sheet.split(" ")[0]
    return f"{short} {cell.ref}（{cell.label}）"


def _short(raw: object, limit: int = 40) -> str:
    s = str(raw)
    return s if len(s) <= limit else s[: limit - 1] + "…"
