"""The engine on real data: clean reports stay clean, planted errors are located."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import REAL_REPORTS
from gkreport.core.engine import check
from gkreport.core.forms import load_form
from gkreport.core.report import report_from_raw


def _report(name: str, **changes: object):
    form, header, values = REAL_REPORTS[name]()
    values = {**values, **changes}
    return report_from_raw(load_form(form), values, header)


def _errors(findings):
    return [f for f in findings if f.severity == "error"]


def test_real_reports_have_no_errors(real_report) -> None:
    _, form, header, values = real_report
    findings = check(report_from_raw(load_form(form), values, header))
    assert _errors(findings) == []
    assert [f for f in findings if f.severity == "warning"] == []


def test_blanks_are_info_and_stay_blank() -> None:
    report = _report("xiuzhou-honghe-2020")
    findings = check(report)
    blanks = [f for f in findings if f.rule == "blank-as-zero"]
    assert {f.sheet for f in blanks} == {"表二 依申请公开", "表三 复议诉讼"}
    assert all(f.severity == "info" for f in blanks)
    t2 = next(f for f in blanks if f.sheet == "表二 依申请公开")
    assert "t2.carried_in.person" in t2.cell_ids
    assert report.value("t2.carried_in.person").is_blank  # never turned into 0


@pytest.mark.parametrize("version", ["2019", "2021"])
def test_every_single_error_in_table2_is_located(version: str) -> None:
    """Plant a wrong value in each cell of table 2 in turn: the one suspect is that cell."""
    name = "pingtan-2023" if version == "2021" else "xiuzhou-honghe-2020"
    form, header, values = REAL_REPORTS[name]()
    f = load_form(form)
    rng = random.Random(7)
    for cid in f.table("t2").cell_ids:
        original = values[cid] or 0
        planted = original + rng.choice([1, 2, 5, 17])
        findings = _errors(check(report_from_raw(f, {**values, cid: planted}, header)))
        assert findings, cid
        for finding in findings:
            assert finding.suspect_ids == (cid,), (cid, finding.message)
            assert finding.suggested == original, (cid, finding.message)
        assert {fi.rule for fi in findings} >= {"T2-row-total"}


def test_two_independent_errors_are_both_found() -> None:
    findings = _errors(check(_report("pingtan-2023", **{"t2.granted.person": 30, "t2.deny_case.company": 4})))
    suspects = {s for f in findings for s in f.suspect_ids}
    assert suspects == {"t2.granted.person", "t2.deny_case.company"}
    suggested = {f.suspect_ids[0]: f.suggested for f in findings if len(f.suspect_ids) == 1}
    assert suggested == {"t2.granted.person": 22, "t2.deny_case.company": 0}


def test_two_errors_in_one_column_are_separated() -> None:
    findings = _errors(check(_report("pingtan-2023", **{"t2.granted.person": 25, "t2.deny_case.person": 3})))
    suspects = {s for f in findings for s in f.suspect_ids}
    assert suspects == {"t2.granted.person", "t2.deny_case.person"}


def test_table3_error_names_total_and_parts_honestly() -> None:
    findings = _errors(check(_report("pingtan-2023", **{"t3.review.total": 3})))
    assert len(findings) == 1
    f = findings[0]
    assert f.rule == "T3-group-total"
    assert f.expected == 2 and f.actual == 3
    assert "t3.review.total" in f.suspect_ids and len(f.suspect_ids) == 5
    assert f.suggested is None
    assert "无法确定" in f.message


def test_message_is_concrete() -> None:
    findings = _errors(check(_report("pingtan-2023", **{"t2.total.person": 78})))
    f = next(x for x in findings if x.rule == "T2-result-total")
    assert f.message.startswith("表二 D30（（七）总计·自然人） 应为 80（各项办理结果之和），实为 78，相差 2")
    assert f.suggested == 80 and f.suspects == ("D30",)


def test_no_false_suspects_on_correct_report() -> None:
    assert all(not f.suspects for f in check(_report("pingtan-2023")))


@pytest.mark.parametrize(
    ("raw", "rule", "severity", "number"),
    [("abc", "value-type", "error", None), ("5件", "value-format", "warning", 5), ("５", "value-format", "warning", 5),
     ("1,234", "value-format", "warning", 1234), ("-", "not-applicable", "warning", None),
     ("—", "not-applicable", "warning", None), ("/", "not-applicable", "warning", None),
     (-3, "value-type", "error", None), (2.5, "value-type", "error", None), ("7", "value-format", "warning", 7)],
)
def test_cell_contents_give_a_finding_at_the_cell(raw: object, rule: str, severity: str, number) -> None:
    findings = check(_report("pingtan-2023", **{"t2.deny_law.person": raw}))
    at_cell = [f for f in findings if f.rule == rule and f.cell_ids == ("t2.deny_law.person",)]
    assert len(at_cell) == 1, [f.message for f in findings]
    assert at_cell[0].severity == severity
    assert at_cell[0].cells == ("D12",)
    if number is not None:
        assert at_cell[0].suggested == number


def test_amount_units_are_converted_to_the_form_unit() -> None:
    findings = check(_report("pingtan-2023", **{"t1.fee.amount": "59490886.67元"}))
    f = next(x for x in findings if x.rule == "value-format")
    assert f.suggested == pytest.approx(5949.088667)
    assert "由元换算为万元" in f.message


def test_blank_total_is_an_error_with_suggestion() -> None:
    findings = _errors(check(_report("pingtan-2023", **{"t2.new.total": None})))
    blank = [f for f in findings if f.rule == "blank-total"]
    assert blank and all(f.suggested == 81 for f in blank)
    assert all(f.suspect_ids == ("t2.new.total",) for f in blank)


def test_form_version_and_missing_header() -> None:
    form, header, values = REAL_REPORTS["pingtan-2023"]()
    findings = check(report_from_raw(load_form(form), values, {**header, "hdr.year": 2020}))
    assert [f.rule for f in _errors(findings)] == ["form-version"]
    assert "应使用2019版表式" in _errors(findings)[0].message
    findings = check(report_from_raw(load_form(form), values, {}))
    assert {f.rule for f in findings} == {"header-missing"}


def test_cross_year_rules_need_previous() -> None:
    this = _report("pingtan-2023", **{"t2.carried_in.person": 3, "t2.carried_in.total": 3,
                                      "t2.new.person": 77, "t2.new.total": 78})
    prev = _report("pingtan-2023", **{"t1.normative.in_force": 500})
    prev.header["hdr.year"] = 2022
    assert not _errors(check(this))
    findings = check(this, previous=prev)
    carry = [f for f in findings if f.rule == "carry-over"]
    assert {f.cell_ids[0] for f in carry} == {"t2.carried_in.person", "t2.carried_in.total"}
    assert all(f.expected == 0 for f in carry)
    in_force = [f for f in findings if f.rule == "T1-in-force"]
    assert [f.cell_ids[0] for f in in_force] == ["t1.normative.in_force"]
    assert in_force[0].expected == 500 + 77 - 132


def test_outlier_against_last_year() -> None:
    this = _report("pingtan-2023")
    prev = _report("pingtan-2023", **{"t2.new.total": 10, "t1.license.decisions": 100000})
    found = {f.cell_ids[0] for f in check(this, previous=prev) if f.rule == "outlier"}
    assert found == {"t2.new.total", "t1.license.decisions"}


def test_fingerprint_is_stable_and_report_specific() -> None:
    a = _errors(check(_report("pingtan-2023", **{"t2.granted.person": 30})))
    b = _errors(check(_report("pingtan-2023", **{"t2.granted.person": 31})))
    assert [f.id for f in a] == [f.id for f in b]
    other = report_from_raw(load_form("2021"), {**REAL_REPORTS["pingtan-2023"]()[2], "t2.granted.person": 30},
                            {"hdr.agency": "别的单位", "hdr.year": 2023})
    assert {f.id for f in _errors(check(other))}.isdisjoint({f.id for f in a})


def test_narrative_vs_table() -> None:
    form, header, values = REAL_REPORTS["pingtan-2023"]()
    report = report_from_raw(load_form(form), values, header,
                             text="本年新收政府信息公开申请 80 件，行政复议 2 件，行政诉讼 7 件。")
    findings = [f for f in check(report) if f.rule == "narrative-vs-table"]
    assert len(findings) == 1 and findings[0].expected == 80 and findings[0].actual == 81


def test_cross_year_severities_are_calibrated() -> None:
    """Carry-over is not printed on the form and real corrected reports break it: a warning
    stating both numbers. 现行有效件数 continuity breaks as documents lapse: info only."""
    this = _report("pingtan-2023", **{"t2.carried_in.person": 3, "t2.carried_in.total": 3,
                                      "t2.new.person": 77, "t2.new.total": 78})
    prev = _report("pingtan-2023", **{"t1.normative.in_force": 500})
    prev.header["hdr.year"] = 2022
    findings = check(this, previous=prev)
    carry = [f for f in findings if f.rule == "carry-over"]
    assert carry and {f.severity for f in carry} == {"warning"}
    person = next(f for f in carry if f.cell_ids[0] == "t2.carried_in.person")
    assert "为 3" in person.message and "为 0" in person.message
    in_force = [f for f in findings if f.rule == "T1-in-force"]
    assert in_force and {f.severity for f in in_force} == {"info"}
    assert not _errors(findings)


def test_blank_carried_in_is_not_a_blank_total() -> None:
    """A blank 上年结转 against last year's 结转下年度 stays the carry-over warning."""
    prev = _report("pingtan-2023", **{"t2.carried_out.person": 4, "t2.carried_out.total": 4,
                                      "t2.total.person": 79, "t2.total.total": 79})
    this = _report("pingtan-2023", **{"t2.carried_in.person": None})
    assert this.value("t2.carried_in.person").is_blank
    findings = check(this, previous=prev)
    assert [f.rule for f in findings if "t2.carried_in.person" in f.cell_ids and f.rule != "blank-as-zero"] \
        == ["carry-over"]
    assert not any(f.rule == "blank-total" for f in findings)


