"""Which cell is most likely wrong, given which identities fail and by how much.

Every identity is linear: ``Σ a_x·x = 0`` with imbalance ``d``. If a cell ``x`` is off by
``e`` then every identity containing it is off by ``a_x·e``. So a cell whose identities
*all* fail is *plausible*; where a failing identity has exactly one plausible cell
(and that cell lies on at least two identities, so two independent witnesses agree),
that cell is the suspect, its error is ``e = d / a_x`` and the corrected value is
``observed − e``. The error is then subtracted from every identity containing the
cell and the search repeats, which separates several independent errors (two errors
in one column, say). What cannot be pinned down is reported as candidates, honestly.

Which rule failed is kept apart from which cell is to blame (as R's errorlocate does).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .forms import RuleInstance


@dataclass(frozen=True)
class Blame:
    """The verdict for one failing identity."""

    suspects: tuple[str, ...]  # cell ids
    errors: Mapping[str, float]  # cell id -> error e, for determined suspects only
    determined: bool  # True when the identity is fully explained by determined suspects


def coefficients(inst: RuleInstance) -> dict[str, float]:
    """Signed coefficient of each (this-report) cell in ``left − right``."""
    out: dict[str, float] = {}
    for side, sign in ((inst.left, 1), (inst.right, -1)):
        for t in side:
            if not t.prev:
                out[t.cell] = out.get(t.cell, 0) + sign * t.coef
    return {k: v for k, v in out.items() if v != 0}


def locate(evaluated: Sequence[tuple[RuleInstance, float]], tol: float = 1e-6) -> dict[int, Blame]:
    """Blame for each failing identity; ``evaluated`` holds every evaluated identity
    with its imbalance (0 when it holds). Keys of the result are indexes into it."""
    if all(abs(d) <= tol for _, d in evaluated):
        return {}  # the usual case: nothing to blame, no work (consolidation checks 1000s)
    coefs = [coefficients(inst) for inst, _ in evaluated]
    failing = {i for i, (_, d) in enumerate(evaluated) if abs(d) > tol}
    member: dict[str, list[int]] = {}
    for i, cs in enumerate(coefs):
        for cell in cs:
            member.setdefault(cell, []).append(i)
    plausible = {cell for cell, idx in member.items() if all(i in failing for i in idx)}
    residual = {i: evaluated[i][1] for i in failing}
    errors: dict[str, float] = {}

    def consistent(cell: str) -> float | None:
        """The error ``e`` when every identity of ``cell`` is off by ``a·e`` for one e."""
        es = [residual.get(j, 0.0) / coefs[j][cell] for j in member[cell]]
        if len(es) < 2 or any(abs(e) <= tol for e in es):
            return None
        return es[0] if all(abs(e - es[0]) <= tol for e in es) else None

    def settle(cell: str, e: float) -> None:
        errors[cell] = e
        for j in member[cell]:
            if j in residual:
                residual[j] -= coefs[j][cell] * e

    progress = True
    while progress:
        progress = False
        # 1) A cell whose identities all agree on one error: strong evidence.
        for i in sorted(failing):
            if abs(residual[i]) <= tol:
                continue
            found = [(c, e) for c in coefs[i] if c in plausible and c not in errors
                     and (e := consistent(c)) is not None]
            if len(found) == 1:
                settle(*found[0])
                progress = True
        if progress:
            continue
        # 2) Otherwise, the only plausible cell of a failing identity (errors sharing a
        #    column make the column disagree; the rows still single the cells out).
        for i in sorted(failing):
            if abs(residual[i]) <= tol:
                continue
            cands = [c for c in coefs[i] if c in plausible and c not in errors]
            if len(cands) == 1 and len(member[cands[0]]) >= 2:
                settle(cands[0], residual[i] / coefs[i][cands[0]])
                progress = True
                break
    out: dict[int, Blame] = {}
    for i in failing:
        mine = {c: errors[c] for c in coefs[i] if c in errors}
        if mine and abs(residual[i]) <= tol:
            out[i] = Blame(tuple(mine), mine, True)
        else:
            cands = tuple(c for c in coefs[i] if c in plausible and c not in errors) or tuple(coefs[i])
            out[i] = Blame(cands, {}, False)
    return out


def corrected(observed: Mapping[str, float], blame: Blame) -> dict[str, float]:
    """Suggested value of each determined suspect: observed − error."""
    return {c: observed[c] - e for c, e in blame.errors.items()}
