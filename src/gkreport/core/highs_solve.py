"""One mixed-integer solve by HiGHS, called through its own Python binding (``highspy``).

Localisation used to reach HiGHS through ``scipy.optimize.milp``; importing
``scipy.optimize`` (all of scipy's optimisers, ~0.5 s) was most of the start-up of a
``check`` that finds an error, while ``highspy`` imports in ~30 ms beyond numpy.
The same HiGHS version (1.12) is called here the way scipy 1.17's ``milp`` called it, so
the verdicts do not change (every recorded localisation problem was replayed with both
and compared, ``docs/localisation.md``):

* the same options: ``mip_rel_gap``, ``presolve`` on/off, ``mip_max_nodes`` and
  ``time_limit`` when given, nothing printed (scipy set only ``log_to_console``; here all
  output is off, which does not change the search: the node counts were the same);
* the constraint matrix column-wise, row indices ascending within a column, duplicate
  entries summed (what scipy's sparse conversion handed HiGHS);
* the same reading of the result: a solution (and the node count) only when HiGHS is
  optimal, or stopped at a limit holding a feasible solution. A solve that ends with
  nothing reports 0 nodes, as scipy did; the caller charges it one node.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import highspy
import numpy as np
from highspy._core import _Highs

# HiGHS' model status → what localisation distinguishes. A limit on iterations is never
# set; scipy reported it as the time limit, and so does this.
_STATUS = {
    highspy.HighsModelStatus.kOptimal: "optimal",
    highspy.HighsModelStatus.kTimeLimit: "time",
    highspy.HighsModelStatus.kIterationLimit: "time",
    highspy.HighsModelStatus.kSolutionLimit: "nodes",  # mip_max_nodes reached
    highspy.HighsModelStatus.kInfeasible: "infeasible",
}
_STOPPED = ("time", "nodes")  # limits at which a feasible solution may still be held


@contextlib.contextmanager
def stdout_muted() -> Iterator[None]:
    """HiGHS 1.12 can print a stray debugging line on the C library's stdout whatever its
    options say (seen under tight node limits); there it would corrupt ``--json`` output.
    So while HiGHS runs, file descriptor 1 points at the null device, and the C library's
    buffers are flushed before it is restored (POSIX; elsewhere nothing is changed)."""
    if os.name != "posix":
        yield
        return
    try:
        sys.stdout.flush()
        saved = os.dup(1)
    except (OSError, ValueError, AttributeError):  # no usable stdout: nothing to protect
        yield
        return
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(null, 1)
        finally:
            os.close(null)
        yield
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.stdout.flush()
        _flush_c_stdio()
        os.dup2(saved, 1)
        os.close(saved)


def _flush_c_stdio() -> None:
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).fflush(None)


@dataclass(frozen=True)
class Result:
    """What one solve gives: ``status`` is ``optimal``, ``time`` (time limit), ``nodes``
    (node limit), ``infeasible`` or ``failed``. ``x`` and ``fun`` are set, and ``nodes``
    counted, only when a feasible solution is held (always when optimal)."""

    status: str
    x: np.ndarray | None = None
    fun: float = 0.0
    nodes: int = 0


@dataclass(frozen=True)
class Triplets:
    """A sparse matrix as (row, column, value) entries, in any order."""

    rows: np.ndarray
    cols: np.ndarray
    vals: np.ndarray
    shape: tuple[int, int]

    def fits(self) -> bool:
        """Every entry lies inside ``shape`` (HiGHS would not say so: it would misplace it)."""
        n_rows, n_cols = self.shape
        rows, cols = np.asarray(self.rows), np.asarray(self.cols)
        return bool(rows.size == cols.size == np.asarray(self.vals).size
                    and (rows.size == 0 or (rows.min() >= 0 and rows.max() < n_rows
                                            and cols.min() >= 0 and cols.max() < n_cols)))

    def colwise(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(start, index, value)`` of the compressed-column form: entries sorted by column,
        then row; repeated (row, column) entries summed into one."""
        n_rows, n_cols = self.shape
        rows = np.asarray(self.rows, dtype=np.int64)
        cols = np.asarray(self.cols, dtype=np.int64)
        vals = np.asarray(self.vals, dtype=np.float64)
        key = cols * max(n_rows, 1) + rows
        order = np.argsort(key, kind="stable")
        key, vals = key[order], vals[order]
        if key.size:
            first = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
            vals = np.add.reduceat(vals, first)
            key = key[first]
        index = (key % max(n_rows, 1)).astype(np.int32)
        counts = np.bincount(key // max(n_rows, 1), minlength=n_cols)
        start = np.concatenate(([0], np.cumsum(counts))).astype(np.int32)
        return start, index, vals


def solve(cost: np.ndarray, matrix: Triplets, row_lower: np.ndarray, row_upper: np.ndarray,
          col_lower: np.ndarray, col_upper: np.ndarray, integer: np.ndarray, *, rel_gap: float,
          presolve: bool, node_limit: int | None = None, time_limit: float | None = None) -> Result:
    """Minimise ``cost·x`` subject to ``row_lower ≤ A·x ≤ row_upper``, ``col_lower ≤ x ≤
    col_upper``, ``x_i`` integer where ``integer`` is true. Never raises for a model HiGHS
    refuses: that is ``failed``, and localisation then claims nothing."""
    n_rows, n_cols = matrix.shape
    if not matrix.fits():
        return Result("failed")
    start, index, value = matrix.colwise()
    lp = highspy.HighsLp()
    lp.num_col_ = n_cols
    lp.num_row_ = n_rows
    lp.a_matrix_.num_col_ = n_cols
    lp.a_matrix_.num_row_ = n_rows
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = start.tolist()
    lp.a_matrix_.index_ = index.tolist()
    lp.a_matrix_.value_ = value.tolist()
    lp.col_cost_ = np.asarray(cost, dtype=np.float64).tolist()
    lp.col_lower_ = np.asarray(col_lower, dtype=np.float64).tolist()
    lp.col_upper_ = np.asarray(col_upper, dtype=np.float64).tolist()
    lp.row_lower_ = np.asarray(row_lower, dtype=np.float64).tolist()
    lp.row_upper_ = np.asarray(row_upper, dtype=np.float64).tolist()
    kinds = (highspy.HighsVarType.kContinuous, highspy.HighsVarType.kInteger)
    lp.integrality_ = [kinds[bool(k)] for k in integer]
    highs = _Highs()  # the bare C++ solver, as scipy used it (highspy.Highs adds callbacks)
    options = highspy.HighsOptions()
    options.output_flag = False
    options.mip_rel_gap = rel_gap
    options.presolve = "on" if presolve else "off"
    if node_limit is not None:
        options.mip_max_nodes = int(node_limit)
    if time_limit is not None:
        options.time_limit = float(time_limit)
    error = highspy.HighsStatus.kError
    if highs.passOptions(options) == error or highs.passModel(lp) == error:
        return Result("failed")
    with stdout_muted():
        ran = highs.run()
    status = _STATUS.get(highs.getModelStatus(), "failed")
    if ran == error:  # whatever HiGHS says it reached, it holds no solution to trust
        return Result(status)
    info = highs.getInfo()
    if status != "optimal" and (status not in _STOPPED or info.objective_function_value == highspy.kHighsInf):
        return Result(status)
    return Result(status, np.array(highs.getSolution().col_value), float(info.objective_function_value),
                  int(info.mip_node_count))