def test_blank_total_column_is_one_finding() -> None:
    form, header, values = REAL_REPORTS["pingtan-2023"]()
    blanked = {k: None for k in values if k.startswith("t2.") and k.endswith(".total")}
    findings = _errors(check(report_from_raw(load_form(form), {**values, **blanked}, header)))
    assert [f.rule for f in findings] == ["blank-total"], [f.message for f in findings]
    (f,) = findings
    assert f.message.startswith("表二 J 列（总计）有 12 个为空白")
    assert "J7 应为 81" in f.message and "J30 应为 81" in f.message
    assert len(f.suspects) == 12 and all(s.startswith("J") for s in f.suspects)
    assert "现为 0" not in f.message


def test_blank_total_row_and_group_are_one_finding_each() -> None:
    form, header, values = REAL_REPORTS["pingtan-2023"]()
    row = {f"t2.total.{c}": None for c in load_form(form).sets["t2_columns"]}
    findings = _errors(check(report_from_raw(load_form(form), {**values, **row}, header)))
    blank = [f for f in findings if f.rule == "blank-total"]
    assert len(blank) == 1 and blank[0].message.startswith("表二 第 30 行（（七）总计）有 ")
    groups = {f"t3.{g}.total": None for g in ("review", "suit_direct", "suit_after")}
    findings = _errors(check(report_from_raw(load_form(form), {**values, **groups}, header)))
    assert [f.message.split("有")[0] for f in findings] == ["表三 各总计（E7、J7、O7）"]


