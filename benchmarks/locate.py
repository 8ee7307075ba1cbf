"""Benchmark error localisation against an independent brute-force answer.

``python benchmarks/locate.py [--cases 60] [--seed 1] [--forms 2019 2021] [--kinds …] [--weight KEY=VALUE] [--show]``

For each form, consistent random fillings (``make_agencies.agency_values``) get planted
errors of six kinds: k = 1, 2, 3 random wrong cells (表二/表三), a （七）总计 row left at
0, a stray value typed into one result cell and into （七） of an otherwise empty column,
a row shifted one applicant column to the right, and a 表三 group total left at 0 or blank
(``t3-total-0``). ``--weight empty_total=0.9`` shows what a weight buys. Each case is then

- checked by gkreport (``engine.check``; the claims are the determined suspects of
  ``locate``: cell and corrected value), and
- solved INDEPENDENTLY by enumeration: supports are grown cell by cell from the
  identities that fail (every failing identity needs a changed cell, a holding identity
  never has exactly one), pruned by weight, and each candidate is tested for
  feasibility by exact linear algebra (rank of the identities restricted to the
  support; non-negativity of determined values; an LP only for free values). The
  weights are recomputed here from the form's ``locate`` section, not taken from
  ``locate.py``. The reference answer is every inclusion-minimal support within the
  tie margin of the least weight.

Printed per kind: the exact-localisation rate on cases whose reference answer is unique
(one support, every value determined), the claims the reference does not support
("wrong claims"), ambiguous cases where a claim was presented as certain
("overconfident"), claims contradicting the planted truth (only possible where the data
admit a cheaper explanation than the truth), and the solve time per failing report.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.optimize import linprog

from gkreport.core import engine, locate_milp
from gkreport.core import locate as loc
from gkreport.core.forms import Form, load_form
from gkreport.core.report import report_from_raw
from gkreport.core.rule_types import compare_holds

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_agencies import agency_values

MAX_NODES = 200_000  # beyond this the enumeration gives up and the case is counted as "too hard"


class TooHard(Exception):
    """The independent enumeration exceeded MAX_NODES."""


KINDS = ("k=1", "k=2", "k=3", "total-row-0", "stray-pair", "shifted-row", "t3-total-0")


# ---------------------------------------------------------------------------------- planting


def _count(v: object) -> int:
    return int(v or 0)


def plant(kind: str, form: Form, values: dict, rng: random.Random) -> dict[str, float] | None:
    """Change ``values`` in place; return the truth {cell: original value}, or None
    when this filling cannot host the kind of error."""
    s = form.sets
    cells = [c for c in form.cells if c.startswith(("t2.", "t3."))]
    truth: dict[str, float] = {}
    if kind.startswith("k="):
        for cid in rng.sample(cells, int(kind[2:])):
            old = _count(values[cid])
            new = old
            while new == old or new < 0:
                new = old + rng.choice([-10, -5, -2, -1, 1, 1, 2, 3, 5, 10, 17])
            truth[cid] = old
            values[cid] = new
    elif kind == "total-row-0":
        for c in s["t2_columns"]:
            cid = f"t2.total.{c}"
            if _count(values[cid]):
                truth[cid] = _count(values[cid])
                values[cid] = 0
    elif kind == "stray-pair":
        empty = [c for c in s["t2_applicants"]
                 if all(_count(values[f"t2.{r}.{c}"]) == 0 for r in s["t2_rows"])]
        if not empty:
            return None
        c = rng.choice(empty)
        r = rng.choice(list(s["t2_results"]))
        for cid in (f"t2.{r}.{c}", f"t2.total.{c}"):
            truth[cid] = 0
            values[cid] = 1
    elif kind == "shifted-row":
        apps = list(s["t2_applicants"])
        rows = [r for r in s["t2_rows"] if sum(_count(values[f"t2.{r}.{a}"]) for a in apps) > 0]
        if not rows:
            return None
        r = rng.choice(rows)
        old = [_count(values[f"t2.{r}.{a}"]) for a in apps]
        new = [0, *old[:-1]]
        for a, o, n in zip(apps, old, new, strict=True):
            if o != n:
                truth[f"t2.{r}.{a}"] = o
                values[f"t2.{r}.{a}"] = n
    elif kind == "t3-total-0":
        groups = [g for g in s["t3_groups"] if _count(values[f"t3.{g}.total"])]
        if not groups:
            return None
        cid = f"t3.{rng.choice(groups)}.total"
        truth[cid] = _count(values[cid])
        values[cid] = rng.choice([0, None])
    return {k: float(v) for k, v in truth.items()} or None


# ---------------------------------------------------------------------------------- reference


@dataclass
class System:
    """The form's equality identities as a dense matrix over the identity cells."""

    cells: list[str]
    a: np.ndarray
    b: np.ndarray
    rows_of: dict[int, list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, form: Form) -> System:
        skip = set(form.locate.get("exclude_rules", ()))
        insts = [i for r in form.rules if r.type == "equal" and r.id not in skip and r.needs != "previous"
                 for i in r.instances]
        cells = sorted({t.cell for i in insts for t in i.terms}, key=list(form.cells).index)
        idx = {c: k for k, c in enumerate(cells)}
        a = np.zeros((len(insts), len(cells)))
        for j, inst in enumerate(insts):
            for t in inst.left:
                a[j, idx[t.cell]] += t.coef
            for t in inst.right:
                a[j, idx[t.cell]] -= t.coef
        rows_of: dict[int, list[int]] = {}
        for j in range(len(insts)):
            for i in np.flatnonzero(a[j]):
                rows_of.setdefault(int(i), []).append(j)
        return cls(cells, a, np.zeros(len(insts)), rows_of)


