"""Localisation is bounded by counted work, never by the clock: the same report gets the same
findings on a busy machine as on an idle one, and a search cut short says so in the finding.

Every case starts from the consistent real report of 平潭 2023 and plants defects.
"""

from __future__ import annotations

import dataclasses
import random
import time
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REAL_REPORTS
from gkreport.core import locate as loc
from gkreport.core import locate_milp
from gkreport.core.engine import check
from gkreport.core.findings import Finding
from gkreport.core.forms import load_form
from gkreport.core.locate_bounds import Bounds
from gkreport.core.report import report_from_raw

FORM = load_form("2021")
# Two typos no single cell explains: the search needs HiGHS (the shortcut cannot answer).
TWO_TYPOS = {"t2.new.person": 82, "t2.new.total": 83}


def _errors(**changes: object) -> list[Finding]:
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    return [f for f in check(report_from_raw(FORM, {**values, **changes}, header)) if f.severity == "error"]


def _seen(findings: list[Finding]) -> list[tuple[object, ...]]:
    return [(f.rule, f.message, f.suspect_ids, f.suggested) for f in findings]


@pytest.fixture
def bounds(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, object]]:
    """Set fields of the bounds every ``check`` uses (``bounds["seconds"] = 0.0``)."""
    chosen: dict[str, object] = {}
    of = loc.Config.of

    def patched(form: object) -> loc.Config:
        cfg = of(form)  # type: ignore[arg-type]
        return dataclasses.replace(cfg, bounds=dataclasses.replace(cfg.bounds, **chosen))  # type: ignore[arg-type]

    monkeypatch.setattr(loc.Config, "of", staticmethod(patched))
    yield chosen


def _fast_clock(monkeypatch: pytest.MonkeyPatch, step: float) -> None:
    """Every reading of ``time.perf_counter`` is ``step`` seconds after the previous one:
    a machine so busy that everything takes that long between two looks at the clock."""
    now = [time.perf_counter()]

    def clock() -> float:
        now[0] += step
        return now[0]

    monkeypatch.setattr(time, "perf_counter", clock)


def test_time_guard_stops_with_a_message_and_names_no_cell(bounds: dict[str, object]) -> None:
    """The one clock left is a guard: when it fires, every finding it touched says so and
    claims nothing (never fewer or other cells presented as the answer)."""
    assert any(f.suggested is None and "2 种同样简单的解释" in f.message for f in _errors(**TWO_TYPOS))
    bounds["seconds"] = 0.0
    findings = _errors(**TWO_TYPOS)
    assert findings and all("定位超过时间保护上限（0 秒）而停止，未指出具体填错的格子" in f.message for f in findings)
    assert all(f.suggested is None and "最可能填错" not in f.message and "可能是" not in f.message
               for f in findings)


def test_time_guard_mid_search_keeps_nothing_it_found(monkeypatch: pytest.MonkeyPatch,
                                                      bounds: dict[str, object]) -> None:
    """The guard fires after the first solve found an explanation: that explanation is not
    shown either (what a cut-short search found depends on the machine)."""
    bounds["seconds"] = 30.0
    _fast_clock(monkeypatch, 10.0)  # the clock is read a few times per solve
    findings = _errors(**TWO_TYPOS)
    assert findings and all("时间保护上限（30 秒）" in f.message and "可能是" not in f.message for f in findings)


def test_work_bound_says_so_the_same_way_every_time(monkeypatch: pytest.MonkeyPatch,
                                                     bounds: dict[str, object]) -> None:
    """Past the node budget the finding names no cell and says the bound was reached; a
    slow clock changes nothing."""
    bounds["report_nodes"] = 0
    findings = _errors(**TWO_TYPOS)
    assert findings and all("定位达到计算量上限" in f.message and f.suggested is None for f in findings)
    _fast_clock(monkeypatch, 0.5)
    assert _seen(_errors(**TWO_TYPOS)) == _seen(findings)


def test_a_block_too_big_is_not_localised_and_says_so(bounds: dict[str, object]) -> None:
    """The size bound is decided before solving: 表二's identities (175 cells) are not
    localised with ``max_cells`` 100, 表三's small groups still are."""
    bounds["max_cells"] = 100
    findings = _errors(**{"t2.new.person": 82, "t3.review.total": 9})
    t2 = [f for f in findings if f.rule.startswith("T2")]
    t3 = [f for f in findings if f.rule.startswith("T3")]
    assert t2 and all("175 个单元格" in f.message and "超出定位的规模上限（100 个单元格" in f.message
                      and f.suggested is None for f in t2)
    assert t3 and all("规模上限" not in f.message for f in t3)