def test_a_blank_cell_is_said_to_be_blank_never_zero() -> None:
    findings = _errors(check(_report("pingtan-2023", **{"t2.granted.total": None})))
    assert findings
    for f in findings:
        assert "现为 0" not in f.message, f.message
    single = next(f for f in findings if f.rule == "blank-total")
    assert single.message == "表二 J9（（一）予以公开·总计） 为空白，但其组成部分合计为 22，请填写总计"
    located = next(f for f in findings if f.rule == "T2-result-total")
    assert "（现为空白，应为 22）" in located.message


_TOTALS = sorted(c for c in load_form("2021").cells if c.split(".")[0] in ("t2", "t3") and c.endswith(".total"))


@settings(max_examples=60, deadline=None)
@given(st.sets(st.sampled_from(_TOTALS)))
def test_each_blank_total_is_named_once_and_groups_never_multiply(blank: set[str]) -> None:
    """Whatever totals are left blank: every blank total whose parts are not 0 is blamed by
    exactly one blank-total finding, at most one per rule, each message saying 空白."""
    form, header, values = REAL_REPORTS["pingtan-2023"]()
    report = report_from_raw(load_form(form), {**values, **dict.fromkeys(blank)}, header)
    findings = [f for f in check(report) if f.rule == "blank-total"]
    blamed = [s for f in findings for s in f.suspect_ids]
    assert len(blamed) == len(set(blamed))
    nonzero_blank = {c for c in blank if values[c] not in (0, None)}
    assert set(blamed) <= blank
    assert nonzero_blank - set(blamed) <= {
        s for f in check(report) if f.rule != "blank-total" for s in f.suspect_ids}
    first_rules = [f.instance.removeprefix("blank-total:").split(":")[0] for f in findings]
    assert len(set(first_rules)) == len(first_rules)  # at most one finding per rule
    assert all("空白" in f.message and "现为 0" not in f.message for f in findings)
