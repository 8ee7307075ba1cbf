"""Cross-year rules when last year's report is on the other form, and the outlier rule's
thresholds (issue 14's surviving mutants in rule_checks.py/engine.py).

A 2021 report's previous year may be a 2020 report on the 2019 form: rules whose previous-year
cells exist on both forms (表二 四、结转下年度, 表一 处理决定数量, the totals) compare across
forms; a rule needing a cell the old form lacks (2021's 现行有效件数) is not checked at all,
rather than compared with 0.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REAL_REPORTS, make_filled
from gkreport import api
from gkreport.core.engine import check
from gkreport.core.findings import Finding
from gkreport.core.forms import load_form
from gkreport.core.report import Report, report_from_raw


def _this(**changes: object) -> Report:
    """平潭 2023 on the 2021 form (correct; 上年结转 all 0, 行政许可 2629, 行政强制 54)."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    return report_from_raw(load_form("2021"), {**values, **changes}, header)


def _prev_values(**changes: object) -> tuple[dict, dict]:
    """洪合镇 2020 on the 2019 form, with 2 applications carried over to the next year."""
    _, header, values = REAL_REPORTS["xiuzhou-honghe-2020"]()
    return {**values, "t2.carried_out.person": 2, "t2.carried_out.total": 2, **changes}, header


def _prev(**changes: object) -> Report:
    values, header = _prev_values(**changes)
    return report_from_raw(load_form("2019"), values, header)


def _cross_year(findings: list[Finding]) -> list[tuple[str, tuple[str, ...], object, object]]:
    return [(f.rule, f.cell_ids, f.expected, f.actual) for f in findings if f.rule in ("carry-over", "T1-in-force")]


def test_a_2019_form_report_is_last_year_of_a_2021_report(tmp_path: Path) -> None:
    """Through files, as ``check --previous`` reads them: carry-over compares 2021's 二、上年结转
    with the 2019 form's 四、结转下年度 per column (warnings at D8 and J8, expected 2, actual 0);
    T1-in-force is skipped because the 2019 form has no 现行有效件数."""
    this_values = REAL_REPORTS["pingtan-2023"]()
    this = make_filled(tmp_path, "2023.xlsx", "2021", this_values[2], this_values[1])
    prev_values, prev_header = _prev_values()
    prev = make_filled(tmp_path, "2020.xlsx", "2019", prev_values, prev_header)
    findings = api.check(this, previous=prev)
    carry = [f for f in findings if f.rule == "carry-over"]
    assert [(f.cells, f.cell_ids, f.expected, f.actual, f.severity) for f in carry] == [
        (("D8",), ("t2.carried_in.person",), 2, 0, "warning"), (("J8",), ("t2.carried_in.total",), 2, 0, "warning")]
    assert carry[0].message.startswith("表二 D8（二、上年结转·自然人） 为 0，上一年度报告的“四、结转下年度继续办理·自然人”为 2，相差 2")
    assert carry[0].suspect_ids == ("t2.carried_in.person",) and carry[0].suggested is None
    assert not [f for f in findings if f.rule == "T1-in-force"]
    assert not [f for f in findings if f.severity == "error"]