def weights(form: Form, observed: Mapping[str, float], system: System) -> tuple[dict[str, float], list[tuple[set[str], float, float]]]:
    """Per-cell weights and empty total lines, recomputed from the rules' locate section."""
    w = form.locate["weights"]
    out = {}
    empty_total = set()
    skip = set(form.locate.get("exclude_rules", ()))
    for r in form.rules:
        if r.type == "equal" and r.total_left and r.id not in skip and r.needs != "previous":
            for inst in r.instances:
                tgt = inst.left[0].cell
                if observed[tgt] == 0 and any(observed[t.cell] for t in inst.right if not t.prev):
                    empty_total.add(tgt)
    for c in system.cells:
        cell = form.cells[c]
        x = w["total"] if cell.kind == "total" else w["input"]
        if c in empty_total:
            x = min(x, w["empty_total"])
        out[c] = x
    lines = []
    for key in ("row_key", "col_key"):
        by: dict[tuple[str, str], list[str]] = {}
        for cell in form.cells.values():
            by.setdefault((cell.table, getattr(cell, key)), []).append(cell.id)
        for members in by.values():
            if len(members) >= 2 and all(form.cells[m].kind == "total" for m in members) \
                    and all(observed[m] == 0 for m in members):
                lines.append((set(members), w["empty_line"], w["empty_line_cell"]))
    return out, lines


def cost(support: Sequence[str], w: Mapping[str, float], lines: Sequence[tuple[set[str], float, float]]) -> float:
    best = float("inf")
    for k in range(len(lines) + 1):
        for active in itertools.combinations(lines, k):
            total = sum(g for _, g, _ in active)
            for c in support:
                inside = [cw for members, _, cw in active if c in members]
                total += min([w[c], *inside])
            best = min(best, total)
    return best


def feasible(system: System, observed: np.ndarray, support: Sequence[int]) -> dict[int, float | None] | None:
    """Corrected values of ``support`` (None = free) making every identity hold, or None."""
    r = system.b - system.a @ observed
    sub = system.a[:, support]
    rank = np.linalg.matrix_rank(sub)
    if rank != np.linalg.matrix_rank(np.column_stack([sub, r])):
        return None
    d, *_ = np.linalg.lstsq(sub, r, rcond=None)
    free = rank < len(support)
    values: dict[int, float | None] = {}
    if free:
        _, _, vt = np.linalg.svd(sub)
        null = vt[rank:].T
        for k, i in enumerate(support):
            values[i] = None if np.abs(null[k]).max() > 1e-9 else round(observed[i] + d[k])
        # free values: is there a non-negative choice with every value changed? (LP)
        res = linprog(np.zeros(len(support)), A_eq=sub, b_eq=r,
                      bounds=[(-observed[i], None) for i in support], method="highs")
        if res.status != 0:
            return None
    else:
        for k, i in enumerate(support):
            x = observed[i] + d[k]
            if abs(x - round(x)) > 1e-6 or x < -1e-6:
                return None
            values[i] = round(x)
    if any(v is not None and v == observed[i] for i, v in values.items()):
        return None  # not a support: a cell that does not change
    return values


