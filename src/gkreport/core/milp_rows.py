"""Constraint rows of a MILP as sparse triplets, built up row by row or block by block.

HiGHS wants a sparse matrix; building it densely and converting was the cost on the
models :mod:`gkreport.core.locate_milp` solves (one base, copied and extended by each solve's cuts).
The triplets go to :mod:`gkreport.core.highs_solve` as they are (numpy only, no scipy.sparse).
:func:`null_space` tells which corrected values the equality rows pin down.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .highs_solve import Triplets


class Rows:
    """Constraint rows as sparse triplets (HiGHS wants sparse; dense conversion was the cost)."""

    def __init__(self) -> None:
        self.r: list[int] = []
        self.c: list[int] = []
        self.v: list[float] = []
        self.lb: list[float] = []
        self.ub: list[float] = []

    def add(self, cols: Sequence[int] | np.ndarray, vals: Sequence[float] | np.ndarray, lb: float, ub: float) -> None:
        k = len(self.lb)
        self.r.extend([k] * len(cols))
        self.c.extend(int(c) for c in cols)
        self.v.extend(float(v) for v in vals)
        self.lb.append(float(lb))
        self.ub.append(float(ub))

    def add_block(self, rows: np.ndarray, cols: np.ndarray, vals: np.ndarray, lb: np.ndarray, ub: np.ndarray) -> None:
        """Many rows at once; ``rows`` counts from 0 within the block."""
        k = len(self.lb)
        self.r.extend((np.asarray(rows) + k).tolist())
        self.c.extend(np.asarray(cols).tolist())
        self.v.extend(np.asarray(vals, dtype=float).tolist())
        self.lb.extend(np.asarray(lb, dtype=float).tolist())
        self.ub.extend(np.asarray(ub, dtype=float).tolist())

    def copy(self) -> Rows:
        out = Rows()
        out.r, out.c, out.v, out.lb, out.ub = list(self.r), list(self.c), list(self.v), list(self.lb), list(self.ub)
        return out

    def build(self, width: int) -> tuple[Triplets, np.ndarray, np.ndarray]:
        a = Triplets(np.array(self.r, dtype=np.int64), np.array(self.c, dtype=np.int64),
                     np.array(self.v, dtype=np.float64), (len(self.lb), width))
        return a, np.array(self.lb), np.array(self.ub)


def null_space(a: np.ndarray) -> np.ndarray:
    """An orthonormal basis of the null space of ``a`` (columns), by SVD, with
    ``scipy.linalg.null_space``'s rule: singular values up to ``max(M, N)·eps`` times the
    largest count as zero."""
    _, s, vh = np.linalg.svd(a, full_matrices=True)
    tol = float(np.amax(s, initial=0.0)) * np.finfo(s.dtype).eps * max(a.shape)
    rank = int(np.sum(s > tol))
    return np.asarray(vh[rank:, :].T.conj())
