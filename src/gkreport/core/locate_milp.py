"""Minimum-weight change (Fellegi–Holt) as a mixed-integer program, solved exactly by HiGHS.

Given observed values ``o_i``, linear rows ``Σ a_i·x_i (=, ≥, ≤) b`` and a weight per
variable, find the corrected values ``x_i`` that satisfy every row while the total
weight of the *changed* variables is least. Each variable has a binary change
indicator ``z_i`` linked by big-M: ``|x_i − o_i| ≤ M·z_i``. A *group* (a line of the
form left entirely at 0 / blank) can be changed as a whole: its one-off indicator
``y_g`` costs ``weight`` and each member then changes for ``cell_weight`` through a
second indicator ``v_i ≤ Σ y_g``. So "the whole 四 row was left at 0" is one cheap
explanation rather than seven scattered ones.

After the optimum, other inclusion-minimal supports whose weight lies within
``margin`` of it are searched with no-good cuts (``Σ_{i∈S} z_i ≤ |S| − 1`` excludes S
and every superset of S) until the weight rises past the margin or ``max_alternatives``
is reached. For each support the corrected value of a variable is *determined* only
when the equality rows pin it (the null space of the rows restricted to the support
is zero on that variable); a free value is reported as ``None``, never guessed.

This module knows nothing about forms: :mod:`gkreport.core.locate` builds the problem.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

if "numpy" not in sys.modules:  # OpenBLAS' thread per core costs ~0.1 s CPU at import, unused by these
    for _var in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # small matrices (a user's setting stands)
        os.environ.setdefault(_var, "1")
import numpy as np

from . import highs_solve
from .locate_bounds import Budget
from .milp_rows import Rows, null_space

EPS_TIE = 1e-4  # per-variable tie-breaker (position-based), far below any weight difference
INT_TOL = 1e-6
PRESOLVE = False  # measured: HiGHS presolve costs more than it saves on these small models
HOLD_CUTS = True


@dataclass(frozen=True)
class Var:
    """One cell: what was observed, what values it may take, how likely it is wrong."""

    id: str
    observed: float
    integer: bool
    lower: float | None  # 0 for counts and amounts, None for signed values
    weight: float


@dataclass(frozen=True)
class Row:
    """``Σ coefs·x  op  rhs`` with ``op`` in ``==``, ``>=``, ``<=``."""

    coefs: Mapping[str, float]
    op: str
    rhs: float


@dataclass(frozen=True)
class Group:
    """Cells that may be changed together for one price (a line left at 0 / blank)."""

    cells: tuple[str, ...]
    weight: float
    cell_weight: float


@dataclass(frozen=True)
class Explanation:
    """One set of changes that makes every row hold. ``changes`` maps a variable to its
    corrected value, or to ``None`` when the rows leave that value free."""

    changes: Mapping[str, float | None]
    cost: float


@dataclass(frozen=True)
class Solution:
    explanations: tuple[Explanation, ...]  # the optimum first, then alternatives within the margin
    complete: bool  # False when the search stopped at max_alternatives or a bound, not at a rise in weight
    solves: int
    seconds: float
    stopped: str = ""  # why the search was cut short: a key of locate_bounds.STOPPED


def solve(variables: Sequence[Var], rows: Sequence[Row], groups: Sequence[Group] = (), *,
          margin: float = 0.5, max_alternatives: int = 5, shortcut: bool = True,
          nodes: int | None = None, budget: Budget | None = None) -> Solution | None:
    """Every inclusion-minimal explanation within ``margin`` of the least weight, best first.

    Returns ``None`` when no change can satisfy the rows (or the solver fails): the
    caller then falls back to naming every cell, rather than inventing an answer.
    ``shortcut`` allows the exact single-cell certificate (:meth:`_Problem.single`)
    to answer without HiGHS; the answer is the same, only faster. A problem whose least
    conceivable weight (:meth:`_Problem.least_cost`) exceeds ``budget.max_cost`` is not
    solved (``stopped="changes"``). ``nodes`` caps the branch-and-bound nodes of each
    solve and ``budget`` (spent here) those of all solves of a report: past either, the
    search stops as incomplete (``stopped="work"``) with what it found so far; the same
    report always stops at the same place. Past the budget's deadline it stops with
    nothing (``stopped="time"``).
    """
    budget = budget or Budget()
    started = time.perf_counter()
    problem = _Problem(variables, rows, groups)
    if shortcut and (one := problem.single(margin)) is not None:
        return Solution((one,), True, 0, time.perf_counter() - started)
    if budget.max_cost is not None and problem.least_cost() > budget.max_cost:
        return Solution((), False, 0, time.perf_counter() - started, "changes")
    found: list[Explanation] = []
    cuts: list[list[int]] = []
    best: float | None = None
    solves = 0
    complete = True

    def cut_short(why: str) -> Solution:
        kept = tuple(found) if why in ("work", "failed") else ()
        return Solution(kept, False, solves, time.perf_counter() - started, why)

    while True:
        if len(found) > max_alternatives:
            complete = False
            break
        limit, left = budget.node_limit(nodes), budget.seconds_left()
        if left is not None and left <= 0:
            return cut_short("time")
        if limit is not None and limit <= 0:
            return cut_short("work")
        solves += 1
        outcome, x, cost = problem.run(cuts, None if best is None else best + margin + 1e-6, limit, left)
        if budget.nodes is not None:
            budget.nodes -= max(problem.nodes, 1)
        if outcome == "failed" and best is None:
            return None  # as when nothing explains the rows: the caller names every cell
        if outcome in ("work", "time", "failed"):
            return cut_short(outcome)  # never "no further explanation" when that was not proven
        if x is None:  # no (further) explanation exists
            if best is None:
                return None
            break
        if best is None:
            best = cost
        elif cost > best + margin + 1e-9:
            break
        support = problem.support(x)
        if not support:  # nothing to change: the rows already hold
            found.append(Explanation({}, 0.0))
            break
        found.append(Explanation(problem.values(x, support), round(cost, 6)))
        cuts.append(support)
    if len(found) > max_alternatives + 1:
        found = found[: max_alternatives + 1]
    return Solution(tuple(found), complete, solves, time.perf_counter() - started)


class _Problem:
    """The matrices of the MILP, built once; cuts are added per solve."""

    def __init__(self, variables: Sequence[Var], rows: Sequence[Row], groups: Sequence[Group]) -> None:
        self.vars = list(variables)
        self.index = {v.id: i for i, v in enumerate(self.vars)}
        n = self.n = len(self.vars)
        self.observed = np.array([v.observed for v in self.vars], dtype=float)
        # Equality rows (for determinacy) and all rows (for feasibility), over x.
        self.a = np.zeros((len(rows), n))
        self.lb = np.empty(len(rows))
        self.ub = np.empty(len(rows))
        for k, r in enumerate(rows):
            for cid, a in r.coefs.items():
                self.a[k, self.index[cid]] += a
            self.lb[k] = r.rhs if r.op in ("==", ">=") else -np.inf
            self.ub[k] = r.rhs if r.op in ("==", "<=") else np.inf
        self.eq = np.array([r.op == "==" for r in rows], dtype=bool)
        # Big-M per cell: a correction never needs to move a cell further than twice the
        # largest value in sight plus every imbalance (a forgotten total is at most the sum
        # of its parts). A tight M is what makes the LP relaxation, and so HiGHS, fast.
        ao = self.a @ self.observed
        imbalance = float(np.sum(np.maximum(self.lb - ao, 0)[np.isfinite(self.lb)])
                          + np.sum(np.maximum(ao - self.ub, 0)[np.isfinite(self.ub)]))
        reach = 2.0 * max(float(np.abs(self.observed).max(initial=0)), max((abs(r.rhs) for r in rows), default=0))
        self.m_up = np.full(n, reach + imbalance + 10.0)
        self.m_down = np.array([min(v.observed - v.lower, reach + imbalance + 10.0) if v.lower is not None
                                else reach + imbalance + 10.0 for v in self.vars])
        # Group members get a second indicator v_i.
        self.members: list[int] = sorted({self.index[c] for g in groups for c in g.cells if c in self.index})
        self.member_pos = {i: k for k, i in enumerate(self.members)}
        self.groups = [[self.index[c] for c in g.cells if c in self.index] for g in groups]
        self.n_v = len(self.members)
        self.n_y = len(groups)
        self.violated = (ao < self.lb - 1e-6) | (ao > self.ub + 1e-6)
        self.holding = np.flatnonzero(~self.violated & self.eq) if HOLD_CUTS else np.zeros(0, dtype=int)
        self.n_s = len(self.holding)  # s_j = number of changed cells of holding equality j
        self.width = 2 * n + self.n_v + self.n_y + self.n_s
        tie = EPS_TIE * (np.arange(n) + 1) / max(n, 1)
        v_cost = np.zeros(self.n_v)
        for g, grp in zip(groups, self.groups, strict=True):
            for i in grp:
                v_cost[self.member_pos[i]] = min(v_cost[self.member_pos[i]] or g.cell_weight, g.cell_weight)
        self.c = np.concatenate([np.zeros(n), np.array([v.weight for v in self.vars]) + tie,
                                 v_cost + tie[self.members] if self.n_v else np.zeros(0),
                                 np.array([g.weight for g in groups]), np.zeros(self.n_s)])
        self._base: Rows | None = None  # built on the first solve (the shortcut needs none)
        self.nodes = 0  # branch-and-bound nodes of the last solve

    def single(self, margin: float) -> Explanation | None:
        """The one-cell explanation, when it provably is the only one within ``margin``.

        The most common report error is one mistyped cell; proving that with HiGHS costs
        two solves. Here: a cell ``c`` alone explains the imbalances when every violated
        row is off by a multiple of c's coefficient with one common factor and no other
        row contains c. Any other inclusion-minimal explanation avoids c and must still
        change a cell in every violated row, so it costs at least the sum, over violated
        rows with pairwise-disjoint cells (c removed), of each row's cheapest cell. When
        that bound exceeds c's weight plus the margin, c is the unique answer (the same
        one the MILP finds); otherwise the MILP decides.
        """
        bad = np.flatnonzero(self.violated)
        if bad.size == 0 or not self.eq[bad].all():
            return None
        ao = self.a @ self.observed
        residual = self.lb - ao  # the change each violated equality needs (Σ a·d = r)
        first = np.flatnonzero(self.a[bad[0]])
        hits = []
        for c in first.tolist():
            col = self.a[:, c]
            if np.any(col[bad] == 0) or np.any(col[~self.violated] != 0):
                continue
            ratios = residual[bad] / col[bad]
            if np.ptp(ratios) > 1e-9:
                continue
            x = self.observed[c] + ratios[0]
            v = self.vars[c]
            if (v.lower is not None and x < v.lower - 1e-9) or (v.integer and abs(x - round(x)) > 1e-9):
                continue
            hits.append((c, float(round(x)) if v.integer else float(x)))
        if len(hits) != 1:
            return None
        c, value = hits[0]
        rows = [set(np.flatnonzero(self.a[j]).tolist()) - {c} for j in bad]
        if not all(rows):
            return None  # c is the only cell of a violated row: still unique, but let HiGHS say so
        bound = self._packing(rows)
        own = self.c[self.n + c]  # alone, or as part of its empty line (the line's price included)
        for g, grp in enumerate(self.groups):
            if c in grp:
                own = min(own, self.c[2 * self.n + self.member_pos[c]] + self.c[2 * self.n + self.n_v + g])
        if bound <= own + margin + 1e-9:
            return None
        return Explanation({self.vars[c].id: value}, round(float(own), 6))

    def least_cost(self) -> float:
        """A lower bound on the weight of any explanation, known before solving: every
        violated row needs a changed cell, so rows with pairwise-disjoint cells need one
        each (a line's one-off price is left out: still a lower bound). Two greedy
        packings, the better one: dearest rows first, and shortest rows first (the most rows)."""
        rows = [set(np.flatnonzero(self.a[j]).tolist()) for j in np.flatnonzero(self.violated)]
        return max(self._packing(rows), self._packing(rows, shortest=True))

    def _packing(self, rows: Sequence[set[int]], shortest: bool = False) -> float:
        """Σ over greedily chosen pairwise-disjoint ``rows`` of each one's cheapest cell."""
        cheapest = self.c[self.n:2 * self.n].copy()  # z costs (tie-breaker included)
        for i, k in self.member_pos.items():
            cheapest[i] = min(cheapest[i], self.c[2 * self.n + k])
        taken: set[int] = set()
        bound = 0.0
        dearest = [-min((cheapest[i] for i in cs), default=np.inf) for cs in rows]
        order = sorted(range(len(rows)), key=lambda k: (len(rows[k]), dearest[k]) if shortest else dearest[k])
        for cells in (rows[k] for k in order):
            if cells and not cells & taken:
                taken |= cells
                bound += float(min(cheapest[i] for i in cells))
        return bound

    def _col_z(self, i: int) -> int:
        return self.n + i

    def _col_v(self, i: int) -> int:
        return 2 * self.n + self.member_pos[i]

    def _constraints(self) -> Rows:
        n = self.n
        out = Rows()
        rr, cc = np.nonzero(self.a)
        out.add_block(rr, cc, self.a[rr, cc], self.lb, self.ub)
        # |x_i − o_i| ≤ M·(z_i + v_i): row 2i bounds the rise, row 2i+1 the fall
        idx = np.arange(n)
        down = np.maximum(self.m_down, 1e-9)
        r = [2 * idx, 2 * idx, 2 * idx + 1, 2 * idx + 1]
        c = [idx, n + idx, idx, n + idx]
        v = [np.ones(n), -self.m_up, np.ones(n), down]
        if self.n_v:
            mem = np.array(self.members)
            r += [2 * mem, 2 * mem + 1]
            c += [2 * n + np.arange(self.n_v)] * 2
            v += [-self.m_up[mem], down[mem]]
        lb = np.empty(2 * n)
        ub = np.empty(2 * n)
        lb[0::2], ub[0::2] = -np.inf, self.observed
        lb[1::2], ub[1::2] = self.observed, np.inf
        out.add_block(np.concatenate(r), np.concatenate(c), np.concatenate(v), lb, ub)
        # z_i + v_i ≤ 1 and v_i ≤ Σ_{g ∋ i} y_g
        for k, i in enumerate(self.members):
            out.add([self._col_z(i), 2 * n + k], [1.0, 1.0], -np.inf, 1.0)
            ys = [2 * n + self.n_v + g for g, grp in enumerate(self.groups) if i in grp]
            out.add([2 * n + k, *ys], [1.0] + [-1.0] * len(ys), -np.inf, 0.0)
        # A row the observed values violate needs a change in one of its cells: Σ z + v ≥ 1.
        # Redundant for the integer problem, but it lifts the LP bound from "spread M-thin
        # changes everywhere" to a set cover, which is what lets HiGHS prove optimality fast.
        for j in np.flatnonzero(self.violated):
            cols = self._indicators(np.flatnonzero(self.a[j]))
            out.add(cols, np.ones(len(cols)), 1.0, np.inf)
        # An equality that holds cannot absorb a change in just one of its cells: with
        # s_j = Σ_{k∈j} z_k, each cell i of it has 2·z_i ≤ s_j. Also redundant, and it turns
        # a shifted row from seconds into tens of milliseconds.
        first_s = 2 * n + self.n_v + self.n_y
        for k, j in enumerate(self.holding):
            cells = np.flatnonzero(self.a[j])
            cols = self._indicators(cells)
            out.add([*cols, first_s + k], [1.0] * len(cols) + [-1.0], 0.0, 0.0)
            for cell in cells.tolist():
                mine = self._indicators([cell])
                out.add([*mine, first_s + k], [2.0] * len(mine) + [-1.0], -np.inf, 0.0)
        return out

    def _indicators(self, cells: Sequence[int] | np.ndarray) -> list[int]:
        """The change indicators (z and, for group members, v) of ``cells``."""
        cols = [self._col_z(i) for i in cells]
        cols += [self._col_v(i) for i in cells if i in self.member_pos]
        return cols

    def run(self, cuts: Sequence[Sequence[int]], cutoff: float | None = None, nodes: int | None = None,
            seconds: float | None = None) -> tuple[str, np.ndarray | None, float]:
        """One solve: ``("ok", x, cost)``, ``("none", None, 0)`` when nothing (more) satisfies
        the rows (proven), ``("work", …)`` at the node limit, ``("time", …)`` at the time guard,
        ``("failed", …)`` when HiGHS gave no verdict.
        With ``cutoff`` only explanations costing at most that are wanted, which HiGHS
        proves absent far faster than it finds the true second best."""
        n, w = self.n, self.width
        if self._base is None:
            self._base = self._constraints()
        rows = self._base.copy()
        if cutoff is not None:
            nz = np.flatnonzero(self.c)
            rows.add(nz, self.c[nz], -np.inf, cutoff)
        for support in cuts:
            cols = self._indicators(support)
            rows.add(cols, np.ones(len(cols)), -np.inf, len(support) - 1)
        a, lb, ub = rows.build(w)
        lower = np.zeros(w)
        upper = np.ones(w)
        lower[:n] = self.observed - self.m_down
        upper[:n] = self.observed + self.m_up
        upper[w - self.n_s:] = np.inf
        integrality = np.ones(w, dtype=np.int_)
        integrality[:n] = [1 if v.integer else 0 for v in self.vars]
        integrality[w - self.n_s:] = 0
        res = highs_solve.solve(self.c, a, lb, ub, lower, upper, integrality, rel_gap=1e-9, presolve=PRESOLVE,
                                node_limit=nodes,
                                # the guard is the only clock HiGHS is given
                                time_limit=None if seconds is None else max(seconds, 1e-3))
        self.nodes = res.nodes  # 0 when the solve holds no solution (see highs_solve)
        if res.status == "time":  # HiGHS' time limit: only ever the guard
            return "time", None, 0.0
        if res.status == "nodes" or (res.status != "optimal" and nodes is not None and self.nodes >= nodes):
            return "work", None, 0.0  # the node limit, with or without a solution: more may exist
        if res.status == "failed":  # HiGHS gave no verdict: that nothing more exists is not known
            return "failed", None, 0.0
        if res.status != "optimal" or res.x is None:  # proven infeasible: nothing (more) explains the rows
            return "none", None, 0.0
        x = res.x[:n].copy()
        for i, v in enumerate(self.vars):
            if v.integer:
                x[i] = round(x[i])
        if not self._holds(x):
            return "none", None, 0.0
        return "ok", x, float(res.fun)

    def _holds(self, x: np.ndarray) -> bool:
        ax = self.a @ x
        tol = 1e-6 * (1 + np.abs(self.lb[np.isfinite(self.lb)]).max(initial=0))
        return bool(np.all(ax >= self.lb - tol) and np.all(ax <= self.ub + tol))

    def support(self, x: np.ndarray) -> list[int]:
        return [i for i in range(self.n) if abs(x[i] - self.observed[i]) > (0.5 if self.vars[i].integer else INT_TOL)]

    def values(self, x: np.ndarray, support: list[int]) -> dict[str, float | None]:
        """Corrected value of each changed variable, ``None`` where the rows leave it free."""
        sub = self.a[np.ix_(self.eq, np.asarray(support, dtype=np.intp))] if self.eq.any() else np.zeros((0, len(support)))
        free = np.ones(len(support), dtype=bool)
        if sub.shape[0]:
            basis = null_space(sub)
            free = np.abs(basis).max(axis=1, initial=0) > 1e-9 if basis.size else np.zeros(len(support), dtype=bool)
        out: dict[str, float | None] = {}
        for k, i in enumerate(support):
            v = self.vars[i]
            out[v.id] = None if free[k] else (float(round(x[i])) if v.integer else float(x[i]))
        return out