def reference(form: Form, system: System, obs: Mapping[str, float], margin: float,
              bound: float) -> list[tuple[float, dict[str, float | None]]]:
    """Every inclusion-minimal feasible support with weight ≤ best + margin (≤ bound)."""
    observed = np.array([obs[c] for c in system.cells])
    r = system.b - system.a @ observed
    failing = {j for j in range(len(r)) if abs(r[j]) > 1e-9}
    w, lines = weights(form, obs, system)
    names = system.cells
    found: dict[frozenset[int], tuple[float, dict[int, float | None]]] = {}
    seen: set[frozenset[int]] = set()
    limit = [bound]
    cheapest = {i: min([w[c], *(cw for members, _, cw in lines if c in members)]) for i, c in enumerate(names)}
    row_cells = [set(np.flatnonzero(system.a[j]).tolist()) for j in range(len(r))]

    def lower_bound(support: list[int], needy: list[int]) -> float:
        """Identities that still need a cell outside the support (uncovered failing ones,
        holding ones with a lone change): pairwise-disjoint ones each add their cheapest."""
        used: set[int] = set(support)
        total = 0.0
        rest = [(row_cells[j] - used, j) for j in needy]
        for cells, _ in sorted(rest, key=lambda t: -min((cheapest[i] for i in t[0]), default=0)):
            if cells and not cells & used:
                used |= cells
                total += min(cheapest[i] for i in cells)
        return total

    def consistent(support: list[int], rows: list[int]) -> bool:
        sub = system.a[np.ix_(rows, support)]
        return bool(np.linalg.matrix_rank(sub) == np.linalg.matrix_rank(np.column_stack([sub, r[rows]])))

    def inconsistent(support: list[int], rows: list[int]) -> list[int]:
        """Deletion filter: drop every identity whose absence keeps the rest inconsistent."""
        keep = list(rows)
        for j in list(rows):
            trial = [k for k in keep if k != j]
            if trial and not consistent(support, trial):
                keep = trial
        return keep

    def grow(support: list[int]) -> None:
        key = frozenset(support)
        if key in seen or any(k <= key for k in found):
            return
        if len(seen) > MAX_NODES:
            raise TooHard
        seen.add(key)
        c = cost([names[i] for i in support], w, lines)
        count: dict[int, int] = {}
        for i in support:
            for j in system.rows_of.get(i, ()):
                count[j] = count.get(j, 0) + 1
        uncovered = [j for j in failing if count.get(j, 0) == 0]
        lonely = [j for j, n in count.items() if n == 1 and j not in failing]
        if c + lower_bound(support, uncovered + lonely) > limit[0] + 1e-9:
            return
        need = uncovered or lonely
        if need:
            choices = row_cells[need[0]]
        else:
            values = feasible(system, observed, support)
            if values is not None:
                found[key] = (c, values)
                limit[0] = min(limit[0], c + margin)
                return
            # the counts allow it but the values do not: a minimal inconsistent set of
            # identities; any feasible superset changes a cell on one of them
            choices = {i for j in inconsistent(support, list(count)) for i in row_cells[j]}
        for i in sorted(choices - key):
            grow(sorted([*support, i]))

    grow([])
    best = min((c for c, _ in found.values()), default=float("inf"))
    minimal = [(c, {names[i]: v for i, v in vals.items()}) for key, (c, vals) in found.items()
               if c <= best + margin + 1e-9 and not any(k < key for k in found)]
    return sorted(minimal, key=lambda t: t[0])


# ---------------------------------------------------------------------------------- gkreport


def claims(form: Form, values: Mapping[str, object]) -> tuple[dict[str, float], float, int]:
    """What gkreport presents as certain ({cell: corrected value}), seconds, solver calls."""
    report = report_from_raw(form, values, {"hdr.agency": "测试", "hdr.year": 2023})
    calls = [0]
    solve = locate_milp.solve

    def counted(*a, **k):
        calls[0] += 1
        return solve(*a, **k)

    loc.solve = counted
    try:
        t = time.process_time()  # CPU time: the machine is shared, wall time measures the neighbours
        findings = engine.check(report)
        seconds = time.process_time() - t
    finally:
        loc.solve = solve
    ctx = engine.Context(report, None)
    evaluated = []
    for rule in form.rules:
        if rule.type in ("equal", "compare") and rule.needs != "previous":
            for inst in rule.instances:
                left, right = ctx._side(inst.left), ctx._side(inst.right)
                failing = (not compare_holds(left, rule.op or ">=", right) if rule.type == "compare"
                           else abs(left - right) > rule.tolerance)
                evaluated.append(loc.Evaluated(inst, left - right, failing))
    blames = loc.locate(evaluated, form, report.values)
    out: dict[str, float] = {}
    for b in blames.values():
        for c, e in b.errors.items():
            out[c] = report.number(c) - e
    # The JSON agrees: a finding with one determined suspect carries its suggested value.
    for f in findings:
        if f.suggested is not None and f.rule.startswith(("T2", "T3")) and len(f.suspect_ids) == 1:
            assert out.get(f.suspect_ids[0]) == f.suggested, (f.suspect_ids, f.suggested, out)
    return out, seconds, calls[0]


# ---------------------------------------------------------------------------------- main


@dataclass
class Tally:
    cases: int = 0
    unique: int = 0
    exact: int = 0
    ambiguous: int = 0
    overconfident: int = 0
    wrong_claims: int = 0
    vs_truth: int = 0
    truth_is_answer: int = 0
    too_hard: int = 0
    seconds: list[float] = field(default_factory=list)


