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

from . import addresses as addr
from . import locate as loc
from .findings import Finding, fingerprint, sort_findings
from .forms import CellDef, Form, RuleDef, RuleInstance
from .report import Report
from .values import format_number

Peers = Mapping[str, float]  # cell id -> mean over peer agencies
_Broken = tuple[RuleInstance, float, float, "loc.Blame | None"]  # a failing identity: left, right, blame


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
        unchecked: dict[str, tuple[RuleDef, list[RuleInstance]]] = {}
        for rule in self.form.rules:
            if rule.type not in ("equal", "compare"):
                continue
            if rule.needs == "previous" and self.previous is None:
                continue
            for inst in rule.instances:
                if self._touches_unread(inst):
                    unchecked.setdefault(rule.id, (rule, []))[1].append(inst)
                    continue
                left, right = self._side(inst.left), self._side(inst.right)
                if left is None or right is None:
                    continue
                if rule.type == "compare":
                    failing = not _compare(left, rule.op or ">=", right)
                else:
                    failing = abs(left - right) > rule.tolerance
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
        return self._finding(rule, msg, cells, suspects=targets, instance=instance)

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
            said_already = rule.type == "blank-total" and (
                not blame.determined or set(blame.errors) == {inst.target})  # the message names the fix
            if not said_already:
                msg += more
        if rule.type == "blank-total" and target is not None:
            suspects = [target]
            if blame is None:  # nothing located (a computed summary): the parts' sum is the total
                suggested = _num(right)
            elif not (blame.determined and target.id in blame.errors):
                suggested = None
        return self._finding(rule, msg, cells, suspects=suspects, expected=_num(right), actual=_num(left),
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
        """Counts stated in the prose against the table.

        A pattern's ``cells`` sum is the usual reading; ``accept`` lists other sums the
        same wording is used for (a report "收到申请 75 件" may count the 74 new ones plus
        1 carried over, or the 办理结果 total). Only a count matching none is reported,
        once per pattern, and never when a cell it needs could not be read.
        """
        text = self.report.text
        if not text:
            return
        flat = _flatten_prose(text)
        for pat in rule.params["patterns"]:
            choices = [pat["cells"], *pat.get("accept", [])]
            sums = [self._narrative_sum(cells) for cells in choices]
            if sums[0] is None:
                continue
            for m in re.finditer(pat["regex"], flat):
                digits = m.group(1)
                if len(digits) > 9:  # not a count; also keeps int() within Python's limits
                    continue
                said = int(digits)
                if any(s is not None and abs(s - said) < 1e-9 for s in sums):
                    continue
                cells = [self.form.cells[c] for c in pat["cells"] if c in self.form.cells]
                also = "、".join(f"{what}为 {format_number(s)} 件" for what, s in
                                zip(pat.get("accept_what", []), sums[1:], strict=False) if s is not None)
                yield self._finding(rule, render(rule.message, what=pat["what"], narrative=said, table=sums[0],
                                                 also=f"（{also}）" if also else ""),
                                    cells, suspects=cells, expected=said, actual=sums[0], instance=pat["what"])
                break

    def _narrative_sum(self, cells: Iterable[str]) -> float | None:
        """The table's sum over ``cells``; None when one is missing or could not be read."""
        total = 0.0
        for c in cells:
            if c not in self.form.cells or self.report.value(c).state == "unread":
                return None
            total += self.report.number(c)
        return total


_HEADING = re.compile(r"^(?:[一二三四五六七八九十]+、|[（(][一二三四五六七八九十]+[）)])[^。；！？]{0,40}$")


def _flatten_prose(text: str) -> str:
    """Prose as one line for the narrative patterns. Line breaks go (PDF extraction wraps
    sentences anywhere), but a heading line ends like a sentence: otherwise the heading
    "三、收到和处理政府信息公开申请情况" runs into the next paragraph's "…17720 件"."""
    lines = (ln.strip() for ln in text.splitlines())
    return re.sub(r"\s+", "", "".join(ln + "。" if _HEADING.match(ln) else ln for ln in lines if ln))


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


def _group_where(cells: list[CellDef]) -> str:
    """``表二 J 列（总计）``, ``表二 第 30 行（（七）总计）`` or the listed cells."""
    short = cells[0].sheet.split(" ")[0]
    cols = {addr.split_ref(c.ref)[0] for c in cells}
    rows = {addr.split_ref(c.ref)[1] for c in cells}
    if len(cols) == 1 and len({c.col_short for c in cells}) == 1:
        return f"{short} {cells[0].ref.rstrip('0123456789')} 列（{cells[0].col_short}）"
    if len(rows) == 1 and len({c.row_short for c in cells}) == 1:
        return f"{short} 第 {rows.pop()} 行（{cells[0].row_short}）"
    return f"{short} 各{cells[0].col_short}（{'、'.join(c.ref for c in cells)}）"


def _short(raw: object, limit: int = 40) -> str:
    s = str(raw)
    return s if len(s) <= limit else s[: limit - 1] + "…"
