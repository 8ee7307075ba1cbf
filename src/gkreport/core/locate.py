"""Which cells are wrong: the smallest-weight set of changes that makes every identity hold.

This is the Fellegi–Holt error-localisation problem (as in R's ``errorlocate``), built
generically from the form's expanded ``equal``/``compare`` rules: each rule instance
``left − right (=, ≥, ≤) 0`` becomes one linear row over this report's cells (last
year's terms are constants). Cells sharing no row are independent, so the rows split
into connected components (表二, each 表三 group, …) and only components with a
failing row are solved, by :mod:`gkreport.core.locate_milp`. A correct report never
reaches the solver.

Weights are data (the ``locate`` section of ``rules/form-*.json``, documented in
``docs/localisation.md``): a total cell is a little more likely wrong than a leaf; a
0 / blank total beside non-zero parts is very likely the wrong one; a whole line of
the table left at 0 / blank is one explanation, not many. Explanations whose weight
lies within ``tie_margin`` of the best are *equally good*: then nothing they disagree
on is presented as certain, and the alternatives are listed. A changed cell whose
value the identities do not pin down gets no suggested value.

Which rule failed is kept apart from which cell is to blame: the result is one
:class:`Blame` per failing identity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .forms import CellDef, Form, RuleInstance
from .locate_bounds import Bounds
from .values import Value

if TYPE_CHECKING:  # the solver's module imports numpy and highspy: only a failing identity needs them
    from .locate_milp import Explanation, Group, Row, Solution, Var

_WEIGHT_DEFAULTS = {"input": 1.0, "total": 0.9, "empty_total": 0.2, "unreadable": 0.5,
                    "empty_line": 0.6, "empty_line_cell": 0.1}


@dataclass(frozen=True)
class Config:
    """The ``locate`` section of a form definition, with defaults."""

    weights: Mapping[str, float]
    tie_margin: float = 0.5
    max_alternatives: int = 5
    exclude_rules: frozenset[str] = frozenset()
    # Work per report, counted, never timed (a bound by the clock would give a busy machine
    # other findings than an idle one); see gkreport.locate_bounds.
    bounds: Bounds = field(default_factory=Bounds)

    @classmethod
    def of(cls, form: Form) -> Config:
        raw = form.locate or {}
        return cls(weights={**_WEIGHT_DEFAULTS, **raw.get("weights", {})},
                   tie_margin=float(raw.get("tie_margin", 0.5)),
                   max_alternatives=int(raw.get("max_alternatives", 5)),
                   exclude_rules=frozenset(raw.get("exclude_rules", ())))


@dataclass(frozen=True)
class Evaluated:
    """One evaluated identity: ``diff`` is left − right (last year's terms included)."""

    inst: RuleInstance
    diff: float
    failing: bool


@dataclass(frozen=True)
class Blame:
    """The verdict for one failing identity.

    ``errors`` holds the cells that are wrong in every equally good explanation and
    whose corrected value is determined (error = observed − corrected). ``determined``
    means those cells alone explain this identity. Otherwise ``alternatives`` lists the
    equally good explanations (whole component), best first, and ``complete`` says
    whether the list is exhaustive.
    """

    suspects: tuple[str, ...]  # cell ids
    errors: Mapping[str, float]
    determined: bool
    alternatives: tuple[Explanation, ...] = ()
    complete: bool = True
    stopped: str = ""  # why nothing was found, for the clerk (a bound was reached), else ""



def coefficients(inst: RuleInstance) -> dict[str, float]:
    """Signed coefficient of each (this-report) cell in ``left − right``."""
    out: dict[str, float] = {}
    for side, sign in ((inst.left, 1), (inst.right, -1)):
        for t in side:
            if not t.prev:
                out[t.cell] = out.get(t.cell, 0) + sign * t.coef
    return {k: v for k, v in out.items() if v != 0}


def locate(evaluated: Sequence[Evaluated], form: Form, values: Mapping[str, Value],
           config: Config | None = None) -> dict[int, Blame]:
    """Blame for each failing identity that takes part in localisation; keys are
    indexes into ``evaluated``. Empty (and no solver call) when nothing fails."""
    cfg = config or Config.of(form)
    used = [i for i, ev in enumerate(evaluated)
            if ev.inst.rule.id not in cfg.exclude_rules and coefficients(ev.inst)]
    if not any(evaluated[i].failing for i in used):
        return {}  # the usual case: nothing to blame, no work (consolidation checks 1000s)
    observed = {c: float(values[c].arith) if c in values else 0.0 for c in form.cells}
    rows = {i: _row(evaluated[i], observed) for i in used}
    order = {c: k for k, c in enumerate(form.cells)}
    out: dict[int, Blame] = {}
    from gkreport.core import locate_milp  # noqa: F401  (numpy and highspy, ~0.15 s and more on a busy machine: not the guard's time)

    budget = cfg.bounds.budget()
    for component in _components(rows):
        if not any(evaluated[i].failing for i in component):
            continue
        cells = sorted({c for i in component for c in rows[i].coefs}, key=order.__getitem__)
        sol = None
        if not (why := cfg.bounds.too_big(len(cells), len(component))):
            sol = solve(_variables(cells, component, evaluated, form, values, observed, cfg),
                        [rows[i] for i in component], _groups(cells, form, observed, cfg),
                        margin=cfg.tie_margin, max_alternatives=cfg.max_alternatives, nodes=cfg.bounds.nodes,
                        budget=budget)
            why = cfg.bounds.why(sol.stopped) if sol else ""
        for i in component:
            if evaluated[i].failing:
                out[i] = _blame(rows[i], sol, observed, why)
    return out


def solve(*args: Any, **kwargs: Any) -> Solution | None:
    """:func:`gkreport.core.locate_milp.solve`, imported when a report first has an identity to
    explain: checking a correct report never imports numpy and highspy (~0.15 s at start)."""
    from .locate_milp import solve as milp_solve

    return milp_solve(*args, **kwargs)


def corrected(observed: Mapping[str, float], blame: Blame) -> dict[str, float]:
    """Suggested value of each determined suspect: observed − error."""
    return {c: observed[c] - e for c, e in blame.errors.items()}


# ---------------------------------------------------------------------------------- building


def _row(ev: Evaluated, observed: Mapping[str, float]) -> Row:
    """``Σ a·x  op  rhs`` for one identity; last year's terms are folded into ``rhs``."""
    from .locate_milp import Row

    coefs = coefficients(ev.inst)
    const = ev.diff - sum(a * observed[c] for c, a in coefs.items())  # the prev: terms
    rule = ev.inst.rule
    if rule.type == "equal":
        return Row(coefs, "==", -const)
    op = rule.op or ">="
    strict = 1.0 if op in (">", "<") else 0.0  # every cell in a strict rule is a count: ≥ 1 apart
    if op in (">=", ">"):
        return Row(coefs, ">=", -const + strict)
    return Row(coefs, "<=", -const - strict)


def _components(rows: Mapping[int, Row]) -> list[list[int]]:
    """Identities grouped by shared cells (union-find over cells)."""
    parent: dict[str, str] = {}

    def find(c: str) -> str:
        while parent.setdefault(c, c) != c:
            parent[c] = parent[parent[c]]
            c = parent[c]
        return c

    for row in rows.values():
        first, *rest = row.coefs
        for c in rest:
            parent[find(c)] = find(first)
    groups: dict[str, list[int]] = {}
    for i, row in rows.items():
        groups.setdefault(find(next(iter(row.coefs))), []).append(i)
    return list(groups.values())


def _variables(cells: Sequence[str], component: Sequence[int], evaluated: Sequence[Evaluated], form: Form,
               values: Mapping[str, Value], observed: Mapping[str, float], cfg: Config) -> list[Var]:
    from .locate_milp import Var

    w = cfg.weights
    empty_totals = set()
    for i in component:
        inst = evaluated[i].inst
        target = inst.target
        if target and observed[target] == 0 and any(observed[t.cell] != 0 for t in inst.right if not t.prev):
            empty_totals.add(target)
    out = []
    for c in cells:
        cell = form.cells[c]
        weight = w["total"] if cell.kind == "total" else w["input"]
        v = values.get(c)
        if v is not None and v.state in ("invalid", "unreadable"):
            weight = min(weight, w["unreadable"])
        if c in empty_totals:
            weight = min(weight, w["empty_total"])
        out.append(Var(c, observed[c], integer=cell.type != "amount",
                       lower=None if cell.type == "signed" else 0.0, weight=weight))
    return out


def _groups(cells: Sequence[str], form: Form, observed: Mapping[str, float], cfg: Config) -> list[Group]:
    """Total lines (a row or column of one table made only of total cells, such as
    表二's （七）总计 row or 总计 column) left entirely at 0 / blank: a clerk who skips
    the totals skips the whole line. Other all-zero lines are ordinary (most of
    表二's rows are 0), so they get no discount."""
    from .locate_milp import Group

    lines: dict[tuple[str, str, str], list[CellDef]] = {}
    for cell in form.cells.values():
        lines.setdefault((cell.table, "row", cell.row_key), []).append(cell)
        lines.setdefault((cell.table, "col", cell.col_key), []).append(cell)
    here = set(cells)
    out = []
    for members in lines.values():
        inside = tuple(c.id for c in members if c.id in here)
        if (len(members) >= 2 and len(inside) >= 2 and all(c.kind == "total" for c in members)
                and all(observed[c.id] == 0 for c in members)):
            out.append(Group(inside, cfg.weights["empty_line"], cfg.weights["empty_line_cell"]))
    return out


# ---------------------------------------------------------------------------------- verdicts


def _blame(row: Row, sol: Solution | None, observed: Mapping[str, float], stopped: str = "") -> Blame:
    """The verdict for one identity; ``stopped`` is the sentence saying which bound cut the
    search short, kept only when nothing was found (found alternatives say it themselves)."""
    mine = list(row.coefs)
    if sol is None or not sol.explanations:
        return Blame(tuple(mine), {}, False, stopped=stopped)
    expl = sol.explanations
    certain = _certain(sol)
    per = [{c: e.changes[c] for c in mine if c in e.changes} for e in expl]
    errors = {c: observed[c] - v for c, v in certain.items() if c in row.coefs}
    same = all(p == per[0] for p in per)
    if same and per[0] and all(c in errors for c in per[0]):
        return Blame(tuple(per[0]), errors, True)
    suspects = tuple(dict.fromkeys(c for p in per for c in p)) or tuple(mine)
    return Blame(suspects, errors, False, alternatives=expl, complete=sol.complete)


def _certain(sol: Solution) -> dict[str, float]:
    """Cells changed, to one determined value, in every equally good explanation
    (only when the search for explanations was exhaustive)."""
    if not sol.complete:
        return {}
    first, *rest = sol.explanations
    out = {}
    for c, v in first.changes.items():
        if v is not None and all(e.changes.get(c, None) == v for e in rest):
            out[c] = v
    return out
