"""One HiGHS solve through highspy (core/highs_solve.py), and the linear algebra that replaced scipy's.

Localisation's verdicts were calibrated with scipy's ``milp``; highs_solve calls the same HiGHS
release directly. The outcomes each limit maps to are pinned on small programs built here, and,
where scipy with the same HiGHS release is installed, every outcome, solution, objective and
node count is compared with scipy's ``milp`` on random programs (the replay of every recorded
localisation problem is in docs/localisation.md).
"""

from __future__ import annotations

import os

import highspy
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gkreport.core.highs_solve import Result, Triplets, solve
from gkreport.core.milp_rows import Rows, null_space


def _knapsack(seed: int, **limits: float | int | None) -> Result:
    """Five capacity rows over 40 items: HiGHS needs several nodes to prove the optimum."""
    rng = np.random.default_rng(seed)
    n, m = 40, 5
    weights = rng.integers(10, 100, (m, n)).astype(float)
    value = rng.integers(10, 100, n).astype(float)
    rr, cc = np.nonzero(weights)
    return solve(-value, Triplets(rr, cc, weights[rr, cc], (m, n)), np.full(m, -np.inf), weights.sum(1) / 3,
                 np.zeros(n), np.ones(n), np.ones(n, dtype=bool), rel_gap=1e-9, presolve=False, **limits)  # type: ignore[arg-type]


def test_an_integer_program_is_solved_exactly() -> None:
    """min x + y with 2x + 2y ≥ 3, x and y integer: 2 (the LP optimum 1.5 is not integer)."""
    res = solve(np.ones(2), Triplets(np.array([0, 0]), np.array([0, 1]), np.array([2.0, 2.0]), (1, 2)),
                np.array([3.0]), np.array([np.inf]), np.zeros(2), np.full(2, 5.0), np.ones(2, dtype=bool),
                rel_gap=1e-9, presolve=False)
    assert res.status == "optimal" and res.fun == 2.0 and res.x is not None and res.x.sum() == 2.0
    assert res.nodes >= 1


def test_an_infeasible_program_holds_nothing() -> None:
    """2x + 2y = 3 has no integer solution: nothing to claim, and no node count (as scipy)."""
    res = solve(np.ones(2), Triplets(np.array([0, 0]), np.array([0, 1]), np.array([2.0, 2.0]), (1, 2)),
                np.array([3.0]), np.array([3.0]), np.zeros(2), np.full(2, 5.0), np.ones(2, dtype=bool),
                rel_gap=1e-9, presolve=False)
    assert res == Result("infeasible")


def test_the_node_limit_is_its_own_outcome_with_or_without_a_solution() -> None:
    full = _knapsack(0)
    assert full.status == "optimal" and full.nodes > 3
    capped = _knapsack(0, node_limit=3)
    assert capped.status == "nodes" and capped.nodes == 3 and capped.x is not None  # a solution, not proven best
    # An odd total from even weights: HiGHS cannot finish within one node and holds nothing.
    even = np.arange(1000, 1060, 2, dtype=float) * 2
    n = even.size
    target = np.array([even.sum() // 2 + 1])
    odd = solve(np.ones(n), Triplets(np.zeros(n, dtype=int), np.arange(n), even, (1, n)), target, target,
                np.zeros(n), np.ones(n), np.ones(n, dtype=bool), rel_gap=1e-9, presolve=False, node_limit=1)
    assert odd == Result("nodes")  # read by locate_milp as "nothing more", exactly as scipy's milp was


def test_the_time_limit_is_its_own_outcome() -> None:
    assert _knapsack(0, time_limit=1e-9) == Result("time")


def test_a_malformed_matrix_is_refused_not_misplaced() -> None:
    bad = Triplets(np.array([3]), np.array([0]), np.array([1.0]), (1, 2))
    res = solve(np.ones(2), bad, np.zeros(1), np.ones(1), np.zeros(2), np.ones(2), np.ones(2, dtype=bool),
                rel_gap=1e-9, presolve=False)
    assert res == Result("failed")


def test_nothing_is_printed(capfd: pytest.CaptureFixture[str]) -> None:
    assert _knapsack(1).status == "optimal"
    out, err = capfd.readouterr()
    assert out == err == ""


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 6), st.integers(1, 8), st.data())
def test_colwise_is_the_dense_matrix_sorted_and_summed(n_rows: int, n_cols: int, data: st.DataObject) -> None:
    k = data.draw(st.integers(0, 30))
    rows = np.array(data.draw(st.lists(st.integers(0, n_rows - 1), min_size=k, max_size=k)), dtype=int)
    cols = np.array(data.draw(st.lists(st.integers(0, n_cols - 1), min_size=k, max_size=k)), dtype=int)
    vals = np.array(data.draw(st.lists(st.integers(-9, 9), min_size=k, max_size=k)), dtype=float)
    start, index, value = Triplets(rows, cols, vals, (n_rows, n_cols)).colwise()
    dense = np.zeros((n_rows, n_cols))
    np.add.at(dense, (rows, cols), vals)
    rebuilt = np.zeros((n_rows, n_cols))
    assert start[0] == 0 and start[-1] == len(index) == len(value) and len(start) == n_cols + 1
    for j in range(n_cols):
        mine = index[start[j]:start[j + 1]]
        assert list(mine) == sorted(set(mine.tolist()))  # ascending, each row once
        rebuilt[mine, j] = value[start[j]:start[j + 1]]
    assert np.array_equal(rebuilt, dense)


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 6), st.integers(1, 7), st.data())
def test_null_space_is_an_orthonormal_basis_of_the_right_size(m: int, n: int, data: st.DataObject) -> None:
    """Integer matrices as the identities give (repeated rows make them rank-deficient)."""
    a = np.array(data.draw(st.lists(st.lists(st.integers(-2, 2), min_size=n, max_size=n), min_size=m, max_size=m)),
                 dtype=float)
    if data.draw(st.booleans()):
        a = np.vstack([a, a[:1] * 2])
    basis = null_space(a)
    assert basis.shape == (n, n - np.linalg.matrix_rank(a))
    assert np.allclose(a @ basis, 0, atol=1e-9)
    assert np.allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-9)


