"""What a row with too few or too many values must hold — only when the rules force it.

A published row sometimes has one value fewer (a label swallowed a cell) or one more
(a stray "0" from the PDF) than the table has columns. Which value belongs to which
column is then unknown. We try every order-preserving way of matching the values to the
columns; a missing cell is filled only where the form's identities among the row's own
cells (the row total) and "counts are never negative" fix it. If every way that satisfies
the rules gives the same cells, that is what the report says and it is placed (with an
info finding saying so); otherwise the row is not guessed: it is reported and left unread.
With too many values the rules are not used to choose the extra one: only when every
choice gives the same cells (16 zeros for 15 cells) is the row placed.

Examples: six zeros in a seven-column row can only be seven zeros; 16 zeros in the
15-column table 3 are 15 zeros; "5 5" in seven columns could be any of six columns plus
the total, so it is not placed; "0 0 0 0 0 0 0 7" is not placed either.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from math import comb
from typing import Literal

from gkreport.core.forms import CellDef
from gkreport.core.values import parse_value as cell_value

from .pub_sources import parse_text

Constraint = list[tuple[str, float]]  # sum(coef * cell) == 0
MAX_LAYOUTS = 20_000


@dataclass(frozen=True)
class Solved:
    """The one assignment every rule-consistent layout agrees on."""

    texts: dict[str, str]  # cell id -> published text placed there
    deduced: dict[str, int]  # cell id -> number the rules force (no value was printed for it)
    dropped: tuple[str, ...]  # published values that belong to no cell (whichever is extra)


def solve_row(texts: Sequence[str], ids: Sequence[str], cells: Mapping[str, CellDef],
              constraints: Sequence[Constraint]) -> Solved | None:
    """The forced assignment of ``texts`` to ``ids`` (see the module docstring), or None."""
    k, n = len(texts), len(ids)
    if k == n or n == 0:
        return None
    layouts = comb(n, k) if k < n else comb(k, n)
    if layouts > MAX_LAYOUTS or abs(k - n) > 3:
        return None
    numbers = [cell_value(t, cells[ids[0]].type).arith for t in texts]
    found: dict[tuple[object, ...], Solved] = {}
    if k < n:
        for pos in combinations(range(n), k):
            known = {ids[p]: (texts[i], numbers[i]) for i, p in enumerate(pos)}
            got = _complete(known, ids, cells, constraints)
            if got == "ambiguous":
                return None
            if got is not None:
                found.setdefault(_signature(got, ids), got)
                if len(found) > 1:
                    return None
    else:
        # Too many values: the rules are not used to pick the extra one (that would make the
        # row's identity true by construction); only if every choice gives the same cells.
        for keep in combinations(range(k), n):
            got = Solved({ids[j]: texts[i] for j, i in enumerate(keep)}, {},
                         tuple(texts[i] for i in range(k) if i not in keep))
            found.setdefault(_signature(got, ids), got)
            if len(found) > 1:
                return None
    return next(iter(found.values())) if len(found) == 1 else None


def _signature(s: Solved, ids: Sequence[str]) -> tuple[object, ...]:
    return tuple(parse_text(s.texts[c]) if c in s.texts else s.deduced[c] for c in ids)


def _complete(known: dict[str, tuple[str, float]], ids: Sequence[str], cells: Mapping[str, CellDef],
              constraints: Sequence[Constraint]) -> Solved | Literal["ambiguous"] | None:
    """Fill the unknown cells from the constraints; None if the layout breaks a rule,
    "ambiguous" if the rules leave a cell open."""
    value = {c: num for c, (_, num) in known.items()}
    unknown = [c for c in ids if c not in value]
    changed = True
    while changed and unknown:
        changed = False
        for con in constraints:
            open_ = [(c, k) for c, k in con if c not in value]
            if not open_:
                continue
            rest = -sum(k * value[c] for c, k in con if c in value)  # sum(k * open) == rest
            if len(open_) == 1:
                c, k = open_[0]
                x = rest / k
                if abs(x - round(x)) > 1e-9 or (x < 0 and cells[c].type != "signed"):
                    return None
                value[c] = round(x)
            elif all(k > 0 for _, k in open_) or all(k < 0 for _, k in open_):
                if any(cells[c].type == "signed" for c, _ in open_):
                    continue
                sign = 1 if open_[0][1] > 0 else -1
                if abs(rest) < 1e-9:
                    for c, _ in open_:
                        value[c] = 0
                elif rest * sign < 0:
                    return None
                else:
                    continue
            else:
                continue
            changed = True
        unknown = [c for c in ids if c not in value]
    if unknown:
        return "ambiguous"
    for con in constraints:
        if abs(sum(k * value[c] for c, k in con)) > 1e-9:
            return None
    texts = {c: t for c, (t, _) in known.items()}
    deduced = {c: int(value[c]) for c in ids if c not in known}
    return Solved(texts, deduced, ())