def run(version: str, n: int, seed: int, kinds: Sequence[str] = KINDS, show: bool = False) -> dict[str, Tally]:
    form = load_form(version)
    system = System.of(form)
    margin = float(form.locate.get("tie_margin", 0.5))
    tallies = {k: Tally() for k in kinds}
    clean_calls = 0
    for kind in kinds:
        t = tallies[kind]
        rng = random.Random(f"{seed}-{version}-{kind}")  # each kind reproducible on its own
        while t.cases < n:
            values = agency_values(form, rng)
            if t.cases == 0 and kind == kinds[0]:
                clean_calls += claims(form, values)[2]
            truth = plant(kind, form, values, rng)
            if truth is None:
                continue
            obs = {c: float(values.get(c) or 0) for c in form.cells}
            w, lines = weights(form, obs, system)
            bound = cost(list(truth), w, lines) + margin
            try:
                ref = reference(form, system, obs, margin, bound)
            except TooHard:
                t.too_hard += 1
                continue
            got, seconds, _ = claims(form, values)
            t.cases += 1
            t.seconds.append(seconds)
            certain = _certain(ref)
            unique = len(ref) == 1 and all(v is not None for v in ref[0][1].values())
            t.unique += unique
            t.ambiguous += len(ref) > 1
            if unique:
                t.exact += got == certain
            t.truth_is_answer += unique and certain == truth
            wrong = {c for c, v in got.items() if certain.get(c) != v}
            t.wrong_claims += len(wrong)
            t.overconfident += len(ref) > 1 and bool(wrong)
            t.vs_truth += len({c for c, v in got.items() if truth.get(c, obs[c]) != v})
            off_truth = {c: v for c, v in got.items() if truth.get(c, obs[c]) != v}
            if show and (wrong or off_truth):
                print(f"[{version} {kind}] {'WRONG' if wrong else 'truth not minimal'} truth={truth} claims={got} "
                      f"reference={ref} values={values}", file=sys.stderr)
    assert clean_calls == 0, "a consistent report called the solver"
    return tallies


def _certain(ref: Sequence[tuple[float, Mapping[str, float | None]]]) -> dict[str, float]:
    if not ref:
        return {}
    first = ref[0][1]
    return {c: v for c, v in first.items() if v is not None and all(r[1].get(c) == v for r in ref[1:])}


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cases", type=int, default=60, help="cases per kind of error and form")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--forms", nargs="+", default=["2019", "2021"])
    ap.add_argument("--kinds", nargs="+", default=list(KINDS), choices=KINDS)
    ap.add_argument("--show", action="store_true", help="print every case with a wrong claim (stderr)")
    ap.add_argument("--weight", action="append", default=[], metavar="KEY=VALUE",
                    help="override a weight of the locate section (both for gkreport and the reference)")
    args = ap.parse_args(argv)
    for spec in args.weight:
        key, _, value = spec.partition("=")
        for version in args.forms:
            load_form(version).locate["weights"][key] = float(value)
    header = ("| form | planted | cases | unique answer | exact | wrong claims | ambiguous | overconfident "
              "| claims ≠ truth | check() CPU s median / max | enumeration gave up |")
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    totals = Tally()
    for version in args.forms:
        for kind, t in run(version, args.cases, args.seed, args.kinds, args.show).items():
            rate = f"{t.exact}/{t.unique} ({100 * t.exact / t.unique:.1f} %)" if t.unique else "–"
            print(f"| {version} | {kind} | {t.cases} | {t.unique} | {rate} | {t.wrong_claims} | {t.ambiguous} "
                  f"| {t.overconfident} | {t.vs_truth} | {statistics.median(t.seconds):.3f} / {max(t.seconds):.3f} "
                  f"| {t.too_hard} |")
            for f in ("cases", "unique", "exact", "ambiguous", "overconfident", "wrong_claims", "vs_truth", "too_hard"):
                setattr(totals, f, getattr(totals, f) + getattr(t, f))
            totals.seconds += t.seconds
    rate = 100 * totals.exact / totals.unique if totals.unique else 0.0
    print(f"\nall: {totals.cases} cases; exact on unique answers {totals.exact}/{totals.unique} ({rate:.1f} %); "
          f"wrong claims {totals.wrong_claims}; overconfident {totals.overconfident}; "
          f"claims contradicting the planted truth {totals.vs_truth}; enumeration gave up on {totals.too_hard}; "
          f"check() CPU per failing report median {statistics.median(totals.seconds):.3f} s, "
          f"p95 {np.percentile(totals.seconds, 95):.3f} s, max {max(totals.seconds):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