def test_a_hopeless_report_is_refused_before_solving() -> None:
    """Every 表二/表三 cell random (nothing adds up): the least conceivable change is far
    beyond "a few mistyped cells", so 表二 is not searched at all — instantly, and the
    same on every machine — and the finding says why."""
    form = load_form("2021")
    rng = random.Random(7)
    raw = {cid: rng.randint(0, 99999) for cid in form.cells if cid.startswith(("t2.", "t3."))}
    rep = report_from_raw(form, raw, {"hdr.agency": "某单位", "hdr.year": 2023})
    started = time.process_time()
    findings = check(rep)
    assert time.process_time() - started < 5
    t2 = [f for f in findings if f.rule.startswith("T2") and f.severity == "error"]
    assert t2 and all(f.suggested is None and "表内不平之处过多" in f.message and "不再推测" in f.message
                      for f in t2)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(cells=st.lists(st.sampled_from(FORM.table("t2").cell_ids + FORM.table("t3").cell_ids),
                      min_size=1, max_size=3, unique=True),
       deltas=st.lists(st.sampled_from([-7, -2, -1, 1, 3, 40]), min_size=3, max_size=3))
def test_findings_do_not_depend_on_the_clock(monkeypatch: pytest.MonkeyPatch, cells: list[str],
                                             deltas: list[int]) -> None:
    """The same report, localised on an idle machine and on one so slow that 0.5 s pass
    between two looks at the clock: identical findings (the work bounds are counted)."""
    _, _, original = REAL_REPORTS["pingtan-2023"]()
    changes = {c: max(0, (original[c] or 0) + d) for c, d in zip(cells, deltas, strict=False)}
    idle = _seen(_errors(**changes))
    with monkeypatch.context() as mp:
        _fast_clock(mp, 0.5)
        slow = _seen(_errors(**changes))
    assert slow == idle


def test_node_limit_during_the_alternatives_is_incomplete(monkeypatch: pytest.MonkeyPatch) -> None:
    """The optimum is found, then the search for equally good ones reaches the node limit:
    the answer is "at least these", never "only this one" (HiGHS reports a node limit
    with a status of its own, which once read as "no further explanation")."""
    report = report_from_raw(FORM, {**REAL_REPORTS["pingtan-2023"]()[2], **TWO_TYPOS})
    calls = [0]
    run = locate_milp._Problem.run

    def second_hits_the_limit(self: locate_milp._Problem, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        calls[0] += 1
        return ("work", None, 0.0) if calls[0] == 2 else run(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(locate_milp._Problem, "run", second_hits_the_limit)
    findings = [f for f in check(report) if f.severity == "error"]
    assert findings and all(f.suggested is None and "最可能填错" not in f.message for f in findings)
    assert any("还可能有其他" in f.message or "一种可能的解释" in f.message for f in findings)


def test_default_bounds_cover_the_packaged_forms() -> None:
    """Both official forms' largest block of identities fits the size bounds (so the
    size bound never fires on a real report), with room to spare for overlays."""
    b = Bounds()
    for version in ("2019", "2021"):
        form = load_form(version)
        cfg = loc.Config.of(form)
        rows: dict[int, locate_milp.Row] = {}
        for rule in form.rules:
            if rule.type in ("equal", "compare") and rule.id not in cfg.exclude_rules:
                for inst in rule.instances:
                    if coefs := loc.coefficients(inst):
                        rows[len(rows)] = locate_milp.Row(coefs, "==", 0.0)
        for comp in loc._components(rows):
            cells = {c for i in comp for c in rows[i].coefs}
            assert 2 * len(cells) <= b.max_cells and 2 * len(comp) <= b.max_identities


@pytest.mark.parametrize("status", ["nodes", "failed"])
def test_a_later_solve_without_a_verdict_never_reads_as_no_further_explanation(
        monkeypatch: pytest.MonkeyPatch, status: str) -> None:
    """HiGHS stops the search for equally good explanations at the node limit holding nothing,
    or gives no verdict at all: that nothing more exists is then not proven, so the answer is
    "at least these" (no determined cell, no suggested value), as at any other bound."""
    from gkreport.core import highs_solve

    report = report_from_raw(FORM, {**REAL_REPORTS["pingtan-2023"]()[2], **TWO_TYPOS})
    exact = [f for f in check(report) if f.severity == "error"]
    # unpatched: exactly two equally simple explanations, the search proven complete
    assert exact and all("有 2 种同样简单的解释" in f.message for f in exact)
    calls = [0]
    real = highs_solve.solve

    def second_gives_no_verdict(*args: object, **kwargs: object) -> highs_solve.Result:
        calls[0] += 1
        return highs_solve.Result(status) if calls[0] == 2 else real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(highs_solve, "solve", second_gives_no_verdict)
    findings = [f for f in check(report) if f.severity == "error"]
    assert calls[0] >= 2
    assert findings and all(f.suggested is None and "最可能填错" not in f.message for f in findings)
    assert any("还可能有其他" in f.message or "一种可能的解释" in f.message for f in findings)


def test_a_first_solve_without_a_verdict_names_every_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    """No verdict from the first solve: nothing is guessed, every cell of the identity is named."""
    from gkreport.core import highs_solve

    report = report_from_raw(FORM, {**REAL_REPORTS["pingtan-2023"]()[2], **TWO_TYPOS})
    monkeypatch.setattr(highs_solve, "solve", lambda *a, **k: highs_solve.Result("failed"))
    findings = [f for f in check(report) if f.severity == "error"]
    assert findings and all(f.suggested is None and "可能是" not in f.message for f in findings)