def test_null_space_pins_a_cell_only_when_the_rows_do() -> None:
    """x + y = r and y = s pin both; x + y = r alone leaves both free (locate_milp.values)."""
    assert null_space(np.array([[1.0, 1.0], [0.0, 1.0]])).size == 0
    free = null_space(np.array([[1.0, 1.0]]))
    assert free.shape == (2, 1) and np.all(np.abs(free) > 1e-9)


def _scipy_milp() -> object:
    """scipy's ``milp``, when the installed scipy carries the HiGHS release highspy does."""
    optimize = pytest.importorskip("scipy.optimize")
    core = pytest.importorskip("scipy.optimize._highspy._core")
    ours = (highspy.HIGHS_VERSION_MAJOR, highspy.HIGHS_VERSION_MINOR)
    if ours != (core.HIGHS_VERSION_MAJOR, core.HIGHS_VERSION_MINOR):
        pytest.skip("scipy carries another HiGHS release")
    return optimize


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 10), st.integers(1, 5), st.sampled_from([None, 1, 2, 5]), st.data())
def test_outcomes_are_scipys_milp_outcomes(n: int, m: int, nodes: int | None, data: st.DataObject) -> None:
    """Random bounded integer programs: the same outcome, solution, objective and node count as
    scipy's ``milp`` with the options localisation gave it (skipped without such a scipy)."""
    optimize = _scipy_milp()
    from scipy import sparse

    ints = st.integers(-4, 9)
    a = np.array(data.draw(st.lists(st.lists(ints, min_size=n, max_size=n), min_size=m, max_size=m)), dtype=float)
    lower = np.array(data.draw(st.lists(st.integers(-20, 20), min_size=m, max_size=m)), dtype=float)
    upper = lower + np.array(data.draw(st.lists(st.sampled_from([0, 1, 3, np.inf]), min_size=m, max_size=m)))
    cost = np.array(data.draw(st.lists(st.integers(-5, 5), min_size=n, max_size=n)), dtype=float)
    integer = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    integer[0] = True
    rows = Rows()
    for k in range(m):
        cols = np.flatnonzero(a[k])
        rows.add(cols, a[k, cols], lower[k], upper[k])
    triplets, lb, ub = rows.build(n)
    col_lower, col_upper = np.full(n, -6.0), np.full(n, 6.0)
    options: dict[str, object] = {"mip_rel_gap": 1e-9, "presolve": False}
    if nodes is not None:
        options["node_limit"] = nodes
    theirs = optimize.milp(cost, constraints=optimize.LinearConstraint(  # type: ignore[attr-defined]
        sparse.csr_array((triplets.vals, (triplets.rows, triplets.cols)), shape=triplets.shape), lb, ub),
        bounds=optimize.Bounds(col_lower, col_upper), integrality=integer.astype(int), options=options)  # type: ignore[attr-defined]
    ours = solve(cost, triplets, lb, ub, col_lower, col_upper, integer, rel_gap=1e-9, presolve=False,
                 node_limit=nodes)
    expected = {0: ("optimal",), 1: ("time",), 2: ("infeasible", "failed"), 3: ("failed",), 4: ("nodes", "failed")}
    assert ours.status in expected[theirs.status]
    assert ours.nodes == int(theirs.get("mip_node_count") or 0)
    if theirs.x is None:
        assert ours.x is None
    else:
        assert ours.x is not None and np.array_equal(ours.x, theirs.x) and ours.fun == theirs.fun


def test_a_stray_c_level_line_never_reaches_stdout(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What HiGHS prints on the C library's stdout while it runs (it can, whatever its options
    say) is not on the command's stdout: ``--json`` output stays one JSON document."""
    import subprocess
    import sys

    if os.name != "posix":
        pytest.skip("stdout is redirected on POSIX only")
    code = ("import ctypes, sys\n"
            "from gkreport.core.highs_solve import stdout_muted\n"
            "print('before', flush=True)\n"
            "with stdout_muted():\n"
            "    ctypes.CDLL(None).printf(b'stray line from C\\n')\n"
            "    print('from python, muted too')\n"
            "print('after')\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout == "before\nafter\n"


def test_localisation_keeps_openblas_to_one_thread_unless_told_otherwise() -> None:
    """numpy's OpenBLAS would start a thread per core (~0.1 s CPU) for matrices of a few
    dozen cells, in consolidate's workers that already use every core; a user's own setting stands."""
    import subprocess
    import sys

    code = "import os, gkreport.core.locate_milp, numpy; print(os.environ.get('OPENBLAS_NUM_THREADS'))"
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "1"
    env["OPENBLAS_NUM_THREADS"] = "3"
    assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          check=True).stdout.strip() == "3"