def test_check_previous_across_forms_on_the_command_line(tmp_path: Path) -> None:
    """``gkreport check 2023.xlsx --previous 2020.xlsx --json``: the same cross-form findings,
    exit code 0 (warnings only)."""
    this_values = REAL_REPORTS["pingtan-2023"]()
    this = make_filled(tmp_path, "2023.xlsx", "2021", this_values[2], this_values[1])
    prev_values, prev_header = _prev_values()
    prev = make_filled(tmp_path, "2020.xlsx", "2019", prev_values, prev_header)
    run = subprocess.run([sys.executable, "-m", "gkreport", "check", str(this), "--previous", str(prev), "--json"],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    (result,) = json.loads(run.stdout)
    rules = [f["rule"] for f in result["findings"] if f["severity"] != "info"]
    assert rules.count("carry-over") == 2 and "T1-in-force" not in rules
    assert {f["cell_ids"][0] for f in result["findings"] if f["rule"] == "outlier"} == {
        "t1.coercion.decisions", "t2.total.person", "t2.total.total", "t2.new.total"}


def test_cross_form_carry_over_holds_when_the_numbers_agree() -> None:
    """No finding when 2021's 上年结转 equals the 2019 form's 结转下年度, column by column."""
    this = _this(**{"t2.carried_in.person": 2, "t2.carried_in.total": 2, "t2.new.person": 78, "t2.new.total": 79})
    assert [f for f in check(this) if f.severity == "error"] == []
    assert _cross_year(check(this, previous=_prev())) == []


def test_same_form_previous_checks_in_force_but_other_form_does_not() -> None:
    """The T1-in-force identity needs last year's 现行有效件数: checked against a 2021-form
    previous (470 = 500 + 77 − 132 fails), skipped against a 2019-form one."""
    _, header, values = REAL_REPORTS["pingtan-2023"]()
    prev21 = report_from_raw(load_form("2021"), {**values, "t1.normative.in_force": 500}, {**header, "hdr.year": 2022})
    assert _cross_year(check(_this(), previous=prev21)) == [
        ("T1-in-force", ("t1.normative.in_force", "t1.normative.issued", "t1.normative.repealed"), 445, 470)]
    no_carry = _prev(**{"t2.carried_out.person": 0, "t2.carried_out.total": 0})
    assert _cross_year(check(_this(), previous=no_carry)) == []


@pytest.mark.parametrize(("last", "now", "why"), [
    (10, 50, None), (10, 51, "上年为 10，变化超过 5 倍"), (10, 2, None), (10, 1, "上年为 10，变化超过 5 倍"),
    (9, 49, None), (9, 50, "上年仅为 9"), (0, 50, "上年仅为 0"), (100, 100, None),
])
def test_outlier_thresholds_against_a_2019_form_previous(last: int, now: int, why: str | None) -> None:
    """表一 行政许可·处理决定数量 (on both forms): more than 5× or less than 1/5 of last year when
    last year was at least 10; at least 50 when last year was under 10. Boundaries pinned."""
    findings = [f for f in check(_this(**{"t1.license.decisions": now}), previous=_prev(**{"t1.license.decisions": last}))
                if f.rule == "outlier" and f.cell_ids == ("t1.license.decisions",)]
    if why is None:
        assert findings == []
        return
    (f,) = findings
    assert (f.severity, f.cells, f.actual, f.suspect_ids) == ("warning", ("B10",), now, ("t1.license.decisions",))
    assert f.message == f"表一 B10（行政许可·本年处理决定数量） 为 {now}，{why}，请核实"


def test_outlier_skips_unreadable_cells_and_cells_outside_its_scope() -> None:
    """Only numbers are compared: a text cell this year or last, or a blank cell last year, is no
    evidence of a jump; only 表一 and total cells are in scope (a leaf of 表二 is not)."""
    prev = _prev(**{"t1.license.decisions": "abc", "t2.granted.person": 1000, "t1.penalty.decisions": None})
    this = _this(**{"t1.coercion.decisions": "x"})
    outliers = {f.cell_ids[0] for f in check(this, previous=prev) if f.rule == "outlier"}
    assert "t1.license.decisions" not in outliers and "t1.coercion.decisions" not in outliers
    assert "t2.granted.person" not in outliers
    assert "t1.penalty.decisions" not in outliers  # 1330 now, blank last year
    assert {"t2.total.person", "t2.new.total"} <= outliers  # the same report's numbers do jump


def test_signed_cells_are_never_outliers() -> None:
    """本年增/减 (2019 表一, may be negative) is outside the outlier rule even when it jumps."""
    _, header, values = REAL_REPORTS["xiuzhou-honghe-2020"]()
    prev = report_from_raw(load_form("2019"), {**values, "t1.license.change": 1}, {**header, "hdr.year": 2019})
    this = report_from_raw(load_form("2019"), {**values, "t1.license.change": 400, "t1.license.prev_items": 4233,
                                               "t1.license.decisions": 4400}, header)
    assert [f.cell_ids for f in check(this, previous=prev) if f.rule == "outlier"] == []
